# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: lvs_drift_ipvs
short_description: Drift lines from the lvs.cluster.ipvs module's plan in check and diff mode
version_added: 0.1.0
author:
  - lvs.cluster maintainers (!UNKNOWN)
description:
  - Takes the registered result of P(lvs.cluster.ipvs#module) run with the wanted table (the director view's
    C(ipvs_services)), C(exclusive=true), in check mode and diff mode, and turns every change the module would make
    into one line, C(HOST OBJECT) then a colon and C(wanted WANTED, found FOUND) - a missing or unknown service, a
    missing or rogue real server, a weight, forwarding method or scheduler that differs.
  - The module's own comparison decides what differs, so the wanted table has one source of truth.
positional: _input, host
options:
  _input:
    description: The registered result of P(lvs.cluster.ipvs#module).
    type: dict
    required: true
  host:
    description: The director's name, the first word of each line.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Compare the kernel's table with the model
  lvs.cluster.ipvs:
    services: "{{ __lvs_director.ipvs_services }}"
    exclusive: true
  check_mode: true
  diff: true
  register: ipvs_plan

- name: Say what differs
  ansible.builtin.debug:
    msg: "{{ ipvs_plan | lvs.cluster.lvs_drift_ipvs(inventory_hostname) }}"
"""

RETURN = r"""
_value:
  description: One line per difference, empty when the table is the model's.
  type: list
  elements: str
  sample: ["director1 IPVS service tcp/198.51.100.100:80 real server 198.51.100.21:80 weight: wanted 1, found 5"]
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.module_utils._lvs_drift import ipvs_drift


def lvs_drift_ipvs(result, host):
    """The ipvs module's check-mode result -> drift lines."""
    try:
        return ipvs_drift(host, result)
    except (TypeError, KeyError, AttributeError) as exc:
        raise AnsibleFilterError("lvs.cluster.lvs_drift_ipvs: %s" % exc) from None


class FilterModule(object):
    """lvs.cluster.lvs_drift_ipvs"""

    def filters(self):
        return {"lvs_drift_ipvs": lvs_drift_ipvs}
