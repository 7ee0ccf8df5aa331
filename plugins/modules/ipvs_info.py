#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ipvs_info
short_description: Read the kernel's IPVS state (virtual services, real servers, timeouts, sync daemons)
version_added: 0.1.0
description:
  - Reads the IP Virtual Server table of the managed host directly from the kernel over generic netlink, with
    the pyroute2 library. It never runs C(ipvsadm).
  - Returns the virtual services with their real servers (destinations), scheduler, flags, persistence and
    statistics, the connection timeouts and the connection-synchronisation daemons, in the same shapes the
    collection's IPVS write modules compare against.
  - Services are sorted by family, protocol, address and port (firewall-mark services last), destinations by
    address and port, so that two reads of the same table compare equal.
  - Reading needs C(CAP_NET_ADMIN) (run as root, O(ignore:become=true)).
extends_documentation_fragment:
  - lvs.cluster.ipvs
attributes:
  check_mode:
    description: Can run in check mode and return the same result as without it, without changing the target.
    support: full
    details:
      - The module only reads. With O(load_modules=true) it runs C(modprobe ip_vs) in check mode too, since
        nothing can be read otherwise; loading the module creates an empty IPVS table and is not reported as a
        change.
  diff_mode:
    description: Would show what changed (or would change in check mode) in diff mode.
    support: none
  idempotent:
    description: Running the module twice with the same arguments changes nothing the second time.
    support: full
    details:
      - The module never changes the IPVS table; C(changed) is always V(false).
options:
  gather:
    description:
      - What to read. V(all) reads everything.
      - V(services) reads the virtual services, V(destinations) adds each service's real servers (one netlink
        dump per service), V(stats) adds counters and rates to services and destinations.
      - V(destinations) and V(stats) imply V(services).
      - V(timeouts) reads the TCP, TCP FIN and UDP connection timeouts, V(daemons) the sync daemons.
      - The IPVS version and connection table size are always returned.
    type: list
    elements: str
    choices: [all, services, destinations, stats, timeouts, daemons]
    default: [all]
  services:
    description:
      - Report only these virtual services, given by their keys (see RV(services[].key)), for example
        V(tcp/198.51.100.10:80), V(udp/[2001:db8::10]:53), V(sctp/198.51.100.10:9999), V(fwmark/ipv4/7) or
        V(fwmark/ipv6/7). V(fwmark/7) means V(fwmark/ipv4/7).
      - Addresses are compared in canonical form, so V(tcp/[2001:DB8:0::10]:80) selects
        V(tcp/[2001:db8::10]:80).
      - Keys that match no service are not an error; they are simply absent from RV(services).
      - Giving this option implies O(gather=services).
    type: list
    elements: str
  load_modules:
    description:
      - When the kernel has no IPVS (the C(ip_vs) module is not loaded), run C(modprobe ip_vs) and read again.
        The module that was loaded is listed in RV(loaded_modules).
      - Linux usually loads C(ip_vs) by itself when a program asks for the IPVS generic netlink family. This
        option matters where that on-demand loading is off (C(kernel.modprobe) disabled, some containers).
      - This runs a command, as an exception to the rule that the collection talks to IPVS only over netlink,
        since loading a kernel module is not IPVS programming.
      - When V(false) and IPVS is not loaded, the module fails and says so.
    type: bool
    default: false
notes:
  - Importing pyroute2 imports the whole library, which takes one to a few seconds on slow hosts (1.6 s in a
    User-Mode Linux guest of the lab).
  - The statistics are those of the kernel's own estimator, counters since the service or destination was
    created (or last zeroed), and rates averaged over the last seconds.
seealso:
  - name: ipvsadm(8)
    description: The classic IPVS administration tool; its C(-Sn), C(-Ln --stats), C(--timeout) and
      C(--daemon) output shows the same state.
    link: https://manpages.debian.org/bookworm/ipvsadm/ipvsadm.8.en.html
"""

EXAMPLES = r"""
- name: Read the whole IPVS state
  lvs.cluster.ipvs_info:
  become: true
  register: ipvs

- name: Show the real servers of every service
  ansible.builtin.debug:
    msg: "{{ item.key }} -> {{ item.destinations | map(attribute='key') | list }}"
  loop: "{{ ipvs.services }}"
  loop_control:
    label: "{{ item.key }}"

- name: Read one service, without its counters, loading ip_vs first if needed
  lvs.cluster.ipvs_info:
    services:
      - tcp/198.51.100.100:80
    gather: [services, destinations]
    load_modules: true
  become: true
  register: web

- name: Check that the web service has two real servers with weight above zero
  ansible.builtin.assert:
    that:
      - web.services | length == 1
      - web.services[0].destinations | selectattr('weight', '>', 0) | list | length == 2

- name: Read only the connection timeouts and sync daemons
  lvs.cluster.ipvs_info:
    gather: [timeouts, daemons]
  become: true
  register: ipvs_settings
"""

RETURN = r"""
ipvs_version:
  description: The kernel's IPVS version (C(IP_VS_VERSION_CODE)).
  returned: success
  type: str
  sample: 1.2.1
conn_tab_size:
  description: The size of the kernel's IPVS connection hash table.
  returned: success
  type: int
  sample: 4096
loaded_modules:
  description: Kernel modules this run loaded with C(modprobe) (see O(load_modules)).
  returned: always
  type: list
  elements: str
  sample: [ip_vs]
services:
  description:
    - The virtual services, sorted by family, protocol, address and port; firewall-mark services last.
    - Only those selected by O(services), when given.
  returned: when O(gather) selects services
  type: list
  elements: dict
  contains:
    key:
      description:
        - The service's key, unique in the table, as accepted by O(services).
        - C(PROTOCOL/ADDRESS:PORT), with an IPv6 address in brackets, or C(fwmark/FAMILY/MARK).
      type: str
      sample: tcp/198.51.100.100:80
    family:
      description: The address family.
      type: str
      choices: [ipv4, ipv6]
      sample: ipv4
    protocol:
      description: The protocol; V(null) for a firewall-mark service.
      type: str
      choices: [tcp, udp, sctp]
      sample: tcp
    address:
      description: The virtual address, canonical text; V(null) for a firewall-mark service.
      type: str
      sample: 198.51.100.100
    port:
      description: The virtual port (V(0) means any port); V(null) for a firewall-mark service.
      type: int
      sample: 80
    fwmark:
      description: The firewall mark of a firewall-mark service; V(null) for an address service.
      type: int
      sample: null
    scheduler:
      description: The scheduler's name (V(rr), V(wrr), V(lc), V(wlc), V(sh), V(mh), ...).
      type: str
      sample: wlc
    flags:
      description:
        - Every service flag the kernel reports, by name. V(persistent), V(hashed) (set on every service in
          the table), V(onepacket), then the scheduler flags as in RV(services[].scheduler_flags).
        - A bit without a name appears as hex, for example V(0x40).
      type: list
      elements: str
      sample: [hashed]
    scheduler_flags:
      description:
        - The scheduler flags, named as ipvsadm's C(-b) names them. V(sh-fallback) and V(sh-port) for the
          V(sh) scheduler, V(mh-fallback) and V(mh-port) for V(mh), V(flag-1), V(flag-2) and V(flag-3)
          otherwise.
      type: list
      elements: str
      sample: []
    persistent:
      description: Whether the service is persistent (ipvsadm C(-p)).
      type: bool
      sample: false
    persistence_timeout:
      description: The persistence timeout in seconds (V(0) when the service is not persistent).
      type: int
      sample: 0
    persistence_netmask:
      description: The persistence netmask of an IPv4 service (ipvsadm C(-M)); V(null) for IPv6.
      type: str
      sample: 255.255.255.255
    persistence_prefix:
      description:
        - The persistence netmask as a prefix length; for IPv6 services the kernel keeps only this.
        - V(null) for a non-contiguous IPv4 netmask.
      type: int
      sample: 32
    one_packet:
      description: Whether one-packet scheduling is on (ipvsadm C(-o), UDP only).
      type: bool
      sample: false
    pe_name:
      description: The persistence engine (ipvsadm C(--pe), for example V(sip)), or V(null).
      type: str
      sample: null
    stats:
      description:
        - Counters since the service was created or last zeroed (from the kernel's 64-bit statistics).
      returned: when O(gather) includes V(stats) or V(all)
      type: dict
      contains:
        conns:
          description: Connections scheduled.
          type: int
        in_pkts:
          description: Packets received from clients.
          type: int
        out_pkts:
          description: Packets sent to clients (seen only with NAT).
          type: int
        in_bytes:
          description: Bytes received from clients.
          type: int
        out_bytes:
          description: Bytes sent to clients (seen only with NAT).
          type: int
      sample: {conns: 12, in_pkts: 80, out_pkts: 0, in_bytes: 5306, out_bytes: 0}
    rates:
      description: The kernel's rate estimates, averaged over the last seconds.
      returned: when O(gather) includes V(stats) or V(all)
      type: dict
      contains:
        cps:
          description: Connections per second.
          type: int
        in_pps:
          description: Incoming packets per second.
          type: int
        out_pps:
          description: Outgoing packets per second.
          type: int
        in_bps:
          description: Incoming bytes per second.
          type: int
        out_bps:
          description: Outgoing bytes per second.
          type: int
      sample: {cps: 0, in_pps: 0, out_pps: 0, in_bps: 0, out_bps: 0}
    destinations:
      description: The real servers of the service, sorted by family, address and port.
      returned: when O(gather) includes V(destinations) or V(all)
      type: list
      elements: dict
      contains:
        key:
          description: The destination's key within its service, C(ADDRESS:PORT) (IPv6 in brackets).
          type: str
          sample: 198.51.100.21:80
        family:
          description: The destination's address family (it can differ from the service's with V(tun)).
          type: str
          choices: [ipv4, ipv6]
          sample: ipv4
        address:
          description: The real server's address, canonical text.
          type: str
          sample: 198.51.100.21
        port:
          description: The real server's port (V(0) for firewall-mark services forwarded to the same port).
          type: int
          sample: 80
        forwarding_method:
          description:
            - V(dr) direct routing (ipvsadm C(-g)), V(tun) IP tunnelling (C(-i)), V(nat) masquerading (C(-m)).
            - V(local) and V(bypass) are kernel-internal methods (a local real server, the cache bypass).
          type: str
          choices: [nat, dr, tun, local, bypass]
          sample: dr
        weight:
          description: The weight; V(0) takes the server out of scheduling (quiesced).
          type: int
          sample: 1
        upper_threshold:
          description: The upper connection threshold (ipvsadm C(-x)); V(0) is no limit.
          type: int
          sample: 0
        lower_threshold:
          description: The lower connection threshold (ipvsadm C(-y)).
          type: int
          sample: 0
        active_connections:
          description: Active connections (ipvsadm's ActiveConn).
          type: int
          sample: 0
        inactive_connections:
          description: Inactive connections (ipvsadm's InActConn).
          type: int
          sample: 0
        persistent_connections:
          description: Persistence templates pointing at this server.
          type: int
          sample: 0
        tunnel_type:
          description: The encapsulation of a V(tun) destination (ipvsadm C(--tun-type)); V(null) otherwise.
          type: str
          choices: [ipip, gue, gre]
          sample: null
        tunnel_port:
          description: The GUE destination port of a V(tun) destination (C(--tun-port)); V(null) otherwise.
          type: int
          sample: null
        tunnel_flags:
          description:
            - The checksum flags of a V(tun) destination; an empty list is ipvsadm's C(--tun-nocsum), V([csum])
              C(--tun-csum), V([remcsum]) C(--tun-remcsum). V(null) for other methods.
          type: list
          elements: str
          sample: null
        stats:
          description: Counters, as RV(services[].stats).
          returned: when O(gather) includes V(stats) or V(all)
          type: dict
          sample: {conns: 6, in_pkts: 40, out_pkts: 0, in_bytes: 2653, out_bytes: 0}
        rates:
          description: Rates, as RV(services[].rates).
          returned: when O(gather) includes V(stats) or V(all)
          type: dict
          sample: {cps: 0, in_pps: 0, out_pps: 0, in_bps: 0, out_bps: 0}
timeouts:
  description: The connection timeouts in seconds, as ipvsadm C(--set) sets them.
  returned: when O(gather) includes V(timeouts) or V(all)
  type: dict
  contains:
    tcp:
      description: Established TCP connections.
      type: int
    tcp_fin:
      description: TCP connections after a FIN.
      type: int
    udp:
      description: UDP flows.
      type: int
  sample: {tcp: 900, tcp_fin: 120, udp: 300}
sync_daemons:
  description: The running connection-synchronisation daemons, the master first. Empty when none runs.
  returned: when O(gather) includes V(daemons) or V(all)
  type: list
  elements: dict
  contains:
    state:
      description: Which daemon.
      type: str
      choices: [master, backup]
    mcast_interface:
      description: The interface the daemon sends or listens on.
      type: str
    syncid:
      description: The sync ID.
      type: int
    sync_maxlen:
      description: The maximum sync message payload, in bytes.
      type: int
    mcast_group:
      description: The multicast group.
      type: str
    mcast_port:
      description: The UDP port.
      type: int
    mcast_ttl:
      description: The multicast TTL.
      type: int
  sample:
    - {state: master, mcast_interface: eth1, syncid: 5, sync_maxlen: 1472, mcast_group: 224.0.0.81,
       mcast_port: 8848, mcast_ttl: 1}
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_keys import raw_service_key
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_model import (
    IPVSModelError,
    normalize_state,
    parse_service_keys,
)
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_netlink import (
    HAS_PYROUTE2,
    PYROUTE2_IMPORT_ERROR,
    PYROUTE2_REQUIREMENT,
    IPVSError,
    IPVSNetlink,
    IPVSNotLoaded,
    pyroute2_missing_message,
)

GATHER_CHOICES = ["all", "services", "destinations", "stats", "timeouts", "daemons"]


def resolve_gather(gather, services_filter):
    """The set of parts to read: ``all`` expanded, and the implications of the documentation applied."""
    parts = set(gather or [])
    if "all" in parts:
        parts = set(GATHER_CHOICES) - {"all"}
    if services_filter or parts & {"destinations", "stats"}:
        parts.add("services")
    return parts


def service_selector(wanted):
    """A predicate on raw services for IPVSNetlink.info(): those whose key is in ``wanted`` (None: all)."""
    if wanted is None:
        return None

    def select(raw):
        return raw_service_key(raw) in wanted

    return select


def read_state(parts, wanted):
    """Open the IPVS netlink client, read what ``parts`` asks for and return the module's return values."""
    with IPVSNetlink() as client:
        raw = client.info(
            services="services" in parts,
            destinations="destinations" in parts,
            timeouts="timeouts" in parts,
            daemons="daemons" in parts,
            select=service_selector(wanted),
        )
    return normalize_state(raw, stats="stats" in parts)


def load_ip_vs(module):
    """``modprobe ip_vs`` (see the load_modules option); raises IPVSError when it fails."""
    modprobe = module.get_bin_path("modprobe", required=True)
    rc, out, err = module.run_command([modprobe, "ip_vs"])
    if rc != 0:
        raise IPVSError("'modprobe ip_vs' failed (rc=%d): %s" % (rc, (err or out).strip()))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            gather=dict(type="list", elements="str", choices=GATHER_CHOICES, default=["all"]),
            services=dict(type="list", elements="str"),
            load_modules=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    if not HAS_PYROUTE2:
        module.fail_json(
            msg=pyroute2_missing_message(missing_required_lib(PYROUTE2_REQUIREMENT)),
            exception=PYROUTE2_IMPORT_ERROR,
        )

    result = dict(changed=False, loaded_modules=[])
    parts = resolve_gather(module.params["gather"], module.params["services"])
    try:
        wanted = None
        if module.params["services"] is not None:
            wanted = set(parse_service_keys(module.params["services"]))
        try:
            state = read_state(parts, wanted)
        except IPVSNotLoaded:
            if not module.params["load_modules"]:
                raise
            load_ip_vs(module)
            result["loaded_modules"].append("ip_vs")
            state = read_state(parts, wanted)
    except IPVSModelError as exc:
        module.fail_json(msg="Invalid services: %s" % exc, **result)
    except IPVSNotLoaded as exc:
        module.fail_json(msg="%s Or set load_modules=true." % exc, **result)
    except IPVSError as exc:
        module.fail_json(msg=str(exc), errno=exc.errno, **result)

    result.update(state)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
