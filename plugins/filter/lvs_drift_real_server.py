# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: lvs_drift_real_server
short_description: Drift lines for a real server's sysctls and VIP devices
version_added: 0.1.0
author:
  - lvs.cluster maintainers (!UNKNOWN)
description:
  - Compares what the C(lvs.cluster.real_server) role sets from P(lvs.cluster.lvs_real_server_view#filter) - the
    sysctls (C(arp_ignore), C(arp_announce), C(rp_filter)), the DR device with exactly the DR VIPs and NOARP, the
    tunnel devices with exactly their VIPs - with what the host holds.
  - Returns one line per difference, C(HOST OBJECT) then a colon and C(wanted WANTED, found FOUND).
positional: _input, host, sysctls, addresses
options:
  _input:
    description: The host's P(lvs.cluster.lvs_real_server_view#filter).
    type: dict
    required: true
  host:
    description: The host's name, the first word of each line.
    type: str
    required: true
  sysctls:
    description: Each sysctl of the view by name, with its live value (V(null) when the key does not exist).
    type: dict
    required: true
  addresses:
    description: The parsed output of C(ip -j address show).
    type: list
    elements: dict
    required: true
  dr_interface:
    description: The DR device (C(lvs_real_server_dr_interface)).
    type: str
    default: lvs-dr
  arp_filter:
    description: ARP is suppressed by arptables, so the ARP sysctls are not wanted.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Compare the host with its view
  ansible.builtin.debug:
    msg: "{{ view | lvs.cluster.lvs_drift_real_server(inventory_hostname, live_sysctls, ip_json) }}"
"""

RETURN = r"""
_value:
  description: One line per difference, empty when the host is as the role sets it.
  type: list
  elements: str
  sample: ["rs1 sysctl net.ipv4.conf.eth1.arp_ignore: wanted 1, found 0"]
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.module_utils._lvs_drift import real_server_drift


def lvs_drift_real_server(view, host, sysctls, addresses, dr_interface="lvs-dr", arp_filter=False):
    """A real server's view and live state -> drift lines."""
    try:
        return real_server_drift(host, view, sysctls, addresses, dr_interface=dr_interface,
                                 arp_filter=bool(arp_filter))
    except (TypeError, KeyError, AttributeError) as exc:
        raise AnsibleFilterError("lvs.cluster.lvs_drift_real_server: %s" % exc) from None


class FilterModule(object):
    """lvs.cluster.lvs_drift_real_server"""

    def filters(self):
        return {"lvs_drift_real_server": lvs_drift_real_server}
