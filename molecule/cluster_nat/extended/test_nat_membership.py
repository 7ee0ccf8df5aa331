"""NAT, the membership changes and the rolling reboot (issue 14): longer than the CI budget allows, so they are
not in `make test` (the rolling task-file run passed in CI, but the cluster_nat removal test after it then
found web-dr failing: to be found out); run them on a converged cluster_nat lab with

    LVS_MOLECULE_NAT_TESTS=extended molecule verify -s cluster_nat

(molecule.yml reads the verifier's directory from that variable). Each asserts 0 failed client requests (short
and long) while the playbook runs. Measured at load 15-20: remove web-dr 481 s, rolling reboot of rs1 and rs2
610 s, remove and re-add rs2 800 s, add web-dr back 218 s.
"""
import collections
import json
import os
import re
import sys
import time
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "_lab"))
import labtest  # noqa: E402  pylint: disable=wrong-import-position
from test_cluster_nat import DIRECTOR, DR, LAB, NAT  # noqa: E402  pylint: disable=wrong-import-position
from test_nat_y_rolling import (FIGURES, NAT_ONLY, TASKS, Load, boot_id, flat, playbook,  # noqa: E402
                                table)  # pylint: disable=wrong-import-position

testinfra_hosts = [DIRECTOR]


def test_remove_the_dr_service_with_no_failed_request(tmp_path):
    with Load(tmp_path) as load:
        rc, output, changed = playbook("remove_service.yml", "lvs_service=web-dr")
    assert rc == 0, output[-5000:]
    load.assert_none_failed("remove web-dr")
    assert table("-t %s:80" % DR) is None
    assert table() == {"rs1": 2, "rs2": 1}
    assert "%s/" % DR not in labtest.host("rs1").check_output("ip -o address")
    assert not labtest.host(DIRECTOR).file("/etc/lvs-cluster/drain.json").exists


def test_rolling_reboot_of_every_real_server_with_no_failed_request(tmp_path):
    boots = dict((name, boot_id(name)) for name in ("rs1", "rs2"))
    with Load(tmp_path) as load:
        started = time.time()
        rc, output, changed = playbook("rolling_maintenance.yml", NAT_ONLY, "lvs_maintenance_action=reboot")
        FIGURES["rolling reboot seconds (2 servers)"] = round(time.time() - started)
    assert rc == 0, output[-6000:]
    short = load.assert_none_failed("rolling reboot", {"rs1", "rs2"})
    assert short["rs1"] > 0 and short["rs2"] > 0
    # Both rebooted, one after the other, each drained, restored and seen carrying traffic again.
    assert all(boot_id(name) != boots[name] for name in boots)
    text = flat(output)
    assert text.index("Rolling - reboot rs1") < text.index("Rolling - reboot rs2"), output[-6000:]
    assert "web-nat tcp/198.51.100.102:8080 -> 198.18.1.21:80: weight 0, 0 active" in text
    assert re.search(r"198\.18\.1\.22:80: [1-9]\d* of \d+ new connections", text), output[-6000:]
    assert table() == {"rs1": 2, "rs2": 1}
    assert not labtest.host(DIRECTOR).file("/etc/lvs-cluster/drain.json").exists


def test_remove_and_add_a_real_server_with_no_failed_request(tmp_path):
    with Load(tmp_path) as load:
        rc, output, changed = playbook("remove_real_server.yml", NAT_ONLY, "lvs_real_server=rs2")
        assert rc == 0, output[-6000:]
        assert table() == {"rs1": 2}
        rs2 = labtest.host("rs2")
        assert "lookup 100" not in rs2.check_output("ip rule")
        assert labtest.requests(LAB, "http://%s:8080/" % NAT, 4) == collections.Counter({"rs1": 4})
        rc, output, changed = playbook("add_real_server.yml", NAT_ONLY, "lvs_real_server=rs2")
        assert rc == 0, output[-6000:]
    load.assert_none_failed("remove and add rs2")
    assert table() == {"rs1": 2, "rs2": 1}
    assert "lookup 100" in labtest.host("rs2").check_output("ip rule")
    assert labtest.requests(LAB, "http://%s:8080/" % NAT, 6) == collections.Counter({"rs1": 4, "rs2": 2})
    rc, output, changed = playbook("add_real_server.yml", NAT_ONLY, "lvs_real_server=rs2")
    assert rc == 0 and changed == {"director1": 0, "rs2": 0}, (changed, output[-4000:])


def test_add_the_dr_service_back_with_no_failed_request(tmp_path):
    with Load(tmp_path) as load:
        rc, output, changed = playbook("add_service.yml", "lvs_service=web-dr")
    assert rc == 0, output[-6000:]
    load.assert_none_failed("add web-dr")
    assert table("-t %s:80" % DR) == {"198.51.100.21": 1}
    assert "%s/32" % DR in labtest.host("rs1").check_output("ip -o address show dev lvs-dr")
    assert labtest.requests(LAB, "http://%s/" % DR, 2) == collections.Counter({"rs1": 2})
    warnings.warn("rolling figures: %s" % json.dumps(FIGURES, sort_keys=True))


def test_rolling_task_file_on_every_real_server_with_no_failed_request(tmp_path):
    """The operator's task file (restart nginx, leave a marker) on rs1, then rs2: each drained, maintained,
    healthy again and restored before the next, while the client's short and long requests all succeed."""
    pids = dict((name, labtest.host(name).check_output("systemctl show -p MainPID nginx")) for name in ("rs1", "rs2"))
    for name in ("rs1", "rs2"):
        labtest.host(name).run("rm -f /var/tmp/lvs-maintenance-marker")
    with Load(tmp_path) as load:
        rc, output, changed = playbook("rolling_maintenance.yml", NAT_ONLY, "lvs_maintenance_action=tasks",
                                       "lvs_maintenance_tasks=" + TASKS)
    assert rc == 0, output[-6000:]
    short = load.assert_none_failed("rolling task file", {"rs1", "rs2"})
    assert short["rs1"] > 0 and short["rs2"] > 0
    marked = {}
    for name in ("rs1", "rs2"):
        marker = labtest.host(name).file("/var/tmp/lvs-maintenance-marker")
        assert marker.content_string == "maintained %s\n" % name
        marked[name] = marker.mtime
        assert labtest.host(name).check_output("systemctl show -p MainPID nginx") != pids[name], name
    assert marked["rs1"] < marked["rs2"], marked  # one after the other, in inventory order
    text = flat(output)
    assert "web-nat tcp/198.51.100.102:8080 -> 198.18.1.21:80: weight 0, 0 active" in text, output[-6000:]
    assert re.search(r"198\.18\.1\.22:80: [1-9]\d* of \d+ new connections", text), output[-6000:]
    assert table() == {"rs1": 2, "rs2": 1}
    assert not labtest.host(DIRECTOR).file("/etc/lvs-cluster/drain.json").exists
