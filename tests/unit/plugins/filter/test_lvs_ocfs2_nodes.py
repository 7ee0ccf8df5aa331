# -*- coding: utf-8 -*-
# Copyright: (c) 2026, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""lvs_ocfs2_nodes: the O2CB node stanzas (name from uname -n, stable numbers) and the errors that name the host."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.filter.lvs_ocfs2_nodes import FilterModule, lvs_ocfs2_nodes

CLIENTS = [{"host": "rs1", "address": "198.18.1.21"}, {"host": "rs2", "address": "198.18.1.22"},
           {"host": "rs3", "address": "198.18.1.23"}]


def hostvars(**overrides):
    result = dict((c["host"], {"ansible_facts": {"nodename": c["host"] + "-node"}}) for c in CLIENTS)
    for host, variables in overrides.items():
        result[host].update(variables)
    return result


def test_registered():
    assert FilterModule().filters()["lvs_ocfs2_nodes"] is lvs_ocfs2_nodes


def test_names_come_from_each_hosts_uname_and_numbers_from_its_position():
    assert lvs_ocfs2_nodes(CLIENTS, hostvars()) == [
        {"host": "rs1", "name": "rs1-node", "number": 0, "address": "198.18.1.21"},
        {"host": "rs2", "name": "rs2-node", "number": 1, "address": "198.18.1.22"},
        {"host": "rs3", "name": "rs3-node", "number": 2, "address": "198.18.1.23"}]


def test_an_explicit_name_and_number_win():
    nodes = lvs_ocfs2_nodes(CLIENTS, hostvars(rs2={"lvs_ocfs2_node_name": "web-b", "lvs_ocfs2_node_number": "9"}))
    assert nodes[1] == {"host": "rs2", "name": "web-b", "number": 9, "address": "198.18.1.22"}


def test_no_nodes_is_an_empty_list():
    assert lvs_ocfs2_nodes([], {}) == []


@pytest.mark.parametrize("overrides, message", [
    ({"rs2": {"ansible_facts": {}}}, "host rs2: no node name"),
    ({"rs3": {"lvs_ocfs2_node_name": "x" * 65}}, "host rs3: node name"),
    ({"rs3": {"lvs_ocfs2_node_name": "two words"}}, "host rs3: node name 'two words'"),
    ({"rs3": {"lvs_ocfs2_node_name": "rs1-node"}}, "hosts rs1 and rs3 have the same node name 'rs1-node'"),
    ({"rs3": {"lvs_ocfs2_node_number": 0}}, "hosts rs1 and rs3 have the same node number 0"),
    ({"rs1": {"lvs_ocfs2_node_number": 255}}, "host rs1: lvs_ocfs2_node_number 255 is outside 0-254"),
    ({"rs1": {"lvs_ocfs2_node_number": -1}}, "host rs1: lvs_ocfs2_node_number -1 is outside 0-254"),
    ({"rs1": {"lvs_ocfs2_node_number": "one"}}, "host rs1: lvs_ocfs2_node_number 'one' is not a number"),
    ({"rs1": {"lvs_ocfs2_node_number": True}}, "host rs1: lvs_ocfs2_node_number True is not a number"),
])
def test_bad_nodes_are_refused_naming_the_host(overrides, message):
    with pytest.raises(AnsibleFilterError) as error:
        lvs_ocfs2_nodes(CLIENTS, hostvars(**overrides))
    assert message in str(error.value)


def test_more_than_255_nodes_are_refused():
    clients = [{"host": "h%d" % i, "address": "198.18.1.1"} for i in range(256)]
    with pytest.raises(AnsibleFilterError, match="256 nodes; O2CB takes at most 255"):
        lvs_ocfs2_nodes(clients, dict((c["host"], {}) for c in clients))
