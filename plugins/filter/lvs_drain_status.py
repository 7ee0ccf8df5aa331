# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: lvs_drain_status
short_description: Whether a drain or restore is complete, from what ipvs_info read, with a per-service report
version_added: 0.1.0
author:
  - lvs.cluster maintainers (!UNKNOWN)
description:
  - Takes the result of P(lvs.cluster.ipvs_info#module) (read with destinations) and the targets of
    P(lvs.cluster.lvs_drain_targets#filter), and says for each target what the kernel holds.
  - A drain is complete when every target is at weight V(0) with no active connection and, in a persistent
    service (with O(wait_persistence)), no persistence template left; a target the kernel no longer lists (a
    failed health check took it out) counts as drained. A restore is complete when every target is back at
    its inventory weight.
positional: _input, targets
options:
  _input:
    description: The registered result of P(lvs.cluster.ipvs_info#module), or its C(services).
    type: raw
    required: true
  targets:
    description: The C(targets) of P(lvs.cluster.lvs_drain_targets#filter).
    type: list
    elements: dict
    required: true
  restore:
    description: Measure a restore (inventory weights) instead of a drain.
    type: bool
    default: false
  wait_persistence:
    description: In persistent services, a drain also waits for the persistence templates to expire.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Wait until rs1 has no active connection left
  lvs.cluster.ipvs_info:
    services: "{{ drain.service_keys }}"
    gather: [destinations]
  register: ipvs
  until: (ipvs | lvs.cluster.lvs_drain_status(drain.targets)).done
  retries: 150
  delay: 2
"""

RETURN = r"""
_value:
  description: The status.
  type: dict
  contains:
    weight_applied:
      description: Every target has the weight the drain (V(0)) or restore (the inventory's) gives it.
      type: bool
    done:
      description: The drain or restore is complete (see the description).
      type: bool
    services:
      description:
        - One row per target - C(name), C(key), C(destination), C(present) (in the kernel's table), C(weight),
          C(expected_weight), C(active_connections), C(inactive_connections), C(persistent_connections),
          C(weight_applied), C(done).
      type: list
      elements: dict
    active:
      description: Active connections left, over all targets.
      type: int
    inactive:
      description: Inactive connections (closing, TIME_WAIT) left, over all targets.
      type: int
    persistent:
      description: Persistence templates left, over all targets.
      type: int
    report:
      description: One line per row.
      type: list
      elements: str
      sample: ["web-dr tcp/198.51.100.100:80 -> 198.51.100.21:80: weight 0, 0 active, 4 inactive, 0 persistent"]
"""

from ansible_collections.lvs.cluster.plugins.module_utils._lvs_drain import drain_status


def lvs_drain_status(ipvs, targets, restore=False, wait_persistence=True):
    """ipvs_info's result -> the drain or restore status (see RETURN)."""
    return drain_status(ipvs, targets, restore=restore, wait_persistence=wait_persistence)


class FilterModule(object):
    """lvs.cluster.lvs_drain_status"""

    def filters(self):
        return {"lvs_drain_status": lvs_drain_status}
