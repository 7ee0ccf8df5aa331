# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The default lab as the filters see it: hostvars and groups, with the group_vars of inventory/lab.

``LAB_INTERFACES`` mirrors what ``tools/lvs_lab/inventory.py`` writes for ``topologies/default.yml`` (interface
names eth0.., addresses with prefix); test_lvs_lab_inventory.py checks the mirror against the real rendering, so
these tests also run where tools/ is absent (the built collection).
"""

from __future__ import annotations

import copy
import os

import yaml

COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))))
LAB_INVENTORY = os.path.join(COLLECTION_ROOT, "inventory", "lab")

LAB_INTERFACES = {
    "director1": [
        ("eth0", "mgmt", ["198.18.0.11/24"]),
        ("eth1", "front", ["198.51.100.11/24", "2001:db8:100::11/64"]),
        ("eth2", "back", ["198.18.1.11/24", "2001:db8:101::11/64"]),
    ],
    "director2": [
        ("eth0", "mgmt", ["198.18.0.12/24"]),
        ("eth1", "front", ["198.51.100.12/24", "2001:db8:100::12/64"]),
        ("eth2", "back", ["198.18.1.12/24", "2001:db8:101::12/64"]),
    ],
    "rs1": [
        ("eth0", "mgmt", ["198.18.0.21/24"]),
        ("eth1", "front", ["198.51.100.21/24", "2001:db8:100::21/64"]),
        ("eth2", "back", ["198.18.1.21/24", "2001:db8:101::21/64"]),
    ],
    "rs2": [
        ("eth0", "mgmt", ["198.18.0.22/24"]),
        ("eth1", "front", ["198.51.100.22/24", "2001:db8:100::22/64"]),
        ("eth2", "back", ["198.18.1.22/24", "2001:db8:101::22/64"]),
    ],
    "rs3": [
        ("eth0", "mgmt", ["198.18.0.23/24"]),
        ("eth1", "remote", ["198.18.2.23/24", "2001:db8:102::23/64"]),
    ],
    "storage1": [
        ("eth0", "mgmt", ["198.18.0.31/24"]),
        ("eth1", "back", ["198.18.1.31/24", "2001:db8:101::31/64"]),
    ],
}
LAB_GROUPS = {
    "directors": ["director1", "director2"],
    "real_servers": ["rs1", "rs2", "rs3"],
    "storage": ["storage1"],
}


def group_vars(group, name):
    with open(os.path.join(LAB_INVENTORY, "group_vars", group, name)) as handle:
        return yaml.safe_load(handle)


def lab():
    """(lvs_virtual_services, hostvars, groups) of the lab, fresh copies the caller may change.

    ``lvs_interfaces`` is given as its value (what ``"{{ lvs_lab_interfaces }}"`` evaluates to).
    """
    all_vars = group_vars("all", "lvs.yml")
    director_vars = group_vars("directors", "lvs.yml")
    groups = copy.deepcopy(LAB_GROUPS)
    groups["all"] = list(LAB_INTERFACES)
    groups["ungrouped"] = []
    hostvars = {}
    for host, interfaces in LAB_INTERFACES.items():
        lab_interfaces = [{"name": name, "network": network, "addresses": list(addresses)}
                          for name, network, addresses in interfaces]
        host_vars = copy.deepcopy(all_vars)
        host_vars.update(
            inventory_hostname=host,
            ansible_host=interfaces[0][2][0].split("/", 1)[0],
            lvs_lab_interfaces=lab_interfaces,
            lvs_interfaces=copy.deepcopy(lab_interfaces),
        )
        if host in groups["directors"]:
            host_vars.update(copy.deepcopy(director_vars))
        hostvars[host] = host_vars
    return copy.deepcopy(all_vars["lvs_virtual_services"]), hostvars, groups


def set_director_var(hostvars, name, value):
    """Set a cluster-wide variable on every director (as group_vars/directors would)."""
    for director in LAB_GROUPS["directors"]:
        if value is None:
            hostvars[director].pop(name, None)
        else:
            hostvars[director][name] = copy.deepcopy(value)
