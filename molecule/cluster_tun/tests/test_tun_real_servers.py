"""The TUN real servers' settings, read back with independent tools (before the removal test changes them)."""
import json

testinfra_hosts = ["rs1", "rs3"]

VIPS = {"rs1": {"tunl0": ["198.51.100.101/32"], "gre0": ["198.51.100.104/32"]},
        "rs3": {"tunl0": ["198.51.100.101/32", "198.51.100.105/32"], "gre0": ["198.51.100.104/32"]}}


def held(host, device):
    link = json.loads(host.check_output("ip -j address show dev %s" % device))[0]
    return link, sorted("%s/%s" % (a["local"], a["prefixlen"]) for a in link["addr_info"] if a["scope"] == "global")


def test_tun_vips_on_the_fallback_tunnel_devices(host):
    name = host.backend.get_hostname()
    for device, vips in VIPS[name].items():
        link, addresses = held(host, device)
        assert addresses == vips
        assert "NOARP" in link["flags"] and "UP" in link["flags"]
        network = host.file("/etc/systemd/network/60-lvs-tun-%s.network" % device)
        assert network.contains("^Name=%s$" % device)
        for vip in vips:
            assert network.contains("^Address=%s$" % vip)


def test_modules_and_gue_port_load_at_boot(host):
    name = host.backend.get_hostname()
    modules = [line for line in host.file("/etc/modules-load.d/lvs-real-server.conf").content_string.splitlines()
               if line and not line.startswith("#")]
    if name == "rs3":
        assert sorted(modules) == ["fou", "ip_gre", "ipip"]
        assert host.service("lvs-real-server-fou@6080").is_enabled
        assert "port 6080 gue" in host.check_output("ip fou show")
    else:
        assert sorted(modules) == ["ip_gre", "ipip"]
        assert not host.file("/etc/systemd/system/multi-user.target.wants/lvs-real-server-fou@6080.service").exists


def test_rp_filter_relaxed_on_exactly_the_tunnel_devices(host):
    assert host.sysctl("net.ipv4.conf.tunl0.rp_filter") == 2
    assert host.sysctl("net.ipv4.conf.gre0.rp_filter") == 2
    assert host.sysctl("net.ipv4.conf.all.rp_filter") == 0
    persisted = host.file("/etc/sysctl.d/60-lvs-real-server.conf").content_string
    keys = sorted(line.split("=")[0].strip() for line in persisted.splitlines()
                  if line.startswith("net.") and "rp_filter" in line)
    assert keys == ["net.ipv4.conf.all.rp_filter", "net.ipv4.conf.gre0.rp_filter", "net.ipv4.conf.tunl0.rp_filter"]


def test_no_dr_or_nat_settings_on_a_tun_only_host(host):
    assert host.run("ip link show dev lvs-dr").rc != 0
    assert not host.file("/etc/systemd/network/60-lvs-dr.network").exists
    assert "lookup 100" not in host.check_output("ip rule")
    if host.backend.get_hostname() == "rs3":
        # rs3's network holds no VIP, so no ARP sysctls at all.
        assert "arp_" not in host.file("/etc/sysctl.d/60-lvs-real-server.conf").content_string


def test_mss_route_copies_the_default_gateway(host):
    rules = host.check_output("ip rule")
    assert "from 198.51.100.101 lookup 101" in rules
    route = host.check_output("ip route show table 101")
    default = host.check_output("ip route show default").split()
    assert route.startswith("default via %s dev %s" % (default[2], default[4]))
    assert "advmss" in route
