"""Rolling maintenance and real servers or services leaving and joining (issue 14), on the converged NAT lab, each
under a bounded client load through the NAT VIP counted per request: short requests (curl, one connection each)
and long-lived downloads (4-5 s each, one after another). None may fail, and every long download must arrive
whole. Collected after the read-only tests and before test_nat_zz_removal.py; the tests run in order and leave
the lab as converged (web-dr is removed, then added back).

1. Bad input is refused naming it, before any change (directors and real servers unchanged).
2. playbooks/remove_service.yml takes web-dr out (drained first); from then on the tests pass the inventory
   without it (vars/nat_only.yml), as an operator edits it after the removal.
3. playbooks/rolling_maintenance.yml reboots rs1 then rs2.
4. The same with the operator's task file (tests/maintenance_tasks.yml: restarts nginx) on rs2 only.
5. playbooks/remove_real_server.yml takes rs2 out of web-nat and add_real_server.yml brings it back; a second
   add changes nothing.
6. playbooks/add_service.yml brings web-dr back (the full inventory again).
"""
import collections
import glob
import json
import os
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "_lab"))
import labtest  # noqa: E402  pylint: disable=wrong-import-position
from test_cluster_nat import DIRECTOR, LAB, NAT  # noqa: E402  pylint: disable=wrong-import-position

testinfra_hosts = [DIRECTOR]

HERE = os.path.dirname(os.path.abspath(__file__))
INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
PLAYBOOKS = os.path.join(labtest.PROJECT, "playbooks")
NAT_ONLY = "@" + os.path.join(HERE, "..", "vars", "nat_only.yml")
TASKS = os.path.join(HERE, "maintenance_tasks.yml")
SLOW_CLIENT = os.path.join(labtest.PROJECT, "molecule", "cluster_dr", "tests", "slow_client.py")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
RS = {"198.18.1.21": "rs1", "198.18.1.22": "rs2"}
LARGE_FILE = "/var/www/lvs-web/large.bin"
FIGURES = {}

SHORT = r"""
out=$1; url=$2
while [ ! -e $out/stop ]; do
  r=$(curl -s -m 5 -o /dev/null -w '%{http_code} %header{x-served-by}' "$url")
  echo "$? $r" >> $out/short
  sleep 0.2
done
"""

LONG = r"""
out=$1; client=$2; vip=$3; port=$4; n=0
while [ ! -e $out/stop ]; do
  n=$((n + 1))
  (sleep 4; touch $out/release$n) &
  python3 $client $vip /large.bin $out/release$n $out/long$n.json 60 $port
done
"""


class Load(object):
    """Short requests and long downloads through the NAT VIP from the client side while a block runs."""

    def __init__(self, tmp_path):
        self.out = str(tmp_path)
        os.chmod(self.out, 0o777)
        self.runs = []

    def __enter__(self):
        url = "http://%s:8080/" % NAT
        self.runs = [subprocess.Popen([labtest.LVS_LAB, "exec", "--name", LAB, "--", "sh", "-c", script, "load",
                                       self.out] + args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
                     for script, args in ((SHORT, [url]), (LONG, [SLOW_CLIENT, NAT, "8080"]))]
        labtest.wait_for(lambda: os.path.exists(os.path.join(self.out, "short")), 30, "the load did not start", 0.2)
        return self

    def __exit__(self, *exc):
        open(os.path.join(self.out, "stop"), "w").close()
        for run in self.runs:
            run.wait(timeout=90)

    def results(self):
        """(short answers Counter by server or 'FAILED ...', long results)."""
        short = collections.Counter()
        for line in open(os.path.join(self.out, "short")).read().splitlines():
            rc, code, *server = line.split() + [""] * (3 - len(line.split()))
            short[server[0] if rc == "0" and code == "200" else "FAILED %s %s" % (rc, code)] += 1
        longs = [json.load(open(path)) for path in glob.glob(os.path.join(self.out, "long*.json"))]
        return short, longs

    def assert_none_failed(self, name, served_by=None):
        short, longs = self.results()
        failed = dict((k, v) for k, v in short.items() if k.startswith("FAILED"))
        assert sum(short.values()) > 20 and not failed, (name, short)
        digests = dict((labtest.sha256_of(rs, LARGE_FILE), rs) for rs in ("rs1", "rs2"))
        bad = [r for r in longs if r.get("error") or r.get("status") != 200 or r.get("length") != 1048576
               or r.get("sha256") not in digests]
        assert len(longs) >= 2 and not bad, (name, bad)
        if served_by is not None:
            assert set(short) <= served_by, (name, short)
        FIGURES[name] = "%d short (%s), %d long, 0 failed" % (
            sum(short.values()), ", ".join("%s %d" % item for item in sorted(short.items())), len(longs))
        return short


def playbook(name, *extra, check=False):
    """Run a playbook against the lab: (rc, output without colour, {host: changed})."""
    command = ["ansible-playbook", "-i", os.path.dirname(INVENTORY), os.path.join(PLAYBOOKS, name)]
    for item in extra:
        command += ["-e", item]
    if check:
        command.append("--check")
    started = time.time()
    run = subprocess.run(command, env=dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1"),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=1800,
                         check=False)
    output = ANSI.sub("", run.stdout)
    changed = dict((host, int(count)) for host, count in
                   re.findall(r"^\s*(\S+)\s+:\s+ok=\d+\s+changed=(\d+)", output, re.M))
    FIGURES.setdefault("seconds", {})[" ".join((name,) + extra)[:60]] = round(time.time() - started)
    return run.returncode, output, changed


def flat(output):
    return re.sub(r"\s+", " ", output)


def table(service="-t %s:8080" % NAT):
    """{real server: weight} of a service on the director, None when the service is not in the table."""
    result = labtest.host(DIRECTOR).run("ipvsadm -Ln %s" % service)
    if result.rc != 0:
        return None
    return dict((RS.get(m.group(1), m.group(1)), int(m.group(2)))
                for m in re.finditer(r"->\s+(\S+):\d+\s+\S+\s+(\d+)", result.stdout))


def snapshot():
    director = labtest.host(DIRECTOR).check_output(
        "sha256sum /etc/keepalived/keepalived.conf; ls /etc/lvs-cluster/; ipvsadm -Sn | sort")
    servers = dict((name, labtest.host(name).check_output(
        "cat /proc/sys/kernel/random/boot_id; systemctl show -p MainPID nginx; ip -o address; ip rule"))
        for name in ("rs1", "rs2"))
    return director, servers


def boot_id(name):
    return labtest.host(name).check_output("cat /proc/sys/kernel/random/boot_id").strip()


def test_bad_input_is_refused_naming_it_before_any_change():
    before = snapshot()
    cases = {
        ("rolling_maintenance.yml", "lvs_maintenance_action=explode"):
            "value of lvs_director_rolling_action must be one of: reboot, upgrade, tasks, got: explode",
        ("rolling_maintenance.yml", "lvs_maintenance_tasks=/nonexistent/tasks.yml"):
            "rolling maintenance refused: task file: /nonexistent/tasks.yml is not a file",
        ("rolling_maintenance.yml", "lvs_maintenance_hosts=director1"):
            "real server: director1 is a real server of no virtual service",
        # rs1 is web-dr's only real server.
        ("rolling_maintenance.yml", "lvs_maintenance_hosts=rs2,rs1"):
            "service: draining rs1 would leave web-dr (tcp/198.51.100.100:80) with a weight of 0 below its quorum",
        ("remove_real_server.yml", "lvs_real_server=rs1"):
            "service: draining rs1 would leave web-dr",
        ("add_real_server.yml", "lvs_real_server=rs9"): "real server: rs9 is not in the inventory",
    }
    results = {}

    def run(case):
        results[case] = playbook(*case)

    threads = [threading.Thread(target=run, args=(case,)) for case in cases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=900)
    for case, message in cases.items():
        rc, output, changed = results[case]
        assert rc != 0 and message in flat(output), (case, output[-3000:])
        assert changed and set(changed.values()) == {0}, (case, changed)
    assert snapshot() == before
