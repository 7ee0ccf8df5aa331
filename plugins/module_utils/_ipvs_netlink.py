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
import importlib.util
import os
import select as _select
import socket
import struct
import sys
import traceback

PYROUTE2_MIN_VERSION = (0, 9, 1)
PYROUTE2_REQUIREMENT = "pyroute2>=0.9.1"
PYROUTE2_INSTALL_HINT = (
    "Install it on the managed host, for example with 'pip install \"pyroute2>=0.9.1\"' "
    "(Debian 12 and 13 ship 0.7.x as python3-pyroute2, which has no IPVS support)."
)
PYROUTE2_ROLE_HINT = (
    "The lvs.cluster.director role installs pyroute2 into a virtual environment (lvs_director_python_venv, "
    "default /opt/lvs-cluster/venv) and runs these modules with the interpreter in lvs_director_ipvs_python: set "
    "the task's ansible_python_interpreter to that variable's value (for example "
    "/opt/lvs-cluster/venv/bin/python3), and run the role (or its pyroute2 tasks, tasks_from: pyroute2) first."
)


def pyroute2_missing_message(missing_lib_message, interpreter=None):
    """The failure message when pyroute2 is missing or too old: Ansible's missing_required_lib() text, the
    interpreter this module ran with, where the director role puts pyroute2, and how to install it."""
    return "%s. This module ran with the Python interpreter %s. %s %s" % (
        missing_lib_message.rstrip("."),
        interpreter or sys.executable,
        PYROUTE2_ROLE_HINT,
        PYROUTE2_INSTALL_HINT,
    )


def _lazy_pyroute2_package():
    """Put pyroute2's package object in ``sys.modules`` without running its ``__init__.py`` yet.

    ``pyroute2/__init__.py`` imports every part of the library (IPRoute, NDB, IPDB, nl80211, conntrack, ...):
    370 modules, 0.3-0.8 s in a User-Mode Linux guest, where every page a module touches is costly. This file
    needs 17 of them (``pyroute2.netlink`` and its generic socket). The package object made here has pyroute2's
    own spec and path, so submodules import as usual; the first access to any other name of the package (``from
    pyroute2 import IPRoute`` by other code in the same process) runs the real ``__init__.py`` in it then.
    Nothing happens when pyroute2 is already imported, or missing (then the imports below fail as they would).
    """
    if "pyroute2" in sys.modules:
        return
    try:
        spec = importlib.util.find_spec("pyroute2")
    except (ImportError, ValueError):
        return
    if spec is None or spec.loader is None or not spec.submodule_search_locations:
        return
    package = importlib.util.module_from_spec(spec)
    search = list(spec.submodule_search_locations)

    def __getattr__(name):
        # A submodule not imported yet: "from pyroute2 import config" imports it when this raises.
        if name.startswith("__") or any(
            os.path.exists(os.path.join(path, name + ".py")) or os.path.isdir(os.path.join(path, name))
            for path in search
        ):
            raise AttributeError(name)
        del package.__getattr__
        spec.loader.exec_module(package)
        return getattr(package, name)

    package.__getattr__ = __getattr__
    sys.modules["pyroute2"] = package


try:
    _lazy_pyroute2_package()
    from pyroute2.netlink import NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, genlmsg, nla, nlmsg_base
    from pyroute2.netlink.exceptions import NetlinkError
except ImportError:
    HAS_PYROUTE2 = False
    PYROUTE2_IMPORT_ERROR = traceback.format_exc()
    PYROUTE2_VERSION = None
    NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 1, 4, 0x300
    # Stand-ins so that the class definitions below still load; nothing here is usable without pyroute2.
    genlmsg = nla = nlmsg_base = object

    class NetlinkError(Exception):  # type: ignore[no-redef]
        """Stand-in for pyroute2's NetlinkError when pyroute2 is missing."""

        code = 0
else:
    try:
        from pyroute2.config.version import __version__ as PYROUTE2_VERSION
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

# Top-level, service and destination attribute numbers (include/uapi/linux/ip_vs.h), for the fast codec below.
IPVS_CMD_ATTR_SERVICE = 1
IPVS_CMD_ATTR_DEST = 2
IPVS_SVC_ATTR_AF = 1
IPVS_SVC_ATTR_PROTOCOL = 2
IPVS_SVC_ATTR_ADDR = 3
IPVS_SVC_ATTR_PORT = 4
IPVS_SVC_ATTR_FWMARK = 5
IPVS_SVC_ATTR_SCHED_NAME = 6
IPVS_SVC_ATTR_FLAGS = 7
IPVS_SVC_ATTR_TIMEOUT = 8
IPVS_SVC_ATTR_NETMASK = 9
IPVS_SVC_ATTR_STATS = 10
IPVS_SVC_ATTR_PE_NAME = 11
IPVS_SVC_ATTR_STATS64 = 12
IPVS_DEST_ATTR_ADDR = 1
IPVS_DEST_ATTR_PORT = 2
IPVS_DEST_ATTR_FWD_METHOD = 3
IPVS_DEST_ATTR_WEIGHT = 4
IPVS_DEST_ATTR_U_THRESH = 5
IPVS_DEST_ATTR_L_THRESH = 6
IPVS_DEST_ATTR_ACTIVE_CONNS = 7
IPVS_DEST_ATTR_INACT_CONNS = 8
IPVS_DEST_ATTR_PERSIST_CONNS = 9
IPVS_DEST_ATTR_STATS = 10
IPVS_DEST_ATTR_ADDR_FAMILY = 11
IPVS_DEST_ATTR_STATS64 = 12
IPVS_DEST_ATTR_TUN_TYPE = 13
IPVS_DEST_ATTR_TUN_PORT = 14
IPVS_DEST_ATTR_TUN_FLAGS = 15

# Netlink itself (include/uapi/linux/netlink.h, socket.h)
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_MULTI = 2
NLA_TYPE_MASK = 0x3FFF
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
SO_RCVBUFFORCE = 33


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


# Requests that change services and destinations. The attribute lists below are the reference: pyroute2 encodes
# them (``request_message``), and the fast codec at the end of this file must produce the same bytes (the unit
# tests compare both). Both take the raw dicts ``nla_to_dict`` gives (kernel attribute names and values).

def service_request_attrs(service, full=False):
    """IPVS_CMD_ATTR_SERVICE content of a request: the identity (``service_identity``), and with ``full`` what
    IPVS_CMD_NEW_SERVICE and IPVS_CMD_SET_SERVICE need as well: SCHED_NAME, FLAGS (with its mask), TIMEOUT,
    NETMASK, then PE_NAME when the service has a persistence engine (leaving it out removes one)."""
    content = service_identity(service)
    if full:
        flags = service.get("flags") or {}
        content["attrs"].extend(
            [
                ("IPVS_SVC_ATTR_SCHED_NAME", service["sched_name"]),
                ("IPVS_SVC_ATTR_FLAGS", {"flags": flags.get("flags", 0), "mask": flags.get("mask", 0xFFFFFFFF)}),
                ("IPVS_SVC_ATTR_TIMEOUT", service.get("timeout") or 0),
                ("IPVS_SVC_ATTR_NETMASK", service.get("netmask", 0xFFFFFFFF)),
            ]
        )
        if service.get("pe_name"):
            content["attrs"].append(("IPVS_SVC_ATTR_PE_NAME", service["pe_name"]))
    return content


def dest_request_attrs(dest, full=False):
    """IPVS_CMD_ATTR_DEST content of a request: ADDR, PORT and ADDR_FAMILY identify a destination; ``full`` adds
    FWD_METHOD, WEIGHT, U_THRESH, L_THRESH and, for tunnelling only, TUN_TYPE, TUN_PORT and TUN_FLAGS (the kernel
    resets what a request leaves out to 0)."""
    attrs = [
        ("IPVS_DEST_ATTR_ADDR", dest["addr"]),
        ("IPVS_DEST_ATTR_PORT", dest["port"]),
        ("IPVS_DEST_ATTR_ADDR_FAMILY", dest["addr_family"]),
    ]
    if full:
        attrs.extend(
            [
                ("IPVS_DEST_ATTR_FWD_METHOD", dest["fwd_method"]),
                ("IPVS_DEST_ATTR_WEIGHT", dest.get("weight", 1)),
                ("IPVS_DEST_ATTR_U_THRESH", dest.get("u_thresh", 0)),
                ("IPVS_DEST_ATTR_L_THRESH", dest.get("l_thresh", 0)),
            ]
        )
        if dest["fwd_method"] == IP_VS_CONN_F_TUNNEL:
            attrs.extend(
                [
                    ("IPVS_DEST_ATTR_TUN_TYPE", dest.get("tun_type", 0)),
                    ("IPVS_DEST_ATTR_TUN_PORT", dest.get("tun_port", 0)),
                    ("IPVS_DEST_ATTR_TUN_FLAGS", dest.get("tun_flags", 0)),
                ]
            )
    return {"attrs": attrs}


def request_message(cmd, service=None, dest=None, full_service=False, full_dest=False):
    """A service or destination request as an ``ipvs_msg`` that pyroute2 encodes (the reference encoding)."""
    msg = ipvs_msg()
    msg["cmd"] = cmd
    msg["version"] = IPVS_GENL_VERSION
    attrs = []
    if service is not None:
        attrs.append(("IPVS_CMD_ATTR_SERVICE", service_request_attrs(service, full_service)))
    if dest is not None:
        attrs.append(("IPVS_CMD_ATTR_DEST", dest_request_attrs(dest, full_dest)))
    msg["attrs"] = attrs
    return msg


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

_PYROUTE2_SOCKET_CLASS = []


def _pyroute2_socket():
    """A new pyroute2 generic netlink socket (not bound yet).

    ``pyroute2.netlink.generic`` is imported here, on first use, not with this file: it imports asyncio and ssl
    (about 0.3 s of every module run in a User-Mode Linux guest), and the bulk path (``dump_table``, ``apply``)
    never needs it. Its discovery() may log an error through the root logger when the family is missing
    (depending on the pyroute2 version); that is kept at debug level: IPVSNotLoaded reports it.
    """
    if not _PYROUTE2_SOCKET_CLASS:
        from pyroute2.netlink.generic import AsyncGenericNetlinkSocket, GenericNetlinkSocket

        class _AsyncIPVSSocket(AsyncGenericNetlinkSocket):
            module_err_level = "debug"

        class _IPVSSocket(GenericNetlinkSocket):
            async_class = _AsyncIPVSSocket

        _PYROUTE2_SOCKET_CLASS.append(_IPVSSocket)
    return _PYROUTE2_SOCKET_CLASS[0]()


# Generic netlink's controller (include/uapi/linux/genetlink.h) and the netlink error message.
NETLINK_GENERIC = 16
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID = 1
CTRL_ATTR_FAMILY_NAME = 2
NLMSG_ERROR = 2


def encode_getfamily(name, seq):
    """The CTRL_CMD_GETFAMILY request for family ``name`` (no ack asked: the reply or an error answers it)."""
    payload = name.encode("ascii") + b"\0"
    attr = struct.pack("=HH", 4 + len(payload), CTRL_ATTR_FAMILY_NAME) + payload + b"\0" * (-len(payload) % 4)
    return struct.pack("=IHHIIBBH", 20 + len(attr), GENL_ID_CTRL, NLM_F_REQUEST, seq, 0,
                       CTRL_CMD_GETFAMILY, 1, 0) + attr


def decode_family_id(data):
    """The family id in the controller's reply ``data``; OSError with the kernel's errno for an error reply
    (ENOENT: no such family)."""
    if len(data) < 16:
        raise OSError(errno.EIO, "short reply from the generic netlink controller")
    length, msg_type = struct.unpack_from("=IH", data)
    if msg_type == NLMSG_ERROR:
        code = -struct.unpack_from("=i", data, 16)[0]
        raise OSError(code, os.strerror(code))
    offset, end = 20, min(length, len(data))
    while offset + 4 <= end:
        attr_len, attr_type = struct.unpack_from("=HH", data, offset)
        if attr_len < 4:
            break
        if attr_type & 0x3FFF == CTRL_ATTR_FAMILY_ID:
            return struct.unpack_from("=H", data, offset + 4)[0]
        offset += (attr_len + 3) & ~3
    raise OSError(errno.EIO, "the generic netlink controller's reply has no family id")


class _GenericSocket(object):
    """A generic netlink socket for the bulk path, without pyroute2's socket (and the asyncio it imports).

    ``bind(name, msg_class)`` resolves the family id (``prid``) with one CTRL_CMD_GETFAMILY request; the bulk
    path then does its own I/O on a duplicate of ``fileno()``. ``nlm_request`` (the other requests: sync
    daemons, timeouts, info) goes through a pyroute2 socket bound to the same family, made on first use.
    """

    WAIT_SECONDS = 30.0

    def __init__(self):
        self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        self._pyroute2 = None
        self._family = None
        self.prid = None

    def fileno(self):
        return self._sock.fileno()

    def bind(self, name, msg_class):
        self._sock.bind((0, 0))
        self._sock.settimeout(self.WAIT_SECONDS)
        self._sock.send(encode_getfamily(name, 1))
        while True:
            data = self._sock.recv(65536)
            if struct.unpack_from("=I", data, 8)[0] == 1:  # the reply to this request (seq 1)
                break
        self.prid = decode_family_id(data)
        self._family = (name, msg_class)

    def nlm_request(self, msg, msg_type, msg_flags):
        if self._pyroute2 is None:
            sock = _pyroute2_socket()
            try:
                sock.bind(*self._family)
            except BaseException:
                sock.close()
                raise
            self._pyroute2 = sock
        return self._pyroute2.nlm_request(msg, msg_type=self._pyroute2.prid, msg_flags=msg_flags)

    def close(self):
        try:
            if self._pyroute2 is not None:
                self._pyroute2.close()
        finally:
            self._pyroute2 = None
            self._sock.close()


class IPVSNetlink(object):
    """A small IPVS client: one generic netlink socket, read requests only (for now).

    Nothing is opened before ``open()`` (or ``with IPVSNetlink() as ipvs:``), so that importing this file has
    no side effect and every error happens inside the caller's exception boundary. Methods return raw dicts
    (see ``nla_to_dict``); ``_ipvs_model`` turns them into the documented shapes.
    """

    def __init__(self, socket_factory=None, raw_factory=None):
        self._socket_factory = socket_factory
        self._sock = None
        # The bulk path (dump_table, apply) does raw I/O on a duplicate of the socket's descriptor.
        self._raw_factory = raw_factory or _duplicate_socket
        self._channel = None

    # -- lifecycle -------------------------------------------------------------------------------------------
    def open(self):
        if self._sock is not None:
            return self
        if not HAS_PYROUTE2:
            raise IPVSLibraryMissing(PYROUTE2_IMPORT_ERROR or "pyroute2 is missing")
        factory = self._socket_factory or _GenericSocket
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
        if self._channel is not None:
            try:
                self._channel.close()
            finally:
                self._channel = None
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

    # -- bulk path: raw I/O and the fast codec -----------------------------------------------------------------
    def _raw(self):
        """The channel of the bulk path, on a duplicate of the bound socket's descriptor (made on first use)."""
        if self._sock is None:
            raise IPVSError("the IPVS netlink client is not open")
        if self._channel is None:
            try:
                self._channel = _Channel(self._raw_factory(self._sock), self._sock.prid)
            except OSError as exc:
                raise translate_netlink_error(exc, "preparing the IPVS netlink socket")
        return self._channel

    def dump_table(self, destinations=True, stats=False):
        """Every service in one dump, then the destinations of the services ``destinations`` selects, one dump
        per service (GET_DEST needs a service, and a socket runs one dump at a time), decoded by the fast codec.

        ``destinations`` is True (every service), False (none) or a predicate on raw service dicts. Returns raw
        service dicts as ``get_services`` does (statistics only with ``stats``); the selected ones get a
        ``destinations`` list of raw destination dicts.
        """
        channel = self._raw()
        services = channel.dump(IPVS_CMD_GET_SERVICE, b"", "service", stats, "dumping the IPVS services")
        for service in services:
            if destinations is True or (destinations and destinations(service)):
                service["destinations"] = channel.dump(
                    IPVS_CMD_GET_DEST,
                    encode_service_attr(service),
                    "dest",
                    stats,
                    "dumping the destinations of an IPVS service",
                )
        return services

    def apply(self, requests, batch_size=None):
        """Send change requests in batches (see ``_Channel.send``) and return a ``BatchReport``.

        ``requests`` is a sequence of ``(cmd, service, dest)``: an IPVS_CMD_* command, a raw service dict and a raw
        destination dict (or None for service commands).
        """
        return self._raw().send(requests, batch_size=batch_size)


# ---------------------------------------------------------------------------------------------------------------
# The bulk path: a fast codec for service and destination messages, and raw request/reply I/O.
#
# pyroute2's generic NLA encoder costs about 0.3 ms per message on a slow host (3.5 s for 11,000 destinations in
# a User-Mode Linux guest); struct.pack does the same work in a few microseconds. The encoders below produce the
# exact bytes pyroute2 produces for ``request_message`` (tests/unit proves it over families, firewall marks,
# flags and tunnel options), and the decoder returns what ``nla_to_dict`` returns for service and destination
# messages. The family id comes from one CTRL_CMD_GETFAMILY request on a plain socket (``_GenericSocket``), so the
# bulk path never imports pyroute2's sockets; requests go out many per sendto, with
# NLM_F_ACK only on the last of each batch: the kernel answers a failing request with an error message carrying
# its sequence number whether or not it asked for an ack, so one ack per batch says the batch is done.

_NLA = struct.Struct("=HH")
_NLA_U8 = struct.Struct("=HHB3x")
_NLA_U16 = struct.Struct("=HHH2x")
_NLA_U32 = struct.Struct("=HHI")
_NLA_FLAGS = struct.Struct("=HHII")
_U16 = struct.Struct("=H")
_BE16 = struct.Struct(">H")
_U32 = struct.Struct("=I")
_I32 = struct.Struct("=i")
_U64 = struct.Struct("=Q")
_FLAGS = struct.Struct("=II")
_NLMSGHDR = struct.Struct("=IHHII")
_FRAME = struct.Struct("=IHHIIBBH")  # nlmsghdr + genlmsghdr
_FRAME_SIZE = _FRAME.size
_PADDING = (b"", b"\0\0\0", b"\0\0", b"\0")
_htons = socket.htons

_STATS_NAMES = (None, "conns", "inpkts", "outpkts", "inbytes", "outbytes", "cps", "inpps", "outpps", "inbps",
                "outbps")


def _nla_text(nla_type, text):
    data = text.encode("utf-8") + b"\0"
    length = 4 + len(data)
    return _NLA.pack(length, nla_type) + data + _PADDING[length & 3]


def encode_service_attr(service, full=False):
    """The IPVS_CMD_ATTR_SERVICE attribute (header included) of a request; the bytes pyroute2 gives for
    ``service_request_attrs(service, full)``."""
    af = service["af"]
    fwmark = service.get("fwmark")
    if fwmark:
        body = _NLA_U16.pack(6, IPVS_SVC_ATTR_AF, af) + _NLA_U32.pack(8, IPVS_SVC_ATTR_FWMARK, fwmark)
    else:
        addr = socket.inet_pton(af, service["addr"])
        body = b"".join(
            (
                _NLA_U16.pack(6, IPVS_SVC_ATTR_AF, af),
                _NLA_U16.pack(6, IPVS_SVC_ATTR_PROTOCOL, service["protocol"]),
                _NLA.pack(4 + len(addr), IPVS_SVC_ATTR_ADDR),
                addr,
                _NLA_U16.pack(6, IPVS_SVC_ATTR_PORT, _htons(service["port"])),
            )
        )
    if full:
        flags = service.get("flags") or {}
        parts = [
            body,
            _nla_text(IPVS_SVC_ATTR_SCHED_NAME, service["sched_name"]),
            _NLA_FLAGS.pack(12, IPVS_SVC_ATTR_FLAGS, flags.get("flags", 0), flags.get("mask", 0xFFFFFFFF)),
            _NLA_U32.pack(8, IPVS_SVC_ATTR_TIMEOUT, service.get("timeout") or 0),
            _NLA_U32.pack(8, IPVS_SVC_ATTR_NETMASK, service.get("netmask", 0xFFFFFFFF)),
        ]
        if service.get("pe_name"):
            parts.append(_nla_text(IPVS_SVC_ATTR_PE_NAME, service["pe_name"]))
        body = b"".join(parts)
    return _NLA.pack(4 + len(body), IPVS_CMD_ATTR_SERVICE) + body


def encode_dest_attr(dest, full=False):
    """The IPVS_CMD_ATTR_DEST attribute (header included) of a request; the bytes pyroute2 gives for
    ``dest_request_attrs(dest, full)``."""
    af = dest["addr_family"]
    addr = socket.inet_pton(af, dest["addr"])
    parts = [
        _NLA.pack(4 + len(addr), IPVS_DEST_ATTR_ADDR),
        addr,
        _NLA_U16.pack(6, IPVS_DEST_ATTR_PORT, _htons(dest["port"])),
        _NLA_U16.pack(6, IPVS_DEST_ATTR_ADDR_FAMILY, af),
    ]
    if full:
        method = dest["fwd_method"]
        parts.append(_NLA_U32.pack(8, IPVS_DEST_ATTR_FWD_METHOD, method))
        parts.append(_NLA_U32.pack(8, IPVS_DEST_ATTR_WEIGHT, dest.get("weight", 1)))
        parts.append(_NLA_U32.pack(8, IPVS_DEST_ATTR_U_THRESH, dest.get("u_thresh", 0)))
        parts.append(_NLA_U32.pack(8, IPVS_DEST_ATTR_L_THRESH, dest.get("l_thresh", 0)))
        if method == IP_VS_CONN_F_TUNNEL:
            parts.append(_NLA_U8.pack(5, IPVS_DEST_ATTR_TUN_TYPE, dest.get("tun_type", 0)))
            parts.append(_NLA_U16.pack(6, IPVS_DEST_ATTR_TUN_PORT, _htons(dest.get("tun_port", 0))))
            parts.append(_NLA_U16.pack(6, IPVS_DEST_ATTR_TUN_FLAGS, dest.get("tun_flags", 0)))
    body = b"".join(parts)
    return _NLA.pack(4 + len(body), IPVS_CMD_ATTR_DEST) + body


def encode_frame(family_id, cmd, seq, flags, attrs, pid=0):
    """One whole netlink message: nlmsghdr, genlmsghdr (``cmd``, version 1) and the encoded attributes."""
    return _FRAME.pack(_FRAME_SIZE + len(attrs), family_id, flags, seq, pid, cmd, IPVS_GENL_VERSION, 0) + attrs


def encode_request(family_id, cmd, seq, flags, service=None, dest=None, full_service=False, full_dest=False,
                   pid=0):
    """The bytes of ``request_message(...)`` with this header, without pyroute2."""
    attrs = b""
    if service is not None:
        attrs += encode_service_attr(service, full_service)
    if dest is not None:
        attrs += encode_dest_attr(dest, full_dest)
    return encode_frame(family_id, cmd, seq, flags, attrs, pid)


def _text(data, start, end):
    value = bytes(data[start:end]).strip(b"\0")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value


def _address(af, raw):
    if af == socket.AF_INET and len(raw) >= 4:
        return socket.inet_ntop(socket.AF_INET, bytes(raw[:4]))
    if af == socket.AF_INET6 and len(raw) >= 16:
        return socket.inet_ntop(socket.AF_INET6, bytes(raw[:16]))
    return bytes(raw)


def _decode_stats(data, offset, end, wide):
    result = {}
    while offset + 4 <= end:
        length, nla_type = _NLA.unpack_from(data, offset)
        if length < 4:
            break
        nla_type &= NLA_TYPE_MASK
        if 1 <= nla_type <= 10:
            if wide or nla_type in (4, 5):
                result[_STATS_NAMES[nla_type]] = _U64.unpack_from(data, offset + 4)[0]
            else:
                result[_STATS_NAMES[nla_type]] = _U32.unpack_from(data, offset + 4)[0]
        offset += (length + 3) & ~3
    return result


def _decode_service(data, offset, end, stats):
    result = {}
    addr = None
    while offset + 4 <= end:
        length, nla_type = _NLA.unpack_from(data, offset)
        if length < 4:
            break
        nla_type &= NLA_TYPE_MASK
        value = offset + 4
        if nla_type == IPVS_SVC_ATTR_AF:
            result["af"] = _U16.unpack_from(data, value)[0]
        elif nla_type == IPVS_SVC_ATTR_PROTOCOL:
            result["protocol"] = _U16.unpack_from(data, value)[0]
        elif nla_type == IPVS_SVC_ATTR_ADDR:
            addr = data[value:offset + length]
            result["addr"] = None  # keeps the kernel's attribute order; decoded below with the family
        elif nla_type == IPVS_SVC_ATTR_PORT:
            result["port"] = _BE16.unpack_from(data, value)[0]
        elif nla_type == IPVS_SVC_ATTR_FWMARK:
            result["fwmark"] = _U32.unpack_from(data, value)[0]
        elif nla_type == IPVS_SVC_ATTR_SCHED_NAME:
            result["sched_name"] = _text(data, value, offset + length)
        elif nla_type == IPVS_SVC_ATTR_FLAGS:
            flags, mask = _FLAGS.unpack_from(data, value)
            result["flags"] = {"flags": flags, "mask": mask}
        elif nla_type == IPVS_SVC_ATTR_TIMEOUT:
            result["timeout"] = _U32.unpack_from(data, value)[0]
        elif nla_type == IPVS_SVC_ATTR_NETMASK:
            result["netmask"] = _U32.unpack_from(data, value)[0]
        elif nla_type == IPVS_SVC_ATTR_PE_NAME:
            result["pe_name"] = _text(data, value, offset + length)
        elif stats and nla_type in (IPVS_SVC_ATTR_STATS, IPVS_SVC_ATTR_STATS64):
            result["stats64" if nla_type == IPVS_SVC_ATTR_STATS64 else "stats"] = _decode_stats(
                data, value, offset + length, nla_type == IPVS_SVC_ATTR_STATS64)
        offset += (length + 3) & ~3
    if addr is not None:
        result["addr"] = _address(result.get("af"), addr)
    return result


_DEST_U32 = {
    IPVS_DEST_ATTR_FWD_METHOD: "fwd_method",
    IPVS_DEST_ATTR_WEIGHT: "weight",
    IPVS_DEST_ATTR_U_THRESH: "u_thresh",
    IPVS_DEST_ATTR_L_THRESH: "l_thresh",
    IPVS_DEST_ATTR_ACTIVE_CONNS: "active_conns",
    IPVS_DEST_ATTR_INACT_CONNS: "inact_conns",
    IPVS_DEST_ATTR_PERSIST_CONNS: "persist_conns",
}


# ip_vs_genl_fill_dest() lays a destination out the same way every time: this reads that layout in one call (the
# headers are checked; anything else goes through the loop below). 10,000 destinations decode 3-4 times faster.
_DEST_LAYOUT = struct.Struct("=HH16sHHH2xHHIHHIHHB3xHHH2xHHH2xHHIHHIHHIHHIHHIHHH2x")
_DEST_LAYOUT_LENGTHS = (20, 6, 8, 8, 5, 6, 6, 8, 8, 8, 8, 8, 6)
_DEST_LAYOUT_TYPES = (IPVS_DEST_ATTR_ADDR, IPVS_DEST_ATTR_PORT, IPVS_DEST_ATTR_FWD_METHOD, IPVS_DEST_ATTR_WEIGHT,
                      IPVS_DEST_ATTR_TUN_TYPE, IPVS_DEST_ATTR_TUN_PORT, IPVS_DEST_ATTR_TUN_FLAGS,
                      IPVS_DEST_ATTR_U_THRESH, IPVS_DEST_ATTR_L_THRESH, IPVS_DEST_ATTR_ACTIVE_CONNS,
                      IPVS_DEST_ATTR_INACT_CONNS, IPVS_DEST_ATTR_PERSIST_CONNS, IPVS_DEST_ATTR_ADDR_FAMILY)
_ntohs = socket.ntohs


def _decode_dest(data, offset, end, stats):
    if not stats and end - offset >= _DEST_LAYOUT.size:
        values = _DEST_LAYOUT.unpack_from(data, offset)
        if values[0::3] == _DEST_LAYOUT_LENGTHS and values[1::3] == _DEST_LAYOUT_TYPES:
            return {
                "addr": _address(values[38], values[2]),
                "port": _ntohs(values[5]),
                "fwd_method": values[8],
                "weight": values[11],
                "tun_type": values[14],
                "tun_port": _ntohs(values[17]),
                "tun_flags": values[20],
                "u_thresh": values[23],
                "l_thresh": values[26],
                "addr_family": values[38],
            }
    result = {}
    addr = None
    while offset + 4 <= end:
        length, nla_type = _NLA.unpack_from(data, offset)
        if length < 4:
            break
        nla_type &= NLA_TYPE_MASK
        value = offset + 4
        name = _DEST_U32.get(nla_type)
        if name is not None:
            if stats or nla_type < IPVS_DEST_ATTR_ACTIVE_CONNS:
                result[name] = _U32.unpack_from(data, value)[0]
        elif nla_type == IPVS_DEST_ATTR_ADDR:
            addr = data[value:offset + length]
            result["addr"] = None
        elif nla_type == IPVS_DEST_ATTR_PORT:
            result["port"] = _BE16.unpack_from(data, value)[0]
        elif nla_type == IPVS_DEST_ATTR_ADDR_FAMILY:
            result["addr_family"] = _U16.unpack_from(data, value)[0]
        elif nla_type == IPVS_DEST_ATTR_TUN_TYPE:
            result["tun_type"] = data[value]
        elif nla_type == IPVS_DEST_ATTR_TUN_PORT:
            result["tun_port"] = _BE16.unpack_from(data, value)[0]
        elif nla_type == IPVS_DEST_ATTR_TUN_FLAGS:
            result["tun_flags"] = _U16.unpack_from(data, value)[0]
        elif stats and nla_type in (IPVS_DEST_ATTR_STATS, IPVS_DEST_ATTR_STATS64):
            result["stats64" if nla_type == IPVS_DEST_ATTR_STATS64 else "stats"] = _decode_stats(
                data, value, offset + length, nla_type == IPVS_DEST_ATTR_STATS64)
        offset += (length + 3) & ~3
    if addr is not None:
        # Without IPVS_DEST_ATTR_ADDR_FAMILY (kernels before 4.0) this is the attribute's bytes.
        result["addr"] = _address(result.get("addr_family"), addr)
    return result


def decode_message_attrs(data, offset, end, stats=True):
    """The attributes of one IPVS service or destination message, from the end of its genlmsghdr (``offset``) to
    ``end``, as the raw dict ``nla_to_dict`` gives: ``{'service': {...}}`` or ``{'dest': {...}}``.

    Statistics and a destination's connection counters are decoded only with ``stats`` (10,000 destinations take
    half the memory without them: in a User-Mode Linux guest, memory first touched costs more than decoding);
    other top-level attributes (daemons, timeouts) are skipped.
    """
    result = {}
    end = min(end, len(data))
    while offset + 4 <= end:
        length, nla_type = _NLA.unpack_from(data, offset)
        if length < 4:
            break
        nla_type &= NLA_TYPE_MASK
        if nla_type == IPVS_CMD_ATTR_SERVICE:
            result["service"] = _decode_service(data, offset + 4, offset + length, stats)
        elif nla_type == IPVS_CMD_ATTR_DEST:
            result["dest"] = _decode_dest(data, offset + 4, offset + length, stats)
        offset += (length + 3) & ~3
    return result


def _duplicate_socket(sock):
    """A plain socket object on a duplicate of the bound socket's descriptor (closed independently)."""
    return socket.socket(fileno=os.dup(sock.fileno()))


class BatchReport(object):
    """What ``IPVSNetlink.apply`` did: ``outcomes[i]`` is 0 (applied), a positive errno (refused by the kernel),
    None (not sent: an earlier batch failed) or UNKNOWN (sent, but its reply was lost), per request."""

    UNKNOWN = -1

    def __init__(self, count):
        self.outcomes = [None] * count
        self.batches = 0
        self.messages = 0
        self.transport_error = None

    @property
    def complete(self):
        return all(outcome == 0 for outcome in self.outcomes)


class _Channel(object):
    """Raw request/reply I/O on a netlink socket for the bulk path: dumps and batches of requests.

    The socket stays non-blocking (it is pyroute2's, shared with its event loop). The kernel handles a request
    while the sender is still in sendto(), and continues a dump while the reader is in recv(), so replies are
    normally queued by the time this reads them; it waits (poll) only when they are not.
    """

    BUFFER_SIZE = 65536
    BATCH_SIZE = 1000
    RCVBUF = 8 << 20
    WAIT_SECONDS = 30.0

    def __init__(self, sock, family_id):
        self.sock = sock
        self.family_id = family_id
        self.buffer = bytearray(self.BUFFER_SIZE)
        self.seq = 0x10000
        sock.setblocking(False)
        try:
            # Errors echo only the request's header, not its payload: smaller replies in the receive queue.
            sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        except OSError:
            pass
        try:
            # A whole batch of refused requests must fit in the receive queue (needs CAP_NET_ADMIN, as IPVS does).
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, self.RCVBUF)
        except OSError:
            pass
        rcvbuf = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        sndbuf = sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
        # An error reply takes about 1 KiB of receive buffer (skb overhead); a batch is one skb on the way in.
        self.batch_size = max(16, min(self.BATCH_SIZE, rcvbuf // 1024))
        self.batch_bytes = max(4096, min(256 << 10, sndbuf // 2))

    def close(self):
        self.sock.close()

    def next_seq(self, count=1):
        """``count`` consecutive sequence numbers (above pyroute2's own range, 0xFF-0xFFFF)."""
        if self.seq + count > 0xFFFFFFFF:
            self.seq = 0x10000
        seq = self.seq
        self.seq += count
        return seq

    def _receive(self, doing, wait=True):
        """One datagram into the buffer; its length, or 0 when nothing is queued and ``wait`` is False."""
        while True:
            try:
                length = self.sock.recv_into(self.buffer, 0, socket.MSG_TRUNC)
            except BlockingIOError:
                if not wait:
                    return 0
                ready = _select.select([self.sock], [], [], self.WAIT_SECONDS)[0]
                if not ready:
                    raise IPVSError("%s failed: no reply from the kernel within %d s" % (doing, self.WAIT_SECONDS))
                continue
            except OSError as exc:
                raise translate_netlink_error(exc, doing)
            if length > len(self.buffer):
                raise IPVSError("%s failed: a netlink reply of %d bytes did not fit the buffer" % (doing, length))
            return length

    def dump(self, cmd, attrs, key, stats, doing):
        """One dump request; the ``key`` part (``service`` or ``dest``) of each reply, as raw dicts."""
        if key == "service":
            attr_number, decoder = IPVS_CMD_ATTR_SERVICE, _decode_service
        else:
            attr_number, decoder = IPVS_CMD_ATTR_DEST, _decode_dest
        seq = self.next_seq()
        try:
            self.sock.sendto(encode_frame(self.family_id, cmd, seq, NLM_F_REQUEST | NLM_F_DUMP, attrs), (0, 0))
        except OSError as exc:
            raise translate_netlink_error(exc, doing)
        data = self.buffer
        results = []
        while True:
            length = self._receive(doing)
            offset = 0
            while offset + 16 <= length:
                msg_len, msg_type, _flags, msg_seq, _pid = _NLMSGHDR.unpack_from(data, offset)
                if msg_len < 16:
                    break
                if msg_seq == seq:
                    if msg_type == self.family_id:
                        start = offset + _FRAME_SIZE
                        attr_len, attr_type = _NLA.unpack_from(data, start)
                        if attr_type == attr_number and attr_len <= msg_len - _FRAME_SIZE:
                            # the usual case: the message holds just this attribute
                            results.append(decoder(data, start + 4, start + attr_len, stats))
                        else:
                            item = decode_message_attrs(data, start, offset + msg_len, stats).get(key)
                            if item is not None:
                                results.append(item)
                    elif msg_type in (NLMSG_DONE, NLMSG_ERROR):
                        code = -_I32.unpack_from(data, offset + 16)[0] if msg_len >= 20 else 0
                        if code:
                            raise translate_netlink_error(NetlinkError(code), doing)
                        return results
                offset += (msg_len + 3) & ~3

    def send(self, requests, batch_size=None):
        """Encode and send ``(cmd, service, dest)`` requests, many per sendto; see ``BatchReport``.

        A batch is at most ``batch_size`` requests (and ``batch_bytes`` bytes); only its last request asks for an
        ack. After each batch this reads the replies: errors (mapped to requests by sequence number) and that
        ack. It stops after a batch in which anything failed, so later batches are never sent.
        """
        report = BatchReport(len(requests))
        batch_size = batch_size or self.batch_size
        identities = {}
        total = len(requests)
        index = 0
        while index < total:
            start = index
            bodies = []
            size = 0
            while index < total and len(bodies) < batch_size:
                body = self._encode(requests[index], identities)
                if bodies and size + _FRAME_SIZE + len(body) > self.batch_bytes:
                    break
                bodies.append(body)
                size += _FRAME_SIZE + len(body)
                index += 1
            first = self.next_seq(len(bodies))
            last = first + len(bodies) - 1
            frames = []
            for number, body in enumerate(bodies):
                flags = NLM_F_REQUEST | NLM_F_ACK if number == len(bodies) - 1 else NLM_F_REQUEST
                frames.append(encode_frame(self.family_id, requests[start + number][0], first + number, flags, body))
            try:
                self.sock.sendto(b"".join(frames), (0, 0))
            except OSError as exc:
                report.transport_error = translate_netlink_error(exc, "sending a batch of IPVS changes")
                break
            report.batches += 1
            report.messages += len(frames)
            errors, complete = self._collect(first, last)
            for number in range(len(bodies)):
                seq = first + number
                if seq in errors:
                    report.outcomes[start + number] = errors[seq]
                elif complete:
                    report.outcomes[start + number] = 0
                else:
                    report.outcomes[start + number] = BatchReport.UNKNOWN
            if errors or not complete:
                break
        return report

    @staticmethod
    def _encode(request, identities):
        cmd, service, dest = request
        if cmd in (IPVS_CMD_NEW_SERVICE, IPVS_CMD_SET_SERVICE):
            return encode_service_attr(service, True)
        if cmd == IPVS_CMD_DEL_SERVICE:
            return encode_service_attr(service)
        # Destination requests of one service share its encoded identity.
        identity = identities.get(id(service))
        if identity is None or identity[0] is not service:
            identity = identities[id(service)] = (service, encode_service_attr(service))
        return identity[1] + encode_dest_attr(dest, cmd != IPVS_CMD_DEL_DEST)

    def _collect(self, first, last):
        """The replies to one batch: ``({seq: errno}, complete)``; complete is False when replies were lost."""
        errors = {}
        lost = False
        data = self.buffer
        doing = "reading the replies to a batch of IPVS changes"
        while True:
            try:
                length = self._receive(doing, wait=not lost)
            except IPVSError as exc:
                if exc.errno != errno.ENOBUFS:
                    raise
                lost = True  # the receive queue overflowed: some replies were dropped
                continue
            if not length:
                return errors, False
            offset = 0
            while offset + 16 <= length:
                msg_len, msg_type, _flags, msg_seq, _pid = _NLMSGHDR.unpack_from(data, offset)
                if msg_len < 16:
                    break
                if msg_type == NLMSG_ERROR and first <= msg_seq <= last and msg_len >= 20:
                    code = -_I32.unpack_from(data, offset + 16)[0]
                    if code:
                        errors[msg_seq] = code
                    if msg_seq == last:
                        return errors, not lost
                offset += (msg_len + 3) & ~3
