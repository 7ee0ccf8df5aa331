"""IP tunnelling end to end: one keepalived director, rs1 on its segment, rs3 alone in the routed subnet 198.18.2.0/24.

The scenario's data model (molecule/cluster_tun/inventory): web-tun 198.51.100.101:80 ipip wrr (rs3 weight 2, rs1
weight 1), web-gre .104 gre rr (rs3, rs1), web-gue .105 gue port 6080 (rs3). Tests run in file order: the reboot and
the removal (which change the cluster) are in test_tun_zz_reboot_and_removal.py, collected last.

All three are programmed by the director role's keepalived engine (GRE and GUE as `lb_kind TUN type ...`); the
IPVS table read back with `ipvsadm -Ln --tun-info` is the oracle.
"""
import collections
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "_lab"))
import labtest  # noqa: E402  pylint: disable=wrong-import-position

LAB = labtest.lab("tun")
DIRECTOR = "director1"
RS = {"198.18.2.23": "rs3", "198.51.100.21": "rs1"}
TUN, GRE, GUE = "198.51.100.101", "198.51.100.104", "198.51.100.105"
LARGE = "/var/www/lvs-web/large.bin"
testinfra_hosts = [DIRECTOR]


def split(vip, count):
    scheduler, servers = labtest.table(DIRECTOR, "-t %s:80" % vip)
    weights = dict((RS[address], entry[0]) for address, entry in servers.items())
    return labtest.requests(LAB, "http://%s/" % vip, count), labtest.predicted(scheduler, weights, count)


def test_director_tunnels_to_each_real_server():
    assert labtest.table(DIRECTOR, "-t %s:80" % TUN) == ("wrr", {
        "198.18.2.23": (2, "Tunnel", "ipip"), "198.51.100.21": (1, "Tunnel", "ipip")})
    assert labtest.table(DIRECTOR, "-t %s:80" % GRE) == ("rr", {
        "198.18.2.23": (1, "Tunnel", "gre:-c"), "198.51.100.21": (1, "Tunnel", "gre:-c")})
    assert labtest.table(DIRECTOR, "-t %s:80" % GUE) == ("rr", {"198.18.2.23": (1, "Tunnel", "gue:6080:-c")})


def test_ipip_requests_split_as_wrr_predicts():
    answers, expected = split(TUN, 30)
    assert expected == collections.Counter({"rs3": 20, "rs1": 10})
    assert answers == expected


def test_gre_requests_split_as_rr_predicts():
    answers, expected = split(GRE, 20)
    assert answers == expected == collections.Counter({"rs3": 10, "rs1": 10})


def test_gue_requests_reach_rs3():
    assert labtest.requests(LAB, "http://%s/" % GUE, 6) == collections.Counter({"rs3": 6})


def test_a_response_larger_than_the_tunnel_mtu_arrives_whole():
    # 1 MiB of random bytes (the tunnel MTU is 1480); three downloads through the wrr VIP reach rs3, rs3, rs1.
    expected = {labtest.sha256_of(name, LARGE): name for name in ("rs1", "rs3")}
    seen = collections.Counter()
    for _attempt in range(3):
        size, digest = labtest.download_sha256(LAB, "http://%s/large.bin" % TUN)
        assert size == 1048576
        assert digest in expected, "a download through %s matched neither real server's file" % TUN
        seen[expected[digest]] += 1
    assert seen == collections.Counter({"rs3": 2, "rs1": 1})
    size, digest = labtest.download_sha256(LAB, "http://%s/large.bin" % GUE)
    assert (size, expected.get(digest)) == (1048576, "rs3")


def test_replies_from_a_tun_vip_advertise_a_clamped_mss():
    # rs3's largest tunnel header is GUE's (20 + 8 + 4 bytes), so it advertises 1500 - 32 - 40 = 1428 from its TUN
    # VIPs; the client's MSS (the smaller of its own and the advertised one, less TCP options) must not exceed
    # that. Towards rs3's own address (no tunnel) the full 1500-byte path applies.
    probe = ("import socket,sys\n"
             "for a in sys.argv[1:]:\n"
             "    s=socket.create_connection((a,80),5); print(s.getsockopt(socket.IPPROTO_TCP,socket.TCP_MAXSEG))\n")
    via_vip, direct = [int(x) for x in labtest.client(LAB, "python3", "-c", probe, GUE, "198.18.2.23").split()]
    assert via_vip <= 1428
    assert direct > 1428
