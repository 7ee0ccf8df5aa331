"""NAT end to end: one keepalived director holding the floating inside gateway 198.18.1.1, rs1 (NAT and DR, ARP
filter by arptables) and rs2 (NAT only, on the inside network only, its own default route via the namespace).

The scenario's data model (molecule/cluster_nat/inventory): web-nat 198.51.100.102:8080 -> :80 wrr (rs1 weight 2,
rs2 weight 1), web-dr 198.51.100.100:80 (rs1). The removal test (which changes the cluster) is in test_nat_zz_removal.py, collected last.
"""
import collections
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "_lab"))
import labtest  # noqa: E402  pylint: disable=wrong-import-position

LAB = labtest.lab("nat")
DIRECTOR = "director1"
RS = {"198.18.1.21": "rs1", "198.18.1.22": "rs2"}
NAT, DR, GATEWAY, CLIENT = "198.51.100.102", "198.51.100.100", "198.18.1.1", "203.0.113.1"
NEIGHBOURS = os.path.join(labtest.PROJECT, "molecule", "cluster_dr", "tests", "neighbours.py")
testinfra_hosts = [DIRECTOR]


def test_director_holds_the_gateway_and_masquerades():
    director = labtest.host(DIRECTOR)
    assert "%s/24" % GATEWAY in director.check_output("ip -o -4 address show dev eth2")
    assert director.sysctl("net.ipv4.ip_forward") == 1
    assert labtest.table(DIRECTOR, "-t %s:8080" % NAT) == ("wrr", {
        "198.18.1.21": (2, "Masq", "n/a"), "198.18.1.22": (1, "Masq", "n/a")})


def test_nat_requests_split_as_wrr_predicts():
    scheduler, servers = labtest.table(DIRECTOR, "-t %s:8080" % NAT)
    weights = dict((RS[address], entry[0]) for address, entry in servers.items())
    expected = labtest.predicted(scheduler, weights, 30)
    assert expected == collections.Counter({"rs1": 20, "rs2": 10})
    assert labtest.requests(LAB, "http://%s:8080/" % NAT, 30) == expected


def test_replies_route_via_the_floating_gateway():
    # rs2 has no front NIC, so its inside network is eth1.
    for name, source, interface in (("rs1", "198.18.1.21", "eth2"), ("rs2", "198.18.1.22", "eth1")):
        rs = labtest.host(name)
        assert "via %s dev %s" % (GATEWAY, interface) in rs.check_output(
            "ip route get %s from %s" % (CLIENT, source))
        # The main table is untouched: rs2's own default route still goes to the namespace, rs1's to the front.
        assert GATEWAY not in rs.check_output("ip route show table main")
    assert "via 198.18.1.254" in labtest.host("rs2").check_output("ip route show default")


def test_a_large_response_arrives_whole_through_nat():
    expected = {labtest.sha256_of(name, "/var/www/lvs-web/large.bin"): name for name in ("rs1", "rs2")}
    seen = collections.Counter()
    for _attempt in range(3):
        size, digest = labtest.download_sha256(LAB, "http://%s:8080/large.bin" % NAT)
        assert size == 1048576 and digest in expected
        seen[expected[digest]] += 1
    assert seen == collections.Counter({"rs1": 2, "rs2": 1})


def test_rs1_serves_dr_and_nat_together():
    assert labtest.requests(LAB, "http://%s/" % DR, 4) == collections.Counter({"rs1": 4})
    assert labtest.requests(LAB, "http://%s:8080/" % NAT, 3) == collections.Counter({"rs1": 2, "rs2": 1})


def test_only_the_director_answers_arp_for_the_dr_vip_with_the_arp_filter():
    answers = json.loads(labtest.client(LAB, "python3", NEIGHBOURS, "br-front", DR))
    director_mac = labtest.host(DIRECTOR).file("/sys/class/net/eth1/address").content_string.strip()
    assert answers and set(answers) == {director_mac}
