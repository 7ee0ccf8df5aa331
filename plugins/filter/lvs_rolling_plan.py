# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: lvs_rolling_plan
short_description: The real servers a rolling maintenance takes, in order, and what is wrong with the input
version_added: 0.1.0
author:
  - lvs.cluster maintainers (!UNKNOWN)
description:
  - Takes the output of P(lvs.cluster.lvs_services#filter) and the operator's choice of real servers (empty - every
    real server of some service) and returns them in the order of the C(real_servers) group.
  - Every problem is returned in RV(_value.errors), naming the input - a host that is not in the inventory or is a
    real server of no service, a host listed twice, and a host whose drain would leave a service below its quorum
    (its last real server; servers drained outside this run count as drained). C(playbooks/rolling_maintenance.yml)
    asserts on it before any change.
positional: _input, groups, hosts
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
  hosts:
    description: The real servers, by inventory host name (a list, or a comma-separated string); empty - all.
    type: raw
  state:
    description: The directors' current drain state (C(/etc/lvs-cluster/drain.json)).
    type: dict
seealso:
  - plugin: lvs.cluster.lvs_drain_targets
    plugin_type: filter
"""

EXAMPLES = r"""
- name: The plan
  ansible.builtin.debug:
    msg: "{{ lvs_virtual_services | lvs.cluster.lvs_services(hostvars, groups) | lvs.cluster.lvs_rolling_plan(groups, []) }}"
"""

RETURN = r"""
_value:
  description: The plan.
  type: dict
  contains:
    hosts:
      description: The real servers, one at a time in this order; empty when there are errors.
      type: list
      elements: str
      sample: [rs1, rs2]
    errors:
      description: What is wrong with the input, one line each.
      type: list
      elements: str
      sample: ["real server: rs9 is not in the inventory (real servers: rs1, rs2)"]
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.module_utils._lvs_model import LVSModelError
from ansible_collections.lvs.cluster.plugins.module_utils._lvs_rolling import rolling_plan


def lvs_rolling_plan(services, groups, hosts=None, state=None):
    """Normalized services -> {hosts, errors} (see RETURN)."""
    try:
        return rolling_plan(services, groups, hosts, state)
    except LVSModelError as exc:
        raise AnsibleFilterError("lvs.cluster.lvs_rolling_plan: %s" % exc) from None


class FilterModule(object):
    """lvs.cluster.lvs_rolling_plan"""

    def filters(self):
        return {"lvs_rolling_plan": lvs_rolling_plan}
