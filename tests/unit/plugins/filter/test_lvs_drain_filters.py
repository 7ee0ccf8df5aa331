# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The drain filters: exported names, arguments as the drain and restore tasks pass them, errors as filter errors."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.filter import lvs_drain_state, lvs_drain_status, lvs_drain_targets
from ansible_collections.lvs.cluster.plugins.filter.lvs_director_view import lvs_director_view
from ansible_collections.lvs.cluster.plugins.filter.lvs_services import lvs_services
from ansible_collections.lvs.cluster.tests.unit.plugins.filter.lvs_lab_data import lab


def test_filter_modules_export_their_filter():
    assert list(lvs_drain_targets.FilterModule().filters()) == ["lvs_drain_targets"]
    assert list(lvs_drain_state.FilterModule().filters()) == ["lvs_drain_state"]
    assert list(lvs_drain_status.FilterModule().filters()) == ["lvs_drain_status"]


def test_drain_then_restore_through_the_filters():
    services, hostvars, groups = lab()
    normalized = lvs_services(services, hostvars, groups)
    # The role passes an empty service for "every service".
    found = lvs_drain_targets.lvs_drain_targets(normalized, groups, "rs1", "", state={})
    assert found["errors"] == [] and len(found["service_keys"]) == 4
    state = lvs_drain_state.lvs_drain_state({}, "rs1", [])
    assert state == {"version": 1, "drained": {"rs1": ["*"]}}
    view = lvs_director_view(normalized, hostvars, groups, "director1", drained=state)
    assert all(rs["ipvs"]["weight"] == 0 for vs in view["virtual_servers"] for rs in vs["real_servers"]
               if rs["host"] == "rs1")
    one = lvs_drain_targets.lvs_drain_targets(normalized, groups, "rs1", "web-nat", drain=False)
    state = lvs_drain_state.lvs_drain_state(state, "rs1", one["service_keys"], drain=False,
                                            host_keys=found["service_keys"])
    assert state["drained"]["rs1"] == sorted(k for k in found["service_keys"] if k != "tcp/198.51.100.102:8080")
    assert lvs_drain_state.lvs_drain_state(state, "rs1", [], drain=False) == {"version": 1, "drained": {}}
    status = lvs_drain_status.lvs_drain_status({"services": []}, found["targets"])
    assert status["done"] and status["report"][0].endswith("not in the table")


def test_a_malformed_state_is_a_filter_error():
    with pytest.raises(AnsibleFilterError, match="lvs.cluster.lvs_drain_state: drain state: expected a mapping"):
        lvs_drain_state.lvs_drain_state(["rs1"], "rs1", [])
