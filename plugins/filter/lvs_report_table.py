# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: lvs_report_table
short_description: The cluster report as a text table
version_added: 0.1.0
author:
  - lvs.cluster maintainers (!UNKNOWN)
description:
  - Draws the output of P(lvs.cluster.lvs_report#filter) as text - the VRRP master of each instance, then per
    virtual service one row per real server (destination, host, forwarding method, weight, health, active and
    inactive connections, connections scheduled, connections per second, incoming bytes per second), then the
    storage mounts of each real server.
positional: _input
options:
  _input:
    description: The output of P(lvs.cluster.lvs_report#filter).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Print the report
  ansible.builtin.debug:
    msg: "{{ (report | lvs.cluster.lvs_report_table).splitlines() }}"
"""

RETURN = r"""
_value:
  description: The table, lines joined by newlines.
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.module_utils._lvs_report import report_table


def lvs_report_table(report):
    """The report -> text."""
    try:
        return report_table(report)
    except (TypeError, KeyError, AttributeError) as exc:
        raise AnsibleFilterError("lvs.cluster.lvs_report_table: %s" % exc) from None


class FilterModule(object):
    """lvs.cluster.lvs_report_table"""

    def filters(self):
        return {"lvs_report_table": lvs_report_table}
