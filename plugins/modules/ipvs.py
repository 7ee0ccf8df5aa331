#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ipvs
short_description: Declare the whole IPVS table (virtual services and their real servers) at once
version_added: 0.1.0
description:
  - Brings the kernel's IP Virtual Server table in line with a list of virtual services and their real servers,
    over generic netlink with the pyroute2 library. It never runs C(ipvsadm).
  - This is the bulk path. It reads the table once (one dump of the services, one of each declared service's
    real servers), computes the differences, and sends only the changes, many requests per system call. In a
    User-Mode Linux guest of the lab, a table of 1,000 services with 10 real servers each is created from nothing
    by the whole module process in about 2.0 s with O(src) and 2.5 s with the table inline (keepalived takes about
    3.7 s, C(ipvsadm-restore) about 10 s for the same table), and checked for changes in about 1.9 s (C(ipvsadm -Sn)
    alone takes about 1.1 s). Starting Python and importing Ansible's module code and pyroute2 is about 1.1 s of
    each; C(bench/ipvs_apply.py) measures it.
  - Each entry of O(services) takes the options of M(lvs.cluster.ipvs_service). Existing services and real
    servers whose settings differ are changed in place, never deleted and re-created.
  - The table comes from O(services), or from a JSON file on the managed host (O(src)), as C(ipvsadm-restore)
    reads a file. For large tables the file is faster, as Ansible copies and checks a module's arguments twice
    before the module runs (about 0.45 s for 11,000 real servers in a lab guest), a file is read once.
  - With O(exclusive=true), services not listed are removed, and so are real servers a listed service does not
    list. The table becomes exactly O(services).
  - Every entry is checked before the first change; each error names the entry's index and the option, and
    nothing changes. When the kernel refuses a change, the module fails and lists what was applied and what was
    not.
  - Changing IPVS needs C(CAP_NET_ADMIN) (run as root, O(ignore:become=true)).
extends_documentation_fragment:
  - lvs.cluster.ipvs
  - lvs.cluster.ipvs.write
attributes:
  check_mode:
    details:
      - Check mode reads the table and reports the same C(changed), RV(changes), RV(summary) and diff as a real run,
        without sending any change. With O(load_modules=true) it loads C(ip_vs) if needed.
  diff_mode:
    details:
      - The diff lists the services that change (added, modified or removed), each before and after, keyed by
        their service key.
options:
  services:
    description:
      - The virtual services, each with the options of M(lvs.cluster.ipvs_service) (except O(load_modules)).
      - A service key (protocol, address and port, or firewall mark and family) may appear once.
      - Exactly one of O(services) and O(src) is required.
    type: list
    elements: dict
    suboptions:
      state:
        description:
          - V(absent) removes the service. See O(lvs.cluster.ipvs_service#module:state).
        type: str
        choices: [present, absent]
        default: present
      address:
        description: The virtual address. See O(lvs.cluster.ipvs_service#module:address).
        type: str
      port:
        description: The virtual port. See O(lvs.cluster.ipvs_service#module:port).
        type: int
      protocol:
        description: V(tcp) (when omitted), V(udp) or V(sctp). See O(lvs.cluster.ipvs_service#module:protocol).
        type: str
        choices: [tcp, udp, sctp]
      fwmark:
        description: A firewall mark instead of address, port and protocol.
        type: int
      family:
        description: V(ipv4) or V(ipv6). See O(lvs.cluster.ipvs_service#module:family).
        type: str
        choices: [ipv4, ipv6]
      scheduler:
        description: The scheduler; one the running kernel offers. See O(lvs.cluster.ipvs_service#module:scheduler).
        type: str
        default: wlc
      scheduler_flags:
        description: V(sh-fallback), V(sh-port) (for V(sh)), V(mh-fallback), V(mh-port) (for V(mh)).
        type: list
        elements: str
        choices: [sh-fallback, sh-port, mh-fallback, mh-port]
      persistence_timeout:
        description: Seconds of persistence; omitted or V(0) is not persistent.
        type: int
      persistence_netmask:
        description: The IPv4 persistence netmask, for example V(255.255.255.0).
        type: str
      persistence_prefix:
        description: The persistence netmask as a prefix length (IPv4 or IPv6).
        type: int
      one_packet:
        description: One-packet scheduling, for UDP and firewall-mark services.
        type: bool
        default: false
      persistence_engine:
        description: The persistence engine V(sip); needs O(services[].persistence_timeout).
        type: str
        choices: [sip]
      destinations:
        description:
          - The real servers, each with the suboptions of O(lvs.cluster.ipvs_service#module:destinations) (address,
            port, forwarding_method, weight, upper_threshold, lower_threshold, tunnel_type, tunnel_port,
            tunnel_checksum).
          - When omitted, the service's real servers are left alone (even with O(exclusive=true)).
        type: list
        elements: dict
      purge_destinations:
        description:
          - Remove the service's real servers that O(services[].destinations) does not list.
          - The value of O(exclusive) when omitted.
        type: bool
  src:
    description:
      - Path of a JSON file on the managed host holding the list of services, each entry as in O(services)
        (JSON keys and values as the options take them), instead of O(services).
      - Errors in the file's entries name the file and the entry, for example C(/etc/lvs/ipvs.json[3].port).
    type: path
  exclusive:
    description:
      - Remove the services that O(services) (or O(src)) does not list, and (unless an entry sets
        O(services[].purge_destinations=false)) the real servers a listed service does not list.
    type: bool
    default: false
  load_modules:
    description:
      - Run C(modprobe ip_vs) when IPVS is not loaded, and C(modprobe) the scheduler and persistence-engine
        modules the changes need. See O(lvs.cluster.ipvs_service#module:load_modules).
    type: bool
    default: false
notes:
  - The result's C(invocation.module_args) (shown with C(-vvv)) counts the services instead of repeating them. For
    a large table, echoing it back would cost more than applying it.
  - Requests go out in batches of up to 1,000 per system call, with an acknowledgement asked for only on the
    last one of each batch; the kernel reports any failing request by its sequence number. After a batch in
    which the kernel refused something, no further batch is sent.
  - Order of the changes; services to create or modify, each followed by its real servers to create or modify;
    then real servers to remove; then services to remove.
seealso:
  - module: lvs.cluster.ipvs_service
  - module: lvs.cluster.ipvs_info
"""

EXAMPLES = r"""
- name: The director's whole IPVS table; anything else is removed
  lvs.cluster.ipvs:
    exclusive: true
    services:
      - address: 198.51.100.100
        port: 80
        scheduler: wlc
        destinations:
          - address: 198.51.100.21
          - address: 198.51.100.22
            weight: 2
      - address: 198.51.100.100
        port: 443
        scheduler: sh
        scheduler_flags: [sh-port]
        persistence_timeout: 300
        destinations:
          - address: 198.51.100.21
          - address: 198.51.100.22
      - fwmark: 7
        family: ipv6
        scheduler: rr
        destinations:
          - address: "2001:db8:101::21"
            forwarding_method: tun
  become: true

- name: Build the table from inventory data (one entry per service)
  lvs.cluster.ipvs:
    services: "{{ lvs_services }}"
  become: true

- name: Remove one service and leave the others
  lvs.cluster.ipvs:
    services:
      - address: 198.51.100.100
        port: 443
        state: absent
  become: true

- name: Apply a table kept in a JSON file on the director (a list of services as in the services option)
  lvs.cluster.ipvs:
    src: /etc/lvs-cluster/ipvs.json
    exclusive: true
  become: true

- name: Empty the table
  lvs.cluster.ipvs:
    services: []
    exclusive: true
  become: true
"""

RETURN = r"""
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
    - create service tcp/198.51.100.100:80
    - create destination 198.51.100.21:80 of tcp/198.51.100.100:80
    - modify destination 198.51.100.22:443 of tcp/198.51.100.100:443 (weight)
    - remove service udp/198.51.100.100:53
changes_omitted:
  description: How many lines RV(changes) left out (see there); V(0) when it lists every change.
  returned: success
  type: int
  sample: 10950
summary:
  description: How many services and destinations the run created, modified and removed (or applied, on failure).
  returned: always, except on input errors
  type: dict
  sample: {services_created: 1, services_modified: 0, services_removed: 1, destinations_created: 1,
           destinations_modified: 1, destinations_removed: 0}
loaded_modules:
  description: Kernel modules this run loaded with C(modprobe) (see O(load_modules)).
  returned: always
  type: list
  elements: str
  sample: []
errors:
  description: Every input error, each starting with the entry and option, for example C(services[3].port).
  returned: when the input is invalid
  type: list
  elements: str
  sample: ["services[3].destinations[1].weight: must be between 0 and 2147483647, got -1"]
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

import json

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils._common import run_module
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_diff import IPVSValidationError, parse_services

# The entries are checked by _ipvs_diff.parse_services, not by suboptions: its messages name the entry's index,
# and it checks 11,000 real servers in a fraction of AnsibleModule's time.
ARGUMENT_SPEC = dict(
    services=dict(type="list", elements="dict"),
    src=dict(type="path"),
    exclusive=dict(type="bool", default=False),
    load_modules=dict(type="bool", default=False),
)
ARGUMENT_RULES = dict(mutually_exclusive=[("services", "src")], required_one_of=[("services", "src")])


def read_src(path):
    """The list of services in JSON file ``path``; IPVSValidationError naming the file when it cannot be used."""
    try:
        with open(path, "rb") as handle:
            return json.loads(handle.read().decode("utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise IPVSValidationError(["src: cannot read %s: %s" % (path, getattr(exc, "strerror", None) or exc)])
    except ValueError as exc:
        raise IPVSValidationError(["src: %s is not JSON: %s" % (path, exc)])


def run(module, reconciler):
    exclusive = module.params["exclusive"]
    src = module.params["src"]
    if src is None:
        specs = parse_services(module.params["services"], purge_default=exclusive)
    else:
        specs = parse_services(read_src(src), purge_default=exclusive, path=src)
    return reconciler.run(specs, exclusive=exclusive)


def invocation(params):
    """What the result echoes as ``invocation``: the arguments, with the table itself only counted. AnsibleModule
    would copy, scan and serialize every value of a large table once more (half a second for 11,000 objects on
    a slow host) just to send the controller what it sent."""
    services = params["services"]
    if services is None:
        return {"module_args": params}
    count = len(services) if isinstance(services, list) else 0
    return {"module_args": dict(params, services="(%d services, not repeated here)" % count)}


def main():
    run_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True, **ARGUMENT_RULES), run,
               invocation=invocation)


if __name__ == "__main__":
    main()
