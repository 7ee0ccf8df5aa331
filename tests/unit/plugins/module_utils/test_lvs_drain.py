# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_lvs_drain on the lab's data model: the targets of a drain and the errors naming the operator's input, the drain
state's updates, the director view honouring the state (every engine renders from it), and the status of a drain
or restore from what ipvs_info reads."""

from __future__ import annotations

import pytest

from ansible_collections.lvs.cluster.plugins.filter.lvs_director_view import lvs_director_view
from ansible_collections.lvs.cluster.plugins.filter.lvs_services import lvs_services
from ansible_collections.lvs.cluster.plugins.module_utils import _lvs_drain as drain
from ansible_collections.lvs.cluster.plugins.module_utils._lvs_model import LVSModelError
from ansible_collections.lvs.cluster.tests.unit.plugins.filter.lvs_lab_data import lab

RS1_KEYS = ["tcp/198.51.100.100:80", "tcp/198.51.100.102:8080", "tcp/[2001:db8:100::100]:80", "fwmark/ipv4/10"]


def model():
    services, hostvars, groups = lab()
    return lvs_services(services, hostvars, groups), hostvars, groups


def weights(view, key):
    service = next(s for s in view["virtual_servers"] if s["key"] == key)
    return dict((rs["host"], rs["ipvs"]["weight"]) for rs in service["real_servers"])


# ---------------------------------------------------------------------------------------------------------------
# Targets and input errors

def test_targets_of_a_host_in_every_service():
    services, _hostvars, groups = model()
    result = drain.drain_targets(services, groups, "rs1")
    assert result["errors"] == []
    assert result["service_keys"] == RS1_KEYS
    by_key = dict((t["key"], t) for t in result["targets"])
    assert by_key["tcp/198.51.100.100:80"]["destination"] == "198.51.100.21:80"
    assert by_key["tcp/198.51.100.102:8080"]["destination"] == "198.18.1.21:80"
    assert by_key["tcp/198.51.100.102:8080"]["weight"] == 2
    assert by_key["fwmark/ipv4/10"]["persistent"] is True
    assert by_key["fwmark/ipv4/10"]["port"] == 0
    assert by_key["tcp/198.51.100.100:80"]["health_gate"] == {
        "type": "http", "port": 80, "timeout": 1, "url": "http://198.51.100.21:80/health", "status": [200],
        "virtualhost": None}
    assert by_key["tcp/[2001:db8:100::100]:80"]["health_gate"]["url"] == "http://[2001:db8:100::21]:80/health"


@pytest.mark.parametrize("service", ["web-dr", "tcp/198.51.100.100:80"])
def test_one_service_by_name_or_key(service):
    services, _hostvars, groups = model()
    result = drain.drain_targets(services, groups, "rs1", service)
    assert result["errors"] == [] and result["service_keys"] == ["tcp/198.51.100.100:80"]
    assert [t["destination"] for t in result["targets"]] == ["198.51.100.21:80"]


@pytest.mark.parametrize("host, service, message", [
    ("rs9", None, "real server: rs9 is not in the inventory (real servers: rs1, rs2, rs3)"),
    ("director1", None, "real server: director1 is a real server of no virtual service"),
    ("", None, "real server: an inventory host name is required"),
    ("rs1", "web-nope", "service: web-nope is no virtual service (names: web-dr, web-tun, web-nat, web-dr6, "
                        "web-fwmark;"),
    ("rs3", "web-dr", "service: rs3 is not a real server of web-dr (tcp/198.51.100.100:80); its real servers: "
                      "rs1, rs2"),
])
def test_unknown_input_is_named(host, service, message):
    services, _hostvars, groups = model()
    result = drain.drain_targets(services, groups, host, service)
    assert result["targets"] == [] and result["service_keys"] == []
    assert len(result["errors"]) == 1 and result["errors"][0].startswith(message), result["errors"]


def test_draining_the_last_weight_of_a_service_is_refused_unless_forced():
    services, _hostvars, groups = model()
    result = drain.drain_targets(services, groups, "rs3")
    assert result["errors"] == [
        "service: draining rs3 would leave web-tun (tcp/198.51.100.101:80) with a weight of 0 below its quorum 1 "
        "(no real server to send new connections to); restore another real server first, or force the drain"]
    assert drain.drain_targets(services, groups, "rs3", force=True)["errors"] == []
    assert drain.drain_targets(services, groups, "rs3", drain=False)["errors"] == []
    # rs2 alone is fine; rs2 with rs1 already drained in web-dr is not.
    assert drain.drain_targets(services, groups, "rs2", "web-dr")["errors"] == []
    state = {"rs1": ["tcp/198.51.100.100:80"]}
    errors = drain.drain_targets(services, groups, "rs2", "web-dr", state=state)["errors"]
    assert len(errors) == 1 and "web-dr (tcp/198.51.100.100:80) with a weight of 0" in errors[0]


# ---------------------------------------------------------------------------------------------------------------
# The state

def test_state_updates():
    assert drain.update_state(None, "rs1", [], True) == {"rs1": ["*"]}
    state = drain.update_state({}, "rs1", ["tcp/198.51.100.100:80"], True)
    assert state == {"rs1": ["tcp/198.51.100.100:80"]}
    state = drain.update_state(state, "rs1", ["fwmark/ipv4/10"], True)
    assert state == {"rs1": ["fwmark/ipv4/10", "tcp/198.51.100.100:80"]}
    assert drain.update_state(state, "rs1", ["fwmark/ipv4/10"], True) == state          # idempotent
    assert drain.update_state(state, "rs1", [], True) == {"rs1": ["*"]}
    assert drain.update_state({"rs1": ["*"]}, "rs1", ["fwmark/ipv4/10"], True) == {"rs1": ["*"]}
    # Restore one service of a host drained in all: the others stay drained.
    assert drain.update_state({"rs1": ["*"]}, "rs1", ["fwmark/ipv4/10"], False, RS1_KEYS) == {
        "rs1": sorted(RS1_KEYS[:3])}
    assert drain.update_state(state, "rs1", ["fwmark/ipv4/10", "tcp/198.51.100.100:80"], False) == {}
    assert drain.update_state({"rs1": ["*"], "rs2": ["*"]}, "rs1", [], False) == {"rs2": ["*"]}
    assert drain.update_state({}, "rs1", [], False) == {}
    assert drain.state_document({"rs2": ["*"], "rs1": ["b", "a"]}) == {
        "version": 1, "drained": {"rs1": ["a", "b"], "rs2": ["*"]}}
    # The file's form and the bare mapping read the same.
    assert drain.normalize_state(drain.state_document({"rs1": ["*"]})) == {"rs1": ["*"]}


@pytest.mark.parametrize("state, message", [
    ([], "drain state: expected a mapping, got list"),
    ({"version": 1, "drained": ["rs1"]}, "drain state: drained: expected a mapping"),
    ({"rs1": "*"}, "drain state: drained['rs1']: expected a list of service keys"),
])
def test_a_malformed_state_is_an_error(state, message):
    with pytest.raises(LVSModelError) as info:
        drain.normalize_state(state)
    assert str(info.value).startswith(message)


# ---------------------------------------------------------------------------------------------------------------
# The director view honours the state

def test_the_director_view_renders_drained_real_servers_with_weight_0():
    services, hostvars, groups = model()
    plain = lvs_director_view(services, hostvars, groups, "director1")
    assert weights(plain, "tcp/198.51.100.102:8080") == {"rs1": 2, "rs2": 1}
    assert plain["drained"] == {"real_servers": [], "stale": []}

    state = {"version": 1, "drained": {"rs1": ["*"], "rs9": ["tcp/198.51.100.100:80"]}}
    view = lvs_director_view(services, hostvars, groups, "director1", drained=state)
    for key in RS1_KEYS:
        assert weights(view, key)["rs1"] == 0, key
        assert weights(view, key)["rs2"] == weights(plain, key)["rs2"], key
    ipvs = dict((s["address"] if "address" in s else s["fwmark"], s) for s in view["ipvs_services"])
    assert [d["weight"] for d in ipvs["198.51.100.102"]["destinations"]] == [0, 1]
    assert [(d["host"], d["key"], d["weight"]) for d in view["drained"]["real_servers"]] == [
        ("rs1", key, 2 if key == "tcp/198.51.100.102:8080" else 1) for key in RS1_KEYS]
    assert view["drained"]["stale"] == ["rs9: tcp/198.51.100.100:80"]
    drained_flags = [rs["drained"] for vs in view["virtual_servers"] for rs in vs["real_servers"]]
    assert drained_flags.count(True) == 4
    # Everything but the weights is the same view.
    for name in ("vips", "vrrp_instances", "kernel_modules", "sysctls", "firewall", "interfaces"):
        assert view[name] == plain[name], name
    # The input is not changed.
    assert weights(lvs_director_view(services, hostvars, groups, "director1"), "tcp/198.51.100.100:80") == {
        "rs1": 1, "rs2": 1}


def test_one_service_drained_leaves_the_others():
    services, hostvars, groups = model()
    view = lvs_director_view(services, hostvars, groups, "director2", drained={"rs1": ["tcp/198.51.100.100:80"]})
    assert weights(view, "tcp/198.51.100.100:80") == {"rs1": 0, "rs2": 1}
    assert weights(view, "tcp/[2001:db8:100::100]:80") == {"rs1": 1, "rs2": 1}


# ---------------------------------------------------------------------------------------------------------------
# Status from ipvs_info

def ipvs_info(rs1_weight, active, inactive=0, persistent=0, present=True):
    """What lvs.cluster.ipvs_info returns for web-dr and web-fwmark."""
    def destinations(address, port):
        rows = [{"key": "198.51.100.22:%d" % port, "weight": 1, "active_connections": 3,
                 "inactive_connections": 1, "persistent_connections": 0}]
        if present:
            rows.insert(0, {"key": "%s:%d" % (address, port), "weight": rs1_weight, "active_connections": active,
                            "inactive_connections": inactive, "persistent_connections": persistent})
        return rows
    return {"changed": False, "services": [
        {"key": "tcp/198.51.100.100:80", "destinations": destinations("198.51.100.21", 80)},
        {"key": "fwmark/ipv4/10", "destinations": destinations("198.51.100.21", 0)},
    ]}


def targets():
    services, _hostvars, groups = model()
    return [t for t in drain.drain_targets(services, groups, "rs1")["targets"]
            if t["key"] in ("tcp/198.51.100.100:80", "fwmark/ipv4/10")]


def test_status_of_a_drain():
    status = drain.drain_status(ipvs_info(1, 2), targets())
    assert not status["weight_applied"] and not status["done"]
    status = drain.drain_status(ipvs_info(0, 1, 4), targets())
    assert status["weight_applied"] and not status["done"]
    assert (status["active"], status["inactive"], status["persistent"]) == (2, 8, 0)
    assert status["report"][0] == ("web-dr tcp/198.51.100.100:80 -> 198.51.100.21:80: weight 0, 1 active, "
                                   "4 inactive, 0 persistent")
    assert drain.drain_status(ipvs_info(0, 0, 4), targets())["done"]
    # Persistence templates hold a persistent service (web-fwmark) unless told not to wait for them.
    assert not drain.drain_status(ipvs_info(0, 0, 0, 2), targets())["done"]
    assert drain.drain_status(ipvs_info(0, 0, 0, 2), targets(), wait_persistence=False)["done"]
    # A destination the kernel no longer has (its health check failed) carries no traffic.
    status = drain.drain_status(ipvs_info(0, 0, present=False), targets())
    assert status["done"]
    assert status["report"][0] == "web-dr tcp/198.51.100.100:80 -> 198.51.100.21:80: not in the table"
    # The services list alone works too.
    assert drain.drain_status(ipvs_info(0, 0)["services"], targets())["done"]


def test_status_of_a_restore():
    assert not drain.drain_status(ipvs_info(0, 0), targets(), restore=True)["done"]
    status = drain.drain_status(ipvs_info(1, 0), targets(), restore=True)
    assert status["done"] and status["weight_applied"]
    assert [r["expected_weight"] for r in status["services"]] == [1, 1]
    assert not drain.drain_status(ipvs_info(1, 0, present=False), targets(), restore=True)["done"]
