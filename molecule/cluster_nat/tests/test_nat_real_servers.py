"""The NAT real servers' settings, read back with independent tools (before the removal test changes them)."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "_lab"))
import labtest  # noqa: E402  pylint: disable=wrong-import-position

testinfra_hosts = ["rs1", "rs2"]


def test_nat_policy_route_is_persistent(host):
    # rs2 has no front NIC, so its inside network is eth1.
    address, interface = {"rs1": ("198.18.1.21", "eth2"), "rs2": ("198.18.1.22", "eth1")}[host.backend.get_hostname()]
    assert re.search(r"^1000:\s+from %s lookup 100\b" % re.escape(address), host.check_output("ip rule"), re.M)
    assert host.check_output("ip route show table 100").startswith("default via 198.18.1.1 dev %s" % interface)
    dropin = host.file("/etc/systemd/network/10-lvslab-%s.network.d/60-lvs-nat.conf" % interface)
    assert dropin.contains("^From=%s/32$" % re.escape(address))
    assert dropin.contains("^Gateway=198.18.1.1$")


def test_a_nat_only_host_gets_no_dr_or_tun_settings():
    host = labtest.host("rs2")
    assert host.run("ip link show dev lvs-dr").rc != 0
    assert host.run("ip -4 address show dev tunl0").stdout.count("inet ") == 0
    assert not host.file("/etc/sysctl.d/60-lvs-real-server.conf").exists
    assert not host.file("/etc/modules-load.d/lvs-real-server.conf").exists
    assert not host.file("/etc/systemd/system/lvs-real-server-arp-filter.service").exists
    assert host.sysctl("net.ipv4.conf.eth1.arp_ignore") == 0


def test_rs1_uses_the_arp_filter_instead_of_the_sysctls():
    host = labtest.host("rs1")
    assert "198.51.100.100/32" in host.check_output("ip -o address show dev lvs-dr")
    assert host.service("lvs-real-server-arp-filter").is_enabled
    rules = host.check_output("arptables-legacy -L -n")
    assert any(all(word in line for word in ("-j DROP", "-i eth1", "-d 198.51.100.100"))
               for line in rules.splitlines()), rules
    assert "--mangle-ip-s 198.51.100.21" in rules
    assert host.sysctl("net.ipv4.conf.eth1.arp_ignore") == 0
    assert not host.file("/etc/sysctl.d/60-lvs-real-server.conf").exists
