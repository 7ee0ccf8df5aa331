# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: lvs_drift_vips
short_description: Drift lines for VIP placement over the directors
version_added: 0.1.0
author:
  - lvs.cluster maintainers (!UNKNOWN)
description:
  - Every VIP and floating NAT gateway of the model must be held by exactly one director, the VRRP master of its
    instance by priority (the director whose P(lvs.cluster.lvs_director_view#filter) starts it as C(MASTER)).
  - Returns one line per VIP placed otherwise, C(cluster VIP ADDRESS) then a colon and
    C(wanted on DIRECTOR (...), found on ...).
positional: _input
options:
  _input:
    description:
      - Maps each director's name to C(view) (its P(lvs.cluster.lvs_director_view#filter)) and C(addresses)
        (the parsed output of C(ip -j address show) on it).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Check where the VIPs are
  ansible.builtin.debug:
    msg: >-
      {{ dict(groups['directors'] | zip(groups['directors'] | map('extract', hostvars, '__lvs_drift_director')))
         | lvs.cluster.lvs_drift_vips }}
"""

RETURN = r"""
_value:
  description: One line per misplaced VIP, empty when each is on its master.
  type: list
  elements: str
  sample: ["cluster VIP 198.51.100.100: wanted on director1 (the VRRP master of VI_1), found on director1, director2"]
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.module_utils._lvs_drift import vip_drift


def lvs_drift_vips(directors):
    """{director: {view, addresses}} -> drift lines."""
    try:
        return vip_drift(directors)
    except (TypeError, KeyError, AttributeError) as exc:
        raise AnsibleFilterError("lvs.cluster.lvs_drift_vips: %s" % exc) from None


class FilterModule(object):
    """lvs.cluster.lvs_drift_vips"""

    def filters(self):
        return {"lvs_drift_vips": lvs_drift_vips}
