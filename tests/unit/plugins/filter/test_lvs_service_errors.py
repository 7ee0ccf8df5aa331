# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""lvs_service_errors: the director role's preflight input. The four inconsistencies issue 4 names, each reported
with the service and field, all together, and nothing for the consistent lab inventory."""

from __future__ import annotations

import pytest

from ansible_collections.lvs.cluster.plugins.filter.lvs_service_errors import FilterModule
from ansible_collections.lvs.cluster.plugins.filter.lvs_service_errors import lvs_service_errors
from ansible_collections.lvs.cluster.tests.unit.plugins.filter.lvs_lab_data import lab, set_director_var


def nat_without_gateway(services, hostvars, groups):
    set_director_var(hostvars, "lvs_nat_gateways", [])


def dr_off_segment(services, hostvars, groups):
    services[0]["real_servers"][1] = {"host": "rs3"}


def duplicate_vip_port(services, hostvars, groups):
    services.append({"name": "web-dup", "vip": "198.51.100.101", "port": 80, "real_servers": ["rs1"]})


def unknown_host(services, hostvars, groups):
    services[0]["real_servers"][0] = {"host": "rs9"}


CASES = [
    ("nat service without gateway", nat_without_gateway,
     "lvs_virtual_services[2] (web-nat).forwarding: nat needs the directors' floating gateway on the real servers' "
     "inside network; lvs_nat_gateways has no IPv4 gateway"),
    ("dr real server off the directors' segment", dr_off_segment,
     "lvs_virtual_services[0] (web-dr).real_servers[1].host: host rs3 has no address on the VIP's segment "
     "(198.51.100.0/24 on director director1's eth1); direct routing needs the real server on the directors' L2 segment"),
    ("duplicate vip and port", duplicate_vip_port,
     "lvs_virtual_services[5] (web-dup).port: tcp/198.51.100.101:80 is also lvs_virtual_services[1] (web-tun)"),
    ("real server not in the inventory", unknown_host,
     "lvs_virtual_services[0] (web-dr).real_servers[0].host: rs9 is not in the inventory"),
]


def test_the_filter_module_exports_it():
    assert list(FilterModule().filters()) == ["lvs_service_errors"]


def test_the_lab_inventory_has_no_errors():
    services, hostvars, groups = lab()
    assert lvs_service_errors(services, hostvars, groups) == []


@pytest.mark.parametrize("change, expected", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_each_inconsistency_is_one_error_naming_service_and_field(change, expected):
    services, hostvars, groups = lab()
    change(services, hostvars, groups)
    assert lvs_service_errors(services, hostvars, groups) == [expected]


def test_all_four_are_reported_together():
    services, hostvars, groups = lab()
    for _name, change, _expected in CASES:
        change(services, hostvars, groups)
    errors = lvs_service_errors(services, hostvars, groups)
    assert sorted(errors) == sorted(expected for _name, _change, expected in CASES)
