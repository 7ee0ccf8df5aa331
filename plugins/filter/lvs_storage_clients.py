# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: lvs_storage_clients
short_description: Each host's address on the storage networks, checked against an export network
version_added: 0.1.0
author:
  - lvs.cluster maintainers (!UNKNOWN)
description:
  - For every host in O(_input) (usually C(groups['real_servers'])), picks the one address of its
    C(lvs_interfaces) that lies in one of O(networks) - the address the host talks to the storage tier from.
    The NFS exports, the iSCSI portal and the corosync node list are computed from the result, so no second list
    of addresses has to be kept in sync with the inventory.
  - Fails, naming the host, when a host has no C(lvs_interfaces), no address or more than one address in
    O(networks), or (when O(within) is given) an address outside every network of O(within).
positional: _input, hostvars, networks
options:
  _input:
    description: Inventory host names.
    type: list
    elements: str
    required: true
  hostvars:
    description: The C(hostvars) magic variable.
    type: dict
    required: true
  networks:
    description: The storage networks (V(198.18.1.0/24)); one network or a list.
    type: list
    elements: str
    required: true
  within:
    description:
      - Networks every picked address must lie in (an NFS export network); empty means no check.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: The real servers' addresses on the storage network
  ansible.builtin.set_fact:
    __clients: "{{ groups['real_servers'] | lvs.cluster.lvs_storage_clients(hostvars, ['198.18.1.0/24']) }}"
"""

RETURN = r"""
_value:
  description: One entry per host, in the order given, with C(host) and C(address) (without prefix length).
  type: list
  elements: dict
  sample: [{host: rs1, address: 198.18.1.21}, {host: rs2, address: 198.18.1.22}]
"""

import ipaddress

from ansible.errors import AnsibleFilterError
from ansible.module_utils.six import string_types


def _networks(value, name):
    if isinstance(value, string_types):
        value = [value]
    result = []
    for item in value or []:
        try:
            result.append(ipaddress.ip_network(str(item), strict=True))
        except ValueError as exc:
            raise AnsibleFilterError("lvs.cluster.lvs_storage_clients: %s %r is not a network: %s" % (name, item, exc))
    return result


def _addresses(host, variables):
    interfaces = variables.get("lvs_interfaces")
    if not interfaces:
        raise AnsibleFilterError("lvs.cluster.lvs_storage_clients: host %s: lvs_interfaces is not set" % host)
    for interface in interfaces:
        for address in interface.get("addresses") or []:
            try:
                yield ipaddress.ip_interface(str(address)).ip
            except ValueError:
                raise AnsibleFilterError(
                    "lvs.cluster.lvs_storage_clients: host %s: lvs_interfaces address %r is not an address/prefix"
                    % (host, address))


def lvs_storage_clients(hosts, hostvars, networks, within=None):
    """Host names -> [{host, address}] on the storage networks (see RETURN)."""
    nets = _networks(networks, "networks")
    if not nets:
        raise AnsibleFilterError("lvs.cluster.lvs_storage_clients: no storage network given")
    bounds = _networks(within, "within")
    result = []
    for host in hosts or []:
        if host not in hostvars:
            raise AnsibleFilterError("lvs.cluster.lvs_storage_clients: host %s is not in the inventory" % host)
        found = [a for a in _addresses(host, hostvars[host]) if any(a in n for n in nets)]
        if not found:
            raise AnsibleFilterError(
                "lvs.cluster.lvs_storage_clients: host %s has no address in the storage networks %s"
                % (host, ", ".join(str(n) for n in nets)))
        if len(found) > 1:
            raise AnsibleFilterError(
                "lvs.cluster.lvs_storage_clients: host %s has several addresses in the storage networks (%s); "
                "list only one of its networks" % (host, ", ".join(str(a) for a in found)))
        if bounds and not any(found[0] in n for n in bounds):
            raise AnsibleFilterError(
                "lvs.cluster.lvs_storage_clients: host %s (%s) is outside the export network %s"
                % (host, found[0], ", ".join(str(n) for n in bounds)))
        result.append({"host": host, "address": str(found[0])})
    return result


class FilterModule(object):
    """lvs.cluster.lvs_storage_clients"""

    def filters(self):
        return {"lvs_storage_clients": lvs_storage_clients}
