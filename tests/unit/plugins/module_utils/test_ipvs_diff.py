# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation, normalization and diffing of declared IPVS services (_ipvs_diff): pure functions, no kernel."""

from __future__ import annotations

import socket
import struct

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_diff as diff
from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_model as model
from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_netlink as nl

AF_INET = socket.AF_INET
AF_INET6 = socket.AF_INET6
WEB = {"address": "198.51.100.100", "port": 80}


def errors_of(entries, **kwargs):
    with pytest.raises(diff.IPVSValidationError) as failure:
        diff.parse_services(entries, **kwargs)
    return failure.value.errors


def one(entry, **kwargs):
    (spec,) = diff.parse_services([entry], **kwargs)
    return spec


# ---------------------------------------------------------------------------------------------------------------
# Validation: every case names the entry and the field (the module tests add: and nothing is written)

INVALID = [
    # (entry, the field path in the message, a fragment of the message)
    ({"port": 80}, "services[0].address", "required (or fwmark"),
    ({"address": "198.51.100.300", "port": 80}, "services[0].address", "not an IPv4 or IPv6 address"),
    ({"address": "www.example.com", "port": 80}, "services[0].address", "not an IPv4 or IPv6 address"),
    ({"address": "198.51.100.1"}, "services[0].port", "required for an address service"),
    ({"address": "198.51.100.1", "port": 65536}, "services[0].port", "between 0 and 65535, got 65536"),
    ({"address": "198.51.100.1", "port": -1}, "services[0].port", "between 0 and 65535"),
    ({"address": "198.51.100.1", "port": "http"}, "services[0].port", "must be an integer"),
    ({"address": "198.51.100.1", "port": True}, "services[0].port", "must be an integer"),
    ({"address": "198.51.100.1", "port": 0}, "services[0].port", "port 0 (every port) works only for persistent"),
    ({"address": "198.51.100.1", "port": 80, "protocol": "icmp"}, "services[0].protocol", "one of tcp, udp, sctp"),
    ({"address": "198.51.100.1", "port": 80, "family": "ipv6"}, "services[0].family", "does not match the IPv4"),
    ({"fwmark": 7, "port": 80}, "services[0].port", "firewall-mark service (fwmark) has no port"),
    ({"fwmark": 7, "address": "198.51.100.1"}, "services[0].address", "has no address"),
    ({"fwmark": 7, "protocol": "udp"}, "services[0].protocol", "has no protocol"),
    ({"fwmark": 0}, "services[0].fwmark", "between 1 and 4294967295"),
    ({"fwmark": 4294967296}, "services[0].fwmark", "between 1 and 4294967295"),
    ({"fwmark": 7, "family": "ipx"}, "services[0].family", "one of ipv4, ipv6"),
    (dict(WEB, scheduler="r r"), "services[0].scheduler", "not a scheduler name"),
    (dict(WEB, scheduler="averyveryverylongname"), "services[0].scheduler", "not a scheduler name"),
    (dict(WEB, scheduler=5), "services[0].scheduler", "must be a scheduler name"),
    (dict(WEB, scheduler="rr", scheduler_flags=["sh-port"]), "services[0].scheduler_flags",
     "the rr scheduler takes no flags (sh-port is for the sh scheduler)"),
    (dict(WEB, scheduler="sh", scheduler_flags=["mh-port"]), "services[0].scheduler_flags",
     "the sh scheduler takes sh-fallback or sh-port, not mh-port"),
    (dict(WEB, scheduler="mh", scheduler_flags=["sh-fallback"]), "services[0].scheduler_flags",
     "the mh scheduler takes mh-fallback or mh-port"),
    (dict(WEB, scheduler="sh", scheduler_flags=["sh-turbo"]), "services[0].scheduler_flags", "is not a scheduler flag"),
    (dict(WEB, scheduler_flags=7), "services[0].scheduler_flags", "must be a list"),
    (dict(WEB, persistence_timeout=-5), "services[0].persistence_timeout", "between 0 and 4294967"),
    (dict(WEB, persistence_timeout=4294968), "services[0].persistence_timeout", "between 0 and 4294967"),
    (dict(WEB, persistence_netmask="255.255.255.0"), "services[0].persistence_netmask",
     "persistent services only; set persistence_timeout"),
    (dict(WEB, persistence_prefix=24), "services[0].persistence_prefix", "persistent services only"),
    (dict(WEB, persistence_timeout=60, persistence_netmask="255.0.255.0"), "services[0].persistence_netmask",
     "not a netmask"),
    (dict(WEB, persistence_timeout=60, persistence_netmask="24"), "services[0].persistence_netmask", "not a netmask"),
    (dict(WEB, persistence_timeout=60, persistence_prefix=33), "services[0].persistence_prefix", "between 0 and 32"),
    ({"address": "2001:db8::1", "port": 80, "persistence_timeout": 60, "persistence_prefix": 0},
     "services[0].persistence_prefix", "between 1 and 128"),
    ({"address": "2001:db8::1", "port": 80, "persistence_timeout": 60, "persistence_netmask": "255.255.0.0"},
     "services[0].persistence_netmask", "IPv6 services take a prefix length"),
    (dict(WEB, persistence_timeout=60, persistence_netmask="255.255.255.0", persistence_prefix=24),
     "services[0].persistence_prefix", "not both"),
    (dict(WEB, one_packet=True), "services[0].one_packet", "for UDP services"),
    (dict(WEB, one_packet="maybe"), "services[0].one_packet", "must be a boolean"),
    (dict(WEB, persistence_engine="sip"), "services[0].persistence_engine", "persistent services only"),
    (dict(WEB, persistence_timeout=60, persistence_engine="h323"), "services[0].persistence_engine", "one of sip"),
    (dict(WEB, state="gone"), "services[0].state", "one of present, absent"),
    (dict(WEB, wieght=3), "services[0]", "unknown option wieght"),
    (dict(WEB, purge_destinations=True), "services[0].purge_destinations", "destinations: [] removes them all"),
    (dict(WEB, destinations={"address": "198.51.100.21"}), "services[0].destinations", "must be a list"),
    (dict(WEB, destinations=["198.51.100.21"]), "services[0].destinations[0]", "must be a dictionary"),
    (dict(WEB, destinations=[{"port": 80}]), "services[0].destinations[0].address", "required"),
    (dict(WEB, destinations=[{"address": "198.51.100.21", "weght": 1}]), "services[0].destinations[0]",
     "unknown option weght"),
    (dict(WEB, destinations=[{"address": "224.0.0.5"}]), "services[0].destinations[0].address", "multicast"),
    (dict(WEB, destinations=[{"address": "255.255.255.255"}]), "services[0].destinations[0].address", "broadcast"),
    (dict(WEB, destinations=[{"address": "0.0.0.0"}]), "services[0].destinations[0].address", "not a unicast"),
    ({"address": "2001:db8::1", "port": 80, "destinations": [{"address": "ff02::1"}]},
     "services[0].destinations[0].address", "multicast"),
    ({"address": "2001:db8::1", "port": 80, "destinations": [{"address": "fe80::1"}]},
     "services[0].destinations[0].address", "link-local"),
    ({"address": "2001:db8::1", "port": 80, "destinations": [{"address": "::"}]},
     "services[0].destinations[0].address", "unspecified"),
    ({"address": "2001:db8::1", "port": 80, "destinations": [{"address": "::ffff:198.51.100.1"}]},
     "services[0].destinations[0].address", "IPv4-mapped"),
    (dict(WEB, destinations=[{"address": "198.51.100.21", "port": 70000}]), "services[0].destinations[0].port",
     "between 0 and 65535"),
    (dict(WEB, destinations=[{"address": "198.51.100.21", "port": 8080}]), "services[0].destinations[0].port",
     "must be the service's port 80"),
    (dict(WEB, destinations=[{"address": "198.51.100.21", "port": 8080, "forwarding_method": "tun"}]),
     "services[0].destinations[0].port", "with forwarding_method tun"),
    (dict(WEB, destinations=[{"address": "198.51.100.21", "forwarding_method": "fullnat"}]),
     "services[0].destinations[0].forwarding_method", "must be one of"),
    (dict(WEB, destinations=[{"address": "198.51.100.21", "weight": -1}]), "services[0].destinations[0].weight",
     "between 0 and 2147483647, got -1"),
    (dict(WEB, destinations=[{"address": "198.51.100.21", "weight": 2147483648}]),
     "services[0].destinations[0].weight", "between 0 and 2147483647"),
    (dict(WEB, destinations=[{"address": "198.51.100.21", "upper_threshold": 4294967296}]),
     "services[0].destinations[0].upper_threshold", "between 0 and 4294967295"),
    (dict(WEB, destinations=[{"address": "198.51.100.21", "lower_threshold": -1}]),
     "services[0].destinations[0].lower_threshold", "between 0 and 4294967295"),
    (dict(WEB, destinations=[{"address": "198.51.100.21", "upper_threshold": 10, "lower_threshold": 11}]),
     "services[0].destinations[0].lower_threshold", "11 is above upper_threshold 10"),
    (dict(WEB, destinations=[{"address": "198.51.100.21", "lower_threshold": 5}]),
     "services[0].destinations[0].lower_threshold", "upper threshold of 0 means no limit"),
    (dict(WEB, destinations=[{"address": "198.51.100.21", "forwarding_method": "nat", "tunnel_type": "gue"}]),
     "services[0].destinations[0].tunnel_type", "only for forwarding_method tun, not nat"),
    (dict(WEB, destinations=[{"address": "198.51.100.21", "tunnel_port": 6080}]),
     "services[0].destinations[0].tunnel_port", "only for forwarding_method tun, not dr"),
    (dict(WEB, destinations=[{"address": "198.51.100.21", "forwarding_method": "masq", "tunnel_checksum": "csum"}]),
     "services[0].destinations[0].tunnel_checksum", "only for forwarding_method tun, not nat"),
    (dict(WEB, destinations=[{"address": "198.51.100.21", "forwarding_method": "tun", "tunnel_type": "gue"}]),
     "services[0].destinations[0].tunnel_port", "required with tunnel_type gue"),
    (dict(WEB, destinations=[{"address": "198.51.100.21", "forwarding_method": "tun", "tunnel_port": 6080}]),
     "services[0].destinations[0].tunnel_port", "only for tunnel_type gue, not ipip"),
    (dict(WEB, destinations=[{"address": "198.51.100.21", "forwarding_method": "tun", "tunnel_type": "gre",
                              "tunnel_port": 6080}]), "services[0].destinations[0].tunnel_port", "not gre"),
    (dict(WEB, destinations=[{"address": "198.51.100.21", "forwarding_method": "ipip", "tunnel_checksum": "csum"}]),
     "services[0].destinations[0].tunnel_checksum", "gue or gre, not ipip"),
    (dict(WEB, destinations=[{"address": "198.51.100.21", "forwarding_method": "tun", "tunnel_type": "gre",
                              "tunnel_checksum": "remcsum"}]),
     "services[0].destinations[0].tunnel_checksum", "remcsum is for tunnel_type gue only"),
    (dict(WEB, destinations=[{"address": "198.51.100.21", "forwarding_method": "tun", "tunnel_type": "vxlan"}]),
     "services[0].destinations[0].tunnel_type", "one of ipip, gue, gre"),
    (dict(WEB, destinations=[{"address": "198.51.100.21", "forwarding_method": "tun", "tunnel_type": "gue",
                              "tunnel_port": 0}]), "services[0].destinations[0].tunnel_port", "between 1 and 65535"),
    (dict(WEB, destinations=[{"address": "2001:db8::21"}]), "services[0].destinations[0].address",
     "an IPv6 real server in an IPv4 service needs forwarding_method tun"),
    ({"fwmark": 3, "family": "ipv6", "destinations": [{"address": "198.51.100.21", "forwarding_method": "nat"}]},
     "services[0].destinations[0].address", "an IPv4 real server in an IPv6 service"),
    (dict(WEB, destinations=[{"address": "198.51.100.21"}, {"address": "198.51.100.021"}]),
     "services[0].destinations[1].address", "not an IPv4 or IPv6 address"),
    (dict(WEB, destinations=[{"address": "198.51.100.21"}, {"address": "198.51.100.21", "weight": 2}]),
     "services[0].destinations[1]",
     "destination 198.51.100.21:80 is listed twice in tcp/198.51.100.100:80 (also services[0].destinations[0])"),
    ({"address": "2001:db8::1", "port": 80,
      "destinations": [{"address": "2001:db8::21"}, {"address": "[2001:DB8:0::21]", "port": 80}]},
     "services[0].destinations[1]", "destination [2001:db8::21]:80 is listed twice"),
]


@pytest.mark.parametrize("entry,field,fragment", INVALID, ids=["%d-%s" % (n, case[1]) for n, case in enumerate(INVALID)])
def test_invalid_entries_name_the_entry_and_field(entry, field, fragment):
    errors = errors_of([entry])
    assert any(error.startswith(field + ":") and fragment in error for error in errors), errors


def test_every_error_is_reported_at_once_with_its_index():
    errors = errors_of([
        WEB,
        {"address": "198.51.100.101", "port": 80,
         "destinations": [{"address": "x"}, {"address": "198.51.100.9", "weight": "heavy"}]},
        {"fwmark": 1, "scheduler_flags": ["sh-port"]},
    ])
    assert [error.split(":", 1)[0] for error in errors] == [
        "services[1].destinations[0].address", "services[1].destinations[1].weight", "services[2].scheduler_flags"]


@pytest.mark.parametrize("second", [
    dict(WEB), {"address": "198.51.100.100", "port": "80", "protocol": "TCP"},
    {"address": " 198.51.100.100 ", "port": 80.0, "scheduler": "rr"}, dict(WEB, state="absent"),
])
def test_duplicate_services_are_named_with_both_indexes(second):
    errors = errors_of([WEB, {"fwmark": 1}, second])
    assert errors == ["services[2]: service tcp/198.51.100.100:80 is declared twice (also services[0])"]


def test_duplicates_are_found_even_when_the_entries_have_other_errors():
    errors = errors_of([dict(WEB, weight=1), dict(WEB, scheduler_flags=["x"])])
    assert "services[1]: service tcp/198.51.100.100:80 is declared twice (also services[0])" in errors


def test_fwmark_services_of_both_families_are_different_services():
    specs = diff.parse_services([{"fwmark": 7}, {"fwmark": 7, "family": "ipv6"}])
    assert [spec.key for spec in specs] == ["fwmark/ipv4/7", "fwmark/ipv6/7"]
    assert errors_of([{"fwmark": 7}, {"fwmark": "7", "family": "IPv4"}]) == [
        "services[1]: service fwmark/ipv4/7 is declared twice (also services[0])"]


def test_a_single_service_has_no_index_in_its_messages():
    errors = []
    key, spec = diff.parse_service({"address": "198.51.100.1", "port": 80, "destinations": [{"address": "1.1.1"}]},
                                   "", errors)
    assert spec is None and key == "tcp/198.51.100.1:80"
    assert errors == ["destinations[0].address: '1.1.1' is not an IPv4 or IPv6 address"]


def test_not_a_list():
    assert errors_of({"address": "x"}) == ["services: must be a list of services, got {'address': 'x'}"]
    assert errors_of(["tcp/1.2.3.4:80"]) == ["services[0]: must be a dictionary, got 'tcp/1.2.3.4:80'"]


# ---------------------------------------------------------------------------------------------------------------
# Normalization

def host_u32(dotted):
    return struct.unpack("=I", socket.inet_aton(dotted))[0]


def test_defaults_of_an_address_service_and_its_destination():
    spec = one(dict(WEB, destinations=[{"address": "198.51.100.21"}]))
    assert spec.key == "tcp/198.51.100.100:80" and spec.state == "present" and spec.purge is False
    assert spec.raw == {"af": AF_INET, "protocol": 6, "addr": "198.51.100.100", "port": 80, "sched_name": "wlc",
                        "flags": {"flags": 0, "mask": 0xFFFFFFFF}, "timeout": 0, "netmask": 0xFFFFFFFF, "pe_name": ""}
    (dest,) = spec.destinations
    assert dest.key == "198.51.100.21:80"
    assert dest.raw == {"addr": "198.51.100.21", "port": 80, "addr_family": AF_INET,
                        "fwd_method": nl.IP_VS_CONN_F_DROUTE, "weight": 1, "u_thresh": 0, "l_thresh": 0,
                        "tun_type": 0, "tun_port": 0, "tun_flags": 0}


def test_every_setting_normalized():
    spec = one({"protocol": "UDP", "address": "2001:DB8:0:0::53", "port": "53", "scheduler": " SH ",
                "scheduler_flags": "sh-port,sh-fallback", "persistence_timeout": "600", "persistence_prefix": 64,
                "one_packet": "yes", "persistence_engine": "sip", "purge_destinations": "true",
                "destinations": [
                    {"address": "[2001:db8:101::21]", "port": "5353", "forwarding_method": "masq", "weight": "0",
                     "upper_threshold": 100, "lower_threshold": "10"},
                    {"address": "198.18.2.23", "forwarding_method": "ipip", "tunnel_type": "GUE",
                     "tunnel_port": 6080, "tunnel_checksum": "remcsum"},
                ]})
    assert spec.key == "udp/[2001:db8::53]:53" and spec.purge is True
    assert spec.raw == {"af": AF_INET6, "protocol": 17, "addr": "2001:db8::53", "port": 53, "sched_name": "sh",
                        "flags": {"flags": nl.IP_VS_SVC_F_PERSISTENT | nl.IP_VS_SVC_F_ONEPACKET
                                  | nl.IP_VS_SVC_F_SCHED1 | nl.IP_VS_SVC_F_SCHED2, "mask": 0xFFFFFFFF},
                        "timeout": 600, "netmask": 64, "pe_name": "sip"}
    nat, gue = spec.destinations
    assert (nat.key, nat.raw["fwd_method"], nat.raw["weight"], nat.raw["u_thresh"], nat.raw["l_thresh"]) == (
        "[2001:db8:101::21]:5353", nl.IP_VS_CONN_F_MASQ, 0, 100, 10)
    assert (gue.key, gue.raw["addr_family"], gue.raw["fwd_method"], gue.raw["tun_type"], gue.raw["tun_port"],
            gue.raw["tun_flags"]) == ("198.18.2.23:53", AF_INET, nl.IP_VS_CONN_F_TUNNEL,
                                      nl.IP_VS_CONN_F_TUNNEL_TYPE_GUE, 6080, nl.IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM)


@pytest.mark.parametrize("options,netmask", [
    ({"persistence_timeout": 60}, "255.255.255.255"),
    ({"persistence_timeout": 60, "persistence_netmask": "255.255.255.0"}, "255.255.255.0"),
    ({"persistence_timeout": 60, "persistence_prefix": 16}, "255.255.0.0"),
    ({"persistence_timeout": 60, "persistence_prefix": 0}, "0.0.0.0"),
    ({}, "255.255.255.255"),
    ({"persistence_timeout": 0}, "255.255.255.255"),
])
def test_ipv4_netmask_is_kept_as_the_kernel_reads_it_back(options, netmask):
    """IPVS_SVC_ATTR_NETMASK is a __be32 decoded in host order: what ipvs_info turns back into the same text."""
    spec = one(dict(WEB, **options))
    assert spec.raw["netmask"] == host_u32(netmask)
    assert model.netmask_text(AF_INET, spec.raw["netmask"]) == netmask


@pytest.mark.parametrize("options,flags,timeout,netmask", [
    ({}, 0, 0, 128),
    ({"persistence_timeout": 300}, nl.IP_VS_SVC_F_PERSISTENT, 300, 128),
    ({"persistence_timeout": 300, "persistence_prefix": 48}, nl.IP_VS_SVC_F_PERSISTENT, 300, 48),
])
def test_ipv6_netmask_is_a_prefix_length(options, flags, timeout, netmask):
    spec = one(dict({"fwmark": 9, "family": "ipv6"}, **options))
    assert (spec.raw["flags"]["flags"], spec.raw["timeout"], spec.raw["netmask"]) == (flags, timeout, netmask)


@pytest.mark.parametrize("entry,key", [
    (WEB, "tcp/198.51.100.100:80"),
    ({"protocol": "sctp", "address": "2001:db8::1", "port": 9999}, "sctp/[2001:db8::1]:9999"),
    ({"fwmark": 7}, "fwmark/ipv4/7"),
    ({"fwmark": 8, "family": "ipv6"}, "fwmark/ipv6/8"),
])
def test_keys_are_the_keys_ipvs_info_returns(entry, key):
    spec = one(entry)
    assert spec.key == key == model.service_key(model.normalize_service(spec.raw, stats=False))
    assert model.parse_service_key(key) == key


def test_destination_ports_default_to_the_service_port_or_zero_for_fwmark():
    assert one(dict(WEB, destinations=[{"address": "198.51.100.21"}])).destinations[0].raw["port"] == 80
    assert one({"fwmark": 1, "destinations": [{"address": "198.51.100.21"}]}).destinations[0].raw["port"] == 0
    assert one({"fwmark": 1, "destinations": [{"address": "198.51.100.21", "port": 8080}]}).destinations[0].key == (
        "198.51.100.21:8080")


def test_absent_services_need_only_their_key():
    spec = one({"address": "198.51.100.1", "port": 80, "state": "absent", "scheduler": "??", "destinations": "x"})
    assert spec.state == "absent" and spec.raw == {"af": AF_INET, "protocol": 6, "addr": "198.51.100.1", "port": 80}


def test_purge_defaults_to_the_module_default():
    assert one(dict(WEB, destinations=[]), purge_default=True).purge is True
    assert one(dict(WEB, destinations=[], purge_destinations=False), purge_default=True).purge is False


# ---------------------------------------------------------------------------------------------------------------
# Kernel support

def test_unknown_scheduler_and_engine_and_sync_daemon():
    specs = diff.parse_services([
        dict(WEB, scheduler="twos"),
        {"fwmark": 5, "persistence_timeout": 10, "persistence_engine": "sip", "destinations": [
            {"address": "2001:db8::1", "forwarding_method": "tun"}]},
        {"fwmark": 6, "scheduler": "nonesuch", "state": "absent"},
    ])
    with pytest.raises(diff.IPVSValidationError) as failure:
        diff.check_kernel_support(specs, schedulers={"rr", "wlc"}, engines=set())
    assert failure.value.errors == [
        "services[0].scheduler: the running kernel offers no twos scheduler (no module ip_vs_twos; it offers rr, wlc)",
        "services[1].persistence_engine: the running kernel has no sip persistence engine (no module ip_vs_pe_sip)",
    ]
    assert diff.needs_mixed_families(specs)
    with pytest.raises(diff.IPVSValidationError) as failure:
        diff.check_kernel_support(specs, sync_daemons=["eth1"])
    assert failure.value.errors == [
        "services[1].destinations[0].address: the kernel refuses real servers of another address family while a "
        "connection-sync daemon runs (eth1)"]
    diff.check_kernel_support(specs)  # nothing known: nothing to say
    diff.check_kernel_support(specs, schedulers={"twos", "wlc"}, engines={"sip"}, sync_daemons=[])


# ---------------------------------------------------------------------------------------------------------------
# Diffing and planning

def kernel_service(**fields):
    raw = {"af": AF_INET, "protocol": 6, "addr": "198.51.100.100", "port": 80, "sched_name": "wlc",
           "flags": {"flags": nl.IP_VS_SVC_F_HASHED, "mask": 0xFFFFFFFF}, "timeout": 0, "netmask": 0xFFFFFFFF}
    raw.update(fields)
    return raw


def kernel_dest(addr="198.51.100.21", port=80, **fields):
    raw = {"addr": addr, "port": port, "fwd_method": nl.IP_VS_CONN_F_DROUTE, "weight": 1, "tun_type": 0,
           "tun_port": 0, "tun_flags": 0, "u_thresh": 0, "l_thresh": 0, "active_conns": 4, "inact_conns": 1,
           "persist_conns": 0, "addr_family": AF_INET}
    raw.update(fields)
    return raw


@pytest.mark.parametrize("options,have,fields", [
    ({}, {}, []),
    ({}, {"flags": {"flags": nl.IP_VS_SVC_F_HASHED, "mask": 0}, "timeout": 77, "netmask": 5}, []),
    ({"scheduler": "rr"}, {}, ["scheduler"]),
    ({"persistence_timeout": 300}, {}, ["persistence_timeout"]),
    ({"persistence_timeout": 300}, {"flags": {"flags": 3}, "timeout": 300}, []),
    ({"persistence_timeout": 300}, {"flags": {"flags": 3}, "timeout": 360}, ["persistence_timeout"]),
    ({"persistence_timeout": 300, "persistence_prefix": 24}, {"flags": {"flags": 3}, "timeout": 300},
     ["persistence_netmask"]),
    ({}, {"flags": {"flags": 3}, "timeout": 300}, ["persistence_timeout"]),
    ({"scheduler": "sh", "scheduler_flags": ["sh-port"]}, {"sched_name": "sh"}, ["scheduler_flags"]),
    ({"scheduler": "rr"}, {"sched_name": "sh", "flags": {"flags": 0x2 | 0x8}}, ["scheduler", "scheduler_flags"]),
    ({"persistence_timeout": 9, "persistence_engine": "sip"}, {"flags": {"flags": 3}, "timeout": 9},
     ["persistence_engine"]),
    ({"persistence_timeout": 9}, {"flags": {"flags": 3}, "timeout": 9, "pe_name": "sip"}, ["persistence_engine"]),
])
def test_service_differences(options, have, fields):
    spec = one(dict(WEB, **options))
    assert diff.service_differences(spec.raw, kernel_service(**have)) == fields


@pytest.mark.parametrize("options,have,fields", [
    ({}, {}, []),
    ({"weight": 0}, {}, ["weight"]),
    ({"forwarding_method": "nat"}, {}, ["forwarding_method"]),
    ({"upper_threshold": 5, "lower_threshold": 2}, {}, ["upper_threshold", "lower_threshold"]),
    ({"forwarding_method": "tun"}, {"fwd_method": 2}, []),
    ({"forwarding_method": "tun"}, {"fwd_method": 2, "tun_port": 99, "tun_flags": 1}, []),  # ipip ignores them
    ({"forwarding_method": "tun", "tunnel_type": "gre"}, {"fwd_method": 2}, ["tunnel_type"]),
    ({"forwarding_method": "tun", "tunnel_type": "gre", "tunnel_checksum": "csum"}, {"fwd_method": 2, "tun_type": 2},
     ["tunnel_checksum"]),
    ({"forwarding_method": "tun", "tunnel_type": "gue", "tunnel_port": 6080}, {"fwd_method": 2, "tun_type": 1,
                                                                               "tun_port": 6081}, ["tunnel_port"]),
    ({"forwarding_method": "tun", "tunnel_type": "gre"}, {"fwd_method": 2, "tun_type": 2, "tun_port": 7}, []),
    ({}, {"tun_type": 1, "tun_port": 7}, []),  # leftovers of a tunnel do not matter for dr
])
def test_destination_differences(options, have, fields):
    spec = one(dict(WEB, destinations=[dict({"address": "198.51.100.21"}, **options)]))
    assert diff.dest_differences(spec.destinations[0].raw, kernel_dest(**have)) == fields


def summary(plan):
    return [(change.action, change.kind, change.service_key, change.dest_key, change.fields) for change in plan.changes]


def test_nothing_to_do_when_the_table_matches():
    specs = diff.parse_services([dict(WEB, destinations=[{"address": "198.51.100.21"}], purge_destinations=True)])
    plan = diff.plan_changes(specs, [kernel_service(destinations=[kernel_dest()])], exclusive=True)
    assert plan.changes == [] and not plan.changed
    assert plan.summary() == dict.fromkeys(["services_created", "services_modified", "services_removed",
                                            "destinations_created", "destinations_modified",
                                            "destinations_removed"], 0)
    assert plan.diff() == {"before": {"services": {}}, "after": {"services": {}}}


def test_modifications_use_set_and_keep_the_key():
    specs = diff.parse_services([dict(WEB, scheduler="rr", destinations=[{"address": "198.51.100.21", "weight": 5}])])
    plan = diff.plan_changes(specs, [kernel_service(destinations=[kernel_dest()])])
    assert [change.cmd for change in plan.changes] == [nl.IPVS_CMD_SET_SERVICE, nl.IPVS_CMD_SET_DEST]
    assert summary(plan) == [("modify", "service", "tcp/198.51.100.100:80", None, ["scheduler"]),
                             ("modify", "destination", "tcp/198.51.100.100:80", "198.51.100.21:80", ["weight"])]
    assert plan.changes[1].dest == specs[0].destinations[0].raw


def test_order_creates_and_modifications_then_destination_removals_then_service_removals():
    specs = diff.parse_services([
        {"address": "198.51.100.100", "port": 443, "state": "absent"},
        dict(WEB, destinations=[{"address": "198.51.100.23"}, {"address": "198.51.100.21", "weight": 2}],
             purge_destinations=True),
        {"fwmark": 4, "destinations": [{"address": "198.18.1.1"}]},
    ])
    current = [
        kernel_service(port=443, destinations=[kernel_dest(port=443)]),
        kernel_service(destinations=[kernel_dest(), kernel_dest("198.51.100.22")]),
        kernel_service(port=8080, destinations=[]),
    ]
    plan = diff.plan_changes(specs, current, exclusive=True)
    assert summary(plan) == [
        ("create", "destination", "tcp/198.51.100.100:80", "198.51.100.23:80", None),
        ("modify", "destination", "tcp/198.51.100.100:80", "198.51.100.21:80", ["weight"]),
        ("create", "service", "fwmark/ipv4/4", None, None),
        ("create", "destination", "fwmark/ipv4/4", "198.18.1.1:0", None),
        ("remove", "destination", "tcp/198.51.100.100:80", "198.51.100.22:80", None),
        ("remove", "service", "tcp/198.51.100.100:443", None, None),
        ("remove", "service", "tcp/198.51.100.100:8080", None, None),
    ]
    assert [change.cmd for change in plan.changes] == [
        nl.IPVS_CMD_NEW_DEST, nl.IPVS_CMD_SET_DEST, nl.IPVS_CMD_NEW_SERVICE, nl.IPVS_CMD_NEW_DEST,
        nl.IPVS_CMD_DEL_DEST, nl.IPVS_CMD_DEL_SERVICE, nl.IPVS_CMD_DEL_SERVICE]
    # a removal sends the kernel's own identity of the object (its address family included)
    assert plan.changes[4].dest["addr_family"] == AF_INET and plan.changes[4].dest["addr"] == "198.51.100.22"
    assert plan.summary() == {"services_created": 1, "services_modified": 0, "services_removed": 2,
                              "destinations_created": 2, "destinations_modified": 1, "destinations_removed": 1}
    assert [change.as_dict() for change in plan.changes][:2] == [
        {"action": "create", "service": "tcp/198.51.100.100:80", "destination": "198.51.100.23:80"},
        {"action": "modify", "service": "tcp/198.51.100.100:80", "destination": "198.51.100.21:80",
         "fields": ["weight"]}]
    assert plan.changes[1].describe() == "modify destination 198.51.100.21:80 of tcp/198.51.100.100:80 (weight)"


def test_without_purge_or_exclusive_nothing_is_removed():
    specs = diff.parse_services([dict(WEB, destinations=[{"address": "198.51.100.23"}])])
    current = [kernel_service(destinations=[kernel_dest()]), kernel_service(port=81)]
    assert summary(diff.plan_changes(specs, current)) == [
        ("create", "destination", "tcp/198.51.100.100:80", "198.51.100.23:80", None)]


def test_unmanaged_destinations_are_left_alone_even_when_exclusive():
    specs = diff.parse_services([dict(WEB, scheduler="wlc")], purge_default=True)
    plan = diff.plan_changes(specs, [kernel_service(destinations=[kernel_dest()])], exclusive=True)
    assert plan.changes == []


def test_diff_views_show_only_what_changes_before_and_after():
    specs = diff.parse_services([
        dict(WEB, scheduler="rr", destinations=[{"address": "198.51.100.21", "weight": 3}]),
        {"address": "198.51.100.100", "port": 443, "destinations": [{"address": "198.51.100.21"}]},
        {"address": "198.51.100.100", "port": 25},
    ], purge_default=True)
    current = [kernel_service(destinations=[kernel_dest(), kernel_dest("198.51.100.22")]),
               kernel_service(port=53, protocol=17, destinations=[]),
               kernel_service(port=25, destinations=[])]
    result = diff.plan_changes(specs, current, exclusive=True).diff()
    before, after = result["before"]["services"], result["after"]["services"]
    assert sorted(before) == ["tcp/198.51.100.100:80", "udp/198.51.100.100:53"]
    assert sorted(after) == ["tcp/198.51.100.100:443", "tcp/198.51.100.100:80"]
    assert (before["tcp/198.51.100.100:80"]["scheduler"], after["tcp/198.51.100.100:80"]["scheduler"]) == ("wlc", "rr")
    assert [(d["key"], d["weight"]) for d in before["tcp/198.51.100.100:80"]["destinations"]] == [
        ("198.51.100.21:80", 1), ("198.51.100.22:80", 1)]
    assert [(d["key"], d["weight"]) for d in after["tcp/198.51.100.100:80"]["destinations"]] == [
        ("198.51.100.21:80", 3)]
    # the views are ipvs_info's shapes, without live counters
    assert "active_connections" not in after["tcp/198.51.100.100:80"]["destinations"][0]
    assert after["tcp/198.51.100.100:80"]["flags"] == ["hashed"]
    assert after["tcp/198.51.100.100:443"]["destinations"][0]["key"] == "198.51.100.21:443"


@pytest.mark.parametrize("code,cmd,fragment", [
    (2, nl.IPVS_CMD_NEW_SERVICE, "could not load scheduler module ip_vs_wlc"),
    (3, nl.IPVS_CMD_NEW_DEST, "the service does not exist"),
    (17, nl.IPVS_CMD_NEW_DEST, "exists already"),
    (2, nl.IPVS_CMD_SET_DEST, "the destination does not exist"),
    (22, nl.IPVS_CMD_NEW_DEST, "refused the real server"),
    (34, nl.IPVS_CMD_SET_DEST, "out of range"),
    (97, nl.IPVS_CMD_NEW_SERVICE, "no IPv6"),
    (12, nl.IPVS_CMD_NEW_SERVICE, "(errno 12)"),
])
def test_kernel_errors_are_explained(code, cmd, fragment):
    spec = one(dict(WEB, destinations=[{"address": "198.51.100.21"}]))
    kind = "service" if cmd in (nl.IPVS_CMD_NEW_SERVICE, nl.IPVS_CMD_SET_SERVICE) else "destination"
    change = diff.Change("create", kind, spec.key, None, cmd, spec.raw, spec.destinations[0].raw)
    assert fragment in diff.explain_error(change, code)


# ---------------------------------------------------------------------------------------------------------------
# The shortcut for plain destinations (_plain_destination) against the full check (_parse_destination)

SERVICES_FOR_SHORTCUT = {
    "tcp80": {"af": AF_INET, "protocol": socket.IPPROTO_TCP, "addr": "198.51.100.100", "port": 80},
    "fwmark": {"af": AF_INET, "fwmark": 7, "port": 0},
    "ipv6": {"af": AF_INET6, "protocol": socket.IPPROTO_TCP, "addr": "2001:db8::100", "port": 80},
}
ADDRESS_VALUES = ["198.51.100.21", "203.0.113.7", " 198.51.100.21", "198.51.100.21 ", "[198.51.100.21]",
                  "198.051.100.21", "0.1.2.3", "224.0.0.1", "239.255.255.255", "255.255.255.255", "2001:db8::21",
                  "198.51.100.256", "", None, 5, ["198.51.100.21"]]
PORT_VALUES = [None, 80, 8080, 0, 65535, 65536, -1, "80", 80.0, True, False]
METHOD_VALUES = [None, "dr", "route", "nat", "masq", "tun", "ipip", "DR", " dr", "gre", 1]
WEIGHT_VALUES = [None, 0, 1, 100, 2147483647, 2147483648, -1, "5", 5.0, True, False]
THRESHOLD_PAIRS = [(None, None), (0, 0), (100, 10), (100, 100), (10, 100), (None, 5), (5, None), (False, None),
                   (None, False), ("", None), (4294967295, 0), (4294967296, 0), (2.0, 1)]
EXTRA_OPTIONS = [{}, {"tunnel_type": "gre"}, {"bogus": 1}, {1: 2}]


def shortcut_cases():
    """Every combination of the values above over one option at a time, and a sample of mixed ones."""
    base = {"address": "198.51.100.21"}
    cases = []
    for value in ADDRESS_VALUES:
        cases.append({"address": value})
    for name, values in (("port", PORT_VALUES), ("forwarding_method", METHOD_VALUES), ("weight", WEIGHT_VALUES)):
        for value in values:
            cases.append(dict(base, **{name: value}))
    for upper, lower in THRESHOLD_PAIRS:
        cases.append(dict(base, upper_threshold=upper, lower_threshold=lower))
    for extra in EXTRA_OPTIONS:
        entry = dict(base)
        entry.update(extra)
        cases.append(entry)
    for port in PORT_VALUES:
        for method in METHOD_VALUES:
            for weight in (None, 3, "3", True):
                cases.append({"address": "198.51.100.22", "port": port, "forwarding_method": method,
                              "weight": weight})
    return cases


@pytest.mark.parametrize("service_name", sorted(SERVICES_FOR_SHORTCUT))
def test_plain_destination_shortcut_equals_the_full_check(service_name):
    service = SERVICES_FOR_SHORTCUT[service_name]
    taken = 0
    for entry in shortcut_cases():
        plain = diff._plain_destination(entry, service)
        errors = []
        key, spec = diff._parse_destination(entry, "d", errors, service)
        if plain is None:
            continue
        taken += 1
        assert errors == [], (entry, errors)
        assert plain == (key, spec.raw), entry
        # and parse_destination returns what the full check returns
        fast_key, fast_spec = diff.parse_destination(entry, "d", [], service)
        assert (fast_key, fast_spec.raw, fast_spec.key, fast_spec.path) == (key, spec.raw, spec.key, spec.path)
    if service_name == "ipv6":
        assert taken == 0  # the shortcut is for IPv4 services only
    else:
        assert taken > 40, taken  # the common entries do take it


@pytest.mark.parametrize("entry", [
    {"address": "198.51.100.21"},
    {"address": "198.51.100.21", "port": 80, "weight": 5},
    {"address": "198.51.100.21", "port": 8080, "forwarding_method": "nat", "upper_threshold": 9,
     "lower_threshold": 3},
    {"address": "198.51.100.21", "forwarding_method": "route", "weight": 0},
])
def test_plain_destination_shortcut_is_taken(entry):
    service = SERVICES_FOR_SHORTCUT["tcp80"]
    assert diff._plain_destination(entry, service) is not None


@pytest.mark.parametrize("entry, fragment", [
    ({"address": "198.51.100.21", "weight": True}, "weight: must be an integer"),
    ({"address": "198.51.100.21", "upper_threshold": False}, "upper_threshold: must be an integer"),
    ({"address": "198.51.100.21", "port": 81}, "its port must be the service's port 80"),
    ({"address": "198.51.100.21", "upper_threshold": 5, "lower_threshold": 6}, "6 is above upper_threshold 5"),
    ({"address": "224.0.0.1"}, "multicast"),
    ({"address": "198.51.100.21", "forwarding_method": "tun", "tunnel_port": 5}, "only for tunnel_type gue"),
])
def test_entries_the_shortcut_leaves_get_the_full_messages(entry, fragment):
    entries = [dict(WEB, destinations=[{"address": "198.51.100.22"}, entry])]
    messages = errors_of(entries)
    assert len(messages) == 1 and messages[0].startswith("services[0].destinations[1].") and fragment in messages[0]
