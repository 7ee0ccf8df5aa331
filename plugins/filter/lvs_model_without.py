# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: lvs_model_without
short_description: The inventory's virtual services without one real server or one service
version_added: 0.1.0
author:
  - lvs.cluster maintainers (!UNKNOWN)
description:
  - Takes C(lvs_virtual_services) as the inventory writes it and returns it without real server O(host) (in the
    service named O(service), or in every service), or, with no O(host), without the whole service O(service).
  - What C(playbooks/remove_real_server.yml) and C(playbooks/remove_service.yml) converge the directors and the
    real servers to, after the drain.
positional: _input, host, service
options:
  _input:
    description: C(lvs_virtual_services).
    type: list
    elements: dict
    required: true
  host:
    description: The real server, by inventory host name; empty - remove the service O(service).
    type: str
  service:
    description: A service name.
    type: str
"""

EXAMPLES = r"""
- name: The model without rs2
  ansible.builtin.debug:
    msg: "{{ (lvs_virtual_services | lvs.cluster.lvs_model_without('rs2')).virtual_services }}"
"""

RETURN = r"""
_value:
  description: The reduced model and the errors.
  type: dict
  contains:
    virtual_services:
      description: C(lvs_virtual_services) without the real server or the service; empty when there are errors.
      type: list
      elements: dict
    errors:
      description: What is wrong with the input (no such service, a host in no service, a service left without a
        real server), one line each.
      type: list
      elements: str
"""

from ansible_collections.lvs.cluster.plugins.module_utils._lvs_rolling import model_without


def lvs_model_without(virtual_services, host=None, service=None):
    """lvs_virtual_services -> {virtual_services, errors} (see RETURN)."""
    return model_without(virtual_services, host or None, service or None)


class FilterModule(object):
    """lvs.cluster.lvs_model_without"""

    def filters(self):
        return {"lvs_model_without": lvs_model_without}
