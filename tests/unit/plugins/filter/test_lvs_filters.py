# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The virtual-service data model: lvs_services, lvs_director_view and lvs_real_server_view.

The lab example (inventory/lab) must give the views written out below; each bad input must fail with a message
naming the exact item (``lvs_virtual_services[i] (name).field``) and the host where one is involved.
"""

from __future__ import annotations

import copy

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.filter.lvs_director_view import FilterModule as DirectorFilters
from ansible_collections.lvs.cluster.plugins.filter.lvs_director_view import lvs_director_view
from ansible_collections.lvs.cluster.plugins.filter.lvs_real_server_view import FilterModule as RealServerFilters
from ansible_collections.lvs.cluster.plugins.filter.lvs_real_server_view import lvs_real_server_view
from ansible_collections.lvs.cluster.plugins.filter.lvs_services import FilterModule as ServicesFilters
from ansible_collections.lvs.cluster.plugins.filter.lvs_services import lvs_services
from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_diff as ipvs_diff
from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_model as ipvs_model
from ansible_collections.lvs.cluster.plugins.module_utils import _lvs_model as model
from ansible_collections.lvs.cluster.tests.unit.plugins.filter.lvs_lab_data import lab, set_director_var

DR_CHECK = {
    "type": "http", "port": 80, "path": "/health", "status": [200], "digest": None, "virtualhost": None,
    "interval": 1, "timeout": 1, "retries": 1, "retry_delay": 1, "warmup": 0, "query": None, "query_type": None,
    "script": None, "dynamic": None,
}


def views(services=None, hostvars=None, groups=None):
    """Normalized services and every host's view, for the lab (or the given data)."""
    lab_services, lab_hostvars, lab_groups = lab()
    services = lab_services if services is None else services
    hostvars = lab_hostvars if hostvars is None else hostvars
    groups = lab_groups if groups is None else groups
    normalized = lvs_services(services, hostvars, groups)
    result = {"services": normalized}
    for host in groups["all"]:
        if host in groups["directors"]:
            result[host] = lvs_director_view(normalized, hostvars, groups, host)
        else:
            result[host] = lvs_real_server_view(normalized, hostvars, groups, host)
    return result


def fails(services, hostvars, groups):
    with pytest.raises(AnsibleFilterError) as info:
        lvs_services(services, hostvars, groups)
    return str(info.value)


def test_filter_modules_export_their_filter():
    assert list(ServicesFilters().filters()) == ["lvs_services"]
    assert list(DirectorFilters().filters()) == ["lvs_director_view"]
    assert list(RealServerFilters().filters()) == ["lvs_real_server_view"]


# ---------------------------------------------------------------------------------------------------------------
# The lab example

def test_lab_services_keys_and_resolved_real_servers():
    services = views()["services"]
    assert [(s["name"], s["key"]) for s in services] == [
        ("web-dr", "tcp/198.51.100.100:80"),
        ("web-tun", "tcp/198.51.100.101:80"),
        ("web-nat", "tcp/198.51.100.102:8080"),
        ("web-dr6", "tcp/[2001:db8:100::100]:80"),
        ("web-fwmark", "fwmark/ipv4/10"),
    ]
    assert {s["name"]: [(rs["host"], rs["key"], rs["weight"], rs["interface"], rs["nat_gateway"])
                        for rs in s["real_servers"]] for s in services} == {
        "web-dr": [("rs1", "198.51.100.21:80", 1, "eth1", None), ("rs2", "198.51.100.22:80", 1, "eth1", None)],
        "web-tun": [("rs3", "198.18.2.23:80", 1, "eth1", None)],
        "web-nat": [("rs1", "198.18.1.21:80", 2, "eth2", "198.18.1.1"),
                    ("rs2", "198.18.1.22:80", 1, "eth2", "198.18.1.1")],
        "web-dr6": [("rs1", "[2001:db8:100::21]:80", 1, "eth1", None),
                    ("rs2", "[2001:db8:100::22]:80", 1, "eth1", None)],
        "web-fwmark": [("rs1", "198.51.100.21:0", 1, "eth1", None), ("rs2", "198.51.100.22:0", 1, "eth1", None)],
    }
    assert [(s["vrrp_instance"], s["vip_network"]) for s in services] == [("front", "198.51.100.0/24")] * 3 + [
        ("front", "2001:db8:100::/64"), ("front", "198.51.100.0/24")]
    web_dr = services[0]
    assert web_dr["health_check"] == DR_CHECK
    assert all(rs["health_check"] == DR_CHECK for s in services for rs in s["real_servers"])
    assert (web_dr["scheduler"], web_dr["forwarding"], web_dr["persistence"], web_dr["quorum"]) == ("rr", "dr", None, 1)
    assert services[1]["tunnel"] == {"type": "ipip", "port": None, "checksum": None}
    assert services[4]["persistence"] == {"timeout": 300, "netmask": "255.255.255.255", "prefix_length": 32,
                                          "engine": None}
    assert services[4]["fwmark_match"] == [{"protocol": "tcp", "ports": [80, 8080]}]


def test_lab_director_ipvs_table_is_the_ipvs_module_format():
    director = views()["director1"]
    assert director["ipvs_services"] == [
        {"family": "ipv4", "protocol": "tcp", "address": "198.51.100.100", "port": 80, "scheduler": "rr",
         "scheduler_flags": [], "persistence_timeout": 0, "one_packet": False, "destinations": [
             {"address": "198.51.100.21", "port": 80, "forwarding_method": "dr", "weight": 1, "upper_threshold": 0,
              "lower_threshold": 0},
             {"address": "198.51.100.22", "port": 80, "forwarding_method": "dr", "weight": 1, "upper_threshold": 0,
              "lower_threshold": 0}]},
        {"family": "ipv4", "protocol": "tcp", "address": "198.51.100.101", "port": 80, "scheduler": "rr",
         "scheduler_flags": [], "persistence_timeout": 0, "one_packet": False, "destinations": [
             {"address": "198.18.2.23", "port": 80, "forwarding_method": "tun", "weight": 1, "upper_threshold": 0,
              "lower_threshold": 0, "tunnel_type": "ipip"}]},
        {"family": "ipv4", "protocol": "tcp", "address": "198.51.100.102", "port": 8080, "scheduler": "wrr",
         "scheduler_flags": [], "persistence_timeout": 0, "one_packet": False, "destinations": [
             {"address": "198.18.1.21", "port": 80, "forwarding_method": "nat", "weight": 2, "upper_threshold": 0,
              "lower_threshold": 0},
             {"address": "198.18.1.22", "port": 80, "forwarding_method": "nat", "weight": 1, "upper_threshold": 0,
              "lower_threshold": 0}]},
        {"family": "ipv6", "protocol": "tcp", "address": "2001:db8:100::100", "port": 80, "scheduler": "rr",
         "scheduler_flags": [], "persistence_timeout": 0, "one_packet": False, "destinations": [
             {"address": "2001:db8:100::21", "port": 80, "forwarding_method": "dr", "weight": 1,
              "upper_threshold": 0, "lower_threshold": 0},
             {"address": "2001:db8:100::22", "port": 80, "forwarding_method": "dr", "weight": 1,
              "upper_threshold": 0, "lower_threshold": 0}]},
        {"family": "ipv4", "fwmark": 10, "scheduler": "wlc", "scheduler_flags": [], "persistence_timeout": 300,
         "persistence_netmask": "255.255.255.255", "one_packet": False, "destinations": [
             {"address": "198.51.100.21", "port": 0, "forwarding_method": "dr", "weight": 1, "upper_threshold": 0,
              "lower_threshold": 0},
             {"address": "198.51.100.22", "port": 0, "forwarding_method": "dr", "weight": 1, "upper_threshold": 0,
              "lower_threshold": 0}]},
    ]
    # keepalived and ldirectord templates loop over the same table, with the checks alongside.
    servers = director["virtual_servers"]
    assert [s["ipvs"] for s in servers] == director["ipvs_services"]
    assert [s["key"] for s in servers] == [s["key"] for s in views()["services"]]
    assert servers[2]["real_servers"][0] == {
        "key": "198.18.1.21:80", "host": "rs1", "ipvs": director["ipvs_services"][2]["destinations"][0],
        "health_check": DR_CHECK, "drained": False}
    assert (servers[2]["forwarding"], servers[2]["quorum"], servers[2]["sorry_server"]) == ("nat", 1, None)


def vip(address, prefix, interface, family="ipv4"):
    return {"address": address, "prefix_length": prefix, "cidr": "%s/%d" % (address, prefix), "family": family,
            "interface": interface}


@pytest.mark.parametrize("director, priority, state, src, peer", [
    ("director1", 150, "MASTER", "198.51.100.11", "198.51.100.12"),
    ("director2", 140, "BACKUP", "198.51.100.12", "198.51.100.11"),
])
def test_lab_director_vrrp_vips_gateway(director, priority, state, src, peer):
    view = views()[director]
    front_vips = [vip("198.51.100.%d" % n, 24, "eth1") for n in (100, 101, 102)]
    assert view["vips"] == [
        dict(front_vips[0], vrrp_instance="front", services=["web-dr"]),
        dict(front_vips[1], vrrp_instance="front", services=["web-tun"]),
        dict(front_vips[2], vrrp_instance="front", services=["web-nat"]),
        dict(vip("2001:db8:100::100", 64, "eth1", "ipv6"), vrrp_instance="front", services=["web-dr6"]),
        dict(vip("198.51.100.103", 24, "eth1"), vrrp_instance="front", services=["web-fwmark"]),
    ]
    assert view["nat_gateways"] == [dict(vip("198.18.1.1", 24, "eth2"), network="198.18.1.0/24",
                                         vrrp_instance="back")]
    assert view["vrrp_instances"] == [
        {"name": "front", "interface": "eth1", "family": "ipv4", "network": "198.51.100.0/24",
         "virtual_router_id": 51, "priority": priority, "state": state, "advert_interval": 1, "unicast": True,
         "unicast_src_ip": src, "unicast_peers": [peer],
         "virtual_ipaddresses": front_vips + [vip("198.51.100.103", 24, "eth1")],
         "virtual_ipaddresses_excluded": [vip("2001:db8:100::100", 64, "eth1", "ipv6")]},
        {"name": "back", "interface": "eth2", "family": "ipv4", "network": "198.18.1.0/24",
         "virtual_router_id": 52, "priority": priority, "state": state, "advert_interval": 1, "unicast": True,
         "unicast_src_ip": src.replace("198.51.100.", "198.18.1."),
         "unicast_peers": [peer.replace("198.51.100.", "198.18.1.")],
         "virtual_ipaddresses": [vip("198.18.1.1", 24, "eth2")], "virtual_ipaddresses_excluded": []},
    ]
    assert view["vrrp_sync_group"] == {"name": "lvs", "instances": ["front", "back"]}
    assert view["kernel_modules"] == ["ip_vs", "ip_vs_rr", "ip_vs_wlc", "ip_vs_wrr"]
    assert [(s["name"], s["value"]) for s in view["sysctls"]] == [("net.ipv4.ip_forward", 1)]
    assert view["firewall"] == {
        "services": [
            {"family": "ipv4", "protocol": "tcp", "address": "198.51.100.100", "port": 80},
            {"family": "ipv4", "protocol": "tcp", "address": "198.51.100.101", "port": 80},
            {"family": "ipv4", "protocol": "tcp", "address": "198.51.100.102", "port": 8080},
            {"family": "ipv6", "protocol": "tcp", "address": "2001:db8:100::100", "port": 80},
        ],
        "fwmark_rules": [{"fwmark": 10, "family": "ipv4", "address": "198.51.100.103", "protocol": "tcp",
                          "ports": [80, 8080]}],
        "vrrp": [{"instance": "front", "interface": "eth1", "family": "ipv4", "unicast": True, "peers": [peer]},
                 {"instance": "back", "interface": "eth2", "family": "ipv4", "unicast": True,
                  "peers": [peer.replace("198.51.100.", "198.18.1.")]}],
        # The network the inventory reaches the director on (its ansible_host): SSH's default with the firewall on.
        "management_networks": ["198.18.0.0/24"],
        "nat_networks": [{"network": "198.18.1.0/24", "interface": "eth2", "family": "ipv4"}],
    }
    assert view["interfaces"] == ["eth1", "eth2"]
    assert view["director"] == director


@pytest.mark.parametrize("host, number", [("rs1", 21), ("rs2", 22)])
def test_lab_real_server_dr_and_nat(host, number):
    view = views()[host]
    assert [(s["name"], s["forwarding"], s["address"], s["interface"], s["listen"]) for s in view["services"]] == [
        ("web-dr", "dr", "198.51.100.%d" % number, "eth1", [{"protocol": "tcp", "port": 80}]),
        ("web-nat", "nat", "198.18.1.%d" % number, "eth2", [{"protocol": "tcp", "port": 80}]),
        ("web-dr6", "dr", "2001:db8:100::%d" % number, "eth1", [{"protocol": "tcp", "port": 80}]),
        ("web-fwmark", "dr", "198.51.100.%d" % number, "eth1",
         [{"protocol": "tcp", "port": 80}, {"protocol": "tcp", "port": 8080}]),
    ]
    assert view["listen"] == [{"protocol": "tcp", "port": 80}, {"protocol": "tcp", "port": 8080}]
    assert view["dr"] == {"vips": [
        {"address": "198.51.100.100", "prefix_length": 32, "cidr": "198.51.100.100/32", "family": "ipv4"},
        {"address": "2001:db8:100::100", "prefix_length": 128, "cidr": "2001:db8:100::100/128", "family": "ipv6"},
        {"address": "198.51.100.103", "prefix_length": 32, "cidr": "198.51.100.103/32", "family": "ipv4"},
    ]}
    assert view["tun"] == {"vips": [], "tunnels": [], "rp_filter_interfaces": []}
    assert view["nat"] == {"gateways": [{"address": "198.18.1.1", "family": "ipv4", "source": "198.18.1.%d" % number,
                                         "interface": "eth2", "network": "198.18.1.0/24", "prefix_length": 24}]}
    assert view["arp"] == {"interfaces": ["eth1"], "vips": ["198.51.100.100", "198.51.100.103"]}
    assert view["kernel_modules"] == []
    assert [(s["name"], s["value"]) for s in view["sysctls"]] == [
        ("net.ipv4.conf.eth1.arp_ignore", 1), ("net.ipv4.conf.eth1.arp_announce", 2)]


def test_lab_real_server_tun():
    view = views()["rs3"]
    assert [(s["name"], s["forwarding"], s["address"], s["role"]) for s in view["services"]] == [
        ("web-tun", "tun", "198.18.2.23", "real_server")]
    assert view["dr"] == {"vips": []}
    assert view["nat"] == {"gateways": []}
    assert view["tun"] == {
        "vips": [{"address": "198.51.100.101", "prefix_length": 32, "cidr": "198.51.100.101/32", "family": "ipv4",
                  "interface": "tunl0"}],
        "tunnels": [{"type": "ipip", "family": "ipv4", "device": "tunl0", "port": None, "checksum": None,
                     "kernel_modules": ["ipip"], "overhead": 20}],
        "rp_filter_interfaces": ["tunl0"],
    }
    assert view["arp"] == {"interfaces": [], "vips": ["198.51.100.101"]}
    assert view["kernel_modules"] == ["ipip"]
    assert [(s["name"], s["value"]) for s in view["sysctls"]] == [
        ("net.ipv4.conf.all.rp_filter", 0), ("net.ipv4.conf.tunl0.rp_filter", 2)]
    assert view["listen"] == [{"protocol": "tcp", "port": 80}]


def test_host_in_no_service_gets_an_empty_view():
    assert views()["storage1"] == {
        "host": "storage1", "services": [], "listen": [], "dr": {"vips": []},
        "tun": {"vips": [], "tunnels": [], "rp_filter_interfaces": []}, "nat": {"gateways": []},
        "arp": {"interfaces": [], "vips": []}, "kernel_modules": [], "sysctls": [],
    }


def test_nat_only_host_gets_no_dr_or_tun_settings():
    services, hostvars, groups = lab()
    services = [s for s in services if s["name"] == "web-nat"]
    result = views(services, hostvars, groups)
    view = result["rs1"]
    assert [s["name"] for s in view["services"]] == ["web-nat"]
    assert view["dr"] == {"vips": []}
    assert view["tun"] == {"vips": [], "tunnels": [], "rp_filter_interfaces": []}
    assert view["arp"] == {"interfaces": [], "vips": []}
    assert view["sysctls"] == [] and view["kernel_modules"] == []
    assert view["nat"]["gateways"] == [{"address": "198.18.1.1", "family": "ipv4", "source": "198.18.1.21",
                                        "interface": "eth2", "network": "198.18.1.0/24", "prefix_length": 24}]
    assert result["rs3"]["services"] == []
    # The director holds only the NAT VIP and the gateway.
    assert [a["address"] for a in result["director1"]["vips"]] == ["198.51.100.102"]


def test_real_server_keys_agree_with_ipvs_model():
    for service in views()["services"]:
        theirs = {"family": service["family"], "fwmark": service["fwmark"], "protocol": service["protocol"],
                  "address": service["vip"], "port": service["port"]}
        assert ipvs_model.service_key(theirs) == service["key"]
        assert ipvs_model.parse_service_key(service["key"]) == service["key"]
        for rs in service["real_servers"]:
            assert ipvs_model.destination_key({"address": rs["address"], "port": rs["port"]}) == rs["key"]


def test_ipvs_services_are_accepted_by_the_ipvs_module_parser():
    """The static engine passes ipvs_services straight to lvs.cluster.ipvs: its own validation must accept them."""
    services, hostvars, groups = lab()
    services += [
        {"name": "dns", "vip": "198.51.100.110", "ports": [53, 5353], "protocol": "udp", "one_packet": True,
         "scheduler": "sh", "scheduler_flags": ["sh-port"], "real_servers": ["rs1", "rs2"]},
        {"name": "gue", "vip": "198.51.100.111", "port": 443, "forwarding": "tun",
         "tunnel": {"type": "gue", "port": 6080, "checksum": "remcsum"}, "real_servers": ["rs3"],
         "persistence": {"timeout": 60, "netmask": "255.255.255.0", "engine": "sip"}},
        {"name": "gre6", "vip": "2001:db8:100::111", "port": 443, "forwarding": "tun",
         "tunnel": {"type": "gre", "checksum": "csum"},
         "real_servers": [{"host": "rs3", "weight": 5, "upper_threshold": 100, "lower_threshold": 50}],
         "persistence": {"timeout": 60, "prefix_length": 64}},
    ]
    table = lvs_director_view(lvs_services(services, hostvars, groups), hostvars, groups, "director1")
    specs = ipvs_diff.parse_services(table["ipvs_services"], purge_default=True)
    assert [spec.key for spec in specs] == [s["key"] for s in table["virtual_servers"]]
    assert [[dest.key for dest in spec.destinations] for spec in specs] == [
        [rs["key"] for rs in s["real_servers"]] for s in table["virtual_servers"]]


# ---------------------------------------------------------------------------------------------------------------
# Features

def test_ports_list_becomes_one_service_per_port():
    services, hostvars, groups = lab()
    services = [{"name": "web", "vip": "198.51.100.110", "ports": [80, 443], "real_servers": ["rs1", "rs2"],
                 "health_check": "tcp"}]
    result = views(services, hostvars, groups)
    normalized = result["services"]
    assert [(s["name"], s["key"], s["port"]) for s in normalized] == [
        ("web", "tcp/198.51.100.110:80", 80), ("web", "tcp/198.51.100.110:443", 443)]
    assert [[rs["key"] for rs in s["real_servers"]] for s in normalized] == [
        ["198.51.100.21:80", "198.51.100.22:80"], ["198.51.100.21:443", "198.51.100.22:443"]]
    assert [s["health_check"]["port"] for s in normalized] == [80, 443]
    assert [rs["health_check"]["port"] for rs in normalized[1]["real_servers"]] == [443, 443]
    assert result["director1"]["vips"][0]["services"] == ["web"]
    assert len(result["director1"]["vips"]) == 1
    assert result["rs1"]["listen"] == [{"protocol": "tcp", "port": 80}, {"protocol": "tcp", "port": 443}]
    assert [s["key"] for s in result["rs1"]["services"]] == ["tcp/198.51.100.110:80", "tcp/198.51.100.110:443"]


def test_fwmark_service_with_ranges_udp_and_nat_port():
    services, hostvars, groups = lab()
    services = [
        {"name": "ftp", "vip": "198.51.100.110", "fwmark": 21, "persistence": 600,
         "fwmark_match": [{"protocol": "tcp", "ports": [21, "10000-10100"]}], "real_servers": ["rs1"]},
        {"name": "dns", "vip": "198.51.100.111", "fwmark": 53, "forwarding": "nat", "one_packet": True,
         "fwmark_match": [{"protocol": "udp", "ports": 53}, {"protocol": "tcp", "ports": [53]}],
         "real_servers": [{"host": "rs2", "port": 5353}]},
    ]
    result = views(services, hostvars, groups)
    ftp, dns = result["services"]
    assert (ftp["key"], ftp["protocol"], ftp["port"], ftp["health_check"]["type"], ftp["health_check"]["port"]) == (
        "fwmark/ipv4/21", None, None, "tcp", 21)
    assert dns["health_check"]["type"] == "none"  # not all marked traffic is TCP
    assert dns["real_servers"][0]["key"] == "198.18.1.22:5353"
    assert result["director1"]["firewall"]["fwmark_rules"] == [
        {"fwmark": 21, "family": "ipv4", "address": "198.51.100.110", "protocol": "tcp", "ports": [21, "10000-10100"]},
        {"fwmark": 53, "family": "ipv4", "address": "198.51.100.111", "protocol": "udp", "ports": [53]},
        {"fwmark": 53, "family": "ipv4", "address": "198.51.100.111", "protocol": "tcp", "ports": [53]},
    ]
    assert result["director1"]["firewall"]["services"] == []
    assert result["director1"]["ipvs_services"][1] == {
        "family": "ipv4", "fwmark": 53, "scheduler": "wlc", "scheduler_flags": [], "persistence_timeout": 0,
        "one_packet": True, "destinations": [{"address": "198.18.1.22", "port": 5353, "forwarding_method": "nat",
                                              "weight": 1, "upper_threshold": 0, "lower_threshold": 0}]}
    assert result["rs1"]["listen"] == [{"protocol": "tcp", "port": 21}, {"protocol": "tcp", "port": "10000-10100"}]
    assert result["rs2"]["listen"] == [{"protocol": "tcp", "port": 5353}, {"protocol": "udp", "port": 5353}]


def test_ipv6_services_dr_nat_tun():
    services, hostvars, groups = lab()
    set_director_var(hostvars, "lvs_nat_gateways", ["198.18.1.1/24", {"address": "2001:db8:101::1/64"}])
    services = [
        {"name": "dr6", "vip": "2001:DB8:100:0::200", "port": 80, "real_servers": ["rs1"],
         "persistence": {"timeout": 30, "prefix_length": 64}},
        {"name": "nat6", "vip": "2001:db8:100::201", "port": 80, "forwarding": "nat", "real_servers": ["rs2"]},
        {"name": "tun6", "vip": "2001:db8:100::202", "port": 80, "forwarding": "tun", "real_servers": ["rs3"]},
    ]
    result = views(services, hostvars, groups)
    dr6, nat6, tun6 = result["services"]
    assert (dr6["vip"], dr6["key"], dr6["family"]) == ("2001:db8:100::200", "tcp/[2001:db8:100::200]:80", "ipv6")
    assert dr6["persistence"] == {"timeout": 30, "netmask": None, "prefix_length": 64, "engine": None}
    assert [rs["address"] for s in (dr6, nat6, tun6) for rs in s["real_servers"]] == [
        "2001:db8:100::21", "2001:db8:101::22", "2001:db8:102::23"]
    director = result["director1"]
    assert director["ipvs_services"][0]["persistence_prefix"] == 64
    assert "persistence_netmask" not in director["ipvs_services"][0]
    assert director["nat_gateways"][1] == dict(vip("2001:db8:101::1", 64, "eth2", "ipv6"),
                                               network="2001:db8:101::/64", vrrp_instance="back")
    assert director["vrrp_instances"][1]["virtual_ipaddresses_excluded"] == [vip("2001:db8:101::1", 64, "eth2", "ipv6")]
    assert [(s["name"], s["value"]) for s in director["sysctls"]] == [("net.ipv6.conf.all.forwarding", 1)]
    assert result["rs1"]["dr"]["vips"] == [{"address": "2001:db8:100::200", "prefix_length": 128,
                                            "cidr": "2001:db8:100::200/128", "family": "ipv6"}]
    assert result["rs1"]["arp"] == {"interfaces": [], "vips": []}  # IPv6 has no ARP to suppress
    assert result["rs1"]["sysctls"] == []
    assert result["rs2"]["nat"]["gateways"] == [{"address": "2001:db8:101::1", "family": "ipv6",
                                                 "source": "2001:db8:101::22", "interface": "eth2",
                                                 "network": "2001:db8:101::/64", "prefix_length": 64}]
    assert result["rs3"]["tun"]["tunnels"] == [{"type": "ipip", "family": "ipv6", "device": "ip6tnl0", "port": None,
                                                "checksum": None, "kernel_modules": ["ip6_tunnel"], "overhead": 40}]
    assert result["rs3"]["tun"]["rp_filter_interfaces"] == []
    assert result["rs3"]["sysctls"] == []


@pytest.mark.parametrize("tunnel, destination, device, modules, overhead", [
    ({"type": "gue", "port": 6080}, {"tunnel_type": "gue", "tunnel_port": 6080, "tunnel_checksum": "nocsum"},
     "tunl0", ["fou", "ipip"], 32),
    ({"type": "gue", "port": 6080, "checksum": "remcsum"},
     {"tunnel_type": "gue", "tunnel_port": 6080, "tunnel_checksum": "remcsum"}, "tunl0", ["fou", "ipip"], 40),
    ({"type": "gre", "checksum": "csum"}, {"tunnel_type": "gre", "tunnel_checksum": "csum"}, "gre0", ["ip_gre"], 28),
    ("gre", {"tunnel_type": "gre", "tunnel_checksum": "nocsum"}, "gre0", ["ip_gre"], 24),
    (None, {"tunnel_type": "ipip"}, "tunl0", ["ipip"], 20),
])
def test_tunnel_types(tunnel, destination, device, modules, overhead):
    services, hostvars, groups = lab()
    services = [{"name": "t", "vip": "198.51.100.110", "port": 80, "forwarding": "tun", "real_servers": ["rs3"]}]
    if tunnel is not None:
        services[0]["tunnel"] = tunnel
    result = views(services, hostvars, groups)
    expected = {"address": "198.18.2.23", "port": 80, "forwarding_method": "tun", "weight": 1,
                "upper_threshold": 0, "lower_threshold": 0}
    expected.update(destination)
    assert result["director1"]["ipvs_services"][0]["destinations"] == [expected]
    assert result["director1"]["kernel_modules"] == ["ip_vs", "ip_vs_wlc"]  # no tunnel modules on directors
    tunnels = result["rs3"]["tun"]["tunnels"]
    assert [(t["device"], t["kernel_modules"], t["overhead"]) for t in tunnels] == [(device, modules, overhead)]
    assert result["rs3"]["kernel_modules"] == modules
    assert result["rs3"]["tun"]["vips"][0]["interface"] == device
    assert result["rs3"]["tun"]["rp_filter_interfaces"] == [device]


def test_tunnel_address_host_var_picks_among_several_addresses():
    services, hostvars, groups = lab()
    services = [{"name": "t", "vip": "198.51.100.110", "port": 80, "forwarding": "tun", "real_servers": ["rs1"]}]
    hostvars["rs1"]["lvs_tunnel_address"] = "198.18.1.21"
    result = views(services, hostvars, groups)
    assert result["services"][0]["real_servers"][0]["address"] == "198.18.1.21"
    assert result["services"][0]["real_servers"][0]["interface"] == "eth2"
    # rs1 is also on the VIP's network: ARP for the VIP may arrive on eth1.
    assert result["rs1"]["arp"] == {"interfaces": ["eth1"], "vips": ["198.51.100.110"]}


def test_management_networks_are_never_tunnel_ends():
    services, hostvars, groups = lab()
    services = [{"name": "t", "vip": "198.51.100.110", "port": 80, "forwarding": "tun", "real_servers": ["rs3"]}]
    hostvars["rs3"]["ansible_host"] = "rs3.example"  # no address to find the management network by
    message = fails(services, hostvars, groups)
    assert ("lvs_virtual_services[0] (t).real_servers[0].host: host rs3 has several IPv4 addresses outside the "
            "management network (198.18.0.23, 198.18.2.23)") in message
    hostvars["rs3"]["lvs_management_networks"] = ["198.18.0.0/24"]
    assert lvs_services(services, hostvars, groups)[0]["real_servers"][0]["address"] == "198.18.2.23"


def test_explicit_addresses_and_string_shorthands():
    services, hostvars, groups = lab()
    services = [{"name": "w", "vip": "198.51.100.110", "port": 80,
                 "real_servers": ["198.51.100.50", {"host": "rs1", "address": "198.51.100.21"}, "rs2"],
                 "sorry_server": "198.51.100.60"}]
    result = views(services, hostvars, groups)
    assert [(rs["host"], rs["address"], rs["interface"]) for rs in result["services"][0]["real_servers"]] == [
        (None, "198.51.100.50", None), ("rs1", "198.51.100.21", "eth1"), ("rs2", "198.51.100.22", "eth1")]
    assert result["services"][0]["sorry_server"] == {"host": None, "address": "198.51.100.60", "port": 80,
                                                     "interface": None, "nat_gateway": None}


def test_sorry_server_host_gets_the_vip():
    services, hostvars, groups = lab()
    services = [{"name": "w", "vip": "198.51.100.110", "port": 80, "real_servers": ["rs1"],
                 "sorry_server": {"host": "rs2"}}]
    result = views(services, hostvars, groups)
    assert [(s["name"], s["role"], s["health_check"]) for s in result["rs2"]["services"]] == [
        ("w", "sorry_server", None)]
    assert [v["address"] for v in result["rs2"]["dr"]["vips"]] == ["198.51.100.110"]
    assert result["director1"]["virtual_servers"][0]["sorry_server"]["address"] == "198.51.100.22"


def test_health_check_defaults_overrides_and_types():
    services, hostvars, groups = lab()
    services = [
        {"name": "w", "vip": "198.51.100.110", "port": 80,
         "health_check": {"type": "http", "path": "/h", "status": [200, 204], "virtualhost": "www", "interval": 0.5},
         "real_servers": [{"host": "rs1", "health_check": {"path": "/other"}},
                          {"host": "rs2", "health_check": {"type": "misc", "script": "/bin/check rs2",
                                                           "dynamic": True}}]},
        {"name": "d", "vip": "198.51.100.111", "port": 53, "protocol": "udp", "real_servers": ["rs1"],
         "health_check": {"type": "dns", "query": "www.example.", "query_type": "aaaa"}},
        {"name": "u", "vip": "198.51.100.112", "port": 123, "protocol": "udp", "real_servers": ["rs1"]},
        {"name": "s", "vip": "198.51.100.113", "port": 443, "real_servers": ["rs1"],
         "health_check": {"type": "https", "digest": "0123456789ABCDEF0123456789abcdef", "port": 8443}},
    ]
    result = views(services, hostvars, groups)
    w, d, u, s = result["services"]
    assert w["health_check"]["status"] == [200, 204] and w["health_check"]["interval"] == 0.5
    rs1, rs2 = w["real_servers"]
    assert (rs1["health_check"]["type"], rs1["health_check"]["path"], rs1["health_check"]["virtualhost"],
            rs1["health_check"]["interval"]) == ("http", "/other", "www", 0.5)
    assert rs2["health_check"] == dict(dict.fromkeys(model.HEALTH_CHECK_FIELDS), type="misc", script="/bin/check rs2",
                                       dynamic=True, interval=1, timeout=1, retries=1, retry_delay=1, warmup=0)
    assert (d["health_check"]["query"], d["health_check"]["query_type"], d["health_check"]["port"]) == (
        "www.example.", "AAAA", 53)
    assert u["health_check"] == dict(dict.fromkeys(model.HEALTH_CHECK_FIELDS), type="none")
    assert (s["health_check"]["digest"], s["health_check"]["status"], s["health_check"]["port"]) == (
        "0123456789abcdef0123456789abcdef", None, 8443)
    assert result["rs1"]["listen"] == [{"protocol": "tcp", "port": 80}, {"protocol": "tcp", "port": 443},
                                       {"protocol": "tcp", "port": 8443}, {"protocol": "udp", "port": 53},
                                       {"protocol": "udp", "port": 123}]


def test_vrrp_instance_option_holds_a_routed_vip_as_host_route():
    services, hostvars, groups = lab()
    services = [{"name": "w", "vip": "203.0.113.80", "port": 80, "vrrp_instance": "front", "real_servers": ["rs1"]}]
    result = views(services, hostvars, groups)
    assert result["services"][0]["vip_network"] is None
    assert result["director2"]["vips"] == [dict(vip("203.0.113.80", 32, "eth1"), vrrp_instance="front",
                                                services=["w"])]
    assert result["rs1"]["services"][0]["address"] == "198.51.100.21"


def test_custom_priorities_multicast_and_one_instance():
    services, hostvars, groups = lab()
    set_director_var(hostvars, "lvs_vrrp_instances", [
        {"name": "only", "network": "198.51.100.0/24", "virtual_router_id": 7, "advert_interval": 0.25,
         "unicast": False, "priorities": {"director1": 100, "director2": 200}}])
    set_director_var(hostvars, "lvs_nat_gateways", [{"address": "198.18.1.1/24", "vrrp_instance": "only"}])
    result = views(services, hostvars, groups)
    one = result["director1"]["vrrp_instances"]
    assert [(i["name"], i["priority"], i["state"], i["advert_interval"], i["unicast_src_ip"], i["unicast_peers"])
            for i in one] == [("only", 100, "BACKUP", 0.25, None, [])]
    assert result["director2"]["vrrp_instances"][0]["state"] == "MASTER"
    assert vip("198.18.1.1", 24, "eth2") in one[0]["virtual_ipaddresses"]
    assert result["director1"]["vrrp_sync_group"] is None
    # Multicast has no unicast peers, but the firewall still admits VRRP only from the other director.
    assert result["director1"]["firewall"]["vrrp"] == [
        {"instance": "only", "interface": "eth1", "family": "ipv4", "unicast": False, "peers": ["198.51.100.12"]}]


def test_empty_and_missing_service_list():
    services, hostvars, groups = lab()
    assert lvs_services(None, hostvars, groups) == []
    result = views([], hostvars, groups)
    assert result["director1"]["ipvs_services"] == [] and result["director1"]["vips"] == []
    assert [i["virtual_ipaddresses"] for i in result["director1"]["vrrp_instances"]] == [
        [], [vip("198.18.1.1", 24, "eth2")]]
    assert result["director1"]["kernel_modules"] == ["ip_vs"]


def test_values_are_normalized():
    services, hostvars, groups = lab()
    services = [{"name": "w", "vip": " 198.51.100.110 ", "port": "8080", "protocol": "TCP", "scheduler": "SH",
                 "scheduler_flags": "sh-port,sh-fallback", "one_packet": "no", "forwarding": "DR",
                 "real_servers": [{"host": "rs1", "weight": "3"}], "persistence": {"timeout": "60", "prefix_length": 24}}]
    service = lvs_services(services, hostvars, groups)[0]
    assert (service["vip"], service["port"], service["protocol"], service["scheduler"], service["scheduler_flags"],
            service["one_packet"], service["forwarding"], service["real_servers"][0]["weight"]) == (
        "198.51.100.110", 8080, "tcp", "sh", ["sh-fallback", "sh-port"], False, "dr", 3)
    assert service["persistence"] == {"timeout": 60, "netmask": "255.255.255.0", "prefix_length": 24, "engine": None}


# ---------------------------------------------------------------------------------------------------------------
# Bad input: each case changes the lab and names the exact item in the message

def svc(index):
    return lambda services, hostvars, groups: services[index]


def setter(index, **fields):
    def change(services, hostvars, groups):
        services[index].update(fields)
    return change


def add(**service):
    def change(services, hostvars, groups):
        services.append(dict(service))
    return change


def rs(index, position, **fields):
    def change(services, hostvars, groups):
        services[index]["real_servers"][position].update(fields)
    return change


def director_var(name, value):
    def change(services, hostvars, groups):
        set_director_var(hostvars, name, value)
    return change


def host_var(host, name, value):
    def change(services, hostvars, groups):
        hostvars[host][name] = value
    return change


def drop_key(index, field):
    def change(services, hostvars, groups):
        del services[index][field]
    return change


BAD = [
    ("duplicate key", add(name="dup", vip="198.51.100.100", port=80, real_servers=["rs1"]),
     "lvs_virtual_services[5] (dup).port: tcp/198.51.100.100:80 is also lvs_virtual_services[0] (web-dr)"),
    ("duplicate key by canonical address", add(name="dup6", vip="2001:DB8:100:0:0:0:0:100", port=80,
                                               real_servers=["rs1"]),
     "lvs_virtual_services[5] (dup6).port: tcp/[2001:db8:100::100]:80 is also lvs_virtual_services[3] (web-dr6)"),
    ("duplicate key within ports", add(name="twice", vip="198.51.100.110", ports=[80, 80], real_servers=["rs1"]),
     "lvs_virtual_services[5] (twice).ports[1]: port 80 is listed twice"),
    ("duplicate fwmark", add(name="mark", vip="198.51.100.110", fwmark=10,
                             fwmark_match=[{"ports": [81]}], real_servers=["rs1"]),
     "lvs_virtual_services[5] (mark).fwmark: fwmark/ipv4/10 is also lvs_virtual_services[4] (web-fwmark)"),
    ("duplicate name", setter(1, name="web-dr"),
     "lvs_virtual_services[1] (web-dr).name: web-dr is also lvs_virtual_services[0] (web-dr)"),
    ("bad name", setter(0, name="web dr"), "lvs_virtual_services[0].name: must be a name of letters"),
    ("missing name", drop_key(0, "name"), "lvs_virtual_services[0].name: required"),
    ("unknown field", setter(0, schedular="rr"),
     "lvs_virtual_services[0] (web-dr): unknown field schedular (known: name, vip,"),
    ("not a dict", lambda s, h, g: s.append("web"), "lvs_virtual_services[5]: must be a dictionary, got 'web'"),
    ("unknown host", rs(0, 1, host="rs9"),
     "lvs_virtual_services[0] (web-dr).real_servers[1].host: rs9 is not in the inventory"),
    ("host without addresses", lambda s, h, g: h["rs2"].pop("lvs_interfaces"),
     "lvs_virtual_services[0] (web-dr).real_servers[1].host: host rs2 has no lvs_interfaces host variable"),
    ("nat without gateway", director_var("lvs_nat_gateways", None),
     "lvs_virtual_services[2] (web-nat).forwarding: nat needs the directors' floating gateway on the real servers' "
     "inside network; lvs_nat_gateways has no IPv4 gateway"),
    ("nat real server on no inside network", rs(2, 1, host="rs3", port=80),
     "lvs_virtual_services[2] (web-nat).real_servers[1].host: host rs3 has no IPv4 address on an inside network "
     "with a NAT gateway (lvs_nat_gateways: 198.18.1.0/24)"),
    ("nat explicit address on no inside network", rs(2, 1, host="rs2", address="198.51.100.22"),
     "lvs_virtual_services[2] (web-nat).real_servers[1].address: 198.51.100.22 is not on an inside network with a "
     "NAT gateway"),
    ("dr real server off the segment", rs(0, 1, host="rs3"),
     "lvs_virtual_services[0] (web-dr).real_servers[1].host: host rs3 has no address on the VIP's segment "
     "(198.51.100.0/24 on director director1's eth1)"),
    ("dr explicit address off the segment", rs(0, 0, address="198.18.1.21"),
     "lvs_virtual_services[0] (web-dr).real_servers[0].address: 198.18.1.21 is not on the VIP's segment"),
    ("address not of the host", rs(0, 0, address="198.51.100.99"),
     "lvs_virtual_services[0] (web-dr).real_servers[0].address: 198.51.100.99 is not an address of host rs1"),
    ("tun ambiguous", add(name="t", vip="198.51.100.110", port=80, forwarding="tun", real_servers=["rs1"]),
     "lvs_virtual_services[5] (t).real_servers[0].host: host rs1 has several IPv4 addresses outside the management "
     "network (198.51.100.21, 198.18.1.21); set lvs_tunnel_address"),
    ("tun address of the other family", host_var("rs3", "lvs_tunnel_address", "2001:db8:102::23"),
     "lvs_virtual_services[1] (web-tun).real_servers[0].host (lvs_tunnel_address of host rs3): 2001:db8:102::23 is "
     "an IPv6 address in an IPv4 service"),
    ("ipv6 vip with ipv4 address", rs(3, 0, host=None, address="198.51.100.21"),
     "lvs_virtual_services[3] (web-dr6).real_servers[0].address: 198.51.100.21 is an IPv4 address in an IPv6 "
     "service"),
    ("ipv6 vip with ipv4-only host", host_var("rs2", "lvs_interfaces", [{"name": "eth1",
                                                                        "addresses": ["198.51.100.22/24"]}]),
     "lvs_virtual_services[3] (web-dr6).real_servers[1].host: host rs2 has no IPv6 address (lvs_interfaces)"),
    ("bad scheduler", setter(0, scheduler="fastest"),
     "lvs_virtual_services[0] (web-dr).scheduler: must be one of rr, wrr"),
    ("flags for a scheduler without flags", setter(0, scheduler_flags=["sh-port"]),
     "lvs_virtual_services[0] (web-dr).scheduler_flags: the rr scheduler takes no flags (sh-port is for the sh "
     "scheduler)"),
    ("flags of another scheduler", setter(0, scheduler="sh", scheduler_flags=["mh-port"]),
     "lvs_virtual_services[0] (web-dr).scheduler_flags: the sh scheduler takes sh-fallback or sh-port, not mh-port"),
    ("unknown flag", setter(0, scheduler="mh", scheduler_flags=["fast"]),
     "lvs_virtual_services[0] (web-dr).scheduler_flags: 'fast' is not a scheduler flag"),
    ("fwmark with ports", setter(4, ports=[80]),
     "lvs_virtual_services[4] (web-fwmark).ports: a firewall-mark service has no ports of its own; list the traffic "
     "the directors mark in fwmark_match"),
    ("fwmark with protocol", setter(4, protocol="udp"),
     "lvs_virtual_services[4] (web-fwmark).protocol: a firewall-mark service has no protocol of its own"),
    ("fwmark without match", drop_key(4, "fwmark_match"),
     "lvs_virtual_services[4] (web-fwmark).fwmark_match: required for a firewall-mark service"),
    ("match without fwmark", setter(0, fwmark_match=[{"ports": [80]}]),
     "lvs_virtual_services[0] (web-dr).fwmark_match: only for firewall-mark services (set fwmark)"),
    ("bad match range", setter(4, fwmark_match=[{"ports": ["90-80"]}]),
     "lvs_virtual_services[4] (web-fwmark).fwmark_match[0].ports[0]: '90-80' is not a port range"),
    ("marked traffic is an address service", setter(4, vip="198.51.100.100"),
     "lvs_virtual_services[4] (web-fwmark).fwmark_match[0].ports: the directors would mark traffic of service "
     "lvs_virtual_services[0] (web-dr) (tcp/198.51.100.100:80) with fwmark 10"),
    ("two marks on the same traffic", add(name="m2", vip="198.51.100.103", fwmark=11,
                                          fwmark_match=[{"ports": ["8000-8100"]}], real_servers=["rs1"]),
     "lvs_virtual_services[5] (m2).fwmark_match[0].ports: tcp ports 8000-8100 also match lvs_virtual_services[4] "
     "(web-fwmark).fwmark_match[0] (fwmark 10)"),
    ("port out of range", setter(0, port=70000),
     "lvs_virtual_services[0] (web-dr).port: must be between 0 and 65535, got 70000"),
    ("port in list out of range", setter(0, port=None, ports=[80, 0]),
     "lvs_virtual_services[0] (web-dr).ports[1]: must be between 1 and 65535, got 0"),
    ("port and ports", setter(0, ports=[81]), "lvs_virtual_services[0] (web-dr).ports: give port or ports, not both"),
    ("no port", drop_key(0, "port"),
     "lvs_virtual_services[0] (web-dr).port: required (or ports, or fwmark for a firewall-mark service)"),
    ("port 0 without persistence", setter(0, port=0),
     "lvs_virtual_services[0] (web-dr).port: port 0 (every port) works only for persistent services"),
    ("bool as port", setter(0, port=True), "lvs_virtual_services[0] (web-dr).port: must be a port number, got True"),
    ("weight out of range", rs(0, 0, weight=-1),
     "lvs_virtual_services[0] (web-dr).real_servers[0].weight: must be between 0 and 2147483647, got -1"),
    ("threshold out of range", rs(0, 0, upper_threshold=2 ** 32),
     "lvs_virtual_services[0] (web-dr).real_servers[0].upper_threshold: must be between 0 and 4294967295"),
    ("lower above upper", rs(0, 0, upper_threshold=10, lower_threshold=20),
     "lvs_virtual_services[0] (web-dr).real_servers[0].lower_threshold: 20 is above upper_threshold 10"),
    ("quorum above total weight", setter(0, quorum=3),
     "lvs_virtual_services[0] (web-dr).quorum: 3 is more than the real servers' total weight 2"),
    ("tunnel with dr", setter(0, tunnel={"type": "ipip"}),
     "lvs_virtual_services[0] (web-dr).tunnel: only for forwarding tun, not dr"),
    ("gue without port", setter(1, tunnel={"type": "gue"}),
     "lvs_virtual_services[1] (web-tun).tunnel.port: required with type gue"),
    ("port for ipip", setter(1, tunnel={"port": 5555}),
     "lvs_virtual_services[1] (web-tun).tunnel.port: only for type gue, not ipip"),
    ("checksum for ipip", setter(1, tunnel={"checksum": "csum"}),
     "lvs_virtual_services[1] (web-tun).tunnel.checksum: only for type gue or gre, not ipip"),
    ("remcsum for gre", setter(1, tunnel={"type": "gre", "checksum": "remcsum"}),
     "lvs_virtual_services[1] (web-tun).tunnel.checksum: remcsum is for type gue only"),
    ("dr real server port", rs(0, 0, port=8080),
     "lvs_virtual_services[0] (web-dr).real_servers[0].port: with forwarding dr the real server receives the packets "
     "unchanged, so its port must be the service's port 80"),
    ("fwmark dr real server port", rs(4, 0, port=80),
     "lvs_virtual_services[4] (web-fwmark).real_servers[0].port: with forwarding dr the real server receives the "
     "packets unchanged"),
    ("real server port on multi-port service", add(name="multi", vip="198.51.100.110", ports=[80, 443],
                                                   forwarding="nat", real_servers=[{"host": "rs1", "port": 8080}]),
     "lvs_virtual_services[5] (multi).real_servers[0].port: the service has several ports"),
    ("one packet on tcp", setter(0, one_packet=True),
     "lvs_virtual_services[0] (web-dr).one_packet: one-packet scheduling is for UDP services"),
    ("no real servers", setter(0, real_servers=[]),
     "lvs_virtual_services[0] (web-dr).real_servers: must list at least one real server"),
    ("real server without host or address", rs(0, 0, host=None),
     "lvs_virtual_services[0] (web-dr).real_servers[0].host: required (an inventory host name), or address"),
    ("duplicate real server", rs(0, 1, host="rs1"),
     "lvs_virtual_services[0] (web-dr).real_servers[1].host: 198.51.100.21:80 is also "
     "lvs_virtual_services[0] (web-dr).real_servers[0] in tcp/198.51.100.100:80"),
    ("vip with prefix", setter(0, vip="198.51.100.100/24"),
     "lvs_virtual_services[0] (web-dr).vip: '198.51.100.100/24' has a prefix length"),
    ("vip not an address", setter(0, vip="www.example.com"),
     "lvs_virtual_services[0] (web-dr).vip: 'www.example.com' is not an IPv4 or IPv6 address"),
    ("multicast vip", setter(0, vip="239.1.1.1"),
     "lvs_virtual_services[0] (web-dr).vip: 239.1.1.1 cannot be a virtual address: it is a multicast address"),
    ("vip on no director network", setter(0, vip="203.0.113.80"),
     "lvs_virtual_services[0] (web-dr).vip: 203.0.113.80 is in no network of director director1 (lvs_interfaces)"),
    ("vip is a director address", setter(0, vip="198.51.100.11"),
     "lvs_virtual_services[0] (web-dr).vip: 198.51.100.11 is host director1's own address"),
    ("vip is the nat gateway", setter(0, vip="198.18.1.1", real_servers=[{"host": "storage1"}]),
     "lvs_virtual_services[0] (web-dr).vip: 198.18.1.1 is the NAT gateway lvs_nat_gateways[0]"),
    ("vip on a network without vrrp instance", setter(0, vip="198.18.0.100"),
     "lvs_virtual_services[0] (web-dr).vip: no VRRP instance runs on the interface that holds VIP 198.18.0.100 "
     "(director1 eth0, director2 eth0)"),
    ("unknown vrrp instance", setter(0, vrrp_instance="side"),
     "lvs_virtual_services[0] (web-dr).vrrp_instance: side is not in lvs_vrrp_instances (back, front)"),
    ("one vip two instances", setter(1, vip="198.51.100.100", port=81, vrrp_instance="back"),
     "lvs_virtual_services[1] (web-tun).vrrp_instance: VIP 198.51.100.100 is held by VRRP instance front for "
     "lvs_virtual_services[0] (web-dr)"),
    ("no vrrp instances", director_var("lvs_vrrp_instances", None),
     "lvs_vrrp_instances: not defined; the directors hold every VIP and NAT gateway in a VRRP instance"),
    ("health check field of another type", setter(0, health_check={"type": "tcp", "path": "/"}),
     "lvs_virtual_services[0] (web-dr).health_check.path: not for a tcp check"),
    ("health check field of the default type", setter(0, health_check={"status": 200}),
     "lvs_virtual_services[0] (web-dr).health_check.status: not for a tcp check"),
    ("dns check without query", setter(0, health_check={"type": "dns"}),
     "lvs_virtual_services[0] (web-dr).health_check.query: required for a dns check"),
    ("misc check without script", setter(0, health_check="misc"),
     "lvs_virtual_services[0] (web-dr).health_check.script: required for a misc check"),
    ("misc check with port", setter(0, health_check={"type": "misc", "script": "/bin/true", "port": 80}),
     "lvs_virtual_services[0] (web-dr).health_check.port: not for a misc check"),
    ("none check with timing", setter(0, health_check={"type": "none", "interval": 3}),
     "lvs_virtual_services[0] (web-dr).health_check.interval: not for a none check"),
    ("bad check type", setter(0, health_check={"type": "ping"}),
     "lvs_virtual_services[0] (web-dr).health_check.type: must be one of http, https, tcp, dns, misc, none"),
    ("bad digest", setter(0, health_check={"type": "http", "digest": "abc"}),
     "lvs_virtual_services[0] (web-dr).health_check.digest: must be the MD5 digest"),
    ("bad status", setter(0, health_check={"type": "http", "status": [200, 700]}),
     "lvs_virtual_services[0] (web-dr).health_check.status[1]: must be between 100 and 599, got 700"),
    ("path without slash", setter(0, health_check={"type": "http", "path": "health"}),
     "lvs_virtual_services[0] (web-dr).health_check.path: must start with /"),
    ("real server check override of its type", rs(0, 1, health_check={"query": "x."}),
     "lvs_virtual_services[0] (web-dr).real_servers[1].health_check.query: not for a http check"),
    ("persistence netmask for ipv6", setter(3, persistence={"timeout": 10, "netmask": "255.255.255.0"}),
     "lvs_virtual_services[3] (web-dr6).persistence.netmask: an IPv6 service takes prefix_length"),
    ("persistence bad netmask", setter(4, persistence={"timeout": 10, "netmask": "255.0.255.0"}),
     "lvs_virtual_services[4] (web-fwmark).persistence.netmask: '255.0.255.0' is not a netmask"),
    ("persistence both masks", setter(4, persistence={"timeout": 10, "netmask": "255.0.0.0", "prefix_length": 8}),
     "lvs_virtual_services[4] (web-fwmark).persistence.prefix_length: give netmask or prefix_length, not both"),
    ("persistence without timeout", setter(4, persistence={"prefix_length": 8}),
     "lvs_virtual_services[4] (web-fwmark).persistence.timeout: required"),
    ("persistence engine", setter(4, persistence={"timeout": 5, "engine": "http"}),
     "lvs_virtual_services[4] (web-fwmark).persistence.engine: must be one of sip"),
    ("bad sorry server", setter(0, sorry_server={"host": "nowhere"}),
     "lvs_virtual_services[0] (web-dr).sorry_server.host: nowhere is not in the inventory"),
    ("real server is the vip", rs(0, 0, host=None, address="198.51.100.100"),
     "lvs_virtual_services[0] (web-dr).real_servers[0].address: 198.51.100.100 is the VIP itself"),
    ("services not a list", lambda s, h, g: s.clear() or s.append(None),
     "lvs_virtual_services[0]: must be a dictionary, got None"),
    # The hosts and the directors' settings
    ("bad interface address", host_var("rs1", "lvs_interfaces", [{"name": "eth1", "addresses": ["198.51.100.21"]}]),
     "hostvars['rs1'].lvs_interfaces[0].addresses[0]: must be an address with its prefix length"),
    ("interface without name", host_var("rs1", "lvs_interfaces", [{"addresses": ["198.51.100.21/24"]}]),
     "hostvars['rs1'].lvs_interfaces[0].name: must be an interface name"),
    ("bad tunnel address", host_var("rs3", "lvs_tunnel_address", "rs3"),
     "hostvars['rs3'].lvs_tunnel_address: 'rs3' is not an IPv4 or IPv6 address"),
    ("director without interfaces", lambda s, h, g: h["director2"].pop("lvs_interfaces"),
     "hostvars['director2'].lvs_interfaces: required on every director"),
    ("no directors", lambda s, h, g: g.pop("directors"),
     "groups['directors']: the inventory has no directors (hosts in group directors)"),
    ("settings differ between directors", lambda s, h, g: h["director2"].update(lvs_nat_gateways=["198.18.1.2/24"]),
     "lvs_nat_gateways: differs between director1 and director2; it is cluster-wide"),
    ("instance network on no director", director_var("lvs_vrrp_instances", [
        {"name": "front", "network": "198.51.100.0/24", "virtual_router_id": 51},
        {"name": "remote", "network": "198.18.2.0/24", "virtual_router_id": 53}]),
     "lvs_vrrp_instances[1] (remote).network: director director1 has no address in 198.18.2.0/24 (lvs_interfaces)"),
    ("instance network with host bits", director_var("lvs_vrrp_instances", [
        {"name": "front", "network": "198.51.100.11/24", "virtual_router_id": 51}]),
     "lvs_vrrp_instances[0] (front).network: '198.51.100.11/24' has host bits set; write the network as "
     "198.51.100.0/24"),
    ("duplicate router id", director_var("lvs_vrrp_instances", [
        {"name": "front", "network": "198.51.100.0/24", "virtual_router_id": 51},
        {"name": "front2", "network": "198.51.100.0/24", "virtual_router_id": 51}]),
     "lvs_vrrp_instances[1] (front2).virtual_router_id: 51 is also used by lvs_vrrp_instances[0] (front)"),
    ("equal priorities", director_var("lvs_vrrp_instances", [
        {"name": "front", "network": "198.51.100.0/24", "virtual_router_id": 51,
         "priorities": {"director1": 100, "director2": 100}}]),
     "lvs_vrrp_instances[0] (front).priorities: two directors have the same priority"),
    ("incomplete priorities", director_var("lvs_vrrp_instances", [
        {"name": "front", "network": "198.51.100.0/24", "virtual_router_id": 51, "priorities": {"director1": 100}}]),
     "lvs_vrrp_instances[0] (front).priorities: no priority for director2"),
    ("priority of a non-director", director_var("lvs_vrrp_instances", [
        {"name": "front", "network": "198.51.100.0/24", "virtual_router_id": 51,
         "priorities": {"director1": 100, "director2": 90, "rs1": 80}}]),
     "lvs_vrrp_instances[0] (front).priorities.rs1: rs1 is not a director"),
    ("vrid out of range", director_var("lvs_vrrp_instances", [
        {"name": "front", "network": "198.51.100.0/24", "virtual_router_id": 256}]),
     "lvs_vrrp_instances[0] (front).virtual_router_id: must be between 1 and 255, got 256"),
    ("gateway is a director address", director_var("lvs_nat_gateways", ["198.18.1.11/24"]),
     "lvs_nat_gateways[0]: 198.18.1.11 is director director1's own address"),
    ("gateway without prefix", director_var("lvs_nat_gateways", ["198.18.1.1"]),
     "lvs_nat_gateways[0]: must be an address with its prefix length"),
    ("gateway on no director network", director_var("lvs_nat_gateways", [{"address": "198.18.2.1/24"}]),
     "lvs_nat_gateways[0].address: director director1 has no address in 198.18.2.0/24"),
    ("two gateways in one network", director_var("lvs_nat_gateways", ["198.18.1.1/24", "198.18.1.2/24"]),
     "lvs_nat_gateways[1]: 198.18.1.0/24 has a gateway already (lvs_nat_gateways[0])"),
]


@pytest.mark.parametrize("change, expected", [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_bad_input_names_the_item(change, expected):
    services, hostvars, groups = lab()
    change(services, hostvars, groups)
    message = fails(services, hostvars, groups)
    assert expected in message, message
    assert message.startswith("lvs.cluster.lvs_services: ")


def test_all_errors_are_reported_together():
    services, hostvars, groups = lab()
    services[0]["port"] = 70000
    services[2]["real_servers"][0]["weight"] = "heavy"
    hostvars["rs3"]["lvs_interfaces"] = "eth1"
    message = fails(services, hostvars, groups)
    assert message.startswith("lvs.cluster.lvs_services: 3 errors:\n- ")
    lines = message.split("\n")[1:]
    assert lines == [
        "- lvs_virtual_services[0] (web-dr).port: must be between 0 and 65535, got 70000",
        "- hostvars['rs3'].lvs_interfaces: must be a list of interfaces ({name: eth1, addresses: [198.51.100.21/24]}),"
        " got 'eth1'",
        "- lvs_virtual_services[2] (web-nat).real_servers[0].weight: must be an integer, got 'heavy'",
    ]


def test_cross_family_errors_are_not_repeated_for_each_port():
    services, hostvars, groups = lab()
    services[0].update(port=None, ports=[80, 443], real_servers=["rs3"])
    message = fails(services, hostvars, groups)
    assert message.count("(web-dr).real_servers[0].host") == 1


def test_views_refuse_other_input_and_other_hosts():
    services, hostvars, groups = lab()
    normalized = lvs_services(services, hostvars, groups)
    with pytest.raises(AnsibleFilterError, match=r"lvs_director_view: _input: the input must be the output of "
                                                 r"lvs.cluster.lvs_services"):
        lvs_director_view(services, hostvars, groups, "director1")
    with pytest.raises(AnsibleFilterError, match=r"director: rs1 is not a director \(group directors: director1, "
                                                 r"director2\)"):
        lvs_director_view(normalized, hostvars, groups, "rs1")
    with pytest.raises(AnsibleFilterError, match=r"lvs_real_server_view: host: rs9 is not in the inventory"):
        lvs_real_server_view(normalized, hostvars, groups, "rs9")


def test_real_server_holding_one_vip_by_dr_and_tun_is_refused():
    services, hostvars, groups = lab()
    hostvars["rs1"]["lvs_tunnel_address"] = "198.18.1.21"
    services.append({"name": "t", "vip": "198.51.100.100", "port": 81, "forwarding": "tun", "real_servers": ["rs1"]})
    normalized = lvs_services(services, hostvars, groups)
    with pytest.raises(AnsibleFilterError) as info:
        lvs_real_server_view(normalized, hostvars, groups, "rs1")
    assert ("host: rs1 would hold VIP 198.51.100.100 for dr (service web-dr) and tun (service t)"
            in str(info.value))


def test_normalized_services_are_not_changed_by_the_views():
    services, hostvars, groups = lab()
    normalized = lvs_services(services, hostvars, groups)
    before = copy.deepcopy(normalized)
    lvs_director_view(normalized, hostvars, groups, "director1")
    lvs_real_server_view(normalized, hostvars, groups, "rs1")
    assert normalized == before


def test_hostvars_that_cannot_be_evaluated_are_reported():
    class Failing(dict):
        def get(self, key, default=None):
            if key == "lvs_interfaces":
                raise RuntimeError("'lvs_lab_interfaces' is undefined")
            return super(Failing, self).get(key, default)

    services, hostvars, groups = lab()
    hostvars["rs2"] = Failing(hostvars["rs2"])
    message = fails(services, hostvars, groups)
    assert "hostvars['rs2'].lvs_interfaces: cannot be evaluated: 'lvs_lab_interfaces' is undefined" in message
