# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This file is PRIVATE to the lvs.cluster collection. It is not a public API: it may change or disappear in any
# release without notice. Do not import it from outside the collection.
"""IPVS over generic netlink: kernel constants, message definitions and a small read client, on pyroute2.

Layering: this file does the I/O (one netlink socket, opened only when asked, never at import time) and turns
each kernel message into a plain "raw" dict (attribute names without their prefix, lowercase; values as the kernel
sent them). ``_ipvs_model`` turns raw dicts into the documented shapes; only modules call ``fail_json``.

pyroute2 0.9.x ships ``pyroute2.netlink.generic.ipvs`` too, but its service/dest definitions decode the tunnel port
in the wrong byte order, know no sync-daemon, timeout or info attributes, and its high level ``IPVS`` API drops the
statistics on decode. The definitions below are complete for include/uapi/linux/ip_vs.h of Linux 6.1.
"""

from __future__ import annotations

import errno
import os
import traceback

PYROUTE2_MIN_VERSION = (0, 9, 1)
PYROUTE2_REQUIREMENT = "pyroute2>=0.9.1"
PYROUTE2_INSTALL_HINT = (
    "Install it on the managed host, for example with 'pip install \"pyroute2>=0.9.1\"' "
    "(Debian 12 and 13 ship 0.7.x as python3-pyroute2, which has no IPVS support)."
)

try:
    from pyroute2.netlink import NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, genlmsg, nla, nlmsg_base
    from pyroute2.netlink.exceptions import NetlinkError
    from pyroute2.netlink.generic import AsyncGenericNetlinkSocket, GenericNetlinkSocket
except ImportError:
    HAS_PYROUTE2 = False
    PYROUTE2_IMPORT_ERROR = traceback.format_exc()
    PYROUTE2_VERSION = None
    NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 1, 4, 0x300
    # Stand-ins so that the class definitions below still load; nothing here is usable without pyroute2.
    genlmsg = nla = nlmsg_base = AsyncGenericNetlinkSocket = GenericNetlinkSocket = object

    class NetlinkError(Exception):  # type: ignore[no-redef]
        """Stand-in for pyroute2's NetlinkError when pyroute2 is missing."""

        code = 0
else:
    try:
        from pyroute2 import __version__ as PYROUTE2_VERSION
    except ImportError:  # pragma: no cover - every release has it
        PYROUTE2_VERSION = "unknown"
    HAS_PYROUTE2 = True
    PYROUTE2_IMPORT_ERROR = None


def _version_tuple(text):
    parts = []
    for item in str(text).split("."):
        digits = ""
        for char in item:
            if not char.isdigit():
                break
            digits += char
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


if HAS_PYROUTE2 and PYROUTE2_VERSION != "unknown" and _version_tuple(PYROUTE2_VERSION) < PYROUTE2_MIN_VERSION:
    HAS_PYROUTE2 = False
    PYROUTE2_IMPORT_ERROR = "pyroute2 %s is installed, but %s is needed" % (PYROUTE2_VERSION, PYROUTE2_REQUIREMENT)


# ---------------------------------------------------------------------------------------------------------------
# Kernel constants: include/uapi/linux/ip_vs.h (Linux 6.1)

IPVS_GENL_NAME = "IPVS"
IPVS_GENL_VERSION = 0x1
IP_VS_VERSION_CODE = 0x010201

# Virtual service flags
IP_VS_SVC_F_PERSISTENT = 0x0001
IP_VS_SVC_F_HASHED = 0x0002
IP_VS_SVC_F_ONEPACKET = 0x0004
IP_VS_SVC_F_SCHED1 = 0x0008
IP_VS_SVC_F_SCHED2 = 0x0010
IP_VS_SVC_F_SCHED3 = 0x0020
IP_VS_SVC_F_SCHED_SH_FALLBACK = IP_VS_SVC_F_SCHED1
IP_VS_SVC_F_SCHED_SH_PORT = IP_VS_SVC_F_SCHED2
# Not in the uapi header: net/netfilter/ipvs/ip_vs_mh.c (and ipvsadm) reuse the generic scheduler flags.
IP_VS_SVC_F_SCHED_MH_FALLBACK = IP_VS_SVC_F_SCHED1
IP_VS_SVC_F_SCHED_MH_PORT = IP_VS_SVC_F_SCHED2

# Destination server flags
IP_VS_DEST_F_AVAILABLE = 0x0001
IP_VS_DEST_F_OVERLOAD = 0x0002

# Sync daemon states
IP_VS_STATE_NONE = 0x0000
IP_VS_STATE_MASTER = 0x0001
IP_VS_STATE_BACKUP = 0x0002

# Connection flags: forwarding methods (IPVS_DEST_ATTR_FWD_METHOD carries conn_flags & IP_VS_CONN_F_FWD_MASK)
IP_VS_CONN_F_FWD_MASK = 0x0007
IP_VS_CONN_F_MASQ = 0x0000
IP_VS_CONN_F_LOCALNODE = 0x0001
IP_VS_CONN_F_TUNNEL = 0x0002
IP_VS_CONN_F_DROUTE = 0x0003
IP_VS_CONN_F_BYPASS = 0x0004

IP_VS_SCHEDNAME_MAXLEN = 16
IP_VS_PENAME_MAXLEN = 16
IP_VS_IFNAME_MAXLEN = 16
IP_VS_PEDATA_MAXLEN = 255

# Tunnel types and encapsulation flags
IP_VS_CONN_F_TUNNEL_TYPE_IPIP = 0
IP_VS_CONN_F_TUNNEL_TYPE_GUE = 1
IP_VS_CONN_F_TUNNEL_TYPE_GRE = 2
IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM = 0
IP_VS_TUNNEL_ENCAP_FLAG_CSUM = 1 << 0
IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM = 1 << 1

# Generic netlink commands
IPVS_CMD_UNSPEC = 0
IPVS_CMD_NEW_SERVICE = 1
IPVS_CMD_SET_SERVICE = 2
IPVS_CMD_DEL_SERVICE = 3
IPVS_CMD_GET_SERVICE = 4
IPVS_CMD_NEW_DEST = 5
IPVS_CMD_SET_DEST = 6
IPVS_CMD_DEL_DEST = 7
IPVS_CMD_GET_DEST = 8
IPVS_CMD_NEW_DAEMON = 9
IPVS_CMD_DEL_DAEMON = 10
IPVS_CMD_GET_DAEMON = 11
IPVS_CMD_SET_CONFIG = 12
IPVS_CMD_GET_CONFIG = 13
IPVS_CMD_SET_INFO = 14
IPVS_CMD_GET_INFO = 15
IPVS_CMD_ZERO = 16
IPVS_CMD_FLUSH = 17


# ---------------------------------------------------------------------------------------------------------------
# Message definitions. pyroute2 numbers the attributes of an nla_map by position, so every enum below lists
# every kernel value in order, UNSPEC included. Nested types are resolved by name as class attributes.

class ipvs_stats(nla):
    """IPVS_SVC_ATTR_STATS / IPVS_DEST_ATTR_STATS: 32-bit counters (64-bit byte counters) and rates."""

    prefix = "IPVS_STATS_ATTR_"
    nla_map = (
        ("IPVS_STATS_ATTR_UNSPEC", "none"),
        ("IPVS_STATS_ATTR_CONNS", "uint32"),
        ("IPVS_STATS_ATTR_INPKTS", "uint32"),
        ("IPVS_STATS_ATTR_OUTPKTS", "uint32"),
        ("IPVS_STATS_ATTR_INBYTES", "uint64"),
        ("IPVS_STATS_ATTR_OUTBYTES", "uint64"),
        ("IPVS_STATS_ATTR_CPS", "uint32"),
        ("IPVS_STATS_ATTR_INPPS", "uint32"),
        ("IPVS_STATS_ATTR_OUTPPS", "uint32"),
        ("IPVS_STATS_ATTR_INBPS", "uint32"),
        ("IPVS_STATS_ATTR_OUTBPS", "uint32"),
        ("IPVS_STATS_ATTR_PAD", "none"),
    )


class ipvs_stats64(nla):
    """IPVS_SVC_ATTR_STATS64 / IPVS_DEST_ATTR_STATS64: the same counters and rates, all 64-bit."""

    prefix = "IPVS_STATS_ATTR_"
    nla_map = (
        ("IPVS_STATS_ATTR_UNSPEC", "none"),
        ("IPVS_STATS_ATTR_CONNS", "uint64"),
        ("IPVS_STATS_ATTR_INPKTS", "uint64"),
        ("IPVS_STATS_ATTR_OUTPKTS", "uint64"),
        ("IPVS_STATS_ATTR_INBYTES", "uint64"),
        ("IPVS_STATS_ATTR_OUTBYTES", "uint64"),
        ("IPVS_STATS_ATTR_CPS", "uint64"),
        ("IPVS_STATS_ATTR_INPPS", "uint64"),
        ("IPVS_STATS_ATTR_OUTPPS", "uint64"),
        ("IPVS_STATS_ATTR_INBPS", "uint64"),
        ("IPVS_STATS_ATTR_OUTBPS", "uint64"),
        ("IPVS_STATS_ATTR_PAD", "none"),
    )


class ipvs_service_flags(nla):
    """IPVS_SVC_ATTR_FLAGS: struct ip_vs_flags, host byte order. The kernel sends mask = ~0."""

    fields = (("flags", "I"), ("mask", "I"))


class ipvs_service(nla):
    """IPVS_CMD_ATTR_SERVICE.

    ADDR is a union nf_inet_addr (16 bytes from the kernel; 4 or 16 accepted), read with the family in AF.
    NETMASK is raw 32 bits: an IPv4 mask in network byte order, or for IPv6 the prefix length in host byte order
    (the kernel stores both in one __be32); it is decoded as a host-order uint32 and ``_ipvs_model`` interprets it.
    """

    prefix = "IPVS_SVC_ATTR_"
    nla_map = (
        ("IPVS_SVC_ATTR_UNSPEC", "none"),
        ("IPVS_SVC_ATTR_AF", "uint16"),
        ("IPVS_SVC_ATTR_PROTOCOL", "uint16"),
        ("IPVS_SVC_ATTR_ADDR", "target(nla,IPVS_SVC_ATTR_AF)"),
        ("IPVS_SVC_ATTR_PORT", "be16"),
        ("IPVS_SVC_ATTR_FWMARK", "uint32"),
        ("IPVS_SVC_ATTR_SCHED_NAME", "asciiz"),
        ("IPVS_SVC_ATTR_FLAGS", "flags"),
        ("IPVS_SVC_ATTR_TIMEOUT", "uint32"),
        ("IPVS_SVC_ATTR_NETMASK", "uint32"),
        ("IPVS_SVC_ATTR_STATS", "stats"),
        ("IPVS_SVC_ATTR_PE_NAME", "asciiz"),
        ("IPVS_SVC_ATTR_STATS64", "stats64"),
    )
    flags = ipvs_service_flags
    stats = ipvs_stats
    stats64 = ipvs_stats64


class ipvs_dest(nla):
    """IPVS_CMD_ATTR_DEST. ADDR is read with the family in ADDR_FAMILY (sent last by the kernel)."""

    prefix = "IPVS_DEST_ATTR_"
    nla_map = (
        ("IPVS_DEST_ATTR_UNSPEC", "none"),
        ("IPVS_DEST_ATTR_ADDR", "target(nla,IPVS_DEST_ATTR_ADDR_FAMILY)"),
        ("IPVS_DEST_ATTR_PORT", "be16"),
        ("IPVS_DEST_ATTR_FWD_METHOD", "uint32"),
        ("IPVS_DEST_ATTR_WEIGHT", "uint32"),
        ("IPVS_DEST_ATTR_U_THRESH", "uint32"),
        ("IPVS_DEST_ATTR_L_THRESH", "uint32"),
        ("IPVS_DEST_ATTR_ACTIVE_CONNS", "uint32"),
        ("IPVS_DEST_ATTR_INACT_CONNS", "uint32"),
        ("IPVS_DEST_ATTR_PERSIST_CONNS", "uint32"),
        ("IPVS_DEST_ATTR_STATS", "stats"),
        ("IPVS_DEST_ATTR_ADDR_FAMILY", "uint16"),
        ("IPVS_DEST_ATTR_STATS64", "stats64"),
        ("IPVS_DEST_ATTR_TUN_TYPE", "uint8"),
        ("IPVS_DEST_ATTR_TUN_PORT", "be16"),
        ("IPVS_DEST_ATTR_TUN_FLAGS", "uint16"),
    )
    stats = ipvs_stats
    stats64 = ipvs_stats64


class ipvs_daemon(nla):
    """IPVS_CMD_ATTR_DAEMON. MCAST_PORT is host byte order (nla_put_u16), unlike the service ports."""

    prefix = "IPVS_DAEMON_ATTR_"
    nla_map = (
        ("IPVS_DAEMON_ATTR_UNSPEC", "none"),
        ("IPVS_DAEMON_ATTR_STATE", "uint32"),
        ("IPVS_DAEMON_ATTR_MCAST_IFN", "asciiz"),
        ("IPVS_DAEMON_ATTR_SYNC_ID", "uint32"),
        ("IPVS_DAEMON_ATTR_SYNC_MAXLEN", "uint16"),
        ("IPVS_DAEMON_ATTR_MCAST_GROUP", "ip4addr"),
        ("IPVS_DAEMON_ATTR_MCAST_GROUP6", "ip6addr"),
        ("IPVS_DAEMON_ATTR_MCAST_PORT", "uint16"),
        ("IPVS_DAEMON_ATTR_MCAST_TTL", "uint8"),
    )


class ipvs_msg(genlmsg):
    """Every IPVS command and reply except the IPVS_CMD_GET_INFO reply (see ``ipvs_info_msg``)."""

    prefix = "IPVS_CMD_ATTR_"
    nla_map = (
        ("IPVS_CMD_ATTR_UNSPEC", "none"),
        ("IPVS_CMD_ATTR_SERVICE", "service"),
        ("IPVS_CMD_ATTR_DEST", "dest"),
        ("IPVS_CMD_ATTR_DAEMON", "daemon"),
        ("IPVS_CMD_ATTR_TIMEOUT_TCP", "uint32"),
        ("IPVS_CMD_ATTR_TIMEOUT_TCP_FIN", "uint32"),
        ("IPVS_CMD_ATTR_TIMEOUT_UDP", "uint32"),
    )
    service = ipvs_service
    dest = ipvs_dest
    daemon = ipvs_daemon


class ipvs_info_msg(genlmsg):
    """The IPVS_CMD_SET_INFO reply to IPVS_CMD_GET_INFO: its top-level attributes have their own numbering."""

    prefix = "IPVS_INFO_ATTR_"
    nla_map = (
        ("IPVS_INFO_ATTR_UNSPEC", "none"),
        ("IPVS_INFO_ATTR_VERSION", "uint32"),
        ("IPVS_INFO_ATTR_CONN_TAB_SIZE", "uint32"),
    )


def nla_to_dict(obj):
    """Turn a decoded pyroute2 message or nested attribute into plain dicts (the "raw" form).

    Keys are attribute names without their prefix, lowercase (``IPVS_SVC_ATTR_SCHED_NAME`` -> ``sched_name``);
    nested attributes become dicts, struct attributes dicts of their fields. Attributes of type ``none``
    (UNSPEC, PAD) and attributes this module does not know (newer kernels) are left out.
    """
    result = {}
    prefix = getattr(obj, "prefix", None) or ""
    for cell in obj.get("attrs", ()):
        name = cell[0]
        if name == "UNKNOWN" or not name.startswith(prefix):
            continue
        value = cell[1]
        if value is None:
            continue
        if isinstance(value, nlmsg_base):
            if value.nla_map:
                value = nla_to_dict(value)
            else:
                value = dict((field[0], value[field[0]]) for field in value.fields)
        result[name[len(prefix):].lower()] = value
    return result


def service_identity(service):
    """The attributes that identify a service (a raw service dict), as IPVS_CMD_ATTR_SERVICE content."""
    attrs = [("IPVS_SVC_ATTR_AF", service["af"])]
    if service.get("fwmark"):
        attrs.append(("IPVS_SVC_ATTR_FWMARK", service["fwmark"]))
    else:
        attrs.extend(
            [
                ("IPVS_SVC_ATTR_PROTOCOL", service["protocol"]),
                ("IPVS_SVC_ATTR_ADDR", service["addr"]),
                ("IPVS_SVC_ATTR_PORT", service["port"]),
            ]
        )
    return {"attrs": attrs}


# ---------------------------------------------------------------------------------------------------------------
# Errors

class IPVSError(Exception):
    """An IPVS netlink operation failed. ``errno`` is the kernel's error code when there is one."""

    def __init__(self, message, errno_value=None):
        super(IPVSError, self).__init__(message)
        self.errno = errno_value


class IPVSNotLoaded(IPVSError):
    """The kernel has no IPVS generic netlink family: the ip_vs module is not loaded (or not built)."""


class IPVSPermissionError(IPVSError):
    """The kernel refused the request: IPVS netlink needs CAP_NET_ADMIN."""


class IPVSLibraryMissing(IPVSError):
    """pyroute2 is missing or too old on this host."""


def _error_code(exc):
    code = getattr(exc, "code", None)
    if code is None:
        code = getattr(exc, "errno", None)
    return code


def translate_netlink_error(exc, doing):
    """Turn a pyroute2 NetlinkError (or OSError) into the matching IPVSError subclass."""
    code = _error_code(exc)
    if code in (errno.EPERM, errno.EACCES):
        return IPVSPermissionError(
            "%s was refused (%s): IPVS netlink requests need CAP_NET_ADMIN; run as root (become: true)"
            % (doing, _strerror(exc, code)),
            code,
        )
    return IPVSError("%s failed: %s" % (doing, _strerror(exc, code)), code)


def _strerror(exc, code):
    if isinstance(code, int) and code > 0:
        return "%s (errno %d)" % (os.strerror(code), code)
    return str(exc)


# ---------------------------------------------------------------------------------------------------------------
# Client

class _AsyncIPVSSocket(AsyncGenericNetlinkSocket):
    """pyroute2's generic netlink socket. Its discovery() may log an error through the root logger when the
    family is missing (depending on the pyroute2 version); keep that at debug level: IPVSNotLoaded reports it."""

    module_err_level = "debug"


class _IPVSSocket(GenericNetlinkSocket):
    async_class = _AsyncIPVSSocket


class IPVSNetlink(object):
    """A small IPVS client: one generic netlink socket, read requests only (for now).

    Nothing is opened before ``open()`` (or ``with IPVSNetlink() as ipvs:``), so that importing this file has
    no side effect and every error happens inside the caller's exception boundary. Methods return raw dicts
    (see ``nla_to_dict``); ``_ipvs_model`` turns them into the documented shapes.
    """

    def __init__(self, socket_factory=None):
        self._socket_factory = socket_factory
        self._sock = None

    # -- lifecycle -------------------------------------------------------------------------------------------
    def open(self):
        if self._sock is not None:
            return self
        if not HAS_PYROUTE2:
            raise IPVSLibraryMissing(PYROUTE2_IMPORT_ERROR or "pyroute2 is missing")
        factory = self._socket_factory or _IPVSSocket
        try:
            sock = factory()
        except (OSError, NetlinkError) as exc:
            raise translate_netlink_error(exc, "opening a generic netlink socket")
        try:
            sock.bind(IPVS_GENL_NAME, ipvs_msg)
        except (OSError, NetlinkError) as exc:
            sock.close()
            if _error_code(exc) == errno.ENOENT:
                # The genetlink controller knows no such family: ip_vs is not loaded (and the kernel did not
                # load it on demand, which it does when kernel.modprobe works: ip_vs has a family alias).
                raise IPVSNotLoaded(
                    "IPVS is not available: the kernel has no '%s' generic netlink family. "
                    "Load the IPVS kernel module with 'modprobe ip_vs'." % IPVS_GENL_NAME,
                    errno.ENOENT,
                )
            raise translate_netlink_error(exc, "looking up the IPVS generic netlink family")
        self._sock = sock
        return self

    def close(self):
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None

    def __enter__(self):
        return self.open()

    def __exit__(self, exc_type, exc_value, tb):
        self.close()

    # -- requests --------------------------------------------------------------------------------------------
    def request(self, cmd, attrs=None, flags=NLM_F_REQUEST | NLM_F_ACK, doing=None):
        """Send one IPVS command and return the kernel's replies as decoded ``ipvs_msg`` objects."""
        if self._sock is None:
            raise IPVSError("the IPVS netlink client is not open")
        msg = ipvs_msg()
        msg["cmd"] = cmd
        msg["version"] = IPVS_GENL_VERSION
        msg["attrs"] = list(attrs or [])
        try:
            replies = self._sock.nlm_request(msg, msg_type=self._sock.prid, msg_flags=flags)
            return [reply for reply in replies if reply["header"]["type"] == self._sock.prid]
        except (OSError, NetlinkError) as exc:
            raise translate_netlink_error(exc, doing or "IPVS command %d" % cmd)

    def _dump(self, cmd, attrs=None, doing=None):
        replies = self.request(cmd, attrs, NLM_F_REQUEST | NLM_F_DUMP, doing)
        return [nla_to_dict(reply) for reply in replies]

    def get_services(self):
        """Every virtual service, in one dump: a list of raw service dicts (with stats and stats64)."""
        return [
            reply["service"]
            for reply in self._dump(IPVS_CMD_GET_SERVICE, doing="dumping the IPVS services")
            if "service" in reply
        ]

    def get_destinations(self, service):
        """The real servers of one service (a raw service dict from ``get_services``), in one dump."""
        attrs = [("IPVS_CMD_ATTR_SERVICE", service_identity(service))]
        replies = self._dump(IPVS_CMD_GET_DEST, attrs, doing="dumping the destinations of an IPVS service")
        return [reply["dest"] for reply in replies if "dest" in reply]

    def get_timeouts(self):
        """The connection timeouts: ``{'timeout_tcp': s, 'timeout_tcp_fin': s, 'timeout_udp': s}``."""
        replies = self.request(IPVS_CMD_GET_CONFIG, doing="reading the IPVS timeouts")
        result = {}
        for reply in replies:
            result.update(nla_to_dict(reply))
        return result

    def get_daemons(self):
        """The running connection-sync daemons (master and/or backup): a list of raw daemon dicts."""
        return [
            reply["daemon"]
            for reply in self._dump(IPVS_CMD_GET_DAEMON, doing="dumping the IPVS sync daemons")
            if "daemon" in reply
        ]

    def get_info(self):
        """``{'version': IP_VS_VERSION_CODE, 'conn_tab_size': n}`` from IPVS_CMD_GET_INFO."""
        replies = self.request(IPVS_CMD_GET_INFO, doing="reading the IPVS version")
        result = {}
        for reply in replies:
            # The reply reuses the family's message type, so pyroute2 decoded it as ipvs_msg: decode it again.
            info = ipvs_info_msg(reply.data, offset=reply.offset)
            info.decode()
            result.update(nla_to_dict(info))
        return result

    def info(self, services=True, destinations=True, timeouts=True, daemons=True, select=None):
        """The whole IPVS state as raw dicts, one dump per kind of object and per selected service.

        ``select`` is an optional predicate on raw service dicts: services it rejects are left out (and their
        destinations are not dumped). Each service dict gets a ``destinations`` list when ``destinations``.
        """
        state = {"info": self.get_info()}
        if services:
            state["services"] = []
            for service in self.get_services():
                if select is not None and not select(service):
                    continue
                if destinations:
                    service = dict(service, destinations=self.get_destinations(service))
                state["services"].append(service)
        if timeouts:
            state["timeouts"] = self.get_timeouts()
        if daemons:
            state["daemons"] = self.get_daemons()
        return state
