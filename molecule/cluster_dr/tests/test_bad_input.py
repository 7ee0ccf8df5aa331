"""Bad input for the director role: each inconsistency of issue 4 fails the run in the role's preflight, with a
message naming the service and field, and nothing changes on the directors.

Each case runs the director role (director_only.yml) against the converged lab with the bad data as extra vars
(which override the lab's group_vars); the four runs go in parallel.
"""
import hashlib
import json
import os
import re
import subprocess

import testinfra

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
SCENARIO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLAYBOOK = os.path.join(SCENARIO, "director_only.yml")
DIRECTORS = ("director1", "director2")
ANSI = re.compile(r"\x1b\[[0-9;]*m")

# What the directors' state is made of: every file the role writes, the IPVS table, addresses, rules, units.
SNAPSHOT = ("cat /etc/keepalived/keepalived.conf /etc/sysctl.d/60-lvs-director.conf /etc/modules-load.d/*"
            " /etc/nftables.d/*.nft /etc/ha.d/ldirectord.cf /etc/lvs-cluster/* 2>/dev/null;"
            " ipvsadm -Sn; ip -o address; nft list ruleset; systemctl is-active keepalived;"
            " systemctl show -p ActiveEnterTimestampMonotonic keepalived")


def service(name, vip, real_servers, **extra):
    entry = {"name": name, "vip": vip, "port": 80, "scheduler": "rr", "real_servers": real_servers}
    entry.update(extra)
    return entry


CASES = {
    "nat without gateway": (
        {"lvs_nat_gateways": []},
        "lvs_virtual_services[2] (web-nat).forwarding: nat needs the directors' floating gateway on the real "
        "servers' inside network; lvs_nat_gateways has no IPv4 gateway"),
    "dr real server off the segment": (
        {"lvs_virtual_services": [service("web-dr", "198.51.100.100", ["rs1", "rs3"])]},
        "lvs_virtual_services[0] (web-dr).real_servers[1].host: host rs3 has no address on the VIP's segment"),
    "duplicate vip and port": (
        {"lvs_virtual_services": [service("web-dr", "198.51.100.100", ["rs1"]),
                                  service("web-again", "198.51.100.100", ["rs2"])]},
        "lvs_virtual_services[1] (web-again).port: tcp/198.51.100.100:80 is also lvs_virtual_services[0] (web-dr)"),
    "real server not in the inventory": (
        {"lvs_virtual_services": [service("web-dr", "198.51.100.100", ["rs1", "rs9"])]},
        "lvs_virtual_services[0] (web-dr).real_servers[1].host: rs9 is not in the inventory"),
    # Issue 13: the firewall (on by default) must not lock out the run's own SSH connection, which comes from the
    # lab namespace's management address.
    "firewall that would lock the run out": (
        {"lvs_director_firewall_admin_networks": ["192.0.2.0/24"]},
        "lvs_director_firewall would drop SSH from 198.18.0.1, where this run connects to"),
}


def snapshot():
    result = {}
    for name in DIRECTORS:
        host = testinfra.get_host("ansible://%s?ansible_inventory=%s" % (name, INVENTORY))
        result[name] = hashlib.sha256(host.check_output(SNAPSHOT).encode()).hexdigest()
    return result


def test_each_bad_input_fails_in_preflight_naming_service_and_field_and_changes_nothing(tmp_path):
    before = snapshot()
    runs = {}
    for case, (extra_vars, _message) in CASES.items():
        path = tmp_path / ("%s.json" % case.replace(" ", "_"))
        path.write_text(json.dumps(extra_vars))
        runs[case] = subprocess.Popen(
            ["ansible-playbook", "-i", os.path.dirname(INVENTORY), PLAYBOOK, "-e", "@%s" % path],
            env=dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1"),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    # Molecule forces colour for its own runs; strip any escape codes left so the recap lines parse.
    outputs = dict((case, ANSI.sub("", run.communicate(timeout=600)[0])) for case, run in runs.items())
    for case, (_extra_vars, message) in CASES.items():
        output = outputs[case]
        assert runs[case].returncode != 0, "%s: the run did not fail:\n%s" % (case, output)
        assert message in output, "%s: expected %r in:\n%s" % (case, message, output)
        assert "Preflight - the virtual services" in output, case
        recap = dict(re.findall(r"^\s*(director\d)\s+:\s+(.*)$", output, re.M))
        assert set(recap) == set(DIRECTORS), output
        assert all("changed=0" in counts for counts in recap.values()), (case, recap)
        assert any(re.search(r"failed=[1-9]", counts) for counts in recap.values()), (case, recap)
    assert snapshot() == before
