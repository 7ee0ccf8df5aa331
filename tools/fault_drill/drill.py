"""The fault drill (issue 12) on a running, converged default lab: ``tools/lvs-drill [--name LAB] [--events ...]``.

For each event in turn: a file of known checksum written to the share through a real server, bounded client
load through every VIP from the lab namespace (loadgen.py), the event, then a wait until the cluster is back in
its converged state by itself (the state recorded before the first event: VIPs on exactly one director, its
IPVS table as at the start, sync daemons following VRRP, the share mounted on every real server and nginx
serving it, nfsd running), and a check of every file written so far on every real server. One row per event
(bookkeeping.render_table); exit 1 if any row is over its budget. With ``--site-yml`` a second converge of
playbooks/site.yml follows and must report changed=0 on every host.
"""
import argparse
import concurrent.futures
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import yaml

from fault_drill import bookkeeping

TOOLS = Path(__file__).resolve().parent.parent
PROJECT = TOOLS.parent
LVS_LAB = TOOLS / "lvs-lab"
LOADGEN = Path(__file__).resolve().parent / "loadgen.py"
MODEL = PROJECT / "inventory" / "lab" / "group_vars" / "all" / "lvs.yml"
DIRECTOR_MODEL = PROJECT / "inventory" / "lab" / "group_vars" / "directors" / "lvs.yml"
SHARE = "/srv/lvs-shared"
DATA_DIR = SHARE + "/drill"
PROBE = "drill-probe.txt"
DIRECTORS = ("director1", "director2")
REAL_SERVERS = ("rs1", "rs2", "rs3")
STORAGE = "storage1"
CONVERGE_WAIT = 180.0
POLL_INTERVAL = 2.0
SETTLE = 1.0  # load after the converged state is seen: a failure right after it still counts
WARMUP = 2.0
KILLED_FOR = 2.0
LINK_CUT = 5.0

# name: (kind, action, target) -- target "master"/"backup" is resolved to a director at the event's moment
EVENTS = {
    "kill master director": ("director", "kill", "master"),
    "kill backup director": ("director", "kill", "backup"),
    "kill rs1": ("real_server", "kill", "rs1"),
    "kill rs2": ("real_server", "kill", "rs2"),
    "kill rs3": ("real_server", "kill", "rs3"),
    "kill storage1": ("storage", "kill", STORAGE),
    "reboot master director": ("director", "reboot", "master"),
    "reboot backup director": ("director", "reboot", "backup"),
    "reboot rs1": ("real_server", "reboot", "rs1"),
    "reboot rs2": ("real_server", "reboot", "rs2"),
    "reboot rs3": ("real_server", "reboot", "rs3"),
    "reboot storage1": ("storage", "reboot", STORAGE),
    "kill -9 keepalived (master)": ("director", "kill-process keepalived", "master"),
    "kill -9 nginx (rs1)": ("real_server", "kill-process nginx", "rs1"),
    # nfsd's threads are kernel threads (6.1's survive SIGKILL): a crashed nfsd is one with no threads left while
    # nfs-server.service (a oneshot) still looks active. The nfs_server role's watchdog restarts it.
    "nfsd threads to 0 (storage1)": ("storage", "stop-nfsd", STORAGE),
    "cut master's front link 5 s": ("director", "cut front", "master"),
}
# The subset `make test` runs in CI (the full list: `make drill`): one event of each mechanism.
CI_EVENTS = ("kill master director", "kill -9 keepalived (master)", "kill -9 nginx (rs1)", "reboot rs2",
             "nfsd threads to 0 (storage1)", "cut master's front link 5 s")


def log(message):
    print(time.strftime("%H:%M:%S ") + message, flush=True)


class Lab:
    """The running lab, reached the way a user does: tools/lvs-lab and its ssh_config."""

    def __init__(self, name):
        self.name = name
        status = self.lab("status", "--json", capture=True)
        self.state_dir = Path(json.loads(status)["inventory"]).parent

    def lab(self, *arguments, capture=False, timeout=600, check=True):
        result = subprocess.run([str(LVS_LAB), arguments[0], "--name", self.name, *arguments[1:]], check=False,
                                stdout=subprocess.PIPE if capture else None, universal_newlines=True, timeout=timeout)
        if check and result.returncode != 0:
            raise RuntimeError(f"lvs-lab {' '.join(arguments)} failed (exit {result.returncode})")
        return result.stdout

    def ssh_command(self, host, command):
        return ["ssh", "-F", str(self.state_dir / "ssh_config"), "-o", "ControlPath=none", "-o", "BatchMode=yes",
                "-o", "ConnectTimeout=5", host, command]

    def ssh(self, host, command, timeout=30):
        """(exit code, stdout); (255, '') when the guest does not answer in time."""
        try:
            result = subprocess.run(self.ssh_command(host, command), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, universal_newlines=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return 255, ""
        return result.returncode, result.stdout


def model():
    """The lab's services: [(name, URL, [real server hosts])], and the VIPs (inventory/lab)."""
    services = []
    for service in yaml.safe_load(MODEL.read_text())["lvs_virtual_services"]:
        vip = service["vip"]
        host = f"[{vip}]" if ":" in vip else vip
        port = service.get("port") or service["fwmark_match"][0]["ports"][0]
        services.append((service["name"], f"http://{host}:{port}/", [rs["host"] for rs in service["real_servers"]]))
    return services


SNAPSHOT = {
    "director": "cat /proc/sys/kernel/random/boot_id; echo @@addr; ip -o address show; echo @@table; ipvsadm -Sn | sort; "
                "echo @@daemon; ipvsadm -Ln --daemon; echo @@keepalived; systemctl show -p MainPID --value keepalived",
    "real_server": "cat /proc/sys/kernel/random/boot_id; echo @@mount; findmnt -n -o FSTYPE " + SHARE +
                   "; echo @@nginx; systemctl is-active nginx; systemctl show -p MainPID --value nginx; echo @@probe; "
                   "curl -s -m 5 http://127.0.0.1/shared/" + PROBE,
    "storage": "cat /proc/sys/kernel/random/boot_id; echo @@nfs; systemctl is-active nfs-server; "
               "cat /proc/fs/nfsd/threads; echo @@nfsd; pgrep -x nfsd | sort -n | tr '\\n' ' '",
}


def sections(text):
    parts = {}
    name = "boot_id"
    for line in text.splitlines():
        if line.startswith("@@"):
            name = line[2:]
            continue
        parts.setdefault(name, []).append(line)
    return {key: "\n".join(value).strip() for key, value in parts.items()}


class Cluster:
    def __init__(self, lab, vips):
        self.lab = lab
        self.vips = vips
        self.baseline = None
        self.probe = uuid.uuid4().hex
        self.files = {}  # path: sha256

    def kind(self, host):
        return "director" if host in DIRECTORS else "storage" if host == STORAGE else "real_server"

    def snapshot(self):
        hosts = DIRECTORS + REAL_SERVERS + (STORAGE,)
        with concurrent.futures.ThreadPoolExecutor(len(hosts)) as pool:
            answers = dict(zip(hosts, pool.map(lambda h: self.lab.ssh(h, SNAPSHOT[self.kind(h)], timeout=20), hosts)))
        return {host: (sections(out) if code == 0 else None) for host, (code, out) in answers.items()}

    def holders(self, snap):
        held = {}
        for director in DIRECTORS:
            if snap[director] is not None:
                addresses = set(re.findall(r"inet6? ([0-9a-f:.]+)/", snap[director].get("addr", "")))
                held[director] = sorted(addresses & self.vips)
        return held

    def problems(self, snap):
        """What differs from the converged state (empty: converged)."""
        problems = [f"{host} does not answer" for host, facts in snap.items() if facts is None]
        held = self.holders(snap)
        masters = [d for d, vips in held.items() if vips]
        if len(masters) != 1 or sorted(held[masters[0]]) != sorted(self.vips):
            problems.append(f"VIPs held: {held}")
        if len(masters) == 1 and len(held) == len(DIRECTORS):
            master = masters[0]
            backup = [d for d in DIRECTORS if d != master][0]
            if self.baseline and snap[master].get("table") != self.baseline["table"]:
                problems.append(f"{master}'s IPVS table differs from the converged one")
            if "master sync daemon" not in snap[master].get("daemon", ""):
                problems.append(f"{master} (VRRP master) runs no master sync daemon")
            if "backup sync daemon" not in snap[backup].get("daemon", ""):
                problems.append(f"{backup} (VRRP backup) runs no backup sync daemon")
            for director in DIRECTORS:
                if snap[director].get("keepalived", "0") in ("", "0"):
                    problems.append(f"keepalived is not running on {director}")
        for host in REAL_SERVERS:
            facts = snap[host]
            if facts is None:
                continue
            if not facts.get("mount", "").startswith("nfs"):
                problems.append(f"{host}: {SHARE} not mounted over NFS ({facts.get('mount')!r})")
            if not facts.get("nginx", "").startswith("active"):
                problems.append(f"{host}: nginx {facts.get('nginx')!r}")
            if facts.get("probe") != self.probe:
                problems.append(f"{host}: nginx does not serve the share")
        storage = snap[STORAGE]
        if storage is not None:
            state, _newline, threads = storage.get("nfs", "").partition("\n")
            if state != "active" or not threads.strip().isdigit() or int(threads) == 0:
                problems.append(f"{STORAGE}: nfs-server {state!r}, nfsd threads {threads.strip()!r}")
        return problems

    def master(self, snap):
        masters = [d for d, vips in self.holders(snap).items() if vips]
        return masters[0] if len(masters) == 1 else None

    def record_baseline(self, services):
        code, _out = self.lab.ssh("rs1", f"mkdir -p {DATA_DIR} && echo {self.probe} > {SHARE}/{PROBE} && sync")
        if code != 0:
            raise RuntimeError(f"cannot write to {SHARE} on rs1")
        snap = self.snapshot()
        master = self.master(snap)
        if master is None:
            raise RuntimeError(f"the lab is not converged: VIPs held {self.holders(snap)}")
        table = snap[master]["table"]
        expected = (len(services), sum(len(hosts) for _name, _url, hosts in services))
        found = (table.count("-A "), table.count("-a "))
        if found != expected:
            raise RuntimeError(f"{master}'s IPVS table has {found[0]} services and {found[1]} destinations, the "
                               f"model {expected[0]} and {expected[1]}: converge with site.yml first")
        self.baseline = {"table": table}
        problems = self.problems(snap)
        if problems:
            raise RuntimeError("the lab is not converged: " + "; ".join(problems))
        return snap

    def write_data(self, avoid):
        """A 256 KiB file of random bytes written to the share through a real server (not the event's victim),
        flushed (fsync) before its checksum is taken: an acknowledged write."""
        writer = next(host for host in REAL_SERVERS if host != avoid)
        path = f"{DATA_DIR}/{uuid.uuid4().hex}.bin"
        code, out = self.lab.ssh(writer, f"head -c 262144 /dev/urandom | dd of={path} bs=64k conv=fsync status=none "
                                         f"&& sha256sum {path}")
        if code != 0:
            raise RuntimeError(f"writing {path} through {writer} failed")
        self.files[path] = out.split()[0]

    def check_data(self):
        """(all intact, detail): every file written so far, read back on every real server."""
        listing = " ".join(shlex.quote(path) for path in self.files)
        bad = []
        with concurrent.futures.ThreadPoolExecutor(len(REAL_SERVERS)) as pool:
            answers = list(pool.map(lambda h: self.lab.ssh(h, f"sha256sum {listing}", timeout=60), REAL_SERVERS))
        for host, (code, out) in zip(REAL_SERVERS, answers):
            seen = dict(reversed(line.split()) for line in out.splitlines() if len(line.split()) == 2)
            for path, digest in self.files.items():
                if seen.get(path) != digest:
                    bad.append(f"{host}:{path.rsplit('/', 1)[1]} {'missing' if path not in seen else 'differs'}"
                               + ("" if code == 0 else f" (exit {code})"))
        return not bad, "; ".join(bad[:5])


class Load:
    """One bounded load generator run in the lab namespace for one event."""

    def __init__(self, lab, urls, duration):
        self.directory = tempfile.mkdtemp(prefix="lvs-drill-")
        self.stop_file = os.path.join(self.directory, "stop")
        self.output = os.path.join(self.directory, "load.json")
        arguments = ["python3", str(LOADGEN), "--duration", str(duration), "--stop-file", self.stop_file,
                     "--output", self.output]
        for url in urls:
            arguments += ["--url", url]
        self.process = subprocess.Popen([str(LVS_LAB), "exec", "--name", lab.name, "--", *arguments],
                                        stdin=subprocess.DEVNULL)

    def stop(self):
        Path(self.stop_file).touch()
        self.process.wait(timeout=60)
        report = json.loads(Path(self.output).read_text())
        for path in (self.output, self.stop_file):
            os.unlink(path)
        os.rmdir(self.directory)
        return report


def watch_leave(lab, master, addresses):
    """Start a watcher on the master director that prints the moment (host clock: UML reads it) when none of
    ``addresses`` is in the IPVS table with a weight above 0 (bounded to 60 s)."""
    patterns = " ".join(f'-e "{(f"[{a}]" if ":" in a else a)}:"' for a in addresses)
    script = (f"timeout 60 sh -c 'while ipvsadm -Ln | grep -F {patterns} | awk \"\\$4>0{{f=1}} END{{exit !f}}\"; "
              f"do sleep 0.1; done; date +%s.%N'")
    return subprocess.Popen(lab.ssh_command(master, script), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, universal_newlines=True)


def addresses_in_table(table, host_addresses):
    found = {v6 or v4 for v6, v4 in re.findall(r"-r (?:\[([0-9a-f:]+)\]|([0-9.]+)):\d+", table)}
    return sorted(found & set(host_addresses))


def run_event(name, lab, cluster, services, snap, cut_budget=None):
    kind, action, target = EVENTS[name]
    master = cluster.master(snap)
    backup = [d for d in DIRECTORS if d != master][0]
    victim = {"master": master, "backup": backup}.get(target, target)
    urls = [url for _name, url, _hosts in services]
    sole = tuple(url for _name, url, hosts in services if hosts == [victim])
    cluster.write_data(avoid=victim)
    before = snap[victim]
    load = Load(lab, urls, duration=CONVERGE_WAIT + 60)
    time.sleep(WARMUP)
    watcher = None
    if kind == "real_server" and action in ("kill", "reboot"):
        code, out = lab.ssh(victim, "ip -o address show scope global")
        mine = re.findall(r"inet6? ([0-9a-f:.]+)/", out) if code == 0 else []
        watcher = watch_leave(lab, master, addresses_in_table(cluster.baseline["table"], mine))
        time.sleep(1.0)  # the watcher's ssh login
    log(f"event: {name} ({victim})")
    at = time.time()
    # An event inside a guest is timed by the guest (its clock is the host's: UML reads it) right before it
    # happens: an ssh login takes up to several seconds on a loaded host, and counting it made a real server's
    # reboot look 6 s slower to leave the IPVS table than it was.
    if action == "kill":
        lab.lab("kill", victim)
        time.sleep(KILLED_FOR)
        lab.lab("start", victim, "--no-wait")
    elif action == "reboot":
        at = guest_event(lab, victim, "systemctl reboot", at, check=False)
    elif action.startswith("kill-process "):
        process = action.split()[1]
        at = guest_event(lab, victim, f"kill -9 $(systemctl show -p MainPID --value {process})", at)
    elif action == "stop-nfsd":
        at = guest_event(lab, victim, "echo 0 > /proc/fs/nfsd/threads", at)
    elif action == "cut front":
        lab.lab("link", victim, "front", "down")
        time.sleep(LINK_CUT)
        lab.lab("link", victim, "front", "up")
    changed = False
    converged = None
    last = []
    notes = []
    while time.time() - at < CONVERGE_WAIT:
        now = cluster.snapshot()
        polled = time.time()  # when the state was seen (an upper bound: it may have been reached during the poll)
        facts = now[victim]
        if not changed and facts is not None:
            if action in ("kill", "reboot"):
                changed = facts["boot_id"] != before["boot_id"]
            elif action == "kill-process keepalived":
                changed = facts.get("keepalived") != before.get("keepalived")
            elif action == "kill-process nginx":
                changed = facts.get("nginx") != before.get("nginx")
            elif action == "stop-nfsd":
                # new nfsd threads (other PIDs) once the watchdog restarted the server
                changed = bool(facts.get("nfsd")) and facts.get("nfsd") != before.get("nfsd")
            elif action == "cut front":
                # the victim must have gone FAULT (its reachability check) and be master again (preemption)
                changed = cluster.master(now) == victim and went_fault(lab, victim, at)
            else:
                changed = True
        last = cluster.problems(now)
        if changed and not last:
            converged = round(polled - at, 1)
            snap = now
            break
        time.sleep(POLL_INTERVAL)
    time.sleep(SETTLE)
    report = load.stop()
    left = None
    if watcher is not None:
        try:
            out, _err = watcher.communicate(timeout=70)
            left = round(float(out.strip()) - at, 2) if out.strip() else None
        except (subprocess.TimeoutExpired, ValueError):
            watcher.kill()
            watcher.wait()
    intact, detail = cluster.check_data()
    result = bookkeeping.EventResult(name=f"{name}", kind=kind, at=at, load=report, converged_seconds=converged,
                                     data_intact=intact, data_detail=detail, left_table_seconds=left,
                                     sole_server_urls=sole, check_leave=watcher is not None,
                                     outage_budget={"cut front": cut_budget, "stop-nfsd":
                                                    bookkeeping.NFSD_RESTART_OUTAGE}.get(action))
    result.notes.extend(notes)
    if converged is None:
        result.notes.append("still not converged: " + "; ".join(last))
    if sole:
        result.notes.append(f"{', '.join(sole)}: {victim} is the only real server (down while it is, not counted)")
    return result, snap


def guest_event(lab, victim, command, fallback, check=True):
    """Run the event's command on the victim; the moment it ran (the guest's clock), else ``fallback``."""
    code, out = lab.ssh(victim, f"date +%s.%N && {command}", timeout=30)
    if check and code != 0:
        raise RuntimeError(f"{command} on {victim} failed (exit {code})")
    try:
        return float(out.split()[0])
    except (IndexError, ValueError):
        return fallback


def track_timing(lab, director):
    """(interval, ping timeout, fall) of the reachability check in the director's keepalived.conf, or None."""
    _code, out = lab.ssh(director, "cat /etc/keepalived/keepalived.conf")
    block = re.search(r"^vrrp_script\s+\S+\s*{(.*?)^}", out, re.M | re.S)
    if not block:
        return None
    ping = re.search(r"-W\s+([0-9.]+)", block.group(1))
    interval = re.search(r"^\s*interval\s+([0-9.]+)", block.group(1), re.M)
    fall = re.search(r"^\s*fall\s+(\d+)", block.group(1), re.M)
    if not (ping and interval and fall):
        return None
    return float(interval.group(1)), float(ping.group(1)), int(fall.group(1))


def went_fault(lab, director, since):
    """Whether the director's keepalived logged a FAULT state (the notify script's journal line) since then."""
    code, out = lab.ssh(director, f"journalctl -q -o cat -t lvs-keepalived --since @{int(since)} "
                                  "| grep -c ' is now FAULT'")
    return code == 0 and out.strip() not in ("", "0")


def vrrp_timing(lab, backup):
    """(advert interval, the backup's priority) from the backup director's rendered keepalived.conf."""
    _code, out = lab.ssh(backup, "cat /etc/keepalived/keepalived.conf")
    adverts = [float(v) for v in re.findall(r"^\s*advert_int\s+([0-9.]+)", out, re.M)]
    priorities = [int(v) for v in re.findall(r"^\s*priority\s+(\d+)", out, re.M)]
    if not adverts or not priorities:
        raise RuntimeError(f"no advert_int/priority in {backup}'s keepalived.conf")
    return max(adverts), min(priorities)


def site_yml_changes(lab):
    """A second converge: {host: changed count} from the PLAY RECAP of playbooks/site.yml."""
    inventory = lab.lab("inventory", capture=True).strip()
    result = subprocess.run(["ansible-playbook", "-i", inventory, "-i", str(PROJECT / "inventory" / "lab"),
                             str(PROJECT / "playbooks" / "site.yml")], cwd=PROJECT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, universal_newlines=True, timeout=1800, check=False)
    recap = dict((m.group(1), (int(m.group(2)), int(m.group(3)), int(m.group(4))))
                 for m in re.finditer(r"^(\S+)\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)",
                                      result.stdout, re.M))
    return result.returncode, recap, result.stdout


def main(argv=None):
    parser = argparse.ArgumentParser(prog="lvs-drill", description=__doc__.splitlines()[0])
    parser.add_argument("--name", default=os.environ.get("LVS_LAB_NAME", "default"), help="the lab (default: default)")
    parser.add_argument("--events", default="all",
                        help="all, ci (one of each mechanism), or event names separated by commas (see --list)")
    parser.add_argument("--list", action="store_true", help="list the events and exit")
    parser.add_argument("--site-yml", action="store_true", help="after the events: site.yml again, changed=0")
    parser.add_argument("--json", help="also write the rows to this file")
    arguments = parser.parse_args(argv)
    if arguments.list:
        for name, (kind, _action, _target) in EVENTS.items():
            print(f"{name:<34} {kind}{'  (ci)' if name in CI_EVENTS else ''}")
        return 0
    if arguments.events == "all":
        names = list(EVENTS)
    elif arguments.events == "ci":
        names = list(CI_EVENTS)
    else:
        names = [name.strip() for name in arguments.events.split(",") if name.strip()]
        unknown = [name for name in names if name not in EVENTS]
        if unknown:
            parser.error(f"unknown events {unknown}; known: {', '.join(EVENTS)}")
    started = time.time()
    lab = Lab(arguments.name)
    services = model()
    gateways = {gateway.split("/")[0] for gateway in
                yaml.safe_load(DIRECTOR_MODEL.read_text()).get("lvs_nat_gateways", [])}
    cluster = Cluster(lab, {url_host(url) for _name, url, _hosts in services} | gateways)
    snap = cluster.record_baseline(services)
    backup = [d for d in DIRECTORS if d != cluster.master(snap)][0]
    advert, priority = vrrp_timing(lab, backup)
    budget = bookkeeping.director_outage_budget(advert, priority)
    track = track_timing(lab, cluster.master(snap))
    cut_budget = bookkeeping.link_cut_budget(*track) if track else budget
    log(f"converged: {cluster.master(snap)} master; VRRP adverts {advert} s, backup priority {priority}: director "
        f"outage budget {budget} s; front reachability check {track or 'none'}: link cut budget {cut_budget} s; "
        f"{len(names)} events")
    rows = []
    for name in names:
        event_started = time.time()
        result, snap = run_event(name, lab, cluster, services, snap, cut_budget)
        row = bookkeeping.evaluate(result, budget)
        row["wall_seconds"] = round(time.time() - event_started, 1)
        rows.append(row)
        log(f"{name}: {'ok' if not row['over'] else 'OVER: ' + '; '.join(row['over'])} "
            f"({row['wall_seconds']} s){''.join(' | ' + note for note in row['notes'])}")
        if result.converged_seconds is None:
            log("the cluster did not come back: the remaining events are not run")
            break
    print()
    print(bookkeeping.render_table(rows))
    ok = bookkeeping.passed(rows) and len(rows) == len(names)
    if arguments.site_yml:
        code, recap, output = site_yml_changes(lab)
        changed = {host: counts for host, counts in recap.items() if any(counts)}
        if code != 0 or changed or not recap:
            print(output[-3000:])
            print(f"site.yml after the drill: exit {code}, hosts with changes/unreachable/failures: {changed}")
            ok = False
        else:
            print(f"site.yml after the drill: changed=0 on every host ({', '.join(sorted(recap))})")
    print(f"drill: {len(rows)} of {len(names)} events in {time.time() - started:.0f} s: {'PASS' if ok else 'FAIL'}")
    if arguments.json:
        Path(arguments.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0 if ok else 1


def url_host(url):
    return url.split("//", 1)[1].rsplit(":", 1)[0].strip("[]")


if __name__ == "__main__":
    sys.exit(main())
