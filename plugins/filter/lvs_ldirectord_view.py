# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: lvs_ldirectord_view
short_description: What ldirectord can render of a director view, and what it cannot
version_added: 0.1.0
author:
  - lvs.cluster maintainers (!UNKNOWN)
description:
  - Takes the output of P(lvs.cluster.lvs_director_view#filter) and returns its virtual servers with one
    service-wide health check each, as ldirectord runs them, and the list of what ldirectord cannot express.
  - ldirectord checks every real server of a service the same way; its C(checkport) defaults to each real
    server's own port, so a check whose port is the real server's port (the model's default) becomes a check
    without a port, and a NAT service whose real servers listen on another port than the VIP still has one check.
  - RV(_value.problems) lists, naming the service and field, real servers whose checks differ, connection
    thresholds, quorum or hysteresis, HTTP digests, expected-status lists other than C([200]) and dynamic
    weights. The director role refuses the C(ldirectord) engine before writing anything when it is not empty.
positional: _input
options:
  _input:
    description: The output of P(lvs.cluster.lvs_director_view#filter).
    type: dict
    required: true
seealso:
  - plugin: lvs.cluster.lvs_director_view
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Refuse what ldirectord cannot render
  ansible.builtin.assert:
    that: __ldirectord.problems | length == 0
    fail_msg: "ldirectord cannot render: {{ __ldirectord.problems | join('; ') }}"
  vars:
    __ldirectord: "{{ director_view | lvs.cluster.lvs_ldirectord_view }}"
"""

RETURN = r"""
_value:
  description: The services to render and the problems.
  type: dict
  contains:
    virtual_servers:
      description: RV(lvs.cluster.lvs_director_view#filter:_value.virtual_servers), each with C(health_check) the
        one check ldirectord runs for the service (C(port) null when it is each real server's own port).
      type: list
      elements: dict
    problems:
      description: What ldirectord cannot express, one string per item; empty when it can render everything.
      type: list
      elements: str
      sample:
        - "web-nat.real_servers: the real servers' health checks differ (ldirectord runs one check per service)"
"""

from ansible_collections.lvs.cluster.plugins.module_utils._lvs_ldirectord import ldirectord_view


def lvs_ldirectord_view(director):
    """lvs_director_view output -> {virtual_servers, problems} (see RETURN)."""
    return ldirectord_view(director)


class FilterModule(object):
    """lvs.cluster.lvs_ldirectord_view"""

    def filters(self):
        return {"lvs_ldirectord_view": lvs_ldirectord_view}
