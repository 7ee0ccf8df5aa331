# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: lvs_member_targets
short_description: The real servers joining or leaving (one, or every one of a service) and their destinations
version_added: 0.1.0
author:
  - lvs.cluster maintainers (!UNKNOWN)
description:
  - Takes the output of P(lvs.cluster.lvs_services#filter) and one real server (optionally in one service), or
    with no O(host) one whole service, and returns the real servers and their IPVS destinations, with every error
    in the input named (as P(lvs.cluster.lvs_drain_targets#filter)); a real server leaving alone must not leave a
    service below its quorum.
positional: _input, groups, host, service
options:
  _input:
    description: The output of P(lvs.cluster.lvs_services#filter).
    type: list
    elements: dict
    required: true
  groups:
    description: The C(groups) magic variable.
    type: dict
    required: true
  host:
    description: The real server, by inventory host name; empty - every real server of O(service).
    type: str
  service:
    description: A service name or IPVS key.
    type: str
  state:
    description: The directors' current drain state, for the quorum check.
    type: dict
  leave:
    description: V(true) - the real server leaves (the quorum is checked).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Who joins
  ansible.builtin.debug:
    msg: "{{ (lvs_virtual_services | lvs.cluster.lvs_services(hostvars, groups) | lvs.cluster.lvs_member_targets(groups, 'rs2')).hosts }}"
"""

RETURN = r"""
_value:
  description: The members and the errors.
  type: dict
  contains:
    hosts:
      description: The real servers joining or leaving.
      type: list
      elements: str
    targets:
      description: Their destinations, as the C(targets) of P(lvs.cluster.lvs_drain_targets#filter).
      type: list
      elements: dict
    errors:
      description: What is wrong with the input, one line each.
      type: list
      elements: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.module_utils._lvs_model import LVSModelError
from ansible_collections.lvs.cluster.plugins.module_utils._lvs_rolling import member_targets


def lvs_member_targets(services, groups, host=None, service=None, state=None, leave=False):
    """Normalized services -> {hosts, targets, errors} (see RETURN)."""
    try:
        return member_targets(services, groups, host or None, service or None, state, leave)
    except LVSModelError as exc:
        raise AnsibleFilterError("lvs.cluster.lvs_member_targets: %s" % exc) from None


class FilterModule(object):
    """lvs.cluster.lvs_member_targets"""

    def filters(self):
        return {"lvs_member_targets": lvs_member_targets}
