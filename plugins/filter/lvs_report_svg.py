# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: lvs_report_svg
short_description: The cluster report as an SVG picture of the topology
version_added: 0.1.0
author:
  - lvs.cluster maintainers (!UNKNOWN)
description:
  - Draws the output of P(lvs.cluster.lvs_report#filter) in five columns - clients, directors (the VRRP master
    highlighted), virtual services, real servers, storage - with an edge per destination labelled with its
    forwarding method, weight and active connections and coloured by health (green up, amber drained, red down or
    not in the inventory), and an edge per storage mount.
  - Written directly as SVG (no graphviz on the controller); the same report gives the same picture.
positional: _input
options:
  _input:
    description: The output of P(lvs.cluster.lvs_report#filter).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Write the picture
  ansible.builtin.copy:
    content: "{{ report | lvs.cluster.lvs_report_svg }}"
    dest: /tmp/lvs-report/topology.svg
    mode: "0644"
  delegate_to: localhost
"""

RETURN = r"""
_value:
  description: The SVG document.
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.module_utils._lvs_report import report_svg


def lvs_report_svg(report):
    """The report -> SVG."""
    try:
        return report_svg(report)
    except (TypeError, KeyError, AttributeError) as exc:
        raise AnsibleFilterError("lvs.cluster.lvs_report_svg: %s" % exc) from None


class FilterModule(object):
    """lvs.cluster.lvs_report_svg"""

    def filters(self):
        return {"lvs_report_svg": lvs_report_svg}
