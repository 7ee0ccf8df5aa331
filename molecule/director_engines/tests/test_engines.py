"""The three engines of the director role give the same IPVS table for the same inventory.

converge.yml converged the cluster with keepalived, then the directors with `static` and with `ldirectord`, and
saved director1's table (`ipvsadm -Sn`, sorted) after each, and once more after the static engine's boot-time
unit restored it into an emptied table. Each was read once it held every real server of the data model.
"""
import os
import subprocess
import sys
import time

import pytest
import testinfra.utils.ansible_runner
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "_lab"))
import labtest  # noqa: E402  pylint: disable=wrong-import-position
import leakscan  # noqa: E402  pylint: disable=wrong-import-position

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts("director1")
SAVED = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
ENGINES = ("keepalived", "static", "static-restored", "ldirectord")
SCENARIO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIRECTORS = ("director1", "director2")


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


def vrrp_password():
    """The lab's VRRPv2 password, out of vault_vrrp.yml through the lab vault client (as ansible reads it)."""
    text = subprocess.run(["ansible-vault", "view", os.path.join(SCENARIO, "vault_vrrp.yml")],
                          stdout=subprocess.PIPE, check=True, universal_newlines=True, timeout=120).stdout
    return yaml.safe_load(text)["vault_lab_vrrp_auth_pass"]


def test_the_vrrp_password_never_reaches_output_journals_or_process_lists():
    """Issue 13, last (it leaves the pair on VRRPv2). With a process sampler on both directors: the director role
    with a vaulted VRRPv2 password, -vvv and --diff (keepalived.conf changes, and its diff would show the
    password), then the same with VRRPv3, which preflight refuses. The password is in keepalived.conf and the pair
    works with it, but it is in no output, journal or process snapshot."""
    password = vrrp_password()
    play = ["-i", os.path.dirname(INVENTORY), os.path.join(SCENARIO, "vrrp_secret.yml"), "-vvv", "--diff"]
    started = time.time()
    leakscan.start_samplers(DIRECTORS, 900)
    try:
        rc, out, err = leakscan.playbook(play)
        failed_rc, failed_out, failed_err = leakscan.playbook(play + ["-e", "lvs_director_vrrp_version=3"])
    finally:
        snapshots = leakscan.stop_samplers(DIRECTORS)
    sys.stderr.write("two -vvv runs: %.0f s; process snapshots: %s\n" % (
        time.time() - started, ", ".join("%s %d" % (n, len(s)) for n, s in sorted(snapshots.items()))))
    text = out.decode("utf-8", "replace")
    assert rc == 0, text[-5000:]
    assert "changed: [director1]" in text and "the output has been hidden" in text, text[-5000:]
    failed_text = " ".join((failed_out + failed_err).decode("utf-8", "replace").split())
    assert failed_rc != 0 and "lvs_director_vrrp_auth_pass needs lvs_director_vrrp_version 2" in failed_text, \
        failed_text[-5000:]
    for name in DIRECTORS:
        config = labtest.host(name).file("/etc/keepalived/keepalived.conf")
        assert config.mode == 0o600
        assert config.content_string.count("auth_pass %s\n" % password) == 2, name
        assert "vrrp_version 2" in config.content_string, name
        assert len(snapshots[name]) >= 20, (name, len(snapshots[name]))
        assert any("sleep 0" in snap and "python3" in snap for snap in snapshots[name]), name
    # The pair agrees on the password: director1 (priority 150) holds the VIP, director2 does not.
    deadline = time.time() + 60
    while True:
        held = [name for name in DIRECTORS
                if " 198.51.100.100/" in labtest.host(name).check_output("ip -o -4 addr show")]
        if held == ["director1"] or time.time() > deadline:
            break
        time.sleep(2)
    assert held == ["director1"], held
    places = {"stdout of the -vvv --diff run": out, "stderr of the -vvv --diff run": err,
              "stdout of the refused run": failed_out, "stderr of the refused run": failed_err}
    for name in DIRECTORS:
        places["journal of %s" % name] = leakscan.journal(name)
        places["processes of %s" % name] = "\n".join(snapshots[name])
    assert leakscan.hits({"VRRP password": password}, places) == []
