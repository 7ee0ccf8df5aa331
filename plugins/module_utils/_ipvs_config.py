# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This file is PRIVATE to the lvs.cluster collection. It is not a public API: it may change or disappear in any
# release without notice. Do not import it from outside the collection.
"""The global IPVS settings: connection-sync daemons and connection timeouts. Pure: no I/O.

``parse_daemon`` / ``parse_timeouts`` validate the module options (every error at once, each naming the option)
into the raw dicts the kernel speaks; ``plan_daemon`` / ``plan_timeouts`` compare them with what the kernel
reported (``IPVSNetlink.get_daemons`` / ``get_timeouts``) and return a ``ConfigPlan``: the requests to send (for
``IPVSNetlink.request``), one line per change, and before/after views in the shapes of ``lvs.cluster.ipvs_info``.

Kernel rules (net/netfilter/ipvs/ip_vs_ctl.c and ip_vs_sync.c, Linux 6.1) that shape this file:

- A running sync daemon cannot be changed: IPVS_CMD_NEW_DAEMON for a role that runs is refused (EEXIST). A new
  interface, sync ID, packet length or multicast setting is applied by stopping the daemon and starting it again.
- The kernel fills in what a start request leaves out: group 224.0.0.81, port 8848, TTL 1, and a maximum packet
  length from the interface's MTU. A length it is given is clamped to [1 + headers (1024 + headers for a backup),
  65535 - headers] (headers: IP, UDP and the 8-byte sync message header); values outside are refused here, so
  that the kernel reports what was asked for and a second run sees no change.
- IPVS_CMD_SET_CONFIG sets only the timeouts a request carries, and a timeout of 0 leaves that timeout as it is
  (the same as ``ipvsadm --set 0 0 0``). The kernel keeps ``seconds * HZ`` in an int.
"""

from __future__ import annotations

from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_diff import IPVSValidationError
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_model import (
    IPVSModelError,
    canonical_address,
    normalize_daemon,
    normalize_timeouts,
)
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_netlink import (
    IP_VS_IFNAME_MAXLEN,
    IP_VS_STATE_BACKUP,
    IP_VS_STATE_MASTER,
    IPVS_CMD_DEL_DAEMON,
    IPVS_CMD_NEW_DAEMON,
    IPVS_CMD_SET_CONFIG,
)

ROLES = {"master": IP_VS_STATE_MASTER, "backup": IP_VS_STATE_BACKUP}
DEFAULT_GROUP = "224.0.0.81"  # IP_VS_SYNC_GROUP
DEFAULT_PORT = 8848  # IP_VS_SYNC_PORT
DEFAULT_TTL = 1
MAX_SYNC_ID = 255  # the sync message carries it in one byte
SYNC_MESSAGE_HEADER = 8  # sizeof(struct ip_vs_sync_mesg)
HEADERS = {"ipv4": 20 + 8, "ipv6": 40 + 8}  # IP and UDP headers of a sync datagram
# The largest timeout every kernel takes, whatever its HZ (up to 1000): seconds * HZ must fit in an int.
MAX_TIMEOUT = 0x7FFFFFFF // 1000
# Options in the order of ipvsadm's "--timeout" output, with the raw (kernel) names.
TIMEOUTS = (("tcp", "timeout_tcp", "IPVS_CMD_ATTR_TIMEOUT_TCP"),
            ("tcp_fin", "timeout_tcp_fin", "IPVS_CMD_ATTR_TIMEOUT_TCP_FIN"),
            ("udp", "timeout_udp", "IPVS_CMD_ATTR_TIMEOUT_UDP"))
# Daemon settings compared with the running daemon: (option, normalized field of ipvs_info's sync_daemons).
DAEMON_FIELDS = (("interface", "mcast_interface"), ("syncid", "syncid"), ("sync_maxlen", "sync_maxlen"),
                 ("mcast_group", "mcast_group"), ("mcast_port", "mcast_port"), ("mcast_ttl", "mcast_ttl"))


class ConfigPlan(object):
    """What a run changes: ``requests`` ``(cmd, attrs, doing)`` for ``IPVSNetlink.request``, ``changes`` (one
    line each), ``before``/``after`` views (None: no daemon)."""

    def __init__(self, before, after, changes, requests):
        self.before = before
        self.after = after
        self.changes = changes
        self.requests = requests

    @property
    def changed(self):
        return bool(self.requests)


def _integer(params, name, low, high, errors, note=""):
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors.append("%s: must be an integer, got %r" % (name, value))
        return None
    if not low <= value <= high:
        errors.append("%s: must be between %d and %d%s, got %d" % (name, low, high, note, value))
        return None
    return value


# ---------------------------------------------------------------------------------------------------------------
# Sync daemons

def interface_name_error(name):
    """Why ``name`` cannot be a network interface name, or None."""
    if not name:
        return "must be a network interface name, got an empty string"
    if len(name) > IP_VS_IFNAME_MAXLEN - 1:
        return "%r is longer than %d characters" % (name, IP_VS_IFNAME_MAXLEN - 1)
    if "/" in name or ":" in name or any(char.isspace() for char in name) or name in (".", ".."):
        return "%r is not a valid network interface name" % (name,)
    return None


def maxlen_range(role, family):
    """The ``sync_maxlen`` values the kernel keeps as given (it clamps others into this range)."""
    headers = HEADERS[family]
    low = (1024 if role == "backup" else 1) + headers + SYNC_MESSAGE_HEADER
    return low, 65535 - headers


def parse_daemon(params, interface_exists=None):
    """The module's options -> the normalized daemon it declares (the shape of ipvs_info's ``sync_daemons``
    entries, ``sync_maxlen`` None when the kernel is to choose), or None for ``state=absent``.

    ``interface_exists`` is a predicate on interface names (None: not checked). Raises IPVSValidationError.
    """
    errors = []
    role = params.get("role")
    if role not in ROLES:
        errors.append("role: must be master or backup, got %r" % (role,))
    if params.get("state", "present") == "absent":
        if errors:
            raise IPVSValidationError(errors)
        return None
    interface = params.get("interface")
    if interface is None:
        errors.append("interface: required with state=present")
    else:
        problem = interface_name_error(interface)
        if problem is None and interface_exists is not None and not interface_exists(interface):
            problem = "this host has no network interface %r" % (interface,)
        if problem:
            errors.append("interface: %s" % problem)
    syncid = _integer(params, "syncid", 0, MAX_SYNC_ID, errors)
    port = _integer(params, "mcast_port", 1, 65535, errors)
    ttl = _integer(params, "mcast_ttl", 1, 255, errors)
    group = params.get("mcast_group")
    family = "ipv4"
    if group is not None:
        try:
            group = canonical_address(group)
        except IPVSModelError:
            errors.append("mcast_group: must be an IPv4 or IPv6 multicast address, got %r" % (group,))
            group = None
        else:
            family = "ipv6" if ":" in group else "ipv4"
            if not _is_multicast(group):
                errors.append("mcast_group: %s is not a multicast address (IPv4 224.0.0.0/4, IPv6 ff00::/8)"
                              % group)
    maxlen = params.get("sync_maxlen")
    if maxlen is not None and role in ROLES:
        low, high = maxlen_range(role, family)
        note = " for a %s daemon with an %s group" % (role, family.replace("ipv", "IPv"))
        maxlen = _integer(params, "sync_maxlen", low, high, errors, note)
    if errors:
        raise IPVSValidationError(errors)
    return {
        "state": role,
        "mcast_interface": interface,
        "syncid": syncid if syncid is not None else 0,
        "sync_maxlen": maxlen,
        "mcast_group": group or DEFAULT_GROUP,
        "mcast_port": port or DEFAULT_PORT,
        "mcast_ttl": ttl or DEFAULT_TTL,
    }


def _is_multicast(address):
    if ":" in address:
        return address.lower().startswith("ff")
    return 224 <= int(address.split(".", 1)[0]) <= 239


def current_daemon(raw_daemons, role):
    """The normalized running daemon of ``role`` from ``IPVSNetlink.get_daemons()``, or None."""
    for raw in raw_daemons:
        daemon = normalize_daemon(raw)
        if daemon["state"] == role:
            return daemon
    return None


def daemon_differences(want, current):
    """The options whose declared value differs from the running daemon's (``sync_maxlen`` only when given)."""
    return [option for option, field in DAEMON_FIELDS
            if want[field] is not None and want[field] != current.get(field)]


def start_request(daemon):
    """The IPVS_CMD_NEW_DAEMON request for a normalized daemon."""
    attrs = [("IPVS_DAEMON_ATTR_STATE", ROLES[daemon["state"]]),
             ("IPVS_DAEMON_ATTR_MCAST_IFN", daemon["mcast_interface"]),
             ("IPVS_DAEMON_ATTR_SYNC_ID", daemon["syncid"])]
    if daemon["sync_maxlen"] is not None:
        attrs.append(("IPVS_DAEMON_ATTR_SYNC_MAXLEN", daemon["sync_maxlen"]))
    group = daemon["mcast_group"]
    attrs.append(("IPVS_DAEMON_ATTR_MCAST_GROUP6" if ":" in group else "IPVS_DAEMON_ATTR_MCAST_GROUP", group))
    attrs += [("IPVS_DAEMON_ATTR_MCAST_PORT", daemon["mcast_port"]),
              ("IPVS_DAEMON_ATTR_MCAST_TTL", daemon["mcast_ttl"])]
    return (IPVS_CMD_NEW_DAEMON, [("IPVS_CMD_ATTR_DAEMON", {"attrs": attrs})],
            "starting the %s sync daemon" % daemon["state"])


def stop_request(role):
    """The IPVS_CMD_DEL_DAEMON request for ``role``."""
    return (IPVS_CMD_DEL_DAEMON, [("IPVS_CMD_ATTR_DAEMON", {"attrs": [("IPVS_DAEMON_ATTR_STATE", ROLES[role])]})],
            "stopping the %s sync daemon" % role)


def plan_daemon(role, want, current):
    """Compare the declared daemon (``parse_daemon``; None: absent) with the running one (``current_daemon``)."""
    if want is None:
        if current is None:
            return ConfigPlan(None, None, [], [])
        return ConfigPlan(current, None, ["stop %s sync daemon" % role], [stop_request(role)])
    if current is None:
        return ConfigPlan(None, want, ["start %s sync daemon" % role], [start_request(want)])
    differences = daemon_differences(want, current)
    if not differences:
        return ConfigPlan(current, current, [], [])
    after = dict(want)
    # Left to the kernel, the length follows from the interface's MTU and the group's family: unchanged when
    # neither changes (the module reads the daemon back after a real run).
    if after["sync_maxlen"] is None and want["mcast_interface"] == current["mcast_interface"] \
            and (":" in want["mcast_group"]) == (":" in (current["mcast_group"] or "")):
        after["sync_maxlen"] = current["sync_maxlen"]
    return ConfigPlan(current, after, ["restart %s sync daemon (%s)" % (role, ", ".join(differences))],
                      [stop_request(role), start_request(want)])


# ---------------------------------------------------------------------------------------------------------------
# Timeouts

def parse_timeouts(params):
    """The module's options -> ``{'tcp': s or None, 'tcp_fin': ..., 'udp': ...}`` (None and 0: leave as it is).
    Raises IPVSValidationError."""
    errors = []
    want = {}
    for name, _raw, _attr in TIMEOUTS:
        value = _integer(params, name, 0, MAX_TIMEOUT, errors)
        want[name] = value or None
    if errors:
        raise IPVSValidationError(errors)
    return want


def plan_timeouts(want, raw_current):
    """Compare ``parse_timeouts``' result with ``IPVSNetlink.get_timeouts()``."""
    before = normalize_timeouts(raw_current)
    after = dict(before)
    changes = []
    attrs = []
    for name, _raw, attr in TIMEOUTS:
        if want[name] is not None and want[name] != before[name]:
            changes.append("set %s timeout %s -> %d" % (name, before[name], want[name]))
            after[name] = want[name]
            attrs.append((attr, want[name]))
    requests = [(IPVS_CMD_SET_CONFIG, attrs, "setting the IPVS timeouts")] if attrs else []
    return ConfigPlan(before, after, changes, requests)
