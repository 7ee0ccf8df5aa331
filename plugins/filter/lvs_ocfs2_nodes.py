# -*- coding: utf-8 -*-
# Copyright: (c) 2026, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: lvs_ocfs2_nodes
short_description: The O2CB cluster's node list (name, number, address) from the storage clients
version_added: 0.1.0
author:
  - lvs.cluster maintainers (!UNKNOWN)
description:
  - Takes the output of P(lvs.cluster.lvs_storage_clients#filter) (one C(host) and C(address) per cluster node)
    and returns the node stanzas of C(/etc/ocfs2/cluster.conf).
  - The node name is the host's own C(uname -n) (its fact C(ansible_facts.nodename), or C(lvs_ocfs2_node_name)
    when set), since O2CB finds the local node by that name. The node number is C(lvs_ocfs2_node_number) when set,
    else the host's position in the list; a running cluster keeps its numbers, so new nodes are appended.
  - Fails, naming the host, when a name is missing, too long or taken twice, or a number is outside 0-254 or
    taken twice.
positional: _input, hostvars
options:
  _input:
    description: Output of P(lvs.cluster.lvs_storage_clients#filter) for the cluster nodes.
    type: list
    elements: dict
    required: true
  hostvars:
    description: The C(hostvars) magic variable.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: The O2CB nodes
  ansible.builtin.set_fact:
    __nodes: >-
      {{ groups['real_servers'] | lvs.cluster.lvs_storage_clients(hostvars, ['198.18.1.0/24'])
         | lvs.cluster.lvs_ocfs2_nodes(hostvars) }}
"""

RETURN = r"""
_value:
  description: One entry per node, in the order given, with C(host), C(name), C(number) and C(address).
  type: list
  elements: dict
  sample: [{host: rs1, name: rs1, number: 0, address: 198.18.1.21}]
"""

from ansible.errors import AnsibleFilterError

MAX_NODES = 255
MAX_NAME = 64


def _fail(message):
    raise AnsibleFilterError("lvs.cluster.lvs_ocfs2_nodes: " + message)


def _number(host, value):
    if isinstance(value, bool):
        _fail("host %s: lvs_ocfs2_node_number %r is not a number from 0 to %d" % (host, value, MAX_NODES - 1))
    try:
        number = int(str(value).strip())
    except ValueError:
        _fail("host %s: lvs_ocfs2_node_number %r is not a number from 0 to %d" % (host, value, MAX_NODES - 1))
    if not 0 <= number < MAX_NODES:
        _fail("host %s: lvs_ocfs2_node_number %d is outside 0-%d" % (host, number, MAX_NODES - 1))
    return number


def lvs_ocfs2_nodes(clients, hostvars):
    """[{host, address}] -> [{host, name, number, address}] (see RETURN)."""
    if len(clients or []) > MAX_NODES:
        _fail("%d nodes; O2CB takes at most %d" % (len(clients), MAX_NODES))
    nodes, names, numbers = [], {}, {}
    for position, client in enumerate(clients or []):
        host = client["host"]
        variables = hostvars[host]
        name = variables.get("lvs_ocfs2_node_name") or (variables.get("ansible_facts") or {}).get("nodename")
        if not name:
            _fail("host %s: no node name (gather its facts, or set lvs_ocfs2_node_name to its `uname -n`)" % host)
        name = str(name)
        if len(name) > MAX_NAME or any(c.isspace() for c in name):
            _fail("host %s: node name %r is longer than %d characters or has a space" % (host, name, MAX_NAME))
        raw = variables.get("lvs_ocfs2_node_number")
        number = position if raw is None or raw == "" else _number(host, raw)
        if name in names:
            _fail("hosts %s and %s have the same node name %r" % (names[name], host, name))
        if number in numbers:
            _fail("hosts %s and %s have the same node number %d (set lvs_ocfs2_node_number)"
                  % (numbers[number], host, number))
        names[name] = numbers[number] = host
        nodes.append({"host": host, "name": name, "number": number, "address": client["address"]})
    return nodes


class FilterModule(object):
    """lvs.cluster.lvs_ocfs2_nodes"""

    def filters(self):
        return {"lvs_ocfs2_nodes": lvs_ocfs2_nodes}
