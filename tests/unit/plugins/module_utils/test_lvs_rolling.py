# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_lvs_rolling on the lab's data model: the rolling plan and its input errors, the run-time quorum guard from the
kernel's table, the traffic check after a restore, who joins or leaves, and the model without a real server or a
service."""

from __future__ import annotations

import pytest

from ansible_collections.lvs.cluster.plugins.filter.lvs_services import lvs_services
from ansible_collections.lvs.cluster.plugins.filter.lvs_service_errors import lvs_service_errors
from ansible_collections.lvs.cluster.plugins.module_utils import _lvs_drain as drain
from ansible_collections.lvs.cluster.plugins.module_utils import _lvs_rolling as rolling
from ansible_collections.lvs.cluster.tests.unit.plugins.filter.lvs_lab_data import lab


def model():
    services, hostvars, groups = lab()
    return lvs_services(services, hostvars, groups), hostvars, groups


def kernel(key, destinations, conns=0):
    """One ipvs_info service: destinations {key: (weight, conns)}."""
    return {"key": key, "stats": {"conns": conns},
            "destinations": [{"key": k, "weight": w, "stats": {"conns": c}} for k, (w, c) in destinations.items()]}


# ---------------------------------------------------------------------------------------------------------------
# The plan

def test_the_plan_names_the_real_servers_in_group_order():
    services, _hostvars, groups = model()
    assert rolling.rolling_plan(services, groups, "rs2,rs1") == {"hosts": ["rs1", "rs2"], "errors": []}
    assert rolling.rolling_plan(services, groups, ["rs2"]) == {"hosts": ["rs2"], "errors": []}


def test_the_plan_refuses_the_last_real_server_of_a_service():
    services, _hostvars, groups = model()
    # Every real server by default: rs3 is web-tun's only one.
    result = rolling.rolling_plan(services, groups, [])
    assert result["hosts"] == []
    assert result["errors"] == ["service: draining rs3 would leave web-tun (tcp/198.51.100.101:80) with a weight of 0 "
                                "below its quorum 1 (no real server to send new connections to); restore another "
                                "real server first, or force the drain"]


@pytest.mark.parametrize("hosts, message", [
    (["rs9"], "real server: rs9 is not in the inventory (real servers: rs1, rs2, rs3)"),
    (["director1"], "real server: director1 is a real server of no virtual service"),
    (["rs1", "rs1"], "hosts[1]: rs1 is listed twice"),
    ([""], "hosts[0]: '' is not an inventory host name"),
])
def test_the_plan_names_bad_hosts(hosts, message):
    services, _hostvars, groups = model()
    result = rolling.rolling_plan(services, groups, hosts)
    assert result["hosts"] == [] and any(e.startswith(message) for e in result["errors"]), result


def test_servers_left_drained_by_an_interrupted_run_do_not_block_it():
    services, _hostvars, groups = model()
    state = {"version": 1, "drained": {"rs1": ["*"]}}
    # rs1 is in this run: the run restores it before taking rs2.
    assert rolling.rolling_plan(services, groups, ["rs1", "rs2"], state)["errors"] == []
    # rs1 drained outside this run: rs2 is the last one of web-dr.
    errors = rolling.rolling_plan(services, groups, ["rs2"], state)["errors"]
    assert errors and "draining rs2 would leave web-dr" in errors[0]


# ---------------------------------------------------------------------------------------------------------------
# The run-time guard, the traffic check

def test_the_guard_wants_another_serving_destination_in_each_service():
    services, _hostvars, groups = model()
    targets = drain.drain_targets(services, groups, "rs1", "web-dr")["targets"]
    up = [kernel("tcp/198.51.100.100:80", {"198.51.100.21:80": (1, 0), "198.51.100.22:80": (1, 0)})]
    assert rolling.serving_guard(up, targets, "director1") == []
    # rs2 failed its check: keepalived took it out (or left it at weight 0).
    for table in ([kernel("tcp/198.51.100.100:80", {"198.51.100.21:80": (1, 0)})],
                  [kernel("tcp/198.51.100.100:80", {"198.51.100.21:80": (1, 0), "198.51.100.22:80": (0, 0)})]):
        errors = rolling.serving_guard({"services": table}, targets, "director1")
        assert len(errors) == 1 and errors[0].startswith(
            "taking rs1 out would leave web-dr tcp/198.51.100.100:80 with no real server in service on director1")
    errors = rolling.serving_guard([], targets, "director1")
    assert errors == ["web-dr tcp/198.51.100.100:80 is not in the IPVS table on director1 (converge the directors "
                      "first: playbooks/site.yml)"]


def test_traffic_carrying_idle_and_not():
    services, _hostvars, groups = model()
    targets = drain.drain_targets(services, groups, "rs1", "web-dr")["targets"]
    before = [kernel("tcp/198.51.100.100:80", {"198.51.100.21:80": (1, 5), "198.51.100.22:80": (1, 9)}, 14)]
    carrying = [kernel("tcp/198.51.100.100:80", {"198.51.100.21:80": (1, 6), "198.51.100.22:80": (1, 10)}, 16)]
    starved = [kernel("tcp/198.51.100.100:80", {"198.51.100.21:80": (1, 5), "198.51.100.22:80": (1, 12)}, 17)]
    assert rolling.traffic_status(before, carrying, targets) == {
        "carrying": True, "idle": False,
        "report": ["web-dr tcp/198.51.100.100:80 -> 198.51.100.21:80: 1 of 2 new connections"]}
    assert rolling.traffic_status(before, before, targets)["idle"] is True
    status = rolling.traffic_status(before, starved, targets)
    assert status["carrying"] is False and status["idle"] is False


# ---------------------------------------------------------------------------------------------------------------
# Joining and leaving

def test_members_of_a_real_server_or_a_whole_service():
    services, _hostvars, groups = model()
    assert rolling.member_targets(services, groups, "rs2")["hosts"] == ["rs2"]
    result = rolling.member_targets(services, groups, None, "web-nat")
    assert result["hosts"] == ["rs1", "rs2"] and result["errors"] == []
    assert sorted(t["destination"] for t in result["targets"]) == ["198.18.1.21:80", "198.18.1.22:80"]
    assert rolling.member_targets(services, groups, None, "web-nope")["errors"][0].startswith(
        "service: web-nope is no virtual service")
    assert rolling.member_targets(services, groups)["errors"] == [
        "a real server (lvs_real_server) or a service (lvs_service) is required"]
    # Leaving alone checks the quorum: rs3 is web-tun's last real server.
    assert "draining rs3 would leave web-tun" in rolling.member_targets(services, groups, "rs3", leave=True)["errors"][0]


def test_the_model_without_a_real_server_or_a_service_is_consistent():
    raw, hostvars, groups = lab()
    result = rolling.model_without(raw, "rs2", "web-nat")
    assert result["errors"] == []
    nat = next(s for s in result["virtual_services"] if s["name"] == "web-nat")
    assert [rs["host"] for rs in nat["real_servers"]] == ["rs1"]
    dr = next(s for s in result["virtual_services"] if s["name"] == "web-dr")
    assert "rs2" in [rs["host"] if isinstance(rs, dict) else rs for rs in dr["real_servers"]]
    assert lvs_service_errors(result["virtual_services"], hostvars, groups) == []
    # The input is not changed.
    assert any(rs["host"] == "rs2" for s in raw if s["name"] == "web-nat" for rs in s["real_servers"])
    everywhere = rolling.model_without(raw, "rs2")["virtual_services"]
    assert all(rs["host"] != "rs2" for s in everywhere for rs in s["real_servers"] if isinstance(rs, dict))
    without = rolling.model_without(raw, None, "web-tun")
    assert without["errors"] == [] and "web-tun" not in [s["name"] for s in without["virtual_services"]]
    assert lvs_service_errors(without["virtual_services"], hostvars, groups) == []


@pytest.mark.parametrize("host, service, message", [
    ("rs3", None, "service: removing rs3 would leave web-tun with no real server; remove the service instead"),
    ("rs9", None, "real server: rs9 is a real server of no virtual service"),
    ("rs3", "web-nat", "real server: rs3 is a real server of no service named web-nat"),
    (None, "web-nope", "service: web-nope is no virtual service (names: web-dr, web-tun, web-nat"),
    (None, None, "a real server (lvs_real_server) or a service (lvs_service) is required"),
])
def test_the_model_without_names_bad_input(host, service, message):
    raw, _hostvars, _groups = lab()
    result = rolling.model_without(raw, host, service)
    assert result["virtual_services"] == [] and result["errors"][0].startswith(message), result
