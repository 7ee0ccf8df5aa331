"""The fault drill's bookkeeping (tools/fault_drill/bookkeeping.py): outages from per-request records, budgets,
the table. Pure: no lab."""
import pytest

from fault_drill import bookkeeping
from fault_drill.drill import EVENTS, CI_EVENTS, addresses_in_table, sections, url_host

T0 = 1000.0
DR = "http://198.51.100.100:80/"
TUN = "http://198.51.100.101:80/"


def schedule(start, stop, interval=0.1, failing=()):
    """Requests every ``interval`` from ``start`` to ``stop`` (exclusive); those starting inside one of the
    ``failing`` (from, to) windows failed."""
    rows = []
    count = int(round((stop - start) / interval))
    for index in range(count):
        at = round(start + index * interval, 3)
        bad = any(low <= at < high for low, high in failing)
        rows.append([at, not bad, "timed out" if bad else None])
    return rows


def load(requests, interval=0.1):
    return {"interval": interval, "timeout": 2.0, "started": T0, "ended": T0 + 60, "requests": requests}


def test_failure_runs_and_outage_of_one_gap():
    rows = schedule(T0, T0 + 10, failing=[(T0 + 3.0, T0 + 4.2)])
    runs = bookkeeping.failure_runs(rows, 0.1)
    assert runs == [(T0 + 3.0, T0 + 4.1, 12)]
    assert bookkeeping.outage_seconds(rows, 0.1) == pytest.approx(1.2)


def test_interleaved_failures_of_a_dead_real_server_are_short_runs():
    """rr over two servers, one dead: every other request fails, but the service never stops answering."""
    rows = [[T0 + i * 0.1, i % 2 == 0, None if i % 2 == 0 else "refused"] for i in range(40)]
    assert bookkeeping.outage_seconds(rows, 0.1) == pytest.approx(0.1)
    assert len(bookkeeping.failure_runs(rows, 0.1)) == 20


def test_no_failure_no_outage():
    rows = schedule(T0, T0 + 5)
    assert bookkeeping.failure_runs(rows, 0.1) == []
    assert bookkeeping.outage_seconds(rows, 0.1) == 0.0
    assert bookkeeping.longest_failed_seconds(rows, T0) == 0


def test_runs_follow_start_order_not_completion_order():
    rows = [[T0 + 0.2, False, "x"], [T0, True, None], [T0 + 0.1, False, "x"], [T0 + 0.3, True, None]]
    assert bookkeeping.failure_runs(rows, 0.1) == [(T0 + 0.1, T0 + 0.2, 2)]


def test_per_second_counts_and_the_longest_run_of_failed_seconds():
    rows = schedule(T0 - 2, T0 + 8, failing=[(T0 + 2.0, T0 + 5.0)])
    counts = bookkeeping.per_second(rows, T0)
    assert counts[-2] == [10, 0] and counts[2] == [0, 10] and counts[5] == [10, 0]
    assert sum(ok + failed for ok, failed in counts.values()) == len(rows)
    assert bookkeeping.longest_failed_seconds(rows, T0) == 3
    # a second with a success in it breaks the run
    assert bookkeeping.longest_failed_seconds(schedule(T0, T0 + 8, failing=[(T0 + 2.0, T0 + 4.5)]), T0) == 2


def test_director_budget_from_the_advert_interval():
    assert bookkeeping.master_down_interval(1.0, 140) == pytest.approx(3 + 116 / 256)
    assert bookkeeping.director_outage_budget(0.3, 140) == 1.5
    assert bookkeeping.director_outage_budget(1.0, 140) == pytest.approx(3.95)


def result(kind, requests, **fields):
    values = {"converged_seconds": 40.0, "data_intact": True}
    values.update(fields)
    return bookkeeping.EventResult(name="e", kind=kind, at=T0, load=load(requests), **values)


def test_director_event_within_and_over_budget():
    fine = result("director", {DR: schedule(T0 - 3, T0 + 20, failing=[(T0, T0 + 1.2)])})
    assert bookkeeping.evaluate(fine, 1.5)["over"] == []
    slow = result("director", {DR: schedule(T0 - 3, T0 + 20, failing=[(T0, T0 + 3.4)]), TUN: schedule(T0, T0 + 5)})
    row = bookkeeping.evaluate(slow, 1.5)
    assert row["failed"] == 34 and row["outage"] == pytest.approx(3.4) and row["outage_url"] == DR
    assert row["over"] == [f"outage 3.40 s on {DR} >= 1.5 s"]
    assert row["outages"] == {DR: pytest.approx(3.4), TUN: 0.0} and row["failed_by_url"] == {DR: 34, TUN: 0}


def test_link_cut_budget_from_the_reachability_check():
    # a ping every 1 s, 1 s to answer, 2 failures: 4 s to see the cut, 1 s to fail over
    assert bookkeeping.link_cut_budget(1, 1, 2) == pytest.approx(5.0)
    assert bookkeeping.link_cut_budget(1, 1, 1) == pytest.approx(3.0)
    # the event's own budget wins over the director budget; a cut that never failed over (the whole 5 s cut and
    # more without an answer) is over it
    seen = result("director", {DR: schedule(T0 - 3, T0 + 20, failing=[(T0, T0 + 3.6)])}, outage_budget=5.0)
    assert bookkeeping.evaluate(seen, 3.95)["over"] == []
    missed = result("director", {DR: schedule(T0 - 3, T0 + 20, failing=[(T0, T0 + 8.9)])}, outage_budget=5.0)
    assert bookkeeping.evaluate(missed, 3.95)["over"] == [f"outage 8.90 s on {DR} >= 5.0 s"]
    assert bookkeeping.evaluate(result("director", seen.load["requests"]), 3.0)["over"] == \
        [f"outage 3.60 s on {DR} >= 3.0 s"]


def test_real_server_event_counts_failures_until_it_left_and_the_table_watch():
    quick = schedule(T0 - 3, T0 + 30, failing=[(T0, T0 + 2.0)])
    row = bookkeeping.evaluate(result("real_server", {DR: quick}, left_table_seconds=1.9, check_leave=True), 1.5)
    assert row["over"] == [] and row["failing_for"] == pytest.approx(1.9)
    late = quick + [[T0 + 40.0, False, "refused"]]  # failed again when it came back: over
    row = bookkeeping.evaluate(result("real_server", {DR: late}, left_table_seconds=1.9, check_leave=True), 1.5)
    assert row["over"] == ["requests failed until 40.0 s after the event (>= 5.0 s)"]
    row = bookkeeping.evaluate(result("real_server", {DR: quick}, left_table_seconds=None, check_leave=True), 1.5)
    assert row["over"] == ["left the IPVS table after never (budget < 5.0 s)"]


def test_a_sole_real_servers_vip_is_not_counted():
    down = schedule(T0 - 3, T0 + 60, failing=[(T0, T0 + 50)])
    row = bookkeeping.evaluate(result("real_server", {TUN: down, DR: schedule(T0, T0 + 60)},
                                      sole_server_urls=(TUN,), left_table_seconds=2.0, check_leave=True), 1.5)
    assert row["over"] == [] and row["failed"] == 0


def test_storage_event_outage_budget_and_no_lost_data():
    # nfsd restarted: the share may stall for the NFSv4 grace period, not longer
    stall = {DR: schedule(T0, T0 + 40, failing=[(T0 + 1, T0 + 14.0)])}
    assert bookkeeping.evaluate(result("storage", stall, outage_budget=bookkeeping.NFSD_RESTART_OUTAGE), 1.5)[
        "over"] == []
    long = {DR: schedule(T0, T0 + 60, failing=[(T0 + 1, T0 + 44.0)])}
    row = bookkeeping.evaluate(result("storage", long, outage_budget=20.0, data_intact=False,
                                      data_detail="rs2:x.bin differs"), 1.5)
    assert row["over"] == [f"outage 43.00 s on {DR} >= 20.0 s",
                           "data written before the event damaged: rs2:x.bin differs"]
    # the storage host itself down: no outage budget, the data still judged
    assert bookkeeping.evaluate(result("storage", long), 1.5)["over"] == []
    assert bookkeeping.evaluate(result("storage", long, data_intact=None), 1.5)["over"] == [
        "data written before the event not checked"]


def test_convergence_budget_and_a_cluster_that_never_came_back():
    row = bookkeeping.evaluate(result("storage", {DR: schedule(T0, T0 + 5)}, converged_seconds=130.0), 1.5)
    assert row["over"] == ["converged after 130 s (>= 120 s)"]
    row = bookkeeping.evaluate(result("storage", {DR: schedule(T0, T0 + 5)}, converged_seconds=None), 1.5)
    assert row["over"] == ["not back to the converged state"]


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown event kind 'router'"):
        bookkeeping.evaluate(result("router", {DR: []}), 1.5)


def test_table_has_one_row_per_event_with_its_verdict():
    rows = [bookkeeping.evaluate(result("director", {DR: schedule(T0, T0 + 5, failing=[(T0, T0 + 1)])}), 1.5),
            bookkeeping.evaluate(result("storage", {DR: schedule(T0, T0 + 5)}, converged_seconds=None), 1.5)]
    text = bookkeeping.render_table(rows).splitlines()
    assert len(text) == 3
    assert text[0].split()[:3] == ["event", "failed", "outage"]
    assert text[1].split()[1:4] == ["10", "1.00", "1"] and text[1].endswith("ok")
    assert "OVER: not back to the converged state" in text[2] and " - " in text[2]
    assert not bookkeeping.passed(rows) and bookkeeping.passed(rows[:1])


def test_event_list_and_helpers():
    assert set(CI_EVENTS) <= set(EVENTS)
    assert {kind for kind, _action, _target in EVENTS.values()} == {"director", "real_server", "storage"}
    assert url_host("http://[2001:db8:100::100]:80/") == "2001:db8:100::100"
    assert url_host("http://198.51.100.102:8080/") == "198.51.100.102"
    table = "-A -t 198.51.100.100:80 -s rr\n-a -t 198.51.100.100:80 -r 198.51.100.21:80 -g -w 1\n" \
            "-a -t [2001:db8:100::100]:80 -r [2001:db8:100::21]:80 -g -w 1\n-a -f 10 -r 198.51.100.22:0 -g -w 1"
    assert addresses_in_table(table, ["198.51.100.21", "2001:db8:100::21", "198.18.0.21"]) == \
        ["198.51.100.21", "2001:db8:100::21"]
    assert sections("abc\n@@mount\nnfs4\n@@nginx\nactive\n42\n") == {"boot_id": "abc", "mount": "nfs4",
                                                                     "nginx": "active\n42"}
