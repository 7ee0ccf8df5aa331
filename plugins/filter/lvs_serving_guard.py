# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: lvs_serving_guard
short_description: Whether the other real servers carry each service while one is taken out, from the kernel's table
version_added: 0.1.0
author:
  - lvs.cluster maintainers (!UNKNOWN)
description:
  - Takes the result of P(lvs.cluster.ipvs_info#module) (read with destinations) and the targets of
    P(lvs.cluster.lvs_drain_targets#filter) (one real server), and returns an error for every service that would
    be left with no other destination of weight above V(0) - the quorum guard of a rolling maintenance at run
    time (a real server whose health check failed is not in the table, or at weight V(0)).
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
  director:
    description: The director's name, for the messages.
    type: str
"""

EXAMPLES = r"""
- name: The others carry each service
  ansible.builtin.assert:
    that: __errors | length == 0
    fail_msg: "{{ __errors | join('; ') }}"
  vars:
    __errors: "{{ ipvs | lvs.cluster.lvs_serving_guard(drain.targets, inventory_hostname) }}"
"""

RETURN = r"""
_value:
  description: One line per service left without a serving real server; empty when the server can go.
  type: list
  elements: str
"""

from ansible_collections.lvs.cluster.plugins.module_utils._lvs_rolling import serving_guard


def lvs_serving_guard(ipvs, targets, director=None):
    """ipvs_info result -> [errors] (see RETURN)."""
    return serving_guard(ipvs, targets, director)


class FilterModule(object):
    """lvs.cluster.lvs_serving_guard"""

    def filters(self):
        return {"lvs_serving_guard": lvs_serving_guard}
