"""Day-2 operations (issue 14): connection-aware drain and restore of a real server, on the converged DR lab.

While a bounded client load runs through the VIP from the lab namespace (short requests, and one long-lived
download on each real server), playbooks/drain.yml drains rs1 in every service: no request fails, no new
connection goes to rs1 once the kernel has weight 0, the long-lived download from rs1 finishes whole, and the
drain's wait returns when rs1's active connections reach 0, reporting the counts. A second drain changes
nothing; a converge of the directors during the drain keeps rs1 at weight 0; playbooks/restore.yml puts the
inventory's weights back and traffic reaches rs1 again; a second restore changes nothing. The keepalived
reload that applies the weights must not flush the table: the service's connection counter counts every
connection of the test exactly once across it.

The tests of this module run in order and share the drain (each later one needs the earlier).
"""
import collections
import json
import os
import re
import subprocess
import sys
import threading
import time
import warnings

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "_lab"))
import labtest  # noqa: E402  pylint: disable=wrong-import-position
from labtest import host  # noqa: E402  pylint: disable=wrong-import-position

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
LAB = labtest.lab("dr")
SLOW_CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "slow_client.py")
PLAYBOOKS = os.path.join(labtest.PROJECT, "playbooks")
CONVERGE = os.path.join(labtest.PROJECT, "molecule", "cluster_dr", "converge.yml")
ANSI = re.compile(r"\x1b\[[0-9;]*m")

VIP, PORT = "198.51.100.100", 80
DIRECTORS = ("director1", "director2")
RS1, RS2 = "198.51.100.21", "198.51.100.22"
STATE_FILE = "/etc/lvs-cluster/drain.json"
# rs1's destination in each service of the lab, and its inventory weight.
RS1_SERVICES = {
    "-t 198.51.100.100:80": ("198.51.100.21:80", 1),
    "-t 198.51.100.102:8080": ("198.18.1.21:80", 2),
    "-t [2001:db8:100::100]:80": ("[2001:db8:100::21]:80", 1),
    "-f 10": ("198.51.100.21:0", 1),
}
LARGE_FILE = "/var/www/lvs-web/large.bin"
WAIT_BANNER = "Drain - wait until no active connection is left"
SHORT_REQUESTS = 2000  # at most (about 5 requests a second: 6-7 minutes); the test stops the load much earlier

LOAD = r"""
out=$1; url=$2; n=$3
i=0
while [ $i -lt $n ] && [ ! -e $out/stop ]; do
  t=$(date +%s.%N)
  r=$(curl -s -m 5 -o /dev/null -w '%{http_code} %header{x-served-by}' "$url")
  echo "$t $? $r" >> $out/short
  i=$((i + 1))
  sleep 0.15
done
"""


def master():
    names = [name for name in DIRECTORS
             if VIP in host(name).check_output("ip -o address show dev eth1")]
    assert len(names) == 1, "exactly one director must hold %s, found %s" % (VIP, names)
    return names[0]


def weights(director):
    """{service: weight of rs1's destination (None: absent)} from ipvsadm, the independent reader."""
    result = {}
    for service, (destination, _weight) in RS1_SERVICES.items():
        output = host(director).check_output("ipvsadm -Ln %s" % service)
        found = re.search(r"->\s+%s\s+\S+\s+(\d+)" % re.escape(destination), output)
        result[service] = int(found.group(1)) if found else None
    return result


def inventory_weights():
    return dict((service, weight) for service, (_destination, weight) in RS1_SERVICES.items())


def drained_weights():
    return dict((service, 0) for service in RS1_SERVICES)


def connections(director, service="-t %s:%d" % (VIP, PORT)):
    """{destination or 'service': total connections scheduled} from ipvsadm --stats."""
    output = host(director).check_output("ipvsadm -Ln --stats --exact %s" % service)
    counts = dict((m.group(1), int(m.group(2))) for m in re.finditer(r"->\s+(\S+)\s+(\d+)", output))
    counts["service"] = int(re.search(r"^TCP\s+\S+\s+(\d+)", output, re.M).group(1))
    return counts


def playbook(name, *extra, check=False, on_line=None, limit=None):
    """Run a playbook against the lab; (rc, output without colour, {host: recap counts})."""
    command = ["ansible-playbook", "-i", os.path.dirname(INVENTORY), name]
    for item in extra:
        command += ["-e", item]
    if check:
        command.append("--check")
    if limit:
        command += ["-l", limit]
    run = subprocess.Popen(command, env=dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1",
                                             PYTHONUNBUFFERED="1"),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    lines = []
    for line in run.stdout:
        lines.append(ANSI.sub("", line))
        if on_line:
            on_line(lines[-1])
    rc = run.wait(timeout=900)
    output = "".join(lines)
    recap = dict((name, dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", counts)))
                 for name, counts in re.findall(r"^\s*(\S+)\s+:\s+(ok=.*)$", output, re.M))
    return rc, output, recap


def drain(*extra, **kwargs):
    return playbook(os.path.join(PLAYBOOKS, "drain.yml"), "lvs_real_server=rs1", *extra, **kwargs)


def restore(*extra, **kwargs):
    return playbook(os.path.join(PLAYBOOKS, "restore.yml"), "lvs_real_server=rs1", *extra, **kwargs)


def flat(output):
    """The output with its line breaks and indentation folded (the callback wraps long messages)."""
    return re.sub(r"\s+", " ", output)


def changed(recap):
    return dict((name, counts["changed"]) for name, counts in recap.items())


def snapshot(name):
    return host(name).check_output(
        "sha256sum /etc/keepalived/keepalived.conf; ls /etc/lvs-cluster/; ipvsadm -Sn | sort")


def client_background(script, *args):
    return subprocess.Popen([labtest.LVS_LAB, "exec", "--name", LAB, "--", *script, *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def read_json(path):
    with open(path) as handle:
        return json.load(handle)


@pytest.fixture(scope="module")
def shared():
    return {}


def test_bad_input_is_refused_naming_it_before_any_change():
    before = dict((name, snapshot(name)) for name in DIRECTORS)
    cases = {("lvs_real_server=rs9",): "real server: rs9 is not in the inventory",
             ("lvs_real_server=rs1", "lvs_service=web-nope"): "service: web-nope is no virtual service",
             ("lvs_real_server=rs3",): "draining rs3 would leave web-tun (tcp/198.51.100.101:80) with a weight of 0"}
    cases[("lvs_real_server=rs1", "lvs_service=tcp/198.51.100.199:80", "restore")] = \
        "service: tcp/198.51.100.199:80 is no virtual service"
    results = {}

    def run(extra):
        name = "restore.yml" if extra[-1] == "restore" else "drain.yml"
        results[extra] = playbook(os.path.join(PLAYBOOKS, name), *[e for e in extra if e != "restore"])

    threads = [threading.Thread(target=run, args=(extra,)) for extra in cases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    for extra, message in cases.items():
        rc, output, recap = results[extra]
        assert rc != 0 and message in output, output[-3000:]
        assert set(changed(recap)) == set(DIRECTORS) and set(changed(recap).values()) == {0}, recap
    assert dict((name, snapshot(name)) for name in DIRECTORS) == before


def test_check_mode_reports_the_drain_and_writes_nothing():
    before = dict((name, snapshot(name)) for name in DIRECTORS)
    rc, output, recap = drain(check=True)
    assert rc == 0, output[-3000:]
    assert all(count > 0 for count in changed(recap).values()), recap
    assert flat(output).count("check mode: would drain rs1 in tcp/198.51.100.100:80") == 2, output[-3000:]
    assert dict((name, snapshot(name)) for name in DIRECTORS) == before
    assert all(weights(name) == inventory_weights() for name in DIRECTORS)


def test_drain_under_load(tmp_path, shared):
    active = master()
    os.chmod(str(tmp_path), 0o777)
    before = connections(active)
    release = str(tmp_path / "release")
    # Two long-lived downloads first: rr gives one to each real server.
    longs = []
    for number in (1, 2):
        result = str(tmp_path / ("long%d.json" % number))
        longs.append((result, client_background(["python3", SLOW_CLIENT, VIP, "/large.bin", release, result, "300"])))
        labtest.wait_for(lambda: os.path.exists(result), 30, "long-lived download %d did not start" % number, 0.2)
    servers = dict((read_json(path)["served_by"], path) for path, _run in longs)
    assert set(servers) == {"rs1", "rs2"}, servers
    load = client_background(["sh", "-c", LOAD, "load", str(tmp_path), "http://%s/" % VIP, str(SHORT_REQUESTS)])
    time.sleep(3)

    marks = {}

    def on_line(line):
        if WAIT_BANNER in line and "wait" not in marks:
            marks["wait"] = time.time()

    def release_later():
        # Once the kernel has weight 0 (the drain's wait has begun), keep the long-lived download going 10 s more,
        # note rs1's connection counter, then let the download finish.
        labtest.wait_for(lambda: "wait" in marks, 600, "the drain never started waiting", 0.2)
        time.sleep(10)
        marks["at_wait"] = connections(active)
        open(release, "w").close()
        marks["released"] = time.time()

    started = time.time()
    releaser = threading.Thread(target=release_later)
    releaser.start()
    rc, output, recap = drain(on_line=on_line)
    finished = time.time()
    releaser.join(timeout=120)
    time.sleep(3)
    open(str(tmp_path / "stop"), "w").close()
    load.wait(timeout=60)
    for _path, run in longs:
        run.wait(timeout=120)
    # The kernel's estimator folds the per-CPU counters into what ipvsadm reads every 2 s: wait for the last.
    expected = sum(1 for _line in open(str(tmp_path / "short"))) + 2
    # Every count below is the master's: the VIP must not have moved (a failover splits them between directors).
    assert master() == active, "the VIP moved from %s during the drain test (failover)" % active
    labtest.wait_for(lambda: connections(active)["service"] - before["service"] >= expected, 10,
                     "the service counted fewer connections than the test made: %d expected since %s, now %s"
                     % (expected, before, connections(active)), 1)
    after = connections(active)
    shared["drained"] = rc == 0
    assert rc == 0, output[-5000:]

    # The long-lived download from rs1 ended whole and normally, after the release; the drain waited for it.
    rs1_long = read_json(servers["rs1"])
    rs2_long = read_json(servers["rs2"])
    for result in (rs1_long, rs2_long):
        assert result["error"] is None and result["status"] == 200, result
        assert result["length"] == result["content_length"] == 1048576, result
    assert rs1_long["sha256"] == labtest.sha256_of("rs1", LARGE_FILE)
    assert rs2_long["sha256"] == labtest.sha256_of("rs2", LARGE_FILE)
    assert marks["wait"] < marks["released"] <= rs1_long["closed"] < finished, (marks, rs1_long, finished)
    wait_returned_after = finished - rs1_long["closed"]
    shared["wait_returned_after"] = wait_returned_after
    shared["drain_seconds"] = finished - started
    # The wait polls every 2 s; reading and Ansible's own overhead in the UML guests add a few seconds.
    assert wait_returned_after < 20, "the wait returned %.1f s after rs1's last connection closed" % wait_returned_after

    # No failed request; rs1 served some before the drain and none once the kernel had weight 0.
    lines = [line.split() for line in open(str(tmp_path / "short")).read().splitlines()]
    requests = [(float(t), rc_, code, server[0] if server else None) for t, rc_, code, *server in lines]
    failed = [r for r in requests if r[1] != "0" or r[2] != "200"]
    shared["requests"], shared["failed"] = len(requests), len(failed)
    assert requests and not failed, failed
    assert any(server == "rs1" for t, _rc, _code, server in requests if t < started), requests[:20]
    late = [r for r in requests if r[0] > marks["wait"]]
    assert len(late) > 20 and set(r[3] for r in late) == {"rs2"}, late
    # The kernel agrees: rs1's connection counter did not move after weight 0 on the master; the reload did not
    # flush the service (its counter counts each connection of the test exactly once: the two long-lived
    # downloads and every short request).
    assert after[RS1 + ":80"] == marks["at_wait"][RS1 + ":80"], (marks["at_wait"], after)
    assert after["service"] - before["service"] == len(requests) + 2, (before, after, len(requests))

    # Weight 0 everywhere, recorded on both directors; the report names every service with 0 active left.
    for name in DIRECTORS:
        assert weights(name) == drained_weights(), name
        state = json.loads(host(name).file(STATE_FILE).content_string)
        assert state == {"version": 1, "drained": {"rs1": ["*"]}}, state
        assert "- drained: weight 0 until playbooks/restore.yml" in host(name).file(
            "/etc/keepalived/keepalived.conf").content_string
    report = re.findall(r"web-dr tcp/198\.51\.100\.100:80 -> 198\.51\.100\.21:80: weight 0, (\d+) active, "
                        r"(\d+) inactive, (\d+) persistent", flat(output))
    assert len(report) == 2 and all(active == "0" for active, _inactive, _persistent in report), output[-5000:]
    assert flat(output).count("fwmark/ipv4/10 -> 198.51.100.21:0: weight 0, 0 active") == 2, output[-5000:]
    shared["report"] = report
    # The figures, in pytest's warnings summary (shown in the scenario's log also when everything passes).
    warnings.warn("drain figures: %d requests, %d failed, drain %.1f s, wait returned %.1f s after the last rs1 "
                  "connection closed; web-dr report (active, inactive, persistent) per director: %s"
                  % (len(requests), len(failed), shared["drain_seconds"], wait_returned_after, report))


def test_a_second_drain_changes_nothing(shared):
    assert shared.get("drained"), "needs the drain"
    rc, output, recap = drain()
    assert rc == 0, output[-3000:]
    assert changed(recap) == {"director1": 0, "director2": 0}, recap
    assert flat(output).count("web-dr tcp/198.51.100.100:80 -> 198.51.100.21:80: weight 0, 0 active") == 2, output


def test_a_converge_during_the_drain_keeps_rs1_at_weight_0(shared):
    assert shared.get("drained"), "needs the drain"
    rc, output, recap = playbook(CONVERGE, limit="directors")
    assert rc == 0, output[-5000:]
    assert changed(recap) == {"director1": 0, "director2": 0}, recap
    assert "Drained (weight 0 until playbooks/restore.yml" in flat(output)
    for name in DIRECTORS:
        assert weights(name) == drained_weights(), name
    counts = labtest.requests(LAB, "http://%s/" % VIP, 6)
    assert counts == collections.Counter({"rs2": 6}), counts


def test_restore_puts_the_inventory_weight_back_and_traffic_reaches_rs1(shared):
    assert shared.get("drained"), "needs the drain"
    assert all(weights(name) == drained_weights() for name in DIRECTORS)

    # The health gate: rs1 not answering is refused before any change (nginx stopped: keepalived also takes rs1
    # out of the table meanwhile, and back at weight 0 once it answers again).
    before = dict((name, snapshot(name)) for name in DIRECTORS)
    rs1 = host("rs1")
    rs1.run("systemctl stop nginx")
    try:
        rc, output, recap = restore()
    finally:
        rs1.run("systemctl start nginx")
    assert rc != 0 and "Restore - health gate" in output and "198.51.100.21" in output, output[-3000:]
    assert set(changed(recap).values()) == {0}, recap
    labtest.wait_for(lambda: dict((name, snapshot(name)) for name in DIRECTORS) == before, 30,
                     "the directors did not come back to their drained state")

    rc, output, recap = restore()
    assert rc == 0, output[-5000:]
    assert "Restore - health gate - the real server's HTTP health check passes" in output
    assert all(count > 0 for count in changed(recap).values()), recap
    for name in DIRECTORS:
        assert weights(name) == inventory_weights(), name
        assert not host(name).file(STATE_FILE).exists
    counts = labtest.requests(LAB, "http://%s/" % VIP, 10)
    assert counts == collections.Counter({"rs1": 5, "rs2": 5}), counts
    rc, output, recap = restore()
    assert rc == 0 and changed(recap) == {"director1": 0, "director2": 0}, (recap, output[-3000:])
