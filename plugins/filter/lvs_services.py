# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: lvs_services
short_description: Validate and normalize the cluster's virtual services (lvs_virtual_services)
version_added: 0.1.0
author:
  - lvs.cluster maintainers (!UNKNOWN)
description:
  - Takes the virtual services as the user writes them in the inventory (C(lvs_virtual_services), see
    C(docs/data-model.md) in the collection) and returns them validated and normalized, once, for every other
    part of the collection to consume.
  - Every default is filled in, addresses are canonical, and each real server given as an inventory host is
    resolved to the address the directors forward to, picked by forwarding method from the host's
    C(lvs_interfaces). V(dr) takes the host's address on the VIP's segment (a network of the director interface
    that holds the VIP), V(nat) its address on an inside network that has a floating gateway
    (C(lvs_nat_gateways)), V(tun) its C(lvs_tunnel_address) or else its only address of the service's family
    outside the management network.
  - A service with O(_input[].ports) becomes one entry per port, since the kernel keeps one IPVS service per
    port; every entry carries the IPVS key used by M(lvs.cluster.ipvs_info) (V(tcp/198.51.100.100:80),
    V(tcp/[2001:db8:100::100]:80), V(fwmark/ipv4/10)).
  - The directors' cluster-wide settings C(lvs_vrrp_instances) and C(lvs_nat_gateways) are read from the
    directors' hostvars and must be the same on every director.
  - All input is validated before anything is returned, and B(all) errors are reported together in one
    failure, one per line, each starting with the path of the offending item (such as
    lvs_virtual_services[2] (web-nat).real_servers[0].host) and naming the host where one is involved.
  - Pass the result to P(lvs.cluster.lvs_director_view#filter) and P(lvs.cluster.lvs_real_server_view#filter).
positional: _input, hostvars, groups
options:
  _input:
    description:
      - The virtual services, C(lvs_virtual_services). Each is a dictionary; the fields below are those of one
        service. V(null) is an empty list.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Unique name of the service (letters, digits, C(_), C(.), C(-); up to 64).
        type: str
        required: true
      vip:
        description:
          - The virtual IP address, IPv4 or IPv6, without prefix length (the directors hold it with the prefix of
            their network that contains it).
          - Required also for firewall-mark services, whose marking rule matches it.
        type: str
        required: true
      port:
        description:
          - The service's port (V(0) means every port and needs O(_input[].persistence)). Give O(_input[].port) or
            O(_input[].ports), or O(_input[].fwmark).
        type: int
      ports:
        description: Several ports; the service becomes one IPVS service per port, with the same real servers.
        type: list
        elements: int
      protocol:
        description: The protocol of an address service.
        type: str
        choices: [tcp, udp, sctp]
        default: tcp
      fwmark:
        description:
          - Make a firewall-mark service with this mark (1-4294967295). It has no port or protocol of its own;
            O(_input[].fwmark_match) says what the directors mark.
        type: int
      fwmark_match:
        description:
          - For a firewall-mark service (required there), the traffic to O(_input[].vip) that the directors mark.
        type: list
        elements: dict
        suboptions:
          protocol:
            description: Protocol of the marked traffic.
            type: str
            choices: [tcp, udp, sctp]
            default: tcp
          ports:
            description: Destination ports, or ranges written as V(8000-8100).
            type: list
            elements: raw
            required: true
      scheduler:
        description: The IPVS scheduler.
        type: str
        choices: [rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, mh, fo, ovf, twos]
        default: wlc
      scheduler_flags:
        description: Scheduler flags; V(sh-fallback) and V(sh-port) for V(sh), V(mh-fallback) and V(mh-port) for V(mh).
        type: list
        elements: str
        default: []
      persistence:
        description:
          - Make the service persistent. A number is the timeout alone.
        type: raw
        suboptions:
          timeout:
            description: Seconds a client sticks to its real server.
            type: int
            required: true
          netmask:
            description: IPv4 only, the client netmask that groups clients (V(255.255.255.0)).
            type: str
          prefix_length:
            description: The same as a prefix length (IPv4 or IPv6).
            type: int
          engine:
            description: Persistence engine.
            type: str
            choices: [sip]
      one_packet:
        description: One-packet scheduling, for UDP (or firewall-mark) services.
        type: bool
        default: false
      forwarding:
        description: How the directors forward to the real servers.
        type: str
        choices: [dr, nat, tun]
        default: dr
      tunnel:
        description: For O(_input[].forwarding=tun) only.
        type: dict
        suboptions:
          type:
            description: The encapsulation.
            type: str
            choices: [ipip, gue, gre]
            default: ipip
          port:
            description: The real servers' GUE (fou) UDP port; required for V(gue), refused otherwise.
            type: int
          checksum:
            description: Checksum flags, for V(gue) and V(gre); V(remcsum) for V(gue) only.
            type: str
            choices: [nocsum, csum, remcsum]
            default: nocsum
      real_servers:
        description:
          - The real servers, at least one. A string is a host name (or an address).
        type: list
        elements: raw
        required: true
        suboptions:
          host:
            description: An inventory host; its address is resolved from its C(lvs_interfaces) by method.
            type: str
          address:
            description: An explicit address (instead of, or to pick one of, the host's addresses).
            type: str
          port:
            description:
              - The real server's port; only V(nat) can make it differ from the service's port. Not for
                multi-port services.
            type: int
          weight:
            description: Scheduling weight (0 takes it out of rotation).
            type: int
            default: 1
          upper_threshold:
            description: Connection limit (0 is none).
            type: int
            default: 0
          lower_threshold:
            description: Connections below which a server over its upper threshold takes new ones again.
            type: int
            default: 0
          health_check:
            description: Per-server overrides of O(_input[].health_check); with another C(type), a check of its own.
            type: raw
      health_check:
        description:
          - How the directors check the real servers (keepalived or ldirectord). A string is the type alone.
          - Fields are C(type) (V(http), V(https), V(tcp), V(dns), V(misc), V(none); default V(tcp) for TCP
            services, V(none) otherwise), C(port), C(path) (default V(/)), C(status) (default V([200])),
            C(digest), C(virtualhost), C(query), C(query_type) (default V(A)), C(script), C(dynamic), C(interval),
            C(timeout), C(retries), C(retry_delay) (defaults V(1)) and C(warmup) (default V(0)). See
            C(docs/data-model.md).
        type: raw
      sorry_server:
        description: Server that takes the traffic when no real server is up (C(host) or C(address), C(port)).
        type: raw
      quorum:
        description: Minimum total weight of healthy real servers for the service to be up.
        type: int
        default: 1
      hysteresis:
        description: Hysteresis around O(_input[].quorum).
        type: int
        default: 0
      inhibit_on_failure:
        description: A failed real server gets weight 0 instead of leaving the table.
        type: bool
        default: false
      vrrp_instance:
        description:
          - The C(lvs_vrrp_instances) entry that holds the VIP. By default the instance running on the director
            interface whose network contains the VIP.
        type: str
  hostvars:
    description: The C(hostvars) magic variable (the directors' and real servers' addresses and settings).
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
notes:
  - The filter is pure, it reads only its arguments; the same inventory gives the same result on every host.
seealso:
  - plugin: lvs.cluster.lvs_director_view
    plugin_type: filter
  - plugin: lvs.cluster.lvs_real_server_view
    plugin_type: filter
  - module: lvs.cluster.ipvs_info
"""

EXAMPLES = r"""
- name: Validate the virtual services once, on every host
  ansible.builtin.set_fact:
    __lvs_services: "{{ lvs_virtual_services | lvs.cluster.lvs_services(hostvars, groups) }}"

- name: The IPVS keys of the cluster
  ansible.builtin.debug:
    msg: "{{ __lvs_services | map(attribute='key') | list }}"
  # ['tcp/198.51.100.100:80', 'tcp/198.51.100.101:80', ..., 'fwmark/ipv4/10']

# The input, in group_vars:
#   lvs_virtual_services:
#     - name: web-dr
#       vip: 198.51.100.100
#       port: 80
#       scheduler: rr
#       real_servers: [rs1, rs2]
#       health_check: {type: http, path: /health}
"""

RETURN = r"""
_value:
  description:
    - One entry per IPVS service, in input order (a service with several ports gives consecutive entries).
  type: list
  elements: dict
  contains:
    name:
      description: The service's name.
      type: str
      sample: web-dr
    index:
      description: The position of the service in C(lvs_virtual_services).
      type: int
      sample: 0
    key:
      description: The IPVS key, as M(lvs.cluster.ipvs_info) returns it.
      type: str
      sample: tcp/198.51.100.100:80
    family:
      description: V(ipv4) or V(ipv6).
      type: str
      sample: ipv4
    vip:
      description: The virtual address, canonical.
      type: str
      sample: 198.51.100.100
    protocol:
      description: The protocol; V(null) for a firewall-mark service.
      type: str
      sample: tcp
    port:
      description: The port; V(null) for a firewall-mark service.
      type: int
      sample: 80
    fwmark:
      description: The firewall mark, or V(null).
      type: int
      sample: null
    fwmark_match:
      description: What the directors mark (C(protocol), C(ports)); empty for address services.
      type: list
      elements: dict
      sample: []
    scheduler:
      description: The scheduler.
      type: str
      sample: rr
    scheduler_flags:
      description: The scheduler flags.
      type: list
      elements: str
      sample: []
    persistence:
      description: V(null), or C(timeout), C(netmask) (IPv4, else V(null)), C(prefix_length), C(engine).
      type: dict
      sample: null
    one_packet:
      description: One-packet scheduling.
      type: bool
      sample: false
    forwarding:
      description: V(dr), V(nat) or V(tun).
      type: str
      sample: dr
    tunnel:
      description: For V(tun), C(type), C(port) (V(gue)) and C(checksum) (V(gue), V(gre)); else V(null).
      type: dict
      sample: null
    vrrp_instance:
      description: The VRRP instance that holds the VIP.
      type: str
      sample: front
    vip_network:
      description: The directors' network that contains the VIP, or V(null) for a VIP held as a /32 or /128.
      type: str
      sample: 198.51.100.0/24
    real_servers:
      description:
        - The real servers, resolved. Each has C(host) (or V(null)), C(address), C(family), C(port), C(key)
          (V(198.51.100.21:80)), C(weight), C(upper_threshold), C(lower_threshold), C(interface) (the host's
          interface holding C(address), or V(null)), C(nat_gateway) (the gateway address for V(nat), else
          V(null)) and C(health_check) (the complete check for that server).
      type: list
      elements: dict
    health_check:
      description:
        - The service's check with every field present (V(null) where it does not apply) - C(type), C(port),
          C(path), C(status), C(digest), C(virtualhost), C(interval), C(timeout), C(retries), C(retry_delay),
          C(warmup), C(query), C(query_type), C(script), C(dynamic).
      type: dict
    sorry_server:
      description: V(null), or C(host), C(address), C(port), C(interface), C(nat_gateway).
      type: dict
      sample: null
    quorum:
      description: The quorum.
      type: int
      sample: 1
    hysteresis:
      description: The hysteresis.
      type: int
      sample: 0
    inhibit_on_failure:
      description: Whether a failed server gets weight 0 instead of leaving the table.
      type: bool
      sample: false
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.module_utils._lvs_model import DIRECTOR_GROUP, LVSModelError
from ansible_collections.lvs.cluster.plugins.module_utils._lvs_services import normalize_services


def lvs_services(virtual_services, hostvars, groups, director_group=DIRECTOR_GROUP):
    """lvs_virtual_services -> the validated, normalized services (see RETURN)."""
    try:
        return normalize_services(virtual_services, hostvars, groups, director_group)
    except LVSModelError as exc:
        raise AnsibleFilterError("lvs.cluster.lvs_services: %s" % exc) from None


class FilterModule(object):
    """lvs.cluster.lvs_services"""

    def filters(self):
        return {"lvs_services": lvs_services}
