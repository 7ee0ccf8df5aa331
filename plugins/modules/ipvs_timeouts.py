#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ipvs_timeouts
short_description: Set the IPVS connection timeouts (TCP, TCP FIN, UDP)
version_added: 0.1.0
description:
  - Sets the kernel's IPVS connection timeouts (ipvsadm C(--set TCP TCPFIN UDP)) over generic netlink with the
    pyroute2 library. It never runs C(ipvsadm).
  - Each timeout is in seconds. A timeout that is omitted is left as it is; so is one given as V(0), as the
    kernel does (a timeout cannot be 0; C(ipvsadm --set 0 0 0) changes nothing either).
  - The timeouts are global to the host (its network namespace), not per service. They apply to new connection
    states; a connection already in a state keeps the timer it has.
  - Every value is checked before the change; each error names the option, and nothing changes.
  - To read the timeouts, use M(lvs.cluster.ipvs_info) (O(lvs.cluster.ipvs_info#module:gather=timeouts)).
  - Needs C(CAP_NET_ADMIN) (run as root, O(ignore:become=true)).
extends_documentation_fragment:
  - lvs.cluster.ipvs
  - lvs.cluster.ipvs.write
attributes:
  check_mode:
    details:
      - Check mode reads the timeouts and reports the same C(changed), RV(changes) and diff as a real run,
        without setting anything. With O(load_modules=true) it loads C(ip_vs) if needed.
  diff_mode:
    details:
      - The diff shows the three timeouts (as RV(timeouts)) before and after.
options:
  tcp:
    description:
      - Seconds an established TCP connection without traffic is kept (the kernel's default is 900).
      - 1 to 2147483 (the largest value every kernel takes, whatever its timer frequency); V(0) or omitted leaves
        it as it is.
    type: int
  tcp_fin:
    description:
      - Seconds a TCP connection is kept after a FIN (the kernel's default is 120). Range as O(tcp).
    type: int
    aliases: [tcpfin]
  udp:
    description:
      - Seconds a UDP flow without traffic is kept (the kernel's default is 300). Range as O(tcp).
    type: int
  load_modules:
    description:
      - When the kernel has no IPVS (the C(ip_vs) module is not loaded), run C(modprobe ip_vs) first. The modules
        loaded are listed in RV(loaded_modules).
      - Loading C(ip_vs) resets the timeouts to the kernel's defaults.
    type: bool
    default: false
seealso:
  - module: lvs.cluster.ipvs_info
  - module: lvs.cluster.ipvs_sync_daemon
  - name: ipvsadm(8)
    description: Its C(--set) option sets the same timeouts.
    link: https://manpages.debian.org/bookworm/ipvsadm/ipvsadm.8.en.html
"""

EXAMPLES = r"""
- name: Shorter TCP timeouts for a busy web director; UDP left as it is
  lvs.cluster.ipvs_timeouts:
    tcp: 600
    tcp_fin: 60
  become: true

- name: All three
  lvs.cluster.ipvs_timeouts:
    tcp: 900
    tcp_fin: 120
    udp: 300
  become: true
"""

RETURN = r"""
timeouts:
  description:
    - The timeouts after the run (in check mode, as they would be), in seconds, C(tcp), C(tcp_fin) and C(udp), as
      M(lvs.cluster.ipvs_info) returns them (RV(lvs.cluster.ipvs_info#module:timeouts)).
  returned: success
  type: dict
  sample: {tcp: 600, tcp_fin: 60, udp: 300}
changes:
  description: One line per timeout the run changed (in check mode, would change), C(set NAME timeout OLD -> NEW).
  returned: success
  type: list
  elements: str
  sample: ["set tcp timeout 900 -> 600", "set tcp_fin timeout 120 -> 60"]
loaded_modules:
  description: Kernel modules this run loaded with C(modprobe) (see O(load_modules)).
  returned: always
  type: list
  elements: str
  sample: []
errors:
  description: Every input error, each starting with the option.
  returned: when the input is invalid
  type: list
  elements: str
  sample: ["udp: must be between 0 and 2147483, got -1"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils._common import IPVSSession, run_module
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_config import parse_timeouts, plan_timeouts
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_model import normalize_timeouts

ARGUMENT_SPEC = dict(
    tcp=dict(type="int"),
    tcp_fin=dict(type="int", aliases=["tcpfin"]),
    udp=dict(type="int"),
    load_modules=dict(type="bool", default=False),
)


def run(module, session):
    want = parse_timeouts(module.params)
    client = session.open()
    try:
        plan = plan_timeouts(want, client.get_timeouts())
        if plan.changed and not module.check_mode:
            for cmd, attrs, doing in plan.requests:
                client.request(cmd, attrs, doing=doing)
            plan.after = normalize_timeouts(client.get_timeouts())
    finally:
        client.close()
    result = {"changed": plan.changed, "changes": plan.changes, "timeouts": plan.after,
              "loaded_modules": session.loaded_modules}
    if module._diff:
        result["diff"] = {"before": plan.before, "after": plan.after}
    return result


def main():
    run_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True), run, session_class=IPVSSession)


if __name__ == "__main__":
    main()
