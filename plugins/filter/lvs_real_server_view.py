# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: lvs_real_server_view
short_description: What one real server needs from the normalized virtual services
version_added: 0.1.0
author:
  - lvs.cluster maintainers (!UNKNOWN)
description:
  - Takes the output of P(lvs.cluster.lvs_services#filter) and returns what one host needs to serve the
    services it is a real server (or sorry server) of - a real server learns its VIPs and forwarding methods
    from the services it appears in, with no second list to keep in sync.
  - For direct routing, the VIPs to hold on a non-ARPing interface (V(/32) or V(/128)) and the interfaces whose
    ARP behaviour must change; for tunnelling, the VIPs, the tunnel devices and types, and the interfaces whose
    reverse-path filter must be relaxed; for NAT, the floating gateways to route replies through; and the ports
    it must serve.
  - Every part is present with empty lists for the methods the host takes no part in (a host used only as a NAT
    backend gets no DR or TUN settings), and a host in no service gets an all-empty view, so a role can remove
    what is no longer needed.
positional: _input, hostvars, groups, host
options:
  _input:
    description: The output of P(lvs.cluster.lvs_services#filter).
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
  host:
    description: The inventory host to render for (usually C(inventory_hostname)).
    type: str
    required: true
  director_group:
    description: The inventory group of the directors.
    type: str
    default: directors
seealso:
  - plugin: lvs.cluster.lvs_services
    plugin_type: filter
  - plugin: lvs.cluster.lvs_director_view
    plugin_type: filter
"""

EXAMPLES = r"""
- name: This real server's view of the cluster
  ansible.builtin.set_fact:
    __lvs_real_server: >-
      {{ lvs_virtual_services | lvs.cluster.lvs_services(hostvars, groups)
         | lvs.cluster.lvs_real_server_view(hostvars, groups, inventory_hostname) }}

- name: Hold the DR VIPs on the loopback interface
  ansible.builtin.command:
    cmd: ip address replace {{ item.cidr }} dev lo
  loop: "{{ __lvs_real_server.dr.vips }}"
  changed_when: true

- name: Suppress ARP for the VIPs
  ansible.posix.sysctl:
    name: "{{ item.name }}"
    value: "{{ item.value }}"
  loop: "{{ __lvs_real_server.sysctls }}"
  loop_control:
    label: "{{ item.name }}"
"""

RETURN = r"""
_value:
  description: The real server's view.
  type: dict
  contains:
    host:
      description: The host's inventory name.
      type: str
      sample: rs1
    services:
      description:
        - The services the host takes part in - C(name), C(key), C(role) (V(real_server) or V(sorry_server)),
          C(forwarding), C(family), C(vip), C(protocol), C(port), C(fwmark), C(address) (the host's address the
          directors forward to), C(interface) (the interface holding it), C(listen) (the C(protocol)/C(port)
          pairs it receives) and C(health_check) (the check the directors run against it, V(null) for a sorry
          server).
      type: list
      elements: dict
    listen:
      description:
        - Every C(protocol)/C(port) the host must serve, services and health checks together, sorted. A port
          of a firewall-mark service may be a range (V(8000-8100)); port V(0) means every port.
      type: list
      elements: dict
      sample: [{protocol: tcp, port: 80}]
    dr:
      description: C(vips) - the direct-routing VIPs (C(address), C(prefix_length) 32 or 128, C(cidr), C(family)).
      type: dict
    tun:
      description:
        - C(vips) - the tunnelled VIPs (as for C(dr), plus C(interface), the tunnel device that holds it);
          C(tunnels) - C(type), C(family), C(device) (the kernel's fallback device of that type - V(tunl0),
          V(gre0), V(ip6tnl0), V(ip6gre0)), C(port) (GUE), C(checksum), C(kernel_modules) and C(overhead) (the
          encapsulation's bytes, for MTU and MSS); C(rp_filter_interfaces) - the devices whose reverse-path
          filter must be relaxed.
      type: dict
    nat:
      description:
        - C(gateways) - the floating gateways to route NAT replies through - C(address), C(family), C(source)
          (the host's address those replies come from, for a policy route), C(interface), C(network),
          C(prefix_length).
      type: dict
    arp:
      description:
        - C(interfaces) - where ARP requests for a VIP can arrive (the host's interfaces on a DR segment or on a
          VIP's network), C(vips) - the IPv4 VIPs the host holds but must not announce.
      type: dict
    kernel_modules:
      description: Modules to load now and at boot (the tunnel types in use).
      type: list
      elements: str
      sample: [ipip]
    sysctls:
      description:
        - Sysctls with C(name), C(value) and C(reason) - C(arp_ignore)/C(arp_announce) on the ARP interfaces,
          C(rp_filter) on the tunnel devices and on C(all).
      type: list
      elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.module_utils._lvs_model import DIRECTOR_GROUP, LVSModelError
from ansible_collections.lvs.cluster.plugins.module_utils._lvs_views import real_server_view


def lvs_real_server_view(services, hostvars, groups, host, director_group=DIRECTOR_GROUP):
    """Normalized services -> what real server ``host`` needs (see RETURN)."""
    try:
        return real_server_view(services, hostvars, groups, host, director_group)
    except LVSModelError as exc:
        raise AnsibleFilterError("lvs.cluster.lvs_real_server_view: %s" % exc) from None


class FilterModule(object):
    """lvs.cluster.lvs_real_server_view"""

    def filters(self):
        return {"lvs_real_server_view": lvs_real_server_view}
