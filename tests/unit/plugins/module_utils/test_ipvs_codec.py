# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fast codec of _ipvs_netlink against pyroute2, the reference codec.

Encoding: for every combination below, ``encode_request`` must give the very bytes pyroute2 gives when it encodes
``request_message`` (the collection's ``ipvs_msg`` classes) with the same header. Decoding: ``decode_message_attrs``
must give what ``nla_to_dict`` gives after pyroute2 decodes the same bytes, both for messages pyroute2 encoded and
for messages laid out as the 6.1 kernel lays them out (16-byte addresses, statistics, attributes it does not know).
"""

from __future__ import annotations

import itertools
import socket
import struct

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_netlink as nl


AF_INET = socket.AF_INET
AF_INET6 = socket.AF_INET6

SERVICES = {
    "tcp4": {"af": AF_INET, "protocol": 6, "addr": "198.51.100.100", "port": 80},
    "udp6": {"af": AF_INET6, "protocol": 17, "addr": "2001:db8:100::53", "port": 53},
    "sctp4-port0": {"af": AF_INET, "protocol": 132, "addr": "203.0.113.9", "port": 0},
    "tcp4-port65535": {"af": AF_INET, "protocol": 6, "addr": "0.0.0.0", "port": 65535},
    "fwmark4": {"af": AF_INET, "fwmark": 7},
    "fwmark6-max": {"af": AF_INET6, "fwmark": 0xFFFFFFFF},
}
SETTINGS = {
    "plain": {"sched_name": "wlc", "flags": {"flags": 0, "mask": 0xFFFFFFFF}, "timeout": 0, "netmask": 0xFFFFFFFF},
    "sh-flags": {"sched_name": "sh", "flags": {"flags": nl.IP_VS_SVC_F_SCHED1 | nl.IP_VS_SVC_F_SCHED2,
                                               "mask": 0xFFFFFFFF}, "timeout": 0, "netmask": 128},
    "persistent": {"sched_name": "lblcr", "flags": {"flags": nl.IP_VS_SVC_F_PERSISTENT, "mask": 0xFFFFFFFF},
                   "timeout": 4294967, "netmask": 0x00FFFFFF},
    "one-packet-pe": {"sched_name": "mh", "flags": {"flags": nl.IP_VS_SVC_F_ONEPACKET | nl.IP_VS_SVC_F_PERSISTENT
                                                    | nl.IP_VS_SVC_F_SCHED2, "mask": 0xFFFFFFFF},
                      "timeout": 300, "netmask": 64, "pe_name": "sip"},
    "empty-pe": {"sched_name": "rr", "flags": {"flags": 0, "mask": 0x7}, "timeout": 0, "netmask": 1, "pe_name": ""},
    "long-sched": {"sched_name": "abcdefghijklmno", "flags": {"flags": 0xFFFFFFFF, "mask": 0}, "timeout": 1,
                   "netmask": 0},
}
DESTS = {
    "dr4": {"addr": "198.51.100.21", "port": 80, "addr_family": AF_INET, "fwd_method": nl.IP_VS_CONN_F_DROUTE,
            "weight": 1, "u_thresh": 0, "l_thresh": 0},
    "nat6": {"addr": "2001:db8:101::21", "port": 8080, "addr_family": AF_INET6, "fwd_method": nl.IP_VS_CONN_F_MASQ,
             "weight": 0x7FFFFFFF, "u_thresh": 0xFFFFFFFF, "l_thresh": 5},
    "ipip4": {"addr": "198.18.2.23", "port": 0, "addr_family": AF_INET, "fwd_method": nl.IP_VS_CONN_F_TUNNEL,
              "weight": 0, "u_thresh": 10, "l_thresh": 10, "tun_type": nl.IP_VS_CONN_F_TUNNEL_TYPE_IPIP,
              "tun_port": 0, "tun_flags": 0},
    "gue6-remcsum": {"addr": "2001:db8::23", "port": 53, "addr_family": AF_INET6, "fwd_method": nl.IP_VS_CONN_F_TUNNEL,
                     "weight": 3, "u_thresh": 0, "l_thresh": 0, "tun_type": nl.IP_VS_CONN_F_TUNNEL_TYPE_GUE,
                     "tun_port": 6080, "tun_flags": nl.IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM},
    "gre4-csum": {"addr": "198.18.2.24", "port": 443, "addr_family": AF_INET, "fwd_method": nl.IP_VS_CONN_F_TUNNEL,
                  "weight": 2, "u_thresh": 1, "l_thresh": 0, "tun_type": nl.IP_VS_CONN_F_TUNNEL_TYPE_GRE,
                  "tun_port": 65535, "tun_flags": nl.IP_VS_TUNNEL_ENCAP_FLAG_CSUM},
    "dr-with-stale-tunnel-fields": {"addr": "198.51.100.22", "port": 80, "addr_family": AF_INET,
                                    "fwd_method": nl.IP_VS_CONN_F_DROUTE, "weight": 1, "u_thresh": 0, "l_thresh": 0,
                                    "tun_type": 1, "tun_port": 9, "tun_flags": 1},
}
HEADERS = [(0x1C, 1, 0, nl.NLM_F_REQUEST | nl.NLM_F_ACK), (0x22, 0xFFFFFFFF, 4242, nl.NLM_F_REQUEST),
           (0xFFFF, 0x10000, 0xFFFFFFFF, nl.NLM_F_REQUEST | nl.NLM_F_DUMP)]


def reference(family_id, cmd, seq, pid, flags, service=None, dest=None, full_service=False, full_dest=False):
    msg = nl.request_message(cmd, service, dest, full_service, full_dest)
    msg["header"]["type"] = family_id
    msg["header"]["flags"] = flags
    msg["header"]["sequence_number"] = seq
    msg["header"]["pid"] = pid
    msg.encode()
    return bytes(msg.data)


def fast(family_id, cmd, seq, pid, flags, service=None, dest=None, full_service=False, full_dest=False):
    return nl.encode_request(family_id, cmd, seq, flags, service, dest, full_service, full_dest, pid=pid)


@pytest.mark.parametrize("header", HEADERS, ids=["ack", "no-ack", "dump"])
@pytest.mark.parametrize("settings", sorted(SETTINGS))
@pytest.mark.parametrize("service", sorted(SERVICES))
def test_service_requests_are_byte_identical(service, settings, header):
    family_id, seq, pid, flags = header
    raw = dict(SERVICES[service], **SETTINGS[settings])
    for cmd, full in ((nl.IPVS_CMD_NEW_SERVICE, True), (nl.IPVS_CMD_SET_SERVICE, True),
                      (nl.IPVS_CMD_DEL_SERVICE, False), (nl.IPVS_CMD_GET_DEST, False)):
        expected = reference(family_id, cmd, seq, pid, flags, service=raw, full_service=full)
        assert fast(family_id, cmd, seq, pid, flags, service=raw, full_service=full) == expected


@pytest.mark.parametrize("dest", sorted(DESTS))
@pytest.mark.parametrize("service", sorted(SERVICES))
def test_destination_requests_are_byte_identical(service, dest):
    raw_service = SERVICES[service]
    raw_dest = DESTS[dest]
    for (family_id, seq, pid, flags), (cmd, full) in itertools.product(
            HEADERS[:2], ((nl.IPVS_CMD_NEW_DEST, True), (nl.IPVS_CMD_SET_DEST, True), (nl.IPVS_CMD_DEL_DEST, False))):
        expected = reference(family_id, cmd, seq, pid, flags, raw_service, raw_dest, full_dest=full)
        assert fast(family_id, cmd, seq, pid, flags, raw_service, raw_dest, full_dest=full) == expected


def test_the_channel_encoding_is_the_reference_encoding():
    """What _Channel sends for a (cmd, service, dest) request, frame by frame, is the pyroute2 encoding."""
    service = dict(SERVICES["udp6"], **SETTINGS["one-packet-pe"])
    identities = {}
    for cmd, dest in ((nl.IPVS_CMD_NEW_SERVICE, None), (nl.IPVS_CMD_NEW_DEST, DESTS["gue6-remcsum"]),
                      (nl.IPVS_CMD_SET_DEST, DESTS["nat6"]), (nl.IPVS_CMD_DEL_DEST, DESTS["nat6"]),
                      (nl.IPVS_CMD_SET_SERVICE, None), (nl.IPVS_CMD_DEL_SERVICE, None)):
        body = nl._Channel._encode((cmd, service, dest), identities)  # pylint: disable=protected-access
        full = cmd in (nl.IPVS_CMD_NEW_SERVICE, nl.IPVS_CMD_SET_SERVICE, nl.IPVS_CMD_NEW_DEST, nl.IPVS_CMD_SET_DEST)
        expected = reference(0x1C, cmd, 9, 0, nl.NLM_F_REQUEST, service, dest,
                             full_service=full and dest is None, full_dest=full)
        assert nl.encode_frame(0x1C, cmd, 9, nl.NLM_F_REQUEST, body) == expected


def decode(data):
    return nl.decode_message_attrs(data, 20, len(data))


def test_tunnel_attributes_are_sent_for_tunnels_only():
    decoded = decode(fast(1, nl.IPVS_CMD_NEW_DEST, 1, 0, 1, SERVICES["tcp4"], DESTS["dr-with-stale-tunnel-fields"],
                          full_dest=True))
    assert "tun_type" not in decoded["dest"] and decoded["dest"]["fwd_method"] == nl.IP_VS_CONN_F_DROUTE
    decoded = decode(fast(1, nl.IPVS_CMD_NEW_DEST, 1, 0, 1, SERVICES["tcp4"], DESTS["gre4-csum"], full_dest=True))
    assert (decoded["dest"]["tun_type"], decoded["dest"]["tun_port"], decoded["dest"]["tun_flags"]) == (2, 65535, 1)


# ---------------------------------------------------------------------------------------------------------------
# Decoding

def pyroute2_view(data):
    msg = nl.ipvs_msg(data)
    msg.decode()
    return nl.nla_to_dict(msg)


@pytest.mark.parametrize("settings", sorted(SETTINGS))
@pytest.mark.parametrize("service", sorted(SERVICES))
def test_decoding_pyroute2_encoded_services(service, settings):
    data = reference(0x1C, nl.IPVS_CMD_NEW_SERVICE, 5, 0, nl.NLM_F_MULTI,
                     service=dict(SERVICES[service], **SETTINGS[settings]), full_service=True)
    assert nl.decode_message_attrs(data, 20, len(data)) == pyroute2_view(data)


@pytest.mark.parametrize("dest", sorted(DESTS))
def test_decoding_pyroute2_encoded_destinations(dest):
    data = reference(0x1C, nl.IPVS_CMD_NEW_DEST, 5, 0, nl.NLM_F_MULTI, dest=DESTS[dest], full_dest=True)
    assert nl.decode_message_attrs(data, 20, len(data)) == pyroute2_view(data)


COUNTERS = ("stats", "stats64", "active_conns", "inact_conns", "persist_conns")


def nla(nla_type, payload):
    length = 4 + len(payload)
    return struct.pack("=HH", length, nla_type) + payload + b"\0" * (-length & 3)


def stats(wide):
    counters = b""
    for number in range(1, 11):
        big = wide or number in (4, 5)
        counters += nla(number, struct.pack("=Q" if big else "=I", number * 1000 + 7))
    return counters + nla(11, b"\0" * 8)  # IPVS_STATS_ATTR_PAD


def kernel_message(cmd, attr_type, attrs):
    payload = struct.pack("=BBH", cmd, 1, 0) + nla(attr_type, attrs)
    return struct.pack("=IHHII", 16 + len(payload), 0x1C, nl.NLM_F_MULTI, 3, 1234) + payload


@pytest.mark.parametrize("af,address,fwmark,pe", [
    (AF_INET, "198.51.100.100", 0, None), (AF_INET6, "2001:db8::1", 0, "sip"), (AF_INET, None, 9, None),
    (AF_INET6, None, 10, None),
])
def test_decoding_services_laid_out_as_the_kernel_does(af, address, fwmark, pe):
    """ip_vs_genl_fill_service: a 16-byte address, both statistics, and one attribute from a newer kernel."""
    attrs = nla(1, struct.pack("=H", af))
    if fwmark:
        attrs += nla(5, struct.pack("=I", fwmark))
    else:
        packed = socket.inet_pton(af, address)
        attrs += nla(2, struct.pack("=H", 6)) + nla(3, packed + b"\0" * (16 - len(packed))) + nla(4, struct.pack(">H", 443))
    attrs += nla(6, b"wlc\0")
    if pe:
        attrs += nla(11, pe.encode() + b"\0")
    attrs += nla(7, struct.pack("=II", 3, 0xFFFFFFFF)) + nla(8, struct.pack("=I", 300)) + nla(9, struct.pack("=I", 64))
    attrs += nla(10, stats(False)) + nla(12, stats(True)) + nla(13, b"new!")
    data = kernel_message(nl.IPVS_CMD_NEW_SERVICE, 1, attrs)
    expected = pyroute2_view(data)
    assert nl.decode_message_attrs(data, 20, len(data)) == expected
    without_stats = dict((k, v) for k, v in expected["service"].items() if k not in ("stats", "stats64"))
    assert nl.decode_message_attrs(data, 20, len(data), stats=False) == {"service": without_stats}


@pytest.mark.parametrize("af,address", [(AF_INET, "10.1.2.3"), (AF_INET6, "2001:db8:ffff::7")])
def test_decoding_destinations_laid_out_as_the_kernel_does(af, address):
    """ip_vs_genl_fill_dest: the address first, its family last; tunnel attributes; statistics."""
    packed = socket.inet_pton(af, address)
    attrs = nla(1, packed + b"\0" * (16 - len(packed))) + nla(2, struct.pack(">H", 8080))
    attrs += nla(3, struct.pack("=I", 2)) + nla(4, struct.pack("=I", 7)) + nla(13, struct.pack("=B", 1))
    attrs += nla(14, struct.pack(">H", 6080)) + nla(15, struct.pack("=H", 2))
    for number in (5, 6, 7, 8, 9):
        attrs += nla(number, struct.pack("=I", number))
    attrs += nla(11, struct.pack("=H", af)) + nla(10, stats(False)) + nla(12, stats(True))
    data = kernel_message(nl.IPVS_CMD_NEW_DEST, 2, attrs)
    expected = pyroute2_view(data)
    assert nl.decode_message_attrs(data, 20, len(data)) == expected
    # without statistics, the one-call reader of this layout (which this is)
    values = nl._DEST_LAYOUT.unpack_from(data, 24)  # pylint: disable=protected-access
    assert values[1::3] == nl._DEST_LAYOUT_TYPES  # pylint: disable=protected-access
    without_stats = dict((k, v) for k, v in expected["dest"].items() if k not in COUNTERS)
    assert nl.decode_message_attrs(data, 20, len(data), stats=False) == {"dest": without_stats}


def test_destinations_in_another_layout_take_the_general_path():
    packed = socket.inet_pton(AF_INET, "10.1.2.3")
    attrs = nla(11, struct.pack("=H", AF_INET)) + nla(1, packed) + nla(2, struct.pack(">H", 80))
    attrs += nla(3, struct.pack("=I", 3)) + nla(4, struct.pack("=I", 7)) + b"".join(
        nla(number, struct.pack("=I", 0)) for number in (5, 6, 7, 8, 9, 16, 17, 18, 19))
    data = kernel_message(nl.IPVS_CMD_NEW_DEST, 2, attrs)
    expected = dict((k, v) for k, v in pyroute2_view(data)["dest"].items() if k not in COUNTERS)
    assert nl.decode_message_attrs(data, 20, len(data), stats=False) == {"dest": expected}
