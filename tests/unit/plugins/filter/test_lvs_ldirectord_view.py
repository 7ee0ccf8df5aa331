# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""lvs_ldirectord_view: one check per service as ldirectord runs it, and what it refuses, naming service and field."""

from __future__ import annotations

import pytest

from ansible_collections.lvs.cluster.plugins.filter.lvs_director_view import lvs_director_view
from ansible_collections.lvs.cluster.plugins.filter.lvs_ldirectord_view import FilterModule, lvs_ldirectord_view
from ansible_collections.lvs.cluster.plugins.filter.lvs_services import lvs_services
from ansible_collections.lvs.cluster.tests.unit.plugins.filter.lvs_lab_data import lab


def ldirectord(services=None):
    lab_services, hostvars, groups = lab()
    normalized = lvs_services(lab_services if services is None else services, hostvars, groups)
    return lvs_ldirectord_view(lvs_director_view(normalized, hostvars, groups, "director1"))


def test_filter_module_exports_its_filter():
    assert list(FilterModule().filters()) == ["lvs_ldirectord_view"]


def test_the_lab_model_renders_with_one_check_per_service():
    view = ldirectord()
    assert view["problems"] == []
    checks = dict((vs["name"], vs["health_check"]) for vs in view["virtual_servers"])
    # The real servers' own ports are ldirectord's default checkport: no port. NAT maps 8080 to 80 on the real
    # servers, which is still one check (not a per-server difference); the fwmark service has no port of its own
    # and keeps its explicit check port.
    assert [(name, check["type"], check["path"], check["port"]) for name, check in checks.items()] == [
        ("web-dr", "http", "/health", None), ("web-tun", "http", "/health", None),
        ("web-nat", "http", "/health", None), ("web-dr6", "http", "/health", None),
        ("web-fwmark", "http", "/health", 80)]
    # Everything else of the view is passed through unchanged.
    lab_services, hostvars, groups = lab()
    director = lvs_director_view(lvs_services(lab_services, hostvars, groups), hostvars, groups, "director1")
    for mine, theirs in zip(view["virtual_servers"], director["virtual_servers"]):
        assert dict(mine, health_check=None) == dict(theirs, health_check=None)


def test_an_explicit_check_port_other_than_the_real_servers_is_kept():
    services = [{"name": "w", "vip": "198.51.100.110", "port": 80, "real_servers": ["rs1", "rs2"],
                 "health_check": {"type": "tcp", "port": 8081}}]
    view = ldirectord(services)
    assert view["problems"] == []
    assert view["virtual_servers"][0]["health_check"]["port"] == 8081


@pytest.mark.parametrize("service, problem", [
    ({"health_check": {"type": "http", "path": "/health"},
      "real_servers": ["rs1", {"host": "rs2", "health_check": {"path": "/other"}}]},
     "w.real_servers: the real servers' health checks differ (ldirectord runs one check per service)"),
    ({"real_servers": ["rs1", {"host": "rs2", "upper_threshold": 100}]},
     "w.real_servers (198.51.100.22:80): connection thresholds (ldirectord sets none)"),
    ({"quorum": 2}, "w.quorum/hysteresis (ldirectord has neither)"),
    ({"health_check": {"type": "http", "digest": "0123456789abcdef0123456789abcdef"}},
     "w.health_check.digest (ldirectord matches no digest)"),
    ({"health_check": {"type": "http", "status": [200, 204]}},
     "w.health_check.status [200, 204] (ldirectord accepts no status list)"),
    ({"health_check": {"type": "misc", "script": "/bin/true", "dynamic": True}},
     "w.health_check.dynamic (ldirectord sets no weights from a script)"),
])
def test_what_ldirectord_cannot_express_is_named(service, problem):
    base = {"name": "w", "vip": "198.51.100.110", "port": 80, "real_servers": ["rs1", "rs2"]}
    base.update(service)
    assert ldirectord([base])["problems"] == [problem]
