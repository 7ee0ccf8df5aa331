# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: lvs_service_errors
short_description: Every inconsistency of the cluster's virtual services, as a list (for preflight checks)
version_added: 0.1.0
author:
  - lvs.cluster maintainers (!UNKNOWN)
description:
  - Runs the same validation as P(lvs.cluster.lvs_services#filter) and returns its errors instead of raising
    them, one string per error, each starting with the path of the offending item and naming the service and
    field (such as C(lvs_virtual_services[2] (web-nat\).forwarding)) and, where one is involved, the host.
  - An empty list means the input is consistent. Roles use it in a C(run_once) preflight assertion before
    they change any host.
positional: _input, hostvars, groups
options:
  _input:
    description: The virtual services, C(lvs_virtual_services) (see P(lvs.cluster.lvs_services#filter)).
    type: list
    elements: dict
    required: true
  hostvars:
    description: The C(hostvars) magic variable.
    type: dict
    required: true
  groups:
    description: The C(groups) magic variable.
    type: dict
    required: true
  director_group:
    description: The inventory group of the directors.
    type: str
    default: directors
seealso:
  - plugin: lvs.cluster.lvs_services
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Preflight - the virtual services are consistent
  ansible.builtin.assert:
    that: __errors | length == 0
    fail_msg: "{{ __errors | join('\n') }}"
  vars:
    __errors: "{{ lvs_virtual_services | lvs.cluster.lvs_service_errors(hostvars, groups) }}"
  run_once: true
"""

RETURN = r"""
_value:
  description: The errors, one per item; empty when the input is consistent.
  type: list
  elements: str
  sample:
    - "lvs_virtual_services[0] (web-dr).real_servers[1].host: rs9 is not in the inventory"
"""

from ansible_collections.lvs.cluster.plugins.module_utils._lvs_model import DIRECTOR_GROUP
from ansible_collections.lvs.cluster.plugins.module_utils._lvs_services import service_errors


def lvs_service_errors(virtual_services, hostvars, groups, director_group=DIRECTOR_GROUP):
    """lvs_virtual_services -> the list of its errors (see RETURN)."""
    return service_errors(virtual_services, hostvars, groups, director_group)


class FilterModule(object):
    """lvs.cluster.lvs_service_errors"""

    def filters(self):
        return {"lvs_service_errors": lvs_service_errors}
