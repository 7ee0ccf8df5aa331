"""The DR slice end to end: keepalived director pair, DR real servers, the sample web service.

The lab's data model (inventory/lab): web-dr is 198.51.100.100:80, rr, rs1 and rs2 by direct routing; web-dr6 the
same over IPv6. Client requests and address-resolution queries come from the lab namespace (the client side)
through `tools/lvs-lab exec`, run on the controller.
"""
import collections
import json
import os
import re
import sys
import time

import pytest
import testinfra.utils.ansible_runner

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "_lab"))
import labtest  # noqa: E402  pylint: disable=wrong-import-position
from labtest import host  # noqa: E402  pylint: disable=wrong-import-position

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY)
testinfra_hosts = RUNNER.get_hosts("directors")

LAB = labtest.lab("dr")
NEIGHBOURS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "neighbours.py")

VIP, VIP6, PORT = "198.51.100.100", "2001:db8:100::100", 80
FRONT_BRIDGE, FRONT_IF = "br-front", "eth1"
DIRECTORS = ("director1", "director2")
REAL_SERVERS = {"198.51.100.21": "rs1", "198.51.100.22": "rs2"}
REQUESTS = 20


def client(*command):
    return labtest.client(LAB, *command)


def requests(url, count=REQUESTS):
    return labtest.requests(LAB, url, count)


def holders(address):
    return [name for name in DIRECTORS
            if address in host(name).check_output("ip -o address show dev %s" % FRONT_IF)]


def master():
    names = holders(VIP)
    assert len(names) == 1, "exactly one director must hold %s, found %s" % (VIP, names)
    return names[0]


def table(name, service="-t %s:%d" % (VIP, PORT)):
    """The real servers of one IPVS service on a director: {address: weight}, and the scheduler."""
    output = host(name).check_output("ipvsadm -Ln %s" % service)
    scheduler = re.search(r"^(?:TCP|UDP|SCTP)\s+\S+\s+(\S+)", output, re.M).group(1)
    servers = dict((m.group(1), int(m.group(2)))
                   for m in re.finditer(r"->\s+(\[?[0-9a-f.:]+\]?):\d+\s+\S+\s+(\d+)", output))
    return scheduler, servers


def predicted(scheduler, servers, count=REQUESTS):
    """What rr/wrr give for `count` requests to the real servers {address: weight}."""
    return labtest.predicted(scheduler, dict((REAL_SERVERS[a], w) for a, w in servers.items()), count)


def wait_for(predicate, seconds, message):
    return labtest.wait_for(predicate, seconds, message, interval=0.5)


def mac(name, interface=FRONT_IF):
    return host(name).file("/sys/class/net/%s/address" % interface).content_string.strip()


def test_exactly_one_director_holds_the_vips(host):
    active = master()
    assert holders(VIP6) == [active]
    assert host.service("keepalived").is_running
    assert host.service("keepalived").is_enabled
    config = host.file("/etc/keepalived/keepalived.conf")
    assert config.mode == 0o600 and config.user == "root"


def test_the_active_director_lists_both_dr_real_servers():
    scheduler, servers = table(master())
    assert scheduler == "rr"
    assert servers == {"198.51.100.21": 1, "198.51.100.22": 1}
    assert "Route" in host(master()).check_output("ipvsadm -Ln -t %s:%d" % (VIP, PORT))


def test_requests_split_as_the_scheduler_predicts():
    scheduler, servers = table(master())
    assert requests("http://%s/" % VIP) == predicted(scheduler, servers)


def test_ipv6_requests_reach_both_real_servers():
    counts = requests("http://[%s]/" % VIP6)
    assert counts == collections.Counter({"rs1": REQUESTS // 2, "rs2": REQUESTS // 2})


@pytest.mark.parametrize("address", [VIP, VIP6])
def test_only_the_active_director_answers_address_resolution(address):
    answers = json.loads(client("python3", NEIGHBOURS, FRONT_BRIDGE, address))
    assert answers and set(answers) == {mac(master())}, "answers for %s: %s" % (address, answers)


def test_a_stopped_real_server_leaves_the_table_and_comes_back():
    active, rs1 = master(), host("rs1")
    rs1.run("systemctl stop nginx")
    try:
        stopped = time.time()
        gone = wait_for(lambda: "198.51.100.21" not in table(active)[1], 15, "rs1 stayed in the table")
        assert gone - stopped < 10
        assert requests("http://%s/" % VIP, 6) == collections.Counter({"rs2": 6})
    finally:
        rs1.run("systemctl start nginx")
    wait_for(lambda: "198.51.100.21" in table(active)[1], 15, "rs1 did not come back")


def transitions(name, since):
    """The VRRP state changes of instance `front` the notify script logged on `name` since guest time `since`."""
    lines = host(name).check_output("journalctl -t lvs-keepalived --since @%s -o cat --no-pager" % since)
    return re.findall(r"vrrp instance front is now (\w+)", lines)


def guest_time(name):
    return host(name).check_output("date +%s.%N")


def test_the_sync_daemon_follows_the_vrrp_state():
    active = master()
    for name in DIRECTORS:
        daemons = host(name).check_output("ipvsadm -Ln --daemon")
        role = "master" if name == active else "backup"
        assert "%s sync daemon (mcast=eth1, syncid=0" % role in daemons, (name, daemons)


def test_pyroute2_is_the_controllers_wheel_in_the_roles_venv(host):
    """The lab's directors take pyroute2 from the controller's wheel, into the role's virtual environment (the
    default lvs_director_python_venv), never into the system python."""
    wheels = os.listdir(os.path.join(labtest.PROJECT, ".venv", "wheels"))
    versions = [w.split("-")[1] for w in wheels if w.startswith("pyroute2-")]
    installed = host.check_output(
        "/opt/lvs-cluster/venv/bin/python3 -c \"import importlib.metadata as m; print(m.version('pyroute2'))\"")
    assert installed in versions
    assert host.run("/usr/bin/python3 -c 'import pyroute2'").rc != 0


def test_the_sysctls_are_set_with_their_reasons_in_the_file(host):
    expected = {"expire_nodest_conn": "1", "expire_quiescent_template": "1", "conn_reuse_mode": "1",
                "conntrack": "0", "sloppy_tcp": "1", "sync_version": "1", "sync_refresh_period": "60"}
    for name, value in expected.items():
        assert host.file("/proc/sys/net/ipv4/vs/%s" % name).content_string.strip() == value, name
    assert "net.ipv4.vs.sync_refresh_period" in host.file("/etc/sysctl.d/60-lvs-director.conf").content_string


PORT_PROBE = """
import socket, sys
for address in sys.argv[1:]:
    try:
        socket.create_connection((address, 22), timeout=3).close()
        print("open")
    except socket.timeout:
        print("dropped")
    except OSError as exc:
        print("refused" if isinstance(exc, ConnectionRefusedError) else "error %s" % exc)
"""


def test_the_firewall_admits_ssh_from_the_management_network_only(host):
    # The lab turns the firewall on (iptables-legacy: the UML kernel's nf_tables has no ip/inet family).
    assert "-A INPUT -j LVS-DIRECTOR-IN" in host.check_output("iptables-legacy -S INPUT")
    assert "-A INPUT -j LVS-DIRECTOR-IN" in host.check_output("ip6tables-legacy -S INPUT")
    assert "-A PREROUTING -j LVS-DIRECTOR-MARK" in host.check_output("iptables-legacy -t mangle -S PREROUTING")
    front, management = {"director1": ("198.51.100.11", "198.18.0.11"),
                         "director2": ("198.51.100.12", "198.18.0.12")}[host.backend.get_hostname()]
    assert client("python3", "-c", PORT_PROBE, front, management).split() == ["dropped", "open"]


def test_a_silent_master_fails_over_and_traffic_continues():
    old = master()
    backup = [name for name in DIRECTORS if name != old][0]
    since = dict((name, guest_time(name)) for name in DIRECTORS)
    # The master stops advertising without a priority-0 goodbye: keepalived frozen (SIGSTOP), as a hung or
    # starved process would be (a killed one is restarted by systemd within a second, see the next test). The
    # backup takes over after the master down interval, and its gratuitous ARP/unsolicited NA move the clients.
    host(old).run("systemctl kill --signal=SIGSTOP keepalived")
    try:
        wait_for(lambda: VIP in host(backup).check_output("ip -o address show dev %s" % FRONT_IF), 15,
                 "%s did not take the VIP" % backup)
        scheduler, servers = table(backup)
        assert servers == {"198.51.100.21": 1, "198.51.100.22": 1}
        counts = requests("http://%s/" % VIP)
        assert counts == predicted(scheduler, servers)
        answers = json.loads(client("python3", NEIGHBOURS, FRONT_BRIDGE, VIP))
        assert mac(backup) in answers
    finally:
        # Resumed, the old master advertises its higher priority again and the backup steps down (preemption).
        host(old).run("systemctl kill --signal=SIGCONT keepalived")
    wait_for(lambda: holders(VIP) == [old], 30, "the cluster did not settle back on %s" % old)
    assert requests("http://%s/" % VIP, 4) == collections.Counter({"rs1": 2, "rs2": 2})
    # Settled without flapping: the backup was master once and went back; the old master never left its state.
    time.sleep(5)
    assert transitions(backup, since[backup]) == ["MASTER", "BACKUP"]
    assert transitions(old, since[old]) == []


def restarts(name):
    return int(host(name).check_output("systemctl show -p NRestarts --value keepalived"))


def test_a_killed_keepalived_is_restarted_by_systemd_and_the_pair_settles():
    """A crash (SIGKILL: no goodbye advert) is repaired by systemd (the role's Restart=on-failure drop-in): no
    manual restart, the VIPs end on the master alone, traffic flows."""
    old = master()
    before = restarts(old)
    assert "Restart=on-failure" in host(old).check_output("systemctl cat keepalived")
    host(old).run("systemctl kill --signal=SIGKILL keepalived")
    wait_for(lambda: restarts(old) > before and host(old).service("keepalived").is_running, 30,
             "systemd did not restart the killed keepalived on %s" % old)
    wait_for(lambda: holders(VIP) == [old], 30, "the cluster did not settle back on %s" % old)
    assert requests("http://%s/" % VIP, 4) == collections.Counter({"rs1": 2, "rs2": 2})
    for name in DIRECTORS:
        assert host(name).service("keepalived").is_running, name
