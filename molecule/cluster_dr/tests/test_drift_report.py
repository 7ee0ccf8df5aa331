"""Day-2 operations (issue 14): the drift check and the cluster report, on the converged DR lab.

Drift: playbooks/drift.yml passes on the converged lab and changes nothing; then real drift is injected - a
weight changed over netlink (ipvsadm) on the master, a rogue real server added there, rs2's arp_ignore flipped,
keepalived.conf edited on the backup without a reload - and the drift check fails naming each one (host, object,
wanted, found), still changing nothing; once each is put back, it passes again.

Report: playbooks/report.yml writes the JSON, text and SVG files; every VIP and real server of the model is in
them, the master is named, the counters are integers and count the connections this test opened through the
VIP (short requests, and a long-lived download that shows as an active connection).

Each test leaves the lab as it found it.
"""
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "_lab"))
import labtest  # noqa: E402  pylint: disable=wrong-import-position
from labtest import host  # noqa: E402  pylint: disable=wrong-import-position

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
LAB = labtest.lab("dr")
PLAYBOOKS = os.path.join(labtest.PROJECT, "playbooks")
SLOW_CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "slow_client.py")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
VIP, PORT = "198.51.100.100", 80
DIRECTORS = ("director1", "director2")
RS1, RS2 = "198.51.100.21", "198.51.100.22"
ROGUE = "198.51.100.99"
KEEPALIVED = "/etc/keepalived/keepalived.conf"
# Every VIP and real server of inventory/lab (the model).
MODEL_VIPS = {"198.51.100.100", "198.51.100.101", "198.51.100.102", "2001:db8:100::100", "198.51.100.103"}
MODEL_SERVICES = {"web-dr", "web-tun", "web-nat", "web-dr6", "web-fwmark"}
MODEL_REAL_SERVERS = {"rs1", "rs2", "rs3"}


def playbook(name, *extra):
    """Run a playbook against the lab: (rc, output without colour, {host: changed count})."""
    command = ["ansible-playbook", "-i", os.path.dirname(INVENTORY), os.path.join(PLAYBOOKS, name)]
    for item in extra:
        command += ["-e", item]
    run = subprocess.run(command, env=dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1"),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=900,
                         check=False)
    output = ANSI.sub("", run.stdout)
    changed = dict((name, int(count)) for name, count in re.findall(r"^\s*(\S+)\s+:\s+ok=\d+\s+changed=(\d+)",
                                                                     output, re.M))
    return run.returncode, output, changed


def flat(output):
    """The output with the callback's line wrapping folded, and quotes as in the message (the callback's JSON
    format escapes double quotes, its YAML format doubles single quotes)."""
    return re.sub(r"\s+", " ", output).replace('\\"', '"').replace("''", "'")


def master():
    names = [name for name in DIRECTORS if VIP in host(name).check_output("ip -o address show dev eth1")]
    assert len(names) == 1, "exactly one director must hold %s, found %s" % (VIP, names)
    return names[0]


def state(names):
    """What the drift check must never touch: the table, keepalived.conf and the sysctls, per host."""
    result = {}
    for name in names:
        if name.startswith("director"):
            result[name] = host(name).check_output("sha256sum %s; ipvsadm -Sn | sort" % KEEPALIVED)
        else:
            result[name] = host(name).check_output("sysctl -a 2>/dev/null | grep -E 'arp_ignore|arp_announce|rp_filter'"
                                                   "; ip -br address show")
    return result


def test_no_drift_on_the_converged_lab_and_nothing_changed():
    before = state(DIRECTORS + ("rs1", "rs2", "rs3"))
    rc, output, changed = playbook("drift.yml")
    assert rc == 0, output[-4000:]
    assert "no drift" in output, output[-4000:]
    assert set(changed) >= set(DIRECTORS + ("rs1", "rs2", "rs3")), changed
    assert set(changed.values()) == {0}, changed
    assert state(DIRECTORS + ("rs1", "rs2", "rs3")) == before


def test_injected_drift_is_named_then_repaired():
    active = master()
    backup = [name for name in DIRECTORS if name != active][0]
    rs2 = host("rs2")
    arp_key = "net.ipv4.conf.eth1.arp_ignore"
    arp_before = rs2.check_output("sysctl -n %s" % arp_key).strip()
    assert arp_before == "1", "the real_server role sets %s=1 on rs2" % arp_key
    priority = re.search(r"^\s*priority (\d+)", host(backup).check_output("cat %s" % KEEPALIVED), re.M).group(1)
    try:
        host(active).check_output("ipvsadm -e -t %s:%d -r %s:%d -g -w 5" % (VIP, PORT, RS2, PORT))
        # A rogue real server with weight 0: in the table, but given no traffic while the test runs.
        host(active).check_output("ipvsadm -a -t %s:%d -r %s:%d -g -w 0" % (VIP, PORT, ROGUE, PORT))
        rs2.check_output("sysctl -q -w %s=0" % arp_key)
        host(backup).check_output("cp -p %s /root/keepalived.conf.drift-test && "
                                  "sed -i 's/^\\(\\s*priority\\) %s$/\\1 %d/' %s"
                                  % (KEEPALIVED, priority, int(priority) + 7, KEEPALIVED))
        injected = state(DIRECTORS + ("rs2",))
        rc, output, changed = playbook("drift.yml")
        text = flat(output)
        assert rc != 0, output[-4000:]
        expected = [
            "%s IPVS service tcp/%s:%d real server %s:%d weight: wanted 1, found 5" % (active, VIP, PORT, RS2, PORT),
            "%s IPVS service tcp/%s:%d real server %s:%d: wanted absent (not in the inventory), found present "
            "(dr, weight 0)" % (active, VIP, PORT, ROGUE, PORT),
            "rs2 sysctl %s: wanted 1, found 0" % arp_key,
            "%s %s line" % (backup, KEEPALIVED),
            'wanted "priority %s", found "priority %d"' % (priority, int(priority) + 7),
        ]
        for item in expected:
            assert item in text, (item, output[-6000:])
        assert "difference(s) between the cluster and the inventory" in text
        # Nothing else differs, and the check repaired nothing (its check-mode tasks say "changed" for what a
        # converge would change on the directors; nothing did).
        assert "%s IPVS" % backup not in text and "rs1 sysctl" not in text and "rs1 device" not in text
        assert all(changed[name] == 0 for name in ("rs1", "rs2", "rs3")), changed
        assert state(DIRECTORS + ("rs2",)) == injected
    finally:
        host(active).run("ipvsadm -d -t %s:%d -r %s:%d" % (VIP, PORT, ROGUE, PORT))
        host(active).check_output("ipvsadm -e -t %s:%d -r %s:%d -g -w 1" % (VIP, PORT, RS2, PORT))
        rs2.check_output("sysctl -q -w %s=%s" % (arp_key, arp_before))
        host(backup).run("test -e /root/keepalived.conf.drift-test && mv /root/keepalived.conf.drift-test %s"
                         % KEEPALIVED)
    rc, output, _changed = playbook("drift.yml")
    assert rc == 0 and "no drift" in output, output[-4000:]


def report(directory):
    rc, output, changed = playbook("report.yml", "lvs_report_dir=%s" % directory)
    assert rc == 0, output[-4000:]
    assert set(changed.get(name, 0) for name in DIRECTORS + ("rs1", "rs2", "rs3")) == {0}, changed
    with open(os.path.join(directory, "report.json")) as handle:
        return json.load(handle), output


def service(data, name):
    return [s for s in data["services"] if s["name"] == name][0]


def test_report_counts_the_connections_opened_through_the_vip(tmp_path):
    directory = str(tmp_path / "report")
    active = master()
    first, _output = report(directory)
    before = dict((row["host"], row["connections"]) for row in service(first, "web-dr")["real_servers"])
    requests = 20
    answers = labtest.requests(LAB, "http://%s/" % VIP, requests)
    assert sum(answers.values()) == requests and "FAILED" not in answers, answers
    os.chmod(str(tmp_path), 0o777)
    release = str(tmp_path / "release")
    result = str(tmp_path / "long.json")
    slow = subprocess.Popen([labtest.LVS_LAB, "exec", "--name", LAB, "--", "python3", SLOW_CLIENT, VIP, "/large.bin",
                             release, result, "240"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        labtest.wait_for(lambda: os.path.exists(result), 60, "the long-lived download did not start")
        data, output = report(directory)
    finally:
        open(release, "w").close()
        slow.wait(timeout=120)

    # Every VIP, service and real server of the model; the master named.
    assert set(s["name"] for s in data["services"]) == MODEL_SERVICES
    assert set(s["vip"] for s in data["services"]) == MODEL_VIPS
    assert set(r["host"] for s in data["services"] for r in s["real_servers"]) == MODEL_REAL_SERVERS
    assert data["directors"] == list(DIRECTORS)
    assert all(instance["master"] == active for instance in data["vrrp"]), data["vrrp"]
    assert all(s["director"] == active and s["in_table"] for s in data["services"]), data["services"]
    for entry in data["services"]:
        for row in entry["real_servers"]:
            # drained: held at weight 0 by the drain state (playbooks/drain.yml), which the report shows as such
            assert row["health"] == "up" or (row["health"] == "drained" and row["weight"] == 0), row
            for key in ("weight", "active_connections", "inactive_connections", "connections", "cps", "in_bps",
                        "in_bytes"):
                assert isinstance(row[key], int) and not isinstance(row[key], bool), (key, row)
    # The connections this test opened: the 20 requests (rr: 10 each) and the long download, still active.
    web = service(data, "web-dr")
    after = dict((row["host"], row["connections"]) for row in web["real_servers"])
    assert sum(after.values()) - sum(before.values()) >= requests + 1, (before, after)
    serving = [row["host"] for row in web["real_servers"] if row["health"] == "up"]
    assert serving, web
    assert all(after[name] - before[name] >= requests // len(serving) for name in serving), (before, after)
    assert sum(row["active_connections"] for row in web["real_servers"]) >= 1, web
    assert web["connections"] >= sum(after.values())

    # The same in the table the playbook printed and wrote.
    text = flat(output)
    assert "master %s" % active in text
    for name in MODEL_SERVICES:
        assert name in text
    with open(os.path.join(directory, "report.txt")) as handle:
        table = handle.read()
    assert all(name in table for name in MODEL_SERVICES | MODEL_REAL_SERVERS)

    # The SVG parses as XML and names every VIP and real server.
    tree = ET.parse(os.path.join(directory, "topology.svg"))
    texts = " ".join(t.text or "" for t in tree.getroot().iter("{http://www.w3.org/2000/svg}text"))
    for name in MODEL_VIPS | MODEL_REAL_SERVERS | set(DIRECTORS):
        assert name in texts, name
    for name in ("report.json", "report.txt", "topology.svg"):
        assert os.stat(os.path.join(directory, name)).st_mode & 0o777 == 0o644
    assert os.stat(directory).st_mode & 0o777 == 0o755
    # The long download finished whole (the lab is as it was).
    with open(result) as handle:
        long = json.load(handle)
    assert long.get("error") is None, long
