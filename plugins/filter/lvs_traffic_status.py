# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: lvs_traffic_status
short_description: Whether a restored real server gets new connections again, from two ipvs_info readings
version_added: 0.1.0
author:
  - lvs.cluster maintainers (!UNKNOWN)
description:
  - Takes two results of P(lvs.cluster.ipvs_info#module) read with destinations and stats (before and after) and
    the targets of P(lvs.cluster.lvs_drain_targets#filter), and compares the connection counters.
positional: _input, after, targets
options:
  _input:
    description: The earlier ipvs_info result (or its C(services)).
    type: raw
    required: true
  after:
    description: The later ipvs_info result (or its C(services)).
    type: raw
    required: true
  targets:
    description: The C(targets) of P(lvs.cluster.lvs_drain_targets#filter).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Carrying traffic
  ansible.builtin.debug:
    msg: "{{ (before | lvs.cluster.lvs_traffic_status(after, drain.targets)).report }}"
"""

RETURN = r"""
_value:
  description: The comparison.
  type: dict
  contains:
    carrying:
      description: Every target with an inventory weight above 0 got a new connection between the readings.
      type: bool
    idle:
      description: No target's service got any new connection (nothing to carry on this director).
      type: bool
    report:
      description: One line per target - C(web-nat tcp/198.51.100.102:8080 -> 198.18.1.21:80 - 4 of 6 new connections).
      type: list
      elements: str
"""

from ansible_collections.lvs.cluster.plugins.module_utils._lvs_rolling import traffic_status


def lvs_traffic_status(before, after, targets):
    """Two ipvs_info results -> {carrying, idle, report} (see RETURN)."""
    return traffic_status(before, after, targets)


class FilterModule(object):
    """lvs.cluster.lvs_traffic_status"""

    def filters(self):
        return {"lvs_traffic_status": lvs_traffic_status}
