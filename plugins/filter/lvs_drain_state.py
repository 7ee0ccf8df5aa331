# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: lvs_drain_state
short_description: The directors' drain state after draining or restoring one real server
version_added: 0.1.0
author:
  - lvs.cluster maintainers (!UNKNOWN)
description:
  - Takes the directors' current drain state (the content of C(/etc/lvs-cluster/drain.json), or V(null)) and
    returns the state after draining (O(drain=true)) or restoring one real server in some services or all.
  - The state names real servers by inventory host and services by IPVS key; V(["*"]) means every service the
    host is a real server of, including services added while it is drained. The director role renders it
    through P(lvs.cluster.lvs_director_view#filter).
positional: _input, host, keys
options:
  _input:
    description: The current state (V({version, drained}) or V(null)).
    type: dict
    required: true
  host:
    description: The real server's inventory host name.
    type: str
    required: true
  keys:
    description: The IPVS service keys to drain or restore; empty - every service of the host.
    type: list
    elements: str
    required: true
  drain:
    description: V(true) to drain, V(false) to restore.
    type: bool
    default: true
  host_keys:
    description: Every service key of the host, needed to restore one service of a host drained in all of them.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: The state after draining rs1 in every service
  ansible.builtin.set_fact:
    __state: "{{ current_state | lvs.cluster.lvs_drain_state('rs1', []) }}"
"""

RETURN = r"""
_value:
  description: The new state, as the state file holds it.
  type: dict
  contains:
    version:
      description: The format's version.
      type: int
      sample: 1
    drained:
      description: Drained hosts and their service keys (V(["*"]) - every service), sorted.
      type: dict
      sample: {rs1: ["*"], rs2: [tcp/198.51.100.100:80]}
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.module_utils._lvs_drain import state_document, update_state
from ansible_collections.lvs.cluster.plugins.module_utils._lvs_model import LVSModelError


def lvs_drain_state(state, host, keys, drain=True, host_keys=None):
    """Current drain state -> the state after the drain or restore (see RETURN)."""
    try:
        return state_document(update_state(state, host, list(keys or []), drain, list(host_keys or [])))
    except LVSModelError as exc:
        raise AnsibleFilterError("lvs.cluster.lvs_drain_state: %s" % exc) from None


class FilterModule(object):
    """lvs.cluster.lvs_drain_state"""

    def filters(self):
        return {"lvs_drain_state": lvs_drain_state}
