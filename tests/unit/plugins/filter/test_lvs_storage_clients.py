# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""lvs_storage_clients: each host's one address on the storage networks, and the export-network check."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.filter.lvs_storage_clients import FilterModule, lvs_storage_clients

HOSTVARS = {
    "rs1": {"lvs_interfaces": [{"name": "eth0", "addresses": ["198.18.0.21/24"]},
                               {"name": "eth1", "addresses": ["198.18.1.21/24", "2001:db8:101::21/64"]}]},
    "rs2": {"lvs_interfaces": [{"name": "eth1", "addresses": ["198.18.1.22/24"]}]},
    "rs3": {"lvs_interfaces": [{"name": "eth1", "addresses": ["198.18.2.23/24"]}]},
    "bare": {},
}


def test_registered():
    assert FilterModule().filters()["lvs_storage_clients"] is lvs_storage_clients


def test_picks_each_hosts_address_in_the_storage_networks_in_order():
    result = lvs_storage_clients(["rs3", "rs1", "rs2"], HOSTVARS, ["198.18.1.0/24", "198.18.2.0/24"])
    assert result == [{"host": "rs3", "address": "198.18.2.23"}, {"host": "rs1", "address": "198.18.1.21"},
                      {"host": "rs2", "address": "198.18.1.22"}]


def test_a_single_network_string_is_accepted():
    assert lvs_storage_clients(["rs2"], HOSTVARS, "198.18.1.0/24") == [{"host": "rs2", "address": "198.18.1.22"}]


def test_within_the_export_network_passes():
    assert len(lvs_storage_clients(["rs1", "rs2"], HOSTVARS, ["198.18.1.0/24"], within=["198.18.1.0/25"])) == 2


@pytest.mark.parametrize("hosts, networks, within, message", [
    (["rs1", "rs2"], ["198.18.1.0/24"], ["203.0.113.0/24"],
     "host rs1 (198.18.1.21) is outside the export network 203.0.113.0/24"),
    (["rs3"], ["198.18.1.0/24"], [], "host rs3 has no address in the storage networks 198.18.1.0/24"),
    (["bare"], ["198.18.1.0/24"], [], "host bare: lvs_interfaces is not set"),
    (["ghost"], ["198.18.1.0/24"], [], "host ghost is not in the inventory"),
    (["rs1"], ["198.18.1.0/24", "198.18.0.0/24"], [], "host rs1 has several addresses in the storage networks"),
    (["rs1"], ["198.18.1.1/24"], [], "networks '198.18.1.1/24' is not a network"),
    (["rs1"], [], [], "no storage network given"),
])
def test_bad_input_names_the_host_or_network(hosts, networks, within, message):
    with pytest.raises(AnsibleFilterError) as error:
        lvs_storage_clients(hosts, HOSTVARS, networks, within=within)
    assert message in str(error.value)
