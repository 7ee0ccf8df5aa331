# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: lvs_director_view
short_description: What one director renders from the normalized virtual services
version_added: 0.1.0
author:
  - lvs.cluster maintainers (!UNKNOWN)
description:
  - Takes the output of P(lvs.cluster.lvs_services#filter) and returns everything one director needs, placed on
    that director's own interfaces, so that roles and templates loop over ready data and never re-derive the
    model.
  - RV(_value.ipvs_services) is the IPVS table in exactly the format of the C(services) option of the
    C(lvs.cluster.ipvs) module, so the static engine passes it straight through;
    RV(_value.virtual_servers) is the same table, entry for entry, with what keepalived and ldirectord add
    (health checks, quorum, sorry server).
  - Also the VRRP instances with the addresses each holds (VIPs with their prefix length and interface, and
    the floating NAT gateways), the kernel modules and sysctls the services need, and what a firewall must
    admit and mark.
positional: _input, hostvars, groups, director
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
  director:
    description: The director to render for (usually C(inventory_hostname)); a member of O(director_group).
    type: str
    required: true
  director_group:
    description: The inventory group of the directors.
    type: str
    default: directors
  drained:
    description:
      - The directors' drain state, as C(playbooks/drain.yml) keeps it in C(/etc/lvs-cluster/drain.json) and
        the director role reads it - a mapping with C(version) (V(1)) and C(drained), which maps each drained
        host to its service keys, or to V(["*"]) for every service of the host. The bare mapping of hosts is
        accepted too.
      - Each drained real server is rendered with weight V(0) (in RV(_value.ipvs_services) and
        RV(_value.virtual_servers)), so every engine, and every later run of the role, keeps it out of
        scheduling until C(playbooks/restore.yml) removes it from the state. Entries that match nothing in the
        model are ignored and listed in RV(_value.drained.stale).
    type: dict
    version_added: 0.1.0
seealso:
  - plugin: lvs.cluster.lvs_services
    plugin_type: filter
  - plugin: lvs.cluster.lvs_real_server_view
    plugin_type: filter
"""

EXAMPLES = r"""
- name: This director's view of the cluster
  ansible.builtin.set_fact:
    __lvs_director: >-
      {{ lvs_virtual_services | lvs.cluster.lvs_services(hostvars, groups)
         | lvs.cluster.lvs_director_view(hostvars, groups, inventory_hostname) }}

- name: Load the kernel modules the services need
  community.general.modprobe:
    name: "{{ item }}"
  loop: "{{ __lvs_director.kernel_modules }}"

- name: Set the sysctls the services need
  ansible.posix.sysctl:
    name: "{{ item.name }}"
    value: "{{ item.value }}"
  loop: "{{ __lvs_director.sysctls }}"
  loop_control:
    label: "{{ item.name }}"

# In keepalived.conf.j2:
#   {% for vi in __lvs_director.vrrp_instances %}
#   vrrp_instance {{ vi.name }} {
#       interface {{ vi.interface }}
#       virtual_router_id {{ vi.virtual_router_id }}
#       priority {{ vi.priority }}
#       virtual_ipaddress {
#   {% for a in vi.virtual_ipaddresses %}        {{ a.cidr }} dev {{ a.interface }}
#   {% endfor %}    }
#   }
#   {% endfor %}
"""

RETURN = r"""
_value:
  description: The director's view.
  type: dict
  contains:
    director:
      description: The director's inventory name.
      type: str
      sample: director1
    ipvs_services:
      description:
        - The IPVS table, in the format of the C(services) option of C(lvs.cluster.ipvs). Each service has
          C(family), C(protocol), C(address) and C(port) (or C(fwmark)), C(scheduler), C(scheduler_flags),
          C(persistence_timeout) (V(0) when not persistent), C(persistence_netmask) (IPv4) or
          C(persistence_prefix) (IPv6) and C(persistence_engine) when persistent, C(one_packet) and
          C(destinations). Each destination has C(address), C(port), C(forwarding_method), C(weight),
          C(upper_threshold), C(lower_threshold), and for V(tun) C(tunnel_type), C(tunnel_port) (V(gue)),
          C(tunnel_checksum) (V(gue), V(gre)).
      type: list
      elements: dict
    virtual_servers:
      description:
        - The same services in the same order, for the keepalived and ldirectord templates. Each has C(key),
          C(name), C(ipvs) (the entry of RV(_value.ipvs_services)), C(forwarding), C(tunnel), C(health_check),
          C(quorum), C(hysteresis), C(inhibit_on_failure), C(sorry_server) and C(real_servers), each of those
          with C(key), C(host), C(ipvs) (the destination), C(health_check) and C(drained) (V(true) - held at
          weight V(0) by the drain state, see O(drained)).
      type: list
      elements: dict
    vips:
      description:
        - Every VIP once, on this director - C(address), C(prefix_length), C(cidr), C(family), C(interface),
          C(vrrp_instance) and C(services) (the names of the services on it).
      type: list
      elements: dict
    nat_gateways:
      description:
        - The floating NAT gateways - C(address), C(prefix_length), C(cidr), C(family), C(interface),
          C(network), C(vrrp_instance).
      type: list
      elements: dict
    vrrp_instances:
      description:
        - The VRRP instances as this director runs them - C(name), C(interface), C(family), C(network),
          C(virtual_router_id), C(priority), C(state) (V(MASTER) for the highest priority, else V(BACKUP)),
          C(advert_interval), C(unicast), C(unicast_src_ip), C(unicast_peers), C(virtual_ipaddresses) (the
          addresses of the instance's family - C(address), C(prefix_length), C(cidr), C(family), C(interface))
          and C(virtual_ipaddresses_excluded) (those of the other family, which keepalived cannot advertise).
      type: list
      elements: dict
    vrrp_sync_group:
      description: V(null) for one instance, else C(name) (V(lvs)) and C(instances), so all fail over together.
      type: dict
    kernel_modules:
      description: Modules to load now and at boot - V(ip_vs), V(ip_vs_<scheduler>), V(ip_vs_pe_<engine>).
      type: list
      elements: str
      sample: [ip_vs, ip_vs_rr, ip_vs_wlc]
    sysctls:
      description: Sysctls the services need, each with C(name), C(value) and C(reason).
      type: list
      elements: dict
      sample: [{name: net.ipv4.ip_forward, value: 1, reason: "NAT: ..."}]
    firewall:
      description:
        - What a firewall must admit and mark - C(services) (C(family), C(protocol), C(address), C(port)),
          C(fwmark_rules) (C(fwmark), C(family), C(address), C(protocol), C(ports)), C(vrrp) (C(instance),
          C(interface), C(family), C(unicast), C(peers) - the other directors' addresses on the instance's network,
          for unicast and multicast instances alike, the only sources of VRRP and connection sync),
          C(management_networks) (the networks of the director's own addresses that contain its
          C(ansible_host), where the inventory reaches it) and C(nat_networks) (C(network), C(interface), C(family)).
      type: dict
    interfaces:
      description: The director interfaces the cluster uses (VIPs, gateways, VRRP).
      type: list
      elements: str
      sample: [eth1, eth2]
    drained:
      description:
        - What the drain state (O(drained)) did - C(real_servers), one entry per drained destination (C(host),
          C(name), C(key), C(destination), C(weight), the inventory weight it replaces), and C(stale), the
          state's entries (each the host, a colon and the key) that match nothing in the model.
      type: dict
      version_added: 0.1.0
      sample: {real_servers: [{host: rs1, name: web-dr, key: tcp/198.51.100.100:80, destination: 198.51.100.21:80,
               weight: 1}], stale: []}
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.module_utils._lvs_model import DIRECTOR_GROUP, LVSModelError
from ansible_collections.lvs.cluster.plugins.module_utils._lvs_views import director_view


def lvs_director_view(services, hostvars, groups, director, director_group=DIRECTOR_GROUP, drained=None):
    """Normalized services -> what ``director`` renders (see RETURN)."""
    try:
        return director_view(services, hostvars, groups, director, director_group, drained=drained)
    except LVSModelError as exc:
        raise AnsibleFilterError("lvs.cluster.lvs_director_view: %s" % exc) from None


class FilterModule(object):
    """lvs.cluster.lvs_director_view"""

    def filters(self):
        return {"lvs_director_view": lvs_director_view}
