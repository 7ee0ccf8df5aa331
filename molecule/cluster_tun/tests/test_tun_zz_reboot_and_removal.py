"""IP tunnelling, the disruptive part (collected after the other tests): reboot rs3, then remove services."""
import collections
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "_lab"))
import labtest  # noqa: E402  pylint: disable=wrong-import-position
from test_cluster_tun import DIRECTOR, GRE, GUE, LAB, TUN, split  # noqa: E402

testinfra_hosts = [DIRECTOR]


def test_rs3_reboots_and_serves_through_the_vips_again():
    labtest.reboot("rs3", LAB)
    rs3 = labtest.host("rs3")
    link = json.loads(rs3.check_output("ip -j address show dev tunl0"))[0]
    assert set(a["local"] for a in link["addr_info"]) == {TUN, GUE}
    labtest.wait_for(lambda: "198.18.2.23" in labtest.table(DIRECTOR, "-t %s:80" % TUN)[1]
                     and split(TUN, 30)[0] == collections.Counter({"rs3": 20, "rs1": 10}), 60,
                     "rs3 did not serve through %s after its reboot" % TUN)
    assert labtest.requests(LAB, "http://%s/" % GUE, 3) == collections.Counter({"rs3": 3})
    assert labtest.requests(LAB, "http://%s/" % GRE, 4) == collections.Counter({"rs3": 2, "rs1": 2})


def test_removing_services_removes_their_settings():
    # The whole cluster: the director must drop rs1 from web-tun too, or it keeps sending rs1 tunnelled requests
    # for a VIP rs1 no longer holds.
    labtest.converge("vars/removed.yml", "directors:real_servers")
    rs1, rs3 = labtest.host("rs1"), labtest.host("rs3")
    # rs1 left every TUN service: no VIP on any tunnel device, none of the role's files, no MSS rule.
    assert "inet " not in rs1.check_output("ip -4 address show dev tunl0")
    assert "inet " not in rs1.check_output("ip -4 address show dev gre0")
    assert rs1.check_output("ls /etc/systemd/network/ /etc/systemd/network/*.d 2>/dev/null | grep 60-lvs || true") == ""
    assert not rs1.file("/etc/modules-load.d/lvs-real-server.conf").exists
    assert not rs1.file("/etc/sysctl.d/60-lvs-real-server.conf").exists
    assert "lookup 101" not in rs1.check_output("ip rule")
    # rs3 keeps web-tun (ipip) only: .104 leaves gre0, .105 leaves tunl0, the GUE port closes.
    link = json.loads(rs3.check_output("ip -j address show dev tunl0"))[0]
    assert [a["local"] for a in link["addr_info"]] == [TUN]
    assert "inet " not in rs3.check_output("ip -4 address show dev gre0")
    assert not rs3.file("/etc/systemd/network/60-lvs-tun-gre0.network").exists
    assert rs3.check_output("ip fou show") == ""
    assert not rs3.service("lvs-real-server-fou@6080").is_enabled
    modules = rs3.file("/etc/modules-load.d/lvs-real-server.conf").content_string.splitlines()
    assert [line for line in modules if line and not line.startswith("#")] == ["ipip"]
    assert "net.ipv4.conf.gre0" not in rs3.file("/etc/sysctl.d/60-lvs-real-server.conf").content_string
    assert labtest.requests(LAB, "http://%s/" % TUN, 4) == collections.Counter({"rs3": 4})
    # The director dropped the GRE and GUE services, and rs1 from web-tun.
    labtest.wait_for(lambda: not {GRE, GUE} & set(labtest.host(DIRECTOR).check_output("ipvsadm -Sn").replace(
        ":", " ").split()), 30, "the director still has web-gre or web-gue after their removal")
    assert labtest.table(DIRECTOR, "-t %s:80" % TUN) == ("wrr", {"198.18.2.23": (2, "Tunnel", "ipip")})
