"""The drill's bookkeeping, without I/O: outages from the load generator's requests, budgets, the table.

A request is ``[start, ok, error]`` (start in seconds on the host clock). A *failure run* is a maximal sequence
of failed requests (in start order) with no successful request started in between; its outage is the time from
its first failure's start to its last failure's start plus one request interval (a single failed request counts
one interval). Requests start on a fixed schedule, so the outage is known to about one interval.
"""
import dataclasses

# issue 12's budgets
REAL_SERVER_LEAVE_SECONDS = 5.0
CONVERGED_SECONDS = 120.0
TUNED_ADVERT_INTERVAL = 0.3
TUNED_DIRECTOR_OUTAGE = 1.5
# beyond VRRP's master-down interval: the new master's gratuitous ARP, the client's next request
DIRECTOR_OUTAGE_SLACK = 0.5
# beyond the reachability check's detection: the FAULT master's priority-0 advert on the links it still has, the
# backup's skew time, its gratuitous ARP, the client's next request
LINK_CUT_SLACK = 1.0
# nfsd restarted on the one NFS server (its threads gone, the watchdog starts them): the share waits for the
# clients' reclaim or the end of the NFSv4 grace period (the nfs_server role's 15 s lease), every nginx reading it
# stalls meanwhile. A storage host's own loss (kill, reboot) has no outage budget: the only NFS server is down
# while it is (its row shows the outage); convergence and the data are still judged.
NFSD_RESTART_OUTAGE = 20.0


def master_down_interval(advert_interval, backup_priority):
    """RFC 5798: 3 x the advertisement interval plus the skew time ((256 - priority) / 256 x the interval)."""
    return 3 * advert_interval + (256 - backup_priority) / 256 * advert_interval


def director_outage_budget(advert_interval, backup_priority):
    """Issue 12: < 1.5 s with the tuned adverts (0.3 s). Slower adverts cannot fail over faster than their
    master-down interval: the budget is then that interval plus the same slack (1.0 s adverts, backup 140:
    3.45 + 0.5 = 3.95 s)."""
    if advert_interval <= TUNED_ADVERT_INTERVAL:
        return TUNED_DIRECTOR_OUTAGE
    return round(master_down_interval(advert_interval, backup_priority) + DIRECTOR_OUTAGE_SLACK, 2)


def link_cut_budget(track_interval, ping_timeout, fall):
    """A front link cut without carrier loss is seen only by the reachability check (keepalived's vrrp_script):
    ``fall`` failed pings in a row, each taking ``ping_timeout`` and started ``track_interval`` after the
    previous one ended, then a failover. Defaults 1 s, 1 s, 2: 2 x 2 + 1 = 5 s, under the 5 s cut only when
    the director really fails over (without a failover the outage is the whole cut)."""
    return round(fall * (track_interval + ping_timeout) + LINK_CUT_SLACK, 2)


def failure_runs(requests, interval):
    """[(first failed start, last failed start, failed count)] of the failure runs, in time order."""
    runs = []
    current = None
    for start, ok, _error in sorted(requests, key=lambda row: row[0]):
        if ok:
            if current:
                runs.append(tuple(current))
                current = None
        elif current is None:
            current = [start, start, 1]
        else:
            current[1] = start
            current[2] += 1
    if current:
        runs.append(tuple(current))
    return runs


def outage_seconds(requests, interval):
    """The longest failure run's outage, 0.0 when no request failed."""
    return max((round(last - first + interval, 3) for first, last, _count in failure_runs(requests, interval)),
               default=0.0)


def per_second(requests, origin):
    """{second since origin: [ok, failed]} (the load generator's requests per second)."""
    counts = {}
    for start, ok, _error in requests:
        second = int(start - origin) if start >= origin else int(start - origin) - 1
        counts.setdefault(second, [0, 0])[0 if ok else 1] += 1
    return dict(sorted(counts.items()))


def longest_failed_seconds(requests, origin):
    """The longest run of consecutive seconds in which no request succeeded and at least one failed."""
    longest = current = 0
    previous = None
    for second, (ok, failed) in per_second(requests, origin).items():
        if failed and not ok:
            current = current + 1 if previous is not None and second == previous + 1 else 1
            previous = second
            longest = max(longest, current)
        else:
            current, previous = 0, None
    return longest


def failures(requests):
    return [row for row in requests if not row[1]]


@dataclasses.dataclass
class EventResult:
    """What the drill measured for one event (``kind``: director, real_server, storage)."""

    name: str
    kind: str
    at: float                      # the event's moment (host clock)
    load: dict                     # the load generator's report
    converged_seconds: float = None  # None: not converged within the wait
    data_intact: bool = None       # None: not checked
    data_detail: str = ""
    left_table_seconds: float = None
    sole_server_urls: tuple = ()   # URLs served only by the victim: down by design while it is
    check_leave: bool = False      # the victim must leave the IPVS table within the budget
    outage_budget: float = None    # a director event's own budget (a link cut; else the director budget); a
                                   # storage event's (else none)
    notes: list = dataclasses.field(default_factory=list)


def evaluate(result, director_budget):
    """The row of one event: its figures and the budgets it is over (an empty ``over`` passes)."""
    interval = result.load["interval"]
    counted = {url: rows for url, rows in result.load["requests"].items() if url not in result.sole_server_urls}
    failed = sum(len(failures(rows)) for rows in counted.values())
    outages = {url: outage_seconds(rows, interval) for url, rows in counted.items()}
    worst_url = max(outages, key=outages.get) if outages else ""
    outage = outages.get(worst_url, 0.0)
    failing_for = max((round(row[0] - result.at, 3) for rows in counted.values() for row in failures(rows)),
                      default=0.0)
    over = []
    if result.kind == "director":
        budget = director_budget if result.outage_budget is None else result.outage_budget
        if outage >= budget:
            over.append(f"outage {outage:.2f} s on {worst_url} >= {budget} s")
    elif result.kind == "real_server":
        if failing_for >= REAL_SERVER_LEAVE_SECONDS:
            over.append(f"requests failed until {failing_for:.1f} s after the event (>= {REAL_SERVER_LEAVE_SECONDS} s)")
        if result.check_leave and (result.left_table_seconds is None
                                   or result.left_table_seconds >= REAL_SERVER_LEAVE_SECONDS):
            seen = "never" if result.left_table_seconds is None else f"{result.left_table_seconds:.1f} s"
            over.append(f"left the IPVS table after {seen} (budget < {REAL_SERVER_LEAVE_SECONDS} s)")
    elif result.kind == "storage":
        if result.outage_budget is not None and outage >= result.outage_budget:
            over.append(f"outage {outage:.2f} s on {worst_url} >= {result.outage_budget} s")
    else:
        raise ValueError(f"unknown event kind {result.kind!r}")
    if result.converged_seconds is None:
        over.append("not back to the converged state")
    elif result.converged_seconds >= CONVERGED_SECONDS:
        over.append(f"converged after {result.converged_seconds:.0f} s (>= {CONVERGED_SECONDS:.0f} s)")
    if result.data_intact is not True:
        over.append("data written before the event " + ("not checked" if result.data_intact is None
                                                        else "damaged: " + result.data_detail))
    return {
        "event": result.name,
        "failed": failed,
        "outage": outage,
        "outage_url": worst_url,
        "outages": outages,
        "failed_by_url": {url: len(failures(rows)) for url, rows in counted.items()},
        "failed_seconds": max((longest_failed_seconds(rows, result.at) for rows in counted.values()), default=0),
        "failing_for": failing_for,
        "left_table": result.left_table_seconds,
        "converged": result.converged_seconds,
        "data_intact": result.data_intact,
        "over": over,
        "notes": list(result.notes),
    }


COLUMNS = (("event", 34), ("failed", 6), ("outage s", 8), ("failed s", 8), ("left tbl s", 10),
           ("converged s", 11), ("data", 5), ("verdict", 0))


def _cell(value, digits=1):
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "ok" if value else "LOST"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def render_table(rows):
    """One line per event; the verdict is ``ok`` or ``OVER: <reasons>``."""
    lines = ["  ".join(title.ljust(width) for title, width in COLUMNS).rstrip()]
    for row in rows:
        data = "-" if row["data_intact"] is None else ("ok" if row["data_intact"] else "LOST")
        cells = [row["event"], _cell(row["failed"]), _cell(row["outage"], 2), _cell(row["failed_seconds"]),
                 _cell(row["left_table"]), _cell(row["converged"]), data,
                 "ok" if not row["over"] else "OVER: " + "; ".join(row["over"])]
        lines.append("  ".join(str(cell).ljust(width) for cell, (_title, width) in zip(cells, COLUMNS)).rstrip())
    return "\n".join(lines)


def passed(rows):
    return all(not row["over"] for row in rows)
