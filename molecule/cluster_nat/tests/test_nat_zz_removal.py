"""NAT, the disruptive part (collected after the other tests): converge without the NAT service."""
import collections
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "_lab"))
import labtest  # noqa: E402  pylint: disable=wrong-import-position
from test_cluster_nat import DIRECTOR, DR, LAB  # noqa: E402

testinfra_hosts = [DIRECTOR]


def test_removing_the_nat_service_removes_its_routes():
    labtest.converge("vars/removed.yml", "real_servers")
    for name in ("rs1", "rs2"):
        rs = labtest.host(name)
        assert "lookup 100" not in rs.check_output("ip rule")
        assert rs.check_output("ip route show table 100") == ""
        assert rs.check_output("ls /etc/systemd/network/*.network.d/ 2>/dev/null | grep 60-lvs-nat || true") == ""
    # rs1 keeps its DR VIP and its ARP filter; rs2 is in no service any more.
    rs1 = labtest.host("rs1")
    assert "198.51.100.100/32" in rs1.check_output("ip -o address show dev lvs-dr")
    assert "LVS-ARP-IN" in rs1.check_output("arptables-legacy -L -n")
    assert labtest.requests(LAB, "http://%s/" % DR, 2) == collections.Counter({"rs1": 2})
