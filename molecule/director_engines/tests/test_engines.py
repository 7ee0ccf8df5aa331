"""The three engines of the director role give the same IPVS table for the same inventory.

converge.yml converged the cluster with keepalived, then the directors with `static` and with `ldirectord`, and
saved director1's table (`ipvsadm -Sn`, sorted) after each, and once more after the static engine's boot-time
unit restored it into an emptied table. Each was read once it held every real server of the data model.
"""
import os

import pytest
import testinfra.utils.ansible_runner

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts("director1")
SAVED = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
ENGINES = ("keepalived", "static", "static-restored", "ldirectord")


def saved(engine):
    with open(os.path.join(SAVED, "table-%s.txt" % engine)) as handle:
        return handle.read().splitlines()


def test_the_keepalived_table_is_the_lab_model():
    table = saved("keepalived")
    # The lab's five services (one per VIP/port or mark) with their nine real servers.
    assert len([line for line in table if line.startswith("-A ")]) == 5, table
    assert len([line for line in table if line.startswith("-a ")]) == 9, table
    assert "-A -f 10 -s wlc -p 300" in table
    assert "-a -t 198.51.100.102:8080 -r 198.18.1.21:80 -m -w 2" in table


@pytest.mark.parametrize("engine", ENGINES[1:])
def test_every_engine_gives_the_same_table(engine):
    assert saved(engine) == saved("keepalived")


def test_ldirectord_owns_the_table_and_keepalived_does_vrrp_only(host):
    assert host.service("ldirectord").is_running
    config = host.file("/etc/keepalived/keepalived.conf")
    assert "vrrp_instance front" in config.content_string
    assert "virtual_server" not in config.content_string
    assert host.file("/etc/ha.d/ldirectord.cf").mode == 0o600


def test_switching_away_from_static_retired_its_boot_unit(host):
    assert not host.file("/etc/systemd/system/lvs-ipvs-restore.service").exists
    assert not host.file("/etc/lvs-cluster/ipvs.rules").exists
