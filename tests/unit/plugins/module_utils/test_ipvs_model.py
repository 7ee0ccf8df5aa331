# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests of _ipvs_model (pure) and of the _ipvs_netlink message definitions (encode/decode, no socket).

The wire tests build kernel replies byte by byte from include/uapi/linux/ip_vs.h, the way
net/netfilter/ipvs/ip_vs_ctl.c (Linux 6.1) writes them (16-byte union nf_inet_addr addresses, big-endian ports,
STATS and STATS64 nests, PAD attributes), so that the definitions are checked against the header rather than
against themselves. Round-trip tests then encode with the same classes and decode back.
"""

from __future__ import annotations

import socket
import struct

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_keys as keys
from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_model as model
from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_netlink as nl


AF_INET = socket.AF_INET
AF_INET6 = socket.AF_INET6
NLA_F_NESTED = 0x8000
BIG = 2 ** 40 + 7  # more than 32 bits: only STATS64 can carry it


# ---------------------------------------------------------------------------------------------------------------
# Hand-made kernel messages

def nlattr(attr_type, payload, nested=False):
    """One netlink attribute: header, payload, padding to 4 bytes."""
    header = struct.pack("=HH", 4 + len(payload), attr_type | (NLA_F_NESTED if nested else 0))
    return header + payload + b"\0" * ((4 - len(payload) % 4) % 4)


def nest(attr_type, *attrs):
    return nlattr(attr_type, b"".join(attrs), nested=True)


def u8(value):
    return struct.pack("=B", value)


def u16(value):
    return struct.pack("=H", value)


def be16(value):
    return struct.pack("!H", value)


def u32(value):
    return struct.pack("=I", value)


def u64(value):
    return struct.pack("=Q", value)


def asciiz(text):
    return text.encode() + b"\0"


def inet_addr(family, text):
    """union nf_inet_addr: always 16 bytes on the wire, as the kernel sends it."""
    return socket.inet_pton(family, text).ljust(16, b"\0")


def genl_message(cmd, body, msg_type=0x20):
    """nlmsghdr + genlmsghdr (cmd, version 1) + attributes."""
    genl = struct.pack("=BBH", cmd, 1, 0)
    return struct.pack("=IHHII", 16 + len(genl) + len(body), msg_type, 2, 1, 0) + genl + body


def stats_nests(svc_or_dest_stats, stats64_type, values, pad=True):
    """STATS (32-bit counters, 64-bit bytes) and STATS64 (all 64-bit), with PAD attributes like
    nla_put_u64_64bit() adds on architectures that need 8-byte alignment."""
    conns, inpkts, outpkts, inbytes, outbytes, cps, inpps, outpps, inbps, outbps = values
    padding = nlattr(11, b"") if pad else b""
    mask32 = 0xFFFFFFFF
    stats = nest(
        svc_or_dest_stats,
        nlattr(1, u32(conns & mask32)),
        nlattr(2, u32(inpkts & mask32)),
        nlattr(3, u32(outpkts & mask32)),
        padding,
        nlattr(4, u64(inbytes)),
        padding,
        nlattr(5, u64(outbytes)),
        nlattr(6, u32(cps)),
        nlattr(7, u32(inpps)),
        nlattr(8, u32(outpps)),
        nlattr(9, u32(inbps)),
        nlattr(10, u32(outbps)),
    )
    stats64 = nest(stats64_type, *[padding + nlattr(i + 1, u64(v)) for i, v in enumerate(values)])
    return stats + stats64


STATS_VALUES = (BIG, 20, 30, BIG + 1, 50, 6, 7, 8, 9, 10)


def kernel_service_reply(family=AF_INET, protocol=6, address="198.51.100.100", port=80, fwmark=0,
                         scheduler="wlc", flags=0x2, timeout=0, netmask=None, pe_name=None):
    """An IPVS_CMD_NEW_SERVICE dump entry as ip_vs_genl_fill_service() writes it."""
    if netmask is None:
        netmask = u32(128) if family == AF_INET6 else socket.inet_pton(AF_INET, "255.255.255.255")
    attrs = [nlattr(1, u16(family))]
    if fwmark:
        attrs.append(nlattr(5, u32(fwmark)))
    else:
        attrs += [nlattr(2, u16(protocol)), nlattr(3, inet_addr(family, address)), nlattr(4, be16(port))]
    attrs.append(nlattr(6, asciiz(scheduler)))
    if pe_name:
        attrs.append(nlattr(11, asciiz(pe_name)))
    attrs += [
        nlattr(7, struct.pack("=II", flags, 0xFFFFFFFF)),
        nlattr(8, u32(timeout)),
        nlattr(9, netmask),  # nla_put_be32 of a __be32: the raw 4 bytes
    ]
    attrs.append(stats_nests(10, 12, STATS_VALUES))
    return genl_message(nl.IPVS_CMD_NEW_SERVICE, nest(1, *attrs))


def kernel_dest_reply(family=AF_INET, address="198.51.100.21", port=80, fwd=3, weight=1, tun_type=0,
                      tun_port=0, tun_flags=0, u_thresh=0, l_thresh=0, conns=(1, 2, 3)):
    """An IPVS_CMD_NEW_DEST dump entry as ip_vs_genl_fill_dest() writes it (ADDR_FAMILY near the end)."""
    attrs = [
        nlattr(1, inet_addr(family, address)),
        nlattr(2, be16(port)),
        nlattr(3, u32(fwd)),
        nlattr(4, u32(weight)),
        nlattr(13, u8(tun_type)),
        nlattr(14, be16(tun_port)),
        nlattr(15, u16(tun_flags)),
        nlattr(5, u32(u_thresh)),
        nlattr(6, u32(l_thresh)),
        nlattr(7, u32(conns[0])),
        nlattr(8, u32(conns[1])),
        nlattr(9, u32(conns[2])),
        nlattr(11, u16(family)),
        stats_nests(10, 12, STATS_VALUES),
    ]
    return genl_message(nl.IPVS_CMD_NEW_DEST, nest(2, *attrs))


def decode(data, cls=None):
    msg = (cls or nl.ipvs_msg)(data)
    msg.decode()
    return msg


def raw_of(data, key):
    return nl.nla_to_dict(decode(data))[key]


# ---------------------------------------------------------------------------------------------------------------
# Decoding what the kernel sends

def test_decode_kernel_ipv4_service():
    raw = raw_of(kernel_service_reply(), "service")
    assert raw["af"] == AF_INET
    assert raw["protocol"] == 6
    assert raw["addr"] == "198.51.100.100"
    assert raw["port"] == 80
    assert raw["sched_name"] == "wlc"
    assert raw["flags"] == {"flags": 2, "mask": 0xFFFFFFFF}
    assert raw["timeout"] == 0
    assert raw["stats64"]["conns"] == BIG
    assert raw["stats"]["conns"] == BIG & 0xFFFFFFFF
    assert raw["stats"]["inbytes"] == BIG + 1
    assert "pad" not in raw["stats64"] and "unspec" not in raw["stats64"]


def test_decode_kernel_ipv6_persistent_sh_service():
    raw = raw_of(
        kernel_service_reply(AF_INET6, 17, "2001:db8:100::100", 53, scheduler="sh", flags=0x1 | 0x2 | 0x8 | 0x10,
                             timeout=600, netmask=u32(64)),
        "service",
    )
    service = model.normalize_service(raw)
    assert service == {
        "key": "udp/[2001:db8:100::100]:53",
        "family": "ipv6",
        "fwmark": None,
        "protocol": "udp",
        "address": "2001:db8:100::100",
        "port": 53,
        "scheduler": "sh",
        "flags": ["persistent", "hashed", "sh-fallback", "sh-port"],
        "scheduler_flags": ["sh-fallback", "sh-port"],
        "persistent": True,
        "persistence_timeout": 600,
        "persistence_netmask": None,
        "persistence_prefix": 64,
        "one_packet": False,
        "pe_name": None,
        "stats": {"conns": BIG, "in_pkts": 20, "out_pkts": 30, "in_bytes": BIG + 1, "out_bytes": 50},
        "rates": {"cps": 6, "in_pps": 7, "out_pps": 8, "in_bps": 9, "out_bps": 10},
    }


def test_decode_kernel_fwmark_service_with_pe_and_netmask():
    raw = raw_of(
        kernel_service_reply(fwmark=7, scheduler="mh", flags=0x2 | 0x1 | 0x10, timeout=300, pe_name="sip",
                             netmask=socket.inet_pton(AF_INET, "255.255.255.0")),
        "service",
    )
    assert "addr" not in raw and "port" not in raw and "protocol" not in raw
    service = model.normalize_service(raw, stats=False)
    assert service["key"] == "fwmark/ipv4/7"
    assert (service["protocol"], service["address"], service["port"], service["fwmark"]) == (None, None, None, 7)
    assert service["scheduler_flags"] == ["mh-port"]
    assert service["persistence_netmask"] == "255.255.255.0"
    assert service["persistence_prefix"] == 24
    assert service["pe_name"] == "sip"
    assert "stats" not in service and "rates" not in service


def test_decode_kernel_destinations():
    raw = raw_of(kernel_dest_reply(), "dest")
    assert raw["addr"] == "198.51.100.21"
    assert raw["addr_family"] == AF_INET
    assert raw["port"] == 80
    assert (raw["active_conns"], raw["inact_conns"], raw["persist_conns"]) == (1, 2, 3)
    dest = model.normalize_destination(raw)
    assert dest["key"] == "198.51.100.21:80"
    assert dest["forwarding_method"] == "dr"
    assert (dest["tunnel_type"], dest["tunnel_port"], dest["tunnel_flags"]) == (None, None, None)
    assert dest["stats"]["conns"] == BIG

    gue = model.normalize_destination(
        raw_of(kernel_dest_reply(AF_INET6, "2001:db8:102::23", 0, fwd=2, tun_type=1, tun_port=6080,
                                 tun_flags=2), "dest"),
        stats=False,
    )
    assert gue["key"] == "[2001:db8:102::23]:0"
    assert gue["family"] == "ipv6"
    assert (gue["forwarding_method"], gue["tunnel_type"], gue["tunnel_port"], gue["tunnel_flags"]) == (
        "tun", "gue", 6080, ["remcsum"])


def test_decode_kernel_tun_port_is_big_endian():
    # pyroute2's own ipvs definitions read TUN_PORT in host byte order; the kernel writes nla_put_be16().
    raw = raw_of(kernel_dest_reply(fwd=2, tun_type=1, tun_port=0x1234), "dest")
    assert raw["tun_port"] == 0x1234


def test_decode_kernel_daemon_timeouts_and_info():
    daemon = genl_message(
        nl.IPVS_CMD_NEW_DAEMON,
        nest(3, nlattr(1, u32(1)), nlattr(2, asciiz("eth1")), nlattr(3, u32(5)), nlattr(4, u16(1472)),
             nlattr(7, u16(8848)), nlattr(8, u8(1)), nlattr(5, socket.inet_pton(AF_INET, "224.0.0.81"))),
    )
    raw = raw_of(daemon, "daemon")
    assert model.normalize_daemon(raw) == {
        "state": "master", "mcast_interface": "eth1", "syncid": 5, "sync_maxlen": 1472,
        "mcast_group": "224.0.0.81", "mcast_port": 8848, "mcast_ttl": 1,
    }
    daemon6 = genl_message(
        nl.IPVS_CMD_NEW_DAEMON,
        nest(3, nlattr(1, u32(2)), nlattr(2, asciiz("eth2")), nlattr(3, u32(9)),
             nlattr(6, socket.inet_pton(AF_INET6, "ff02::81"))),
    )
    assert model.normalize_daemon(raw_of(daemon6, "daemon"))["mcast_group"] == "ff02::81"
    assert model.normalize_daemon(raw_of(daemon6, "daemon"))["state"] == "backup"

    config = genl_message(nl.IPVS_CMD_SET_CONFIG, nlattr(4, u32(900)) + nlattr(5, u32(120)) + nlattr(6, u32(300)))
    assert model.normalize_timeouts(nl.nla_to_dict(decode(config))) == {"tcp": 900, "tcp_fin": 120, "udp": 300}

    info = genl_message(nl.IPVS_CMD_SET_INFO, nlattr(1, u32(0x010201)) + nlattr(2, u32(4096)))
    raw_info = nl.nla_to_dict(decode(info, nl.ipvs_info_msg))
    assert raw_info == {"version": 0x010201, "conn_tab_size": 4096}
    assert model.version_text(raw_info["version"]) == "1.2.1"


def test_unknown_attributes_are_ignored():
    # A newer kernel may add attributes: nla_to_dict leaves out what it cannot name.
    data = genl_message(nl.IPVS_CMD_NEW_SERVICE, nest(1, nlattr(1, u16(AF_INET)), nlattr(5, u32(3)),
                                                      nlattr(40, u32(1))))
    assert raw_of(data, "service") == {"af": AF_INET, "fwmark": 3}


# ---------------------------------------------------------------------------------------------------------------
# Round trips through our own encoder

def encode(cmd, attrs, cls=None):
    msg = (cls or nl.ipvs_msg)()
    msg["cmd"] = cmd
    msg["version"] = nl.IPVS_GENL_VERSION
    msg["attrs"] = attrs
    msg.encode()
    return bytes(msg.data)


STATS64_ATTRS = {"attrs": [("IPVS_STATS_ATTR_" + name.upper(), value) for name, value in zip(
    ("conns", "inpkts", "outpkts", "inbytes", "outbytes", "cps", "inpps", "outpps", "inbps", "outbps"),
    (2 ** 63 + 1, 2 ** 33, 3, 2 ** 50, 5, 6, 7, 8, 9, 2 ** 40))]}


@pytest.mark.parametrize("family, address", [(AF_INET, "198.51.100.100"), (AF_INET6, "2001:db8:100::100")])
def test_service_round_trip(family, address):
    attrs = [
        ("IPVS_SVC_ATTR_AF", family),
        ("IPVS_SVC_ATTR_PROTOCOL", 132),
        ("IPVS_SVC_ATTR_ADDR", address),
        ("IPVS_SVC_ATTR_PORT", 9999),
        ("IPVS_SVC_ATTR_SCHED_NAME", "rr"),
        ("IPVS_SVC_ATTR_FLAGS", {"flags": 0x5, "mask": 0xFFFFFFFF}),
        ("IPVS_SVC_ATTR_TIMEOUT", 300),
        ("IPVS_SVC_ATTR_NETMASK", 0xFFFFFFFF),
        ("IPVS_SVC_ATTR_PE_NAME", "sip"),
        ("IPVS_SVC_ATTR_STATS64", STATS64_ATTRS),
    ]
    data = encode(nl.IPVS_CMD_NEW_SERVICE, [("IPVS_CMD_ATTR_SERVICE", {"attrs": attrs})])
    raw = raw_of(data, "service")
    assert raw["addr"] == address
    assert raw["port"] == 9999
    assert raw["pe_name"] == "sip"
    assert raw["stats64"]["conns"] == 2 ** 63 + 1
    assert raw["stats64"]["outbps"] == 2 ** 40
    service = model.normalize_service(raw)
    assert service["protocol"] == "sctp"
    assert service["flags"] == ["persistent", "onepacket"]
    assert service["one_packet"] is True
    assert service["stats"] == {"conns": 2 ** 63 + 1, "in_pkts": 2 ** 33, "out_pkts": 3, "in_bytes": 2 ** 50,
                                "out_bytes": 5}
    assert service["rates"]["out_bps"] == 2 ** 40


def test_destination_round_trip():
    attrs = [
        ("IPVS_DEST_ATTR_ADDR", "2001:db8:101::21"),
        ("IPVS_DEST_ATTR_PORT", 8080),
        ("IPVS_DEST_ATTR_FWD_METHOD", nl.IP_VS_CONN_F_TUNNEL),
        ("IPVS_DEST_ATTR_WEIGHT", 7),
        ("IPVS_DEST_ATTR_U_THRESH", 100),
        ("IPVS_DEST_ATTR_L_THRESH", 10),
        ("IPVS_DEST_ATTR_ADDR_FAMILY", AF_INET6),
        ("IPVS_DEST_ATTR_TUN_TYPE", nl.IP_VS_CONN_F_TUNNEL_TYPE_GRE),
        ("IPVS_DEST_ATTR_TUN_PORT", 0),
        ("IPVS_DEST_ATTR_TUN_FLAGS", nl.IP_VS_TUNNEL_ENCAP_FLAG_CSUM),
        ("IPVS_DEST_ATTR_STATS64", STATS64_ATTRS),
    ]
    data = encode(nl.IPVS_CMD_NEW_DEST, [("IPVS_CMD_ATTR_DEST", {"attrs": attrs})])
    dest = model.normalize_destination(raw_of(data, "dest"))
    assert dest["address"] == "2001:db8:101::21"
    assert dest["family"] == "ipv6"
    assert (dest["weight"], dest["upper_threshold"], dest["lower_threshold"]) == (7, 100, 10)
    assert (dest["tunnel_type"], dest["tunnel_flags"]) == ("gre", ["csum"])
    assert dest["stats"]["conns"] == 2 ** 63 + 1


def test_daemon_round_trip():
    attrs = [
        ("IPVS_DAEMON_ATTR_STATE", nl.IP_VS_STATE_BACKUP),
        ("IPVS_DAEMON_ATTR_MCAST_IFN", "eth1"),
        ("IPVS_DAEMON_ATTR_SYNC_ID", 3),
        ("IPVS_DAEMON_ATTR_SYNC_MAXLEN", 1400),
        ("IPVS_DAEMON_ATTR_MCAST_GROUP6", "ff02::81"),
        ("IPVS_DAEMON_ATTR_MCAST_PORT", 8849),
        ("IPVS_DAEMON_ATTR_MCAST_TTL", 2),
    ]
    data = encode(nl.IPVS_CMD_NEW_DAEMON, [("IPVS_CMD_ATTR_DAEMON", {"attrs": attrs})])
    # MCAST_PORT is host byte order on the wire (nla_put_u16)
    assert struct.pack("=H", 8849) in data
    assert model.normalize_daemon(raw_of(data, "daemon")) == {
        "state": "backup", "mcast_interface": "eth1", "syncid": 3, "sync_maxlen": 1400, "mcast_group": "ff02::81",
        "mcast_port": 8849, "mcast_ttl": 2,
    }


def test_timeouts_and_info_round_trip():
    data = encode(nl.IPVS_CMD_SET_CONFIG, [("IPVS_CMD_ATTR_TIMEOUT_TCP", 1), ("IPVS_CMD_ATTR_TIMEOUT_TCP_FIN", 2),
                                           ("IPVS_CMD_ATTR_TIMEOUT_UDP", 3)])
    assert nl.nla_to_dict(decode(data)) == {"timeout_tcp": 1, "timeout_tcp_fin": 2, "timeout_udp": 3}
    data = encode(nl.IPVS_CMD_SET_INFO, [("IPVS_INFO_ATTR_VERSION", 0x010201),
                                         ("IPVS_INFO_ATTR_CONN_TAB_SIZE", 1 << 20)], nl.ipvs_info_msg)
    assert nl.nla_to_dict(decode(data, nl.ipvs_info_msg)) == {"version": 0x010201, "conn_tab_size": 1 << 20}


@pytest.mark.parametrize("raw, wire", [
    ({"af": AF_INET, "protocol": 6, "addr": "198.51.100.100", "port": 80},
     nlattr(1, u16(AF_INET)) + nlattr(2, u16(6)) + nlattr(3, socket.inet_pton(AF_INET, "198.51.100.100"))
     + nlattr(4, be16(80))),
    ({"af": AF_INET6, "fwmark": 7, "protocol": 6}, nlattr(1, u16(AF_INET6)) + nlattr(5, u32(7))),
])
def test_service_identity_encodes_what_the_kernel_parses(raw, wire):
    # ip_vs_genl_parse_service() needs AF and either FWMARK or PROTOCOL + ADDR + PORT.
    data = encode(nl.IPVS_CMD_GET_DEST, [("IPVS_CMD_ATTR_SERVICE", nl.service_identity(raw))])
    # nlmsghdr (16) + genlmsghdr (4), then the IPVS_CMD_ATTR_SERVICE nest: its header, then exactly `wire`
    length, attr_type = struct.unpack_from("=HH", data, 20)
    assert attr_type & ~NLA_F_NESTED == 1
    assert length == 4 + len(wire)
    assert data[24:] == wire


# ---------------------------------------------------------------------------------------------------------------
# Pure helpers

@pytest.mark.parametrize("method, name", [(0, "nat"), (1, "local"), (2, "tun"), (3, "dr"), (4, "bypass"),
                                          (5, "method-5")])
def test_forwarding_method_names(method, name):
    assert model.forwarding_method_name(method) == name


@pytest.mark.parametrize("flags, scheduler, names, sched", [
    (0x02, "wlc", ["hashed"], []),
    (0x03, "rr", ["persistent", "hashed"], []),
    (0x06, "rr", ["hashed", "onepacket"], []),
    (0x08 | 0x10 | 0x20, "sh", ["sh-fallback", "sh-port", "flag-3"], ["sh-fallback", "sh-port", "flag-3"]),
    (0x08, "mh", ["mh-fallback"], ["mh-fallback"]),
    (0x10, "mh", ["mh-port"], ["mh-port"]),
    (0x08 | 0x20, "wrr", ["flag-1", "flag-3"], ["flag-1", "flag-3"]),
    (0x40 | 0x02, "rr", ["hashed", "0x40"], []),
])
def test_service_flag_names(flags, scheduler, names, sched):
    assert model.service_flag_names(flags, scheduler) == names
    assert model.scheduler_flag_names(flags, scheduler) == sched


def test_netmask_and_prefix():
    def host_order(mask):
        return struct.unpack("=I", socket.inet_pton(AF_INET, mask))[0]

    assert model.netmask_text(AF_INET, host_order("255.255.255.0")) == "255.255.255.0"
    assert model.netmask_prefix(AF_INET, host_order("255.255.255.0")) == 24
    assert model.netmask_prefix(AF_INET, host_order("255.255.255.255")) == 32
    assert model.netmask_prefix(AF_INET, host_order("0.0.0.0")) == 0
    assert model.netmask_prefix(AF_INET, host_order("255.0.255.0")) is None
    assert model.netmask_text(AF_INET6, 64) is None
    assert model.netmask_prefix(AF_INET6, 64) == 64
    assert model.netmask_prefix(AF_INET, None) is None


def test_tunnel_flags_and_small_names():
    assert model.tunnel_flag_names(0) == []
    assert model.tunnel_flag_names(3) == ["csum", "remcsum"]
    assert model.tunnel_flag_names(8) == ["0x8"]
    assert model.family_name(AF_INET) == "ipv4"
    assert model.family_name(AF_INET6) == "ipv6"
    assert model.family_name(99) == "af99"
    assert [model.protocol_name(p) for p in (6, 17, 132, 50)] == ["tcp", "udp", "sctp", "50"]
    assert model.version_text(0x010201) == "1.2.1"
    assert model.version_text(None) is None


def test_stats_fall_back_to_32_bit_stats():
    raw = {"stats": {"conns": 5, "inpkts": 6, "outpkts": 7, "inbytes": 8, "outbytes": 9, "cps": 1, "inpps": 2,
                     "outpps": 3, "inbps": 4, "outbps": 5}}
    stats, rates = model.stats_and_rates(raw)
    assert stats == {"conns": 5, "in_pkts": 6, "out_pkts": 7, "in_bytes": 8, "out_bytes": 9}
    assert rates == {"cps": 1, "in_pps": 2, "out_pps": 3, "in_bps": 4, "out_bps": 5}
    assert model.stats_and_rates({}) == (
        {"conns": 0, "in_pkts": 0, "out_pkts": 0, "in_bytes": 0, "out_bytes": 0},
        {"cps": 0, "in_pps": 0, "out_pps": 0, "in_bps": 0, "out_bps": 0},
    )


def test_address_text_accepts_raw_bytes():
    assert model.address_text(AF_INET, inet_addr(AF_INET, "10.1.2.3")) == "10.1.2.3"
    assert model.address_text(AF_INET6, socket.inet_pton(AF_INET6, "2001:db8::1")) == "2001:db8::1"
    assert model.address_text(AF_INET6, "2001:DB8:0:0::1") == "2001:db8::1"
    assert model.address_text(AF_INET, None) is None


@pytest.mark.parametrize("text, key", [
    ("tcp/198.51.100.10:80", "tcp/198.51.100.10:80"),
    ("TCP/198.51.100.10:080", "tcp/198.51.100.10:80"),
    ("udp/[2001:DB8:0::10]:53", "udp/[2001:db8::10]:53"),
    ("sctp/198.51.100.10:0", "sctp/198.51.100.10:0"),
    ("fwmark/7", "fwmark/ipv4/7"),
    ("fwmark/ipv6/7", "fwmark/ipv6/7"),
    ("fwmark/IPv4/12", "fwmark/ipv4/12"),
])
def test_parse_service_key(text, key):
    assert model.parse_service_key(text) == key


@pytest.mark.parametrize("text, message", [
    ("198.51.100.10:80", "is not a service key"),
    ("icmp/198.51.100.10:80", "the protocol must be"),
    ("tcp/198.51.100.10", "expected tcp/ADDRESS:PORT"),
    ("tcp/2001:db8::10:80", "IPv6 addresses in brackets"),
    ("tcp/[198.51.100.10]:80", "brackets are for IPv6"),
    ("tcp/[2001:db8::10]80", "write an IPv6 service"),
    ("tcp/198.51.100.300:80", "is not an IP address"),
    ("tcp/198.51.100.10:65536", "between 0 and 65535"),
    ("tcp/198.51.100.10:http", "is not a number"),
    ("fwmark/0", "between 1 and"),
    ("fwmark/ipv5/1", "ipv4 or ipv6"),
    ("fwmark/ipv4/1/2", "fwmark/ipv4/MARK"),
])
def test_parse_service_key_errors(text, message):
    with pytest.raises(model.IPVSModelError, match=message.replace("(", r"\(").replace(")", r"\)")):
        model.parse_service_key(text)


def test_parse_service_keys_reports_every_error_with_its_index():
    with pytest.raises(model.IPVSModelError) as err:
        model.parse_service_keys(["tcp/198.51.100.10:80", "bogus", "udp/x:1"])
    assert "services[1]" in str(err.value)
    assert "services[2]" in str(err.value)
    assert "services[0]" not in str(err.value)
    assert model.parse_service_keys(None) == []


def test_normalize_state_sorts_and_keeps_only_what_was_read():
    def svc(**kw):
        raw = {"af": AF_INET, "protocol": 6, "addr": "198.51.100.100", "port": 80, "sched_name": "wlc",
               "flags": {"flags": 2, "mask": 0xFFFFFFFF}, "timeout": 0, "netmask": 0xFFFFFFFF}
        raw.update(kw)
        return raw

    def dest(addr, port, af=AF_INET):
        return {"addr": addr, "port": port, "addr_family": af, "fwd_method": 3, "weight": 1}

    raw_state = {
        "info": {"version": 0x010201, "conn_tab_size": 4096},
        "services": [
            {"af": AF_INET, "fwmark": 2, "sched_name": "rr", "flags": {"flags": 2, "mask": 0}, "destinations": []},
            svc(port=443, destinations=[]),
            svc(af=AF_INET6, addr="2001:db8::1", netmask=128, destinations=[]),
            svc(addr="198.51.100.9", destinations=[dest("198.51.100.30", 80), dest("198.51.100.4", 80),
                                                   dest("198.51.100.4", 8)]),
            svc(protocol=17, port=53, destinations=[]),
            {"af": AF_INET, "fwmark": 1, "sched_name": "rr", "flags": {"flags": 2, "mask": 0}, "destinations": []},
        ],
        "daemons": [
            {"state": 2, "mcast_ifn": "eth1", "sync_id": 1},
            {"state": 1, "mcast_ifn": "eth1", "sync_id": 1},
        ],
    }
    state = model.normalize_state(raw_state, stats=False)
    assert state["ipvs_version"] == "1.2.1"
    assert state["conn_tab_size"] == 4096
    assert [s["key"] for s in state["services"]] == [
        "tcp/198.51.100.9:80",
        "tcp/198.51.100.100:443",
        "udp/198.51.100.100:53",
        "tcp/[2001:db8::1]:80",
        "fwmark/ipv4/1",
        "fwmark/ipv4/2",
    ]
    assert [d["key"] for d in state["services"][0]["destinations"]] == [
        "198.51.100.4:8", "198.51.100.4:80", "198.51.100.30:80"]
    assert [d["state"] for d in state["sync_daemons"]] == ["master", "backup"]
    assert "timeouts" not in state
    assert all("stats" not in s for s in state["services"])

    only_services = model.normalize_state({"info": {}, "services": [svc()]})
    assert "destinations" not in only_services["services"][0]
    assert only_services["services"][0]["stats"]["conns"] == 0
    assert only_services["ipvs_version"] is None


def test_raw_service_key_matches_parsed_user_keys():
    raw = {"af": AF_INET6, "protocol": 17, "addr": "2001:db8::10", "port": 53, "sched_name": "rr"}
    assert keys.raw_service_key(raw) == model.parse_service_key("UDP/[2001:DB8::0:10]:53")
    assert keys.raw_service_key({"af": AF_INET, "fwmark": 7}) == model.parse_service_key("fwmark/7")
