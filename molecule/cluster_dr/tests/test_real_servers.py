"""The real servers' DR settings and the sample web service, read back with independent tools."""
import json
import re

testinfra_hosts = ["rs1", "rs2"]

DR_VIPS = {"198.51.100.100/32", "198.51.100.103/32", "2001:db8:100::100/128"}


def test_dr_vips_on_a_noarp_dummy_interface(host):
    link = json.loads(host.check_output("ip -j -d address show dev lvs-dr"))[0]
    assert "NOARP" in link["flags"]
    assert link["linkinfo"]["info_kind"] == "dummy"
    held = set("%s/%s" % (a["local"], a["prefixlen"]) for a in link["addr_info"] if a["scope"] == "global")
    assert held == DR_VIPS


def test_dr_interface_is_persistent(host):
    assert host.file("/etc/systemd/network/60-lvs-dr.netdev").contains("^Kind=dummy$")
    network = host.file("/etc/systemd/network/60-lvs-dr.network")
    assert network.contains("^ARP=no$")
    for vip in DR_VIPS:
        assert network.contains("^Address=%s$" % vip)


def test_arp_sysctls_on_the_front_interface(host):
    assert host.sysctl("net.ipv4.conf.eth1.arp_ignore") == 1
    assert host.sysctl("net.ipv4.conf.eth1.arp_announce") == 2
    persisted = host.file("/etc/sysctl.d/60-lvs-real-server.conf").content_string
    assert re.search(r"^net\.ipv4\.conf\.eth1\.arp_ignore\s*=\s*1$", persisted, re.M)
    assert re.search(r"^net\.ipv4\.conf\.eth1\.arp_announce\s*=\s*2$", persisted, re.M)


def test_web_names_the_host_and_answers_health(host):
    name = host.backend.get_hostname()
    assert host.check_output("curl -s http://127.0.0.1/") == name
    assert host.check_output("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1/health") == "200"
    assert host.service("nginx").is_enabled
    assert host.run("nginx -t").rc == 0
