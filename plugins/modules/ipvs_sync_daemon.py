#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ipvs_sync_daemon
short_description: Start, change or stop the IPVS connection-synchronisation daemons
version_added: 0.1.0
description:
  - Starts or stops the kernel's IPVS master or backup connection-synchronisation daemon (ipvsadm
    C(--start-daemon), C(--stop-daemon)) over generic netlink with the pyroute2 library. It never runs C(ipvsadm).
  - The master daemon multicasts the director's connection table; the backup daemon receives it on the standby
    director, so that connections survive a failover. Both may run on one host. Each task manages one of them,
    O(role).
  - The kernel cannot change a running daemon. When O(interface), O(syncid), O(sync_maxlen), O(mcast_group),
    O(mcast_port) or O(mcast_ttl) differ from the running daemon's, the module stops the daemon and starts it
    again with the declared settings, and reports a change (RV(changes) says C(restart) and lists the settings
    that differ). While it restarts (a fraction of a second), the master sends no updates and the backup misses
    those sent.
  - Every option is checked before the first change, including that the interface exists; each error names the
    option, and nothing changes.
  - To read the daemons, use M(lvs.cluster.ipvs_info) (O(lvs.cluster.ipvs_info#module:gather=daemons)).
  - Needs C(CAP_NET_ADMIN) (run as root, O(ignore:become=true)).
extends_documentation_fragment:
  - lvs.cluster.ipvs
  - lvs.cluster.ipvs.write
attributes:
  check_mode:
    details:
      - Check mode reads the running daemons and reports the same C(changed), RV(changes) and diff as a real run,
        without starting or stopping anything. With O(load_modules=true) it loads C(ip_vs) if needed.
  diff_mode:
    details:
      - The diff shows the daemon (as RV(sync_daemon)) before and after; an empty dict for a daemon that does not run.
options:
  role:
    description:
      - Which daemon, V(master) (sends) or V(backup) (receives).
    type: str
    choices: [master, backup]
    required: true
  state:
    description:
      - V(present) starts the daemon, or restarts it when its settings differ. V(absent) stops it; then only
        O(role) is used.
      - Without IPVS in the kernel (C(ip_vs) not loaded) no daemon runs, and V(absent) reports no change.
    type: str
    choices: [present, absent]
    default: present
  interface:
    description:
      - The network interface the daemon sends or receives on (ipvsadm C(--mcast-interface)). Required with
        O(state=present). It must exist.
    type: str
    aliases: [mcast_interface]
  syncid:
    description:
      - The sync ID (ipvsadm C(--syncid)), 0 to 255. A backup daemon takes only the messages of a master with the
        same ID; V(0) makes a backup take every master's.
    type: int
    default: 0
    aliases: [sync_id]
  sync_maxlen:
    description:
      - The largest sync message payload in bytes (ipvsadm C(--sync-maxlen)). When omitted, the kernel picks it
        from the interface's MTU, and a running daemon's value is not compared.
      - The kernel takes 37 to 65507 for a master and 1060 to 65507 for a backup with an IPv4 group, 57 to 65487
        and 1080 to 65487 with an IPv6 group (it would silently clamp other values, so they are refused here).
    type: int
  mcast_group:
    description:
      - The IPv4 or IPv6 multicast group (ipvsadm C(--mcast-group)). The group's family is the family of the sync
        traffic.
    type: str
    default: 224.0.0.81
  mcast_port:
    description:
      - The UDP port (ipvsadm C(--mcast-port)), 1 to 65535.
    type: int
    default: 8848
  mcast_ttl:
    description:
      - The multicast TTL (hop limit) of the sync datagrams (ipvsadm C(--mcast-ttl)), 1 to 255.
    type: int
    default: 1
  load_modules:
    description:
      - When the kernel has no IPVS (the C(ip_vs) module is not loaded), run C(modprobe ip_vs) first. The modules
        loaded are listed in RV(loaded_modules).
    type: bool
    default: false
notes:
  - The kernel refuses to start a daemon while a service has a real server of the other address family (an IPv4
    service tunnelling to IPv6 real servers, or the reverse); the synchronisation protocol cannot carry those.
  - The kernel fills in defaults for what a start request leaves out; this module always sends the group, port
    and TTL, so the running daemon is exactly the declared one.
seealso:
  - module: lvs.cluster.ipvs_info
  - module: lvs.cluster.ipvs_timeouts
  - name: ipvsadm(8)
    description: Its C(--start-daemon) section describes the sync daemons.
    link: https://manpages.debian.org/bookworm/ipvsadm/ipvsadm.8.en.html
"""

EXAMPLES = r"""
- name: The active director sends its connections on the back network
  lvs.cluster.ipvs_sync_daemon:
    role: master
    interface: eth2
    syncid: 10
  become: true

- name: The standby director receives them (both daemons may run on each director)
  lvs.cluster.ipvs_sync_daemon:
    role: backup
    interface: eth2
    syncid: 10
  become: true

- name: Sync over IPv6 with a larger TTL and a fixed message size
  lvs.cluster.ipvs_sync_daemon:
    role: master
    interface: eth2
    syncid: 10
    mcast_group: "ff02::81"
    mcast_port: 8849
    mcast_ttl: 2
    sync_maxlen: 1400
  become: true

- name: Stop the backup daemon
  lvs.cluster.ipvs_sync_daemon:
    role: backup
    state: absent
  become: true
"""

RETURN = r"""
sync_daemon:
  description:
    - The daemon of O(role) after the run (in check mode, as it would be), with the keys (C(state),
      C(mcast_interface), C(syncid), C(sync_maxlen), C(mcast_group), C(mcast_port), C(mcast_ttl)) of the entries of
      M(lvs.cluster.ipvs_info)'s RV(lvs.cluster.ipvs_info#module:sync_daemons). V(null) when it does not run.
    - In check mode, its C(sync_maxlen) is V(null) where the kernel would choose it (O(sync_maxlen)
      omitted, and a daemon to start, or to restart on another interface or group family).
  returned: success
  type: dict
  sample: {state: master, mcast_interface: eth2, syncid: 10, sync_maxlen: 1472, mcast_group: 224.0.0.81,
           mcast_port: 8848, mcast_ttl: 1}
changes:
  description:
    - What the run did (in check mode, would do), C(start ROLE sync daemon), C(stop ROLE sync daemon), or
      C(restart ROLE sync daemon) followed by the options that differed, in parentheses.
  returned: success
  type: list
  elements: str
  sample: ["restart master sync daemon (syncid, mcast_ttl)"]
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
  sample: ["syncid: must be between 0 and 255, got 300"]
"""

import errno
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils._common import IPVSSession, run_module
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_config import (
    current_daemon,
    parse_daemon,
    plan_daemon,
)
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_netlink import IPVS_CMD_NEW_DAEMON, IPVSError

ARGUMENT_SPEC = dict(
    role=dict(type="str", choices=["master", "backup"], required=True),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    interface=dict(type="str", aliases=["mcast_interface"]),
    syncid=dict(type="int", default=0, aliases=["sync_id"]),
    sync_maxlen=dict(type="int"),
    mcast_group=dict(type="str", default="224.0.0.81"),
    mcast_port=dict(type="int", default=8848),
    mcast_ttl=dict(type="int", default=1),
    load_modules=dict(type="bool", default=False),
)


class SyncDaemonError(IPVSError):
    """A start failed after the stop of a restart: the daemon no longer runs (``changed``)."""

    changed = True


def interface_exists(name):
    return os.path.exists(os.path.join("/sys/class/net", name))


def send(client, plan, role):
    """Send the plan's requests; a failed start after the stop of a restart says that the daemon is down."""
    for index, (cmd, attrs, doing) in enumerate(plan.requests):
        try:
            client.request(cmd, attrs, doing=doing)
        except IPVSError as exc:
            message = str(exc) + (explain(exc.errno) if cmd == IPVS_CMD_NEW_DAEMON else "")
            if index > 0:
                raise SyncDaemonError(
                    "%s. The %s sync daemon was stopped to apply new settings and does not run now." % (message, role),
                    exc.errno,
                )
            raise IPVSError(message, exc.errno)


def explain(code):
    """Likely causes of a refused start (the checks before it passed)."""
    if code == errno.EINVAL:
        return (" (the kernel refuses a sync daemon while a service has real servers of the other address family,"
                " or on an interface whose MTU is too small for sync messages)")
    if code == errno.ENODEV:
        return " (the interface disappeared)"
    if code == errno.EEXIST:
        return " (another process started it meanwhile)"
    return ""


def run(module, session):
    params = module.params
    role = params["role"]
    want = parse_daemon(params, interface_exists)
    client = session.open(needed=want is not None)
    if client is None:
        plan = plan_daemon(role, want, None)
    else:
        try:
            plan = plan_daemon(role, want, current_daemon(client.get_daemons(), role))
            if plan.changed and not module.check_mode:
                send(client, plan, role)
                plan.after = current_daemon(client.get_daemons(), role)
        finally:
            client.close()
    result = {"changed": plan.changed, "changes": plan.changes, "sync_daemon": plan.after,
              "loaded_modules": session.loaded_modules}
    if module._diff:
        result["diff"] = {"before": plan.before or {}, "after": plan.after or {}}
    return result


def main():
    run_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True), run, session_class=IPVSSession)


if __name__ == "__main__":
    main()
