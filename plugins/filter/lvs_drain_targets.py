# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: lvs_drain_targets
short_description: The IPVS destinations a drain or restore of one real server touches, and what is wrong with the input
version_added: 0.1.0
author:
  - lvs.cluster maintainers (!UNKNOWN)
description:
  - Takes the output of P(lvs.cluster.lvs_services#filter) and an operator's choice of real server (an inventory
    host name) and, optionally, one virtual service (its name, or the key of one of its IPVS services), and
    returns one target per IPVS destination of that host in those services.
  - Every problem with the input is returned in RV(_value.errors), naming the offending input - a host that is
    not in the inventory or is a real server of no service, an unknown service, a host that is not a real server
    of the service, and (for a drain, unless O(force)) a drain that would leave a service with less weight than
    its quorum. C(playbooks/drain.yml) and C(playbooks/restore.yml) assert on it before any change.
positional: _input, groups, host
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
    description: The real server, by inventory host name.
    type: str
    required: true
  service:
    description: One virtual service, by name (all its IPVS services) or key (C(tcp/198.51.100.100:80)); omitted
      or empty - every service the host is a real server of.
    type: str
  state:
    description: The directors' current drain state (see P(lvs.cluster.lvs_director_view#filter)), for the quorum
      check - real servers drained already do not count.
    type: dict
  drain:
    description: V(true) for a drain (the quorum is checked), V(false) for a restore.
    type: bool
    default: true
  force:
    description: Drain even when a service would be left with less weight than its quorum.
    type: bool
    default: false
seealso:
  - plugin: lvs.cluster.lvs_drain_state
    plugin_type: filter
  - plugin: lvs.cluster.lvs_drain_status
    plugin_type: filter
"""

EXAMPLES = r"""
- name: What draining rs1 from web-dr touches
  ansible.builtin.assert:
    that: __drain.errors | length == 0
    fail_msg: "{{ __drain.errors | join('\n') }}"
  vars:
    __drain: >-
      {{ lvs_virtual_services | lvs.cluster.lvs_services(hostvars, groups)
         | lvs.cluster.lvs_drain_targets(groups, 'rs1', 'web-dr') }}
"""

RETURN = r"""
_value:
  description: The targets and the errors.
  type: dict
  contains:
    targets:
      description:
        - One per IPVS destination of the host in the selected services - C(name), C(key) (the IPVS service's
          key, as P(lvs.cluster.ipvs_info#module) writes it), C(host), C(destination) (C(ADDRESS:PORT)),
          C(address), C(family), C(port), C(weight) (the inventory's), C(persistent), and C(health_gate), what a
          restore checks first (C(type) V(http), V(https) or V(tcp), C(port), C(timeout), for HTTP C(url),
          C(status), C(virtualhost); V(null) for checks a gate cannot run - dns, misc, none).
      type: list
      elements: dict
    service_keys:
      description: The IPVS service keys of the targets, each once.
      type: list
      elements: str
      sample: [tcp/198.51.100.100:80]
    errors:
      description: What is wrong with the input, one line each; empty when the drain or restore can go ahead.
      type: list
      elements: str
      sample: ["real server: rs9 is not in the inventory (real servers: rs1, rs2, rs3)"]
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.module_utils._lvs_drain import drain_targets
from ansible_collections.lvs.cluster.plugins.module_utils._lvs_model import LVSModelError


def lvs_drain_targets(services, groups, host, service=None, state=None, drain=True, force=False):
    """Normalized services -> {targets, service_keys, errors} for one real server (see RETURN)."""
    try:
        return drain_targets(services, groups, host, service or None, state, drain=drain, force=force)
    except LVSModelError as exc:
        raise AnsibleFilterError("lvs.cluster.lvs_drain_targets: %s" % exc) from None


class FilterModule(object):
    """lvs.cluster.lvs_drain_targets"""

    def filters(self):
        return {"lvs_drain_targets": lvs_drain_targets}
