# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: lvs_report
short_description: The cluster report's data - the model's services joined with the directors' live IPVS tables
version_added: 0.1.0
author:
  - lvs.cluster maintainers (!UNKNOWN)
description:
  - Joins each virtual service of the model with what the kernel of the director holding its VIP reports
    (P(lvs.cluster.ipvs_info#module), gathered with stats) - per real server its forwarding method, weight, health
    (C(up), C(drained), C(down (weight 0)), C(down (not in the table)); destinations the model does not know are
    listed as C(not in the inventory)), active, inactive and persistent connections, counters and rates - and adds
    the VRRP master of each instance and the storage mounts of each real server.
  - The result is what C(playbooks/report.yml) writes as JSON; P(lvs.cluster.lvs_report_table#filter) and
    P(lvs.cluster.lvs_report_svg#filter) draw it.
positional: _input
options:
  _input:
    description:
      - Maps each director's name to C(view) (its P(lvs.cluster.lvs_director_view#filter)), C(addresses) (the
        parsed output of C(ip -j address show)) and C(ipvs) (the registered result of
        P(lvs.cluster.ipvs_info#module)).
    type: dict
    required: true
  real_servers:
    description: Maps each real server to its mounts, the parsed output of C(findmnt -J).
    type: dict
    default: {}
  generated:
    description: When the data was read (any text, for the reader).
    type: str
"""

EXAMPLES = r"""
- name: Build the report
  ansible.builtin.set_fact:
    report: "{{ directors_data | lvs.cluster.lvs_report(mounts, now(utc=true).isoformat()) }}"
"""

RETURN = r"""
_value:
  description: The report.
  type: dict
  contains:
    version:
      description: The format's version, V(1).
      type: int
    generated:
      description: O(generated).
      type: str
    directors:
      description: The directors' names.
      type: list
      elements: str
    vrrp:
      description:
        - One entry per VRRP instance - C(name), C(master) (the one director holding all its addresses, V(null)
          when none or several do), C(holders), C(master_by_priority), C(addresses).
      type: list
      elements: dict
    services:
      description:
        - One entry per virtual service - C(name), C(key), C(family), C(vip), C(protocol), C(port), C(fwmark),
          C(scheduler), C(forwarding), C(director) (holding the VIP), C(in_table), the counters C(connections),
          C(in_packets), C(out_packets), C(in_bytes), C(out_bytes), C(cps), C(in_bps), C(out_bps), and
          C(real_servers), each with C(host), C(destination), C(forwarding), C(weight), C(wanted_weight),
          C(health), C(active_connections), C(inactive_connections), C(persistent_connections) and the same
          counters.
      type: list
      elements: dict
    storage:
      description: Each real server's mounts - C(target), C(source), C(fstype).
      type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.module_utils._lvs_report import LVSReportError, cluster_report


def lvs_report(directors, real_servers=None, generated=None):
    """Directors' views, addresses and IPVS tables (and real servers' mounts) -> the report."""
    try:
        return cluster_report(directors, real_servers or {}, generated)
    except (LVSReportError, TypeError, KeyError, AttributeError) as exc:
        raise AnsibleFilterError("lvs.cluster.lvs_report: %s" % exc) from None


class FilterModule(object):
    """lvs.cluster.lvs_report"""

    def filters(self):
        return {"lvs_report": lvs_report}
