#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ipvs_service
short_description: Manage one IPVS virtual service and its real servers
version_added: 0.1.0
description:
  - Creates, changes or removes one virtual service of the kernel's IP Virtual Server table and, optionally,
    its real servers (destinations), over generic netlink with the pyroute2 library. It never runs C(ipvsadm).
  - A service is identified by its protocol, address and port (O(protocol), O(address), O(port)), or by a
    firewall mark and address family (O(fwmark), O(family)). The other options are its settings.
  - An existing service or destination whose settings differ is changed in place, so the connections it
    carries survive; nothing is deleted and re-created.
  - Every option is checked before the first change, including that the running kernel offers the scheduler
    and persistence engine. An error names the option (and the destination's index), and nothing changes.
  - To declare a whole table in one task, use M(lvs.cluster.ipvs); to read the table, M(lvs.cluster.ipvs_info).
  - Changing IPVS needs C(CAP_NET_ADMIN) (run as root, O(ignore:become=true)).
extends_documentation_fragment:
  - lvs.cluster.ipvs
  - lvs.cluster.ipvs.write
attributes:
  check_mode:
    details:
      - Check mode reads the table and reports the same C(changed), RV(changes) and diff as a real run, without
        sending any change. With O(load_modules=true) it loads C(ip_vs) if needed, since nothing can be read
        otherwise.
  diff_mode:
    details:
      - The diff shows the service (settings and destinations, as RV(service) shows them) before and after.
options:
  state:
    description:
      - V(present) creates the service or brings its settings (and, with O(destinations), its real servers) in
        line; V(absent) removes the service with all its real servers.
      - With V(absent), only the options that identify the service are used. Without IPVS in the kernel (C(ip_vs)
        not loaded) there is nothing to remove, and the module reports no change.
    type: str
    choices: [present, absent]
    default: present
  address:
    description:
      - The virtual IPv4 or IPv6 address. Required unless O(fwmark) is given.
    type: str
  port:
    description:
      - The virtual port. Required with O(address). V(0) means every port, which the kernel supports for
        persistent services only.
    type: int
  protocol:
    description:
      - The protocol of an address service. V(tcp) when omitted. Not used with O(fwmark).
    type: str
    choices: [tcp, udp, sctp]
  fwmark:
    description:
      - A firewall mark (1 to 4294967295) instead of O(address), O(port) and O(protocol). The service takes the
        packets netfilter marked with it.
    type: int
  family:
    description:
      - The address family. For an address service it follows from O(address) (giving a different one is an
        error); for a firewall-mark service it is V(ipv4) when omitted.
    type: str
    choices: [ipv4, ipv6]
  scheduler:
    description:
      - The scheduler (ipvsadm C(-s)), for example V(rr), V(wrr), V(lc), V(wlc), V(lblc), V(lblcr), V(dh), V(sh),
        V(sed), V(nq), V(mh), V(fo), V(ovf) or V(twos).
      - It must be one the running kernel offers (built in, loaded, or an C(ip_vs_<name>) module in
        C(/lib/modules/<release>)); this is checked before any change.
    type: str
    default: wlc
  scheduler_flags:
    description:
      - Scheduler flags (ipvsadm C(-b)). V(sh-fallback) and V(sh-port) for the V(sh) scheduler, V(mh-fallback)
        and V(mh-port) for V(mh); other schedulers take none.
      - V(*-fallback) picks another real server when the chosen one is unavailable; V(*-port) includes the
        source port in the hash.
    type: list
    elements: str
    choices: [sh-fallback, sh-port, mh-fallback, mh-port]
  persistence_timeout:
    description:
      - Makes the service persistent (ipvsadm C(-p)). A client keeps going to the same real server for this many
        seconds after its last connection. Omitted or V(0) means not persistent.
      - At most 4294967 seconds.
    type: int
  persistence_netmask:
    description:
      - The netmask that groups IPv4 clients for persistence (ipvsadm C(-M)), for example V(255.255.255.0).
        Needs O(persistence_timeout). For IPv6 use O(persistence_prefix).
      - 255.255.255.255 (each client on its own) when neither this nor O(persistence_prefix) is given.
    type: str
  persistence_prefix:
    description:
      - The persistence netmask as a prefix length, V(0) to V(32) for IPv4 and V(1) to V(128) for IPv6 (128 when
        omitted). Needs O(persistence_timeout); not together with O(persistence_netmask).
    type: int
  one_packet:
    description:
      - One-packet scheduling (ipvsadm C(-o)) schedules each UDP datagram on its own. For UDP services and
        firewall-mark services only.
    type: bool
    default: false
  persistence_engine:
    description:
      - A persistence engine (ipvsadm C(--pe)). V(sip) keeps SIP calls on one real server by their Call-ID.
        Needs O(persistence_timeout) and the kernel module C(ip_vs_pe_sip).
    type: str
    choices: [sip]
  destinations:
    description:
      - The real servers of the service. Each is created, or changed in place when its settings differ.
      - Real servers not listed are kept, unless O(purge_destinations=true).
      - When omitted, the real servers are left alone.
    type: list
    elements: dict
    suboptions:
      address:
        description:
          - The real server's IPv4 or IPv6 address. It must be a unicast address.
          - Its family must be the service's, except with O(destinations[].forwarding_method=tun), which the
            kernel also allows across families (not while a connection-sync daemon runs).
        type: str
        required: true
      port:
        description:
          - The real server's port. The service's port when omitted (V(0) for firewall-mark services).
          - Only V(nat) can forward to another port; with V(dr) and V(tun) a port different from the service's
            is an error (ipvsadm silently replaces it).
        type: int
      forwarding_method:
        description:
          - How packets reach the real server. V(dr) (or V(route)) direct routing, ipvsadm C(-g); V(tun) (or
            V(ipip)) IP tunnelling, C(-i); V(nat) (or V(masq)) masquerading, C(-m).
        type: str
        choices: [dr, route, tun, ipip, nat, masq]
        default: dr
      weight:
        description:
          - The weight, 0 to 2147483647. V(0) takes the server out of scheduling without dropping its
            connections.
        type: int
        default: 1
      upper_threshold:
        description:
          - The most connections the server gets (ipvsadm C(-x)), 0 to 4294967295; V(0) means no limit.
        type: int
        default: 0
      lower_threshold:
        description:
          - Once over the upper threshold, the server gets new connections again below this many (ipvsadm C(-y)).
            It must not be above O(destinations[].upper_threshold) (the kernel refuses that, also when the upper
            threshold is V(0)).
        type: int
        default: 0
      tunnel_type:
        description:
          - The encapsulation of a V(tun) real server (ipvsadm C(--tun-type)). Only with
            O(destinations[].forwarding_method=tun).
        type: str
        choices: [ipip, gue, gre]
        default: ipip
      tunnel_port:
        description:
          - The UDP port of the real server's GUE receiver (ipvsadm C(--tun-port)). Required with
            O(destinations[].tunnel_type=gue), not allowed otherwise.
        type: int
      tunnel_checksum:
        description:
          - Checksums of the encapsulation (ipvsadm C(--tun-nocsum), C(--tun-csum), C(--tun-remcsum)), for V(gue)
            and V(gre) tunnels. V(remcsum) (remote checksum offload) is for V(gue) only.
        type: str
        choices: [nocsum, csum, remcsum]
        default: nocsum
  purge_destinations:
    description:
      - Remove the real servers of the service that O(destinations) does not list (V([]) removes all).
    type: bool
    default: false
  load_modules:
    description:
      - When the kernel has no IPVS (the C(ip_vs) module is not loaded), run C(modprobe ip_vs), and before a
        change, C(modprobe) the scheduler and persistence-engine modules it needs that are not loaded yet. The
        modules loaded are listed in RV(loaded_modules).
      - Linux usually loads these by itself when they are asked for. This option matters where that on-demand
        loading is off (C(kernel.modprobe) disabled).
    type: bool
    default: false
notes:
  - Modifying in place means IPVS_CMD_SET_SERVICE and IPVS_CMD_SET_DEST requests. A change of the key (address,
    port, protocol, firewall mark, a real server's address or port) is another service or real server.
  - Importing pyroute2 takes a fraction of a second to a few seconds on slow hosts.
seealso:
  - module: lvs.cluster.ipvs
  - module: lvs.cluster.ipvs_info
  - name: ipvsadm(8)
    description: The classic IPVS administration tool; its options are named in the descriptions above.
    link: https://manpages.debian.org/bookworm/ipvsadm/ipvsadm.8.en.html
"""

EXAMPLES = r"""
- name: A web service with two real servers by direct routing, removing any other real server
  lvs.cluster.ipvs_service:
    address: 198.51.100.100
    port: 80
    scheduler: wlc
    destinations:
      - address: 198.51.100.21
        weight: 3
      - address: 198.51.100.22
    purge_destinations: true
  become: true

- name: A persistent IPv6 DNS service with source hashing and NAT to another port
  lvs.cluster.ipvs_service:
    protocol: udp
    address: "2001:db8:100::53"
    port: 53
    scheduler: sh
    scheduler_flags: [sh-fallback, sh-port]
    persistence_timeout: 600
    persistence_prefix: 64
    destinations:
      - address: "2001:db8:101::21"
        port: 5353
        forwarding_method: nat
  become: true

- name: A firewall-mark service forwarding through GUE tunnels
  lvs.cluster.ipvs_service:
    fwmark: 7
    scheduler: mh
    scheduler_flags: [mh-port]
    destinations:
      - address: 198.18.2.23
        forwarding_method: tun
        tunnel_type: gue
        tunnel_port: 6080
        tunnel_checksum: csum
  become: true

- name: Drain one real server (weight 0) without touching the others
  lvs.cluster.ipvs_service:
    address: 198.51.100.100
    port: 80
    destinations:
      - address: 198.51.100.22
        weight: 0
  become: true

- name: Remove the service
  lvs.cluster.ipvs_service:
    address: 198.51.100.100
    port: 80
    state: absent
  become: true
"""

RETURN = r"""
service:
  description:
    - The service after the run (in check mode, as it would be), in the shape of M(lvs.cluster.ipvs_info)'s
      RV(lvs.cluster.ipvs_info#module:services) without counters and connection numbers.
    - Its C(destinations) are there when O(destinations) is given or the service exists.
    - V(null) when O(state=absent).
  returned: success
  type: dict
  sample:
    key: tcp/198.51.100.100:80
    family: ipv4
    protocol: tcp
    address: 198.51.100.100
    port: 80
    fwmark: null
    scheduler: wlc
    flags: [hashed]
    scheduler_flags: []
    persistent: false
    persistence_timeout: 0
    persistence_netmask: 255.255.255.255
    persistence_prefix: 32
    one_packet: false
    pe_name: null
    destinations:
      - {key: "198.51.100.21:80", family: ipv4, address: 198.51.100.21, port: 80, forwarding_method: dr,
         weight: 3, upper_threshold: 0, lower_threshold: 0, tunnel_type: null, tunnel_port: null,
         tunnel_flags: null}
changes:
  description:
    - What the run changed (in check mode, would change), one line per request, in the order they were sent.
    - Only the first 50 lines, unless diff mode (C(--diff), O(ignore:diff=true)) or a verbosity of C(-vv) or more
      asks for every line; RV(changes_omitted) says how many were left out, and RV(summary) always counts all of
      them. A large table's full list would cost more to send back and show than applying it.
    - Each line is C(ACTION service KEY) or C(ACTION destination KEY of SERVICE-KEY), ACTION being V(create),
      V(modify) or V(remove); a modification ends with the options that differ, in parentheses. Keys are those
      of M(lvs.cluster.ipvs_info).
  returned: success
  type: list
  elements: str
  sample:
    - modify service tcp/198.51.100.100:80 (scheduler)
    - create destination 198.51.100.22:80 of tcp/198.51.100.100:80
changes_omitted:
  description: How many lines RV(changes) left out (see there); V(0) when it lists every change.
  returned: success
  type: int
  sample: 10950
summary:
  description: How many services and destinations the run created, modified and removed.
  returned: success, and with the failure of a change
  type: dict
  sample: {services_created: 0, services_modified: 1, services_removed: 0, destinations_created: 1,
           destinations_modified: 0, destinations_removed: 0}
loaded_modules:
  description: Kernel modules this run loaded with C(modprobe) (see O(load_modules)).
  returned: always
  type: list
  elements: str
  sample: []
errors:
  description: Every input error (each names the option and, for real servers, its index).
  returned: when the input is invalid
  type: list
  elements: str
  sample: ["destinations[1].weight: must be between 0 and 2147483647, got -1"]
applied:
  description: When the kernel refused a change, the changes (as in RV(changes)) that were applied.
  returned: when a change failed
  type: list
  elements: str
refused:
  description: The changes the kernel refused; C(change) as in RV(changes), C(error) the reason, C(errno) the code.
  returned: when a change failed
  type: list
  elements: dict
  sample:
    - {change: create service tcp/198.51.100.100:81, errno: 2,
       error: "No such file or directory (errno 2): the kernel could not load scheduler module ip_vs_ovf"}
not_applied:
  description: The changes (as in RV(changes)) that were not sent because an earlier batch failed.
  returned: when a change failed
  type: list
  elements: str
unknown:
  description: Changes that were sent but whose reply was lost (the table must be read again to know).
  returned: when a change failed
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils._common import run_module
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_diff import (
    SERVICE_OPTIONS,
    IPVSValidationError,
    parse_service,
)

ARGUMENT_SPEC = dict(
    state=dict(type="str", choices=["present", "absent"], default="present"),
    address=dict(type="str"),
    port=dict(type="int"),
    protocol=dict(type="str", choices=["tcp", "udp", "sctp"]),
    fwmark=dict(type="int"),
    family=dict(type="str", choices=["ipv4", "ipv6"]),
    scheduler=dict(type="str", default="wlc"),
    scheduler_flags=dict(type="list", elements="str", choices=["sh-fallback", "sh-port", "mh-fallback", "mh-port"]),
    persistence_timeout=dict(type="int"),
    persistence_netmask=dict(type="str"),
    persistence_prefix=dict(type="int"),
    one_packet=dict(type="bool", default=False),
    persistence_engine=dict(type="str", choices=["sip"]),
    destinations=dict(type="list", elements="dict"),
    purge_destinations=dict(type="bool", default=False),
    load_modules=dict(type="bool", default=False),
)


def parse(params):
    """The module's options -> one ServiceSpec (raises IPVSValidationError)."""
    entry = dict((name, params[name]) for name in SERVICE_OPTIONS if params.get(name) is not None)
    errors = []
    dummy, spec = parse_service(entry, "", errors)
    if errors or spec is None:
        raise IPVSValidationError(errors or ["invalid service"])
    return spec


def run(module, reconciler):
    spec = parse(module.params)
    result = reconciler.run([spec])
    plan = reconciler.plan
    result["service"] = plan.after_view(spec.key)
    if "diff" in result:
        result["diff"] = {"before": plan.before_view(spec.key) or {}, "after": result["service"] or {}}
    return result


def main():
    run_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True), run)


if __name__ == "__main__":
    main()
