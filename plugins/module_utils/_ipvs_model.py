# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This file is PRIVATE to the lvs.cluster collection. It is not a public API: it may change or disappear in any
# release without notice. Do not import it from outside the collection.
"""The IPVS data model: pure functions, no I/O.

Raw dicts (what ``_ipvs_netlink`` decodes: kernel attribute names, kernel values) become the stable, documented
shapes that ``lvs.cluster.ipvs_info`` returns and that the write modules will compare against: names instead of
numbers (family ``ipv4``/``ipv6``, protocol ``tcp``/``udp``/``sctp``, forwarding method ``nat``/``dr``/``tun``),
flags decoded by name, addresses as canonical strings, services and destinations in a stable order.
"""

from __future__ import annotations

import socket
import struct

from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_keys as _keys
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_keys import FAMILIES, PROTOCOLS, host_port
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_netlink import (
    IP_VS_CONN_F_BYPASS,
    IP_VS_CONN_F_DROUTE,
    IP_VS_CONN_F_LOCALNODE,
    IP_VS_CONN_F_MASQ,
    IP_VS_CONN_F_TUNNEL,
    IP_VS_CONN_F_TUNNEL_TYPE_GRE,
    IP_VS_CONN_F_TUNNEL_TYPE_GUE,
    IP_VS_CONN_F_TUNNEL_TYPE_IPIP,
    IP_VS_STATE_BACKUP,
    IP_VS_STATE_MASTER,
    IP_VS_SVC_F_HASHED,
    IP_VS_SVC_F_ONEPACKET,
    IP_VS_SVC_F_PERSISTENT,
    IP_VS_SVC_F_SCHED1,
    IP_VS_SVC_F_SCHED2,
    IP_VS_SVC_F_SCHED3,
    IP_VS_TUNNEL_ENCAP_FLAG_CSUM,
    IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM,
)

AF_INET = socket.AF_INET
AF_INET6 = socket.AF_INET6
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_SCTP = 132

FAMILY_NUMBERS = dict((name, number) for number, name in FAMILIES.items())
PROTOCOL_NUMBERS = dict((name, number) for number, name in PROTOCOLS.items())

# IPVS_DEST_ATTR_FWD_METHOD. ipvsadm: -m masquerading (nat), -g gatewaying (dr), -i ipip (tun).
FORWARDING_METHODS = {
    IP_VS_CONN_F_MASQ: "nat",
    IP_VS_CONN_F_LOCALNODE: "local",
    IP_VS_CONN_F_TUNNEL: "tun",
    IP_VS_CONN_F_DROUTE: "dr",
    IP_VS_CONN_F_BYPASS: "bypass",
}
FORWARDING_METHOD_NUMBERS = dict((name, number) for number, name in FORWARDING_METHODS.items())

TUNNEL_TYPES = {
    IP_VS_CONN_F_TUNNEL_TYPE_IPIP: "ipip",
    IP_VS_CONN_F_TUNNEL_TYPE_GUE: "gue",
    IP_VS_CONN_F_TUNNEL_TYPE_GRE: "gre",
}
TUNNEL_FLAGS = ((IP_VS_TUNNEL_ENCAP_FLAG_CSUM, "csum"), (IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM, "remcsum"))

DAEMON_STATES = {IP_VS_STATE_MASTER: "master", IP_VS_STATE_BACKUP: "backup"}

SERVICE_FLAGS = (
    (IP_VS_SVC_F_PERSISTENT, "persistent"),
    (IP_VS_SVC_F_HASHED, "hashed"),
    (IP_VS_SVC_F_ONEPACKET, "onepacket"),
)
SCHEDULER_FLAG_BITS = (IP_VS_SVC_F_SCHED1, IP_VS_SVC_F_SCHED2, IP_VS_SVC_F_SCHED3)
# The names ipvsadm uses for -b: the three generic scheduler flags mean something only to sh and mh.
SCHEDULER_FLAG_NAMES = {
    "sh": ("sh-fallback", "sh-port", "flag-3"),
    "mh": ("mh-fallback", "mh-port", "flag-3"),
}
GENERIC_SCHEDULER_FLAG_NAMES = ("flag-1", "flag-2", "flag-3")

# IPVS_STATS_ATTR_* (raw names) -> returned names, as in ipvsadm's --stats and --rate columns.
STATS_COUNTERS = (
    ("conns", "conns"),
    ("inpkts", "in_pkts"),
    ("outpkts", "out_pkts"),
    ("inbytes", "in_bytes"),
    ("outbytes", "out_bytes"),
)
STATS_RATES = (
    ("cps", "cps"),
    ("inpps", "in_pps"),
    ("outpps", "out_pps"),
    ("inbps", "in_bps"),
    ("outbps", "out_bps"),
)


class IPVSModelError(ValueError):
    """Invalid input to the model (a malformed service key, for example)."""


# ---------------------------------------------------------------------------------------------------------------
# Scalars

def family_name(af):
    """``2`` -> ``ipv4``, ``10`` -> ``ipv6``; an unknown family -> ``af<N>``."""
    return FAMILIES.get(af, "af%s" % af)


def protocol_name(protocol):
    """``6`` -> ``tcp``, ``17`` -> ``udp``, ``132`` -> ``sctp``; an unknown protocol -> its number as a string."""
    return PROTOCOLS.get(protocol, str(protocol))


def forwarding_method_name(method):
    """IPVS_DEST_ATTR_FWD_METHOD -> ``nat``, ``local``, ``tun``, ``dr``, ``bypass`` (else ``method-<N>``)."""
    return FORWARDING_METHODS.get(method, "method-%s" % method)


def address_text(family, value):
    """An address as the kernel sent it (decoded string, or raw bytes) -> canonical text."""
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        af = AF_INET6 if family == AF_INET6 else AF_INET
        length = 16 if af == AF_INET6 else 4
        return socket.inet_ntop(af, bytes(value[:length]))
    return canonical_address(value)


def canonical_address(text):
    """Canonical text of an IPv4 or IPv6 address (``2001:DB8:0::1`` -> ``2001:db8::1``)."""
    text = str(text).strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    for af in (AF_INET, AF_INET6):
        try:
            return socket.inet_ntop(af, socket.inet_pton(af, text))
        except (OSError, ValueError):
            continue
    raise IPVSModelError("%r is not an IPv4 or IPv6 address" % (text,))


def address_family(text):
    """``ipv4`` or ``ipv6`` for an address text."""
    return "ipv6" if ":" in canonical_address(text) else "ipv4"


def netmask_text(family, raw):
    """IPVS_SVC_ATTR_NETMASK for an IPv4 service -> dotted mask (None for other families).

    The kernel keeps an IPv4 mask in network byte order in a __be32; ``_ipvs_netlink`` decodes the 32 bits in
    host byte order, so packing them back in host byte order gives the mask's bytes.
    """
    if raw is None or family != AF_INET:
        return None
    return socket.inet_ntop(AF_INET, struct.pack("=I", raw & 0xFFFFFFFF))


def netmask_prefix(family, raw):
    """IPVS_SVC_ATTR_NETMASK -> prefix length: the IPv6 value itself, or the IPv4 mask's length.

    None for a non-contiguous IPv4 mask or an unknown family.
    """
    if raw is None:
        return None
    if family == AF_INET6:
        return raw
    if family != AF_INET:
        return None
    (mask,) = struct.unpack("!I", struct.pack("=I", raw & 0xFFFFFFFF))
    length = bin(mask).count("1")
    if mask != ((0xFFFFFFFF << (32 - length)) & 0xFFFFFFFF):
        return None
    return length


def service_flag_names(flags, scheduler):
    """All flags of a service by name: persistent, hashed, onepacket, then the scheduler flags.

    Bits without a name are listed as hex (``0x40``).
    """
    names = []
    known = 0
    for bit, name in SERVICE_FLAGS:
        known |= bit
        if flags & bit:
            names.append(name)
    names.extend(scheduler_flag_names(flags, scheduler))
    for bit in SCHEDULER_FLAG_BITS:
        known |= bit
    rest = flags & ~known
    bit = 1
    while rest:
        if rest & bit:
            names.append("0x%x" % bit)
            rest &= ~bit
        bit <<= 1
    return names


def scheduler_flag_names(flags, scheduler):
    """The scheduler flags (ipvsadm ``-b``): sh-fallback/sh-port for sh, mh-fallback/mh-port for mh,
    flag-1/flag-2/flag-3 otherwise."""
    labels = SCHEDULER_FLAG_NAMES.get(scheduler, GENERIC_SCHEDULER_FLAG_NAMES)
    return [label for bit, label in zip(SCHEDULER_FLAG_BITS, labels) if flags & bit]


def tunnel_flag_names(flags):
    """IPVS_DEST_ATTR_TUN_FLAGS -> ``[]`` (no checksum, ipvsadm --tun-nocsum), ``['csum']``, ``['remcsum']``."""
    names = [name for bit, name in TUNNEL_FLAGS if flags & bit]
    rest = flags & ~(IP_VS_TUNNEL_ENCAP_FLAG_CSUM | IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM)
    bit = 1
    while rest:
        if rest & bit:
            names.append("0x%x" % bit)
            rest &= ~bit
        bit <<= 1
    return names


def version_text(code):
    """IP_VS_VERSION_CODE (0x010201) -> ``1.2.1``."""
    if code is None:
        return None
    return "%d.%d.%d" % ((code >> 16) & 0xFF, (code >> 8) & 0xFF, code & 0xFF)


def stats_and_rates(raw):
    """A raw service or destination -> (stats, rates), from STATS64 when the kernel sent it, else STATS."""
    source = raw.get("stats64") or raw.get("stats") or {}
    stats = dict((name, source.get(attr, 0)) for attr, name in STATS_COUNTERS)
    rates = dict((name, source.get(attr, 0)) for attr, name in STATS_RATES)
    return stats, rates


# ---------------------------------------------------------------------------------------------------------------
# Keys

def service_key(service):
    """The key of a normalized service: ``tcp/198.51.100.10:80``, ``udp/[2001:db8::10]:53``, ``fwmark/ipv4/7``."""
    return _keys.service_key(service["protocol"], service["address"], service["port"], service.get("fwmark"),
                             service["family"])


def destination_key(destination):
    """The key of a normalized destination within its service: ``198.51.100.21:80``, ``[2001:db8::21]:80``."""
    return host_port(destination["address"], destination["port"])


def parse_service_key(text):
    """Validate and canonicalize a service key given by a user; raises IPVSModelError.

    Accepted: ``<tcp|udp|sctp>/<IPv4>:<port>``, ``<tcp|udp|sctp>/[<IPv6>]:<port>``, ``fwmark/<ipv4|ipv6>/<mark>``,
    and ``fwmark/<mark>`` for an IPv4 firewall-mark service (as ipvsadm's ``-f`` without ``-6``).
    """
    if not isinstance(text, str) or "/" not in text:
        raise IPVSModelError(
            "%r is not a service key (expected tcp/ADDRESS:PORT, udp/[IPV6]:PORT or fwmark/ipv4/MARK)" % (text,)
        )
    kind, rest = text.strip().split("/", 1)
    kind = kind.lower()
    if kind == "fwmark":
        parts = rest.split("/")
        if len(parts) == 1:
            family, mark = "ipv4", parts[0]
        elif len(parts) == 2:
            family, mark = parts[0].lower(), parts[1]
        else:
            raise IPVSModelError("%r: a firewall-mark key is fwmark/ipv4/MARK or fwmark/ipv6/MARK" % (text,))
        if family not in FAMILY_NUMBERS:
            raise IPVSModelError("%r: the family must be ipv4 or ipv6" % (text,))
        mark = _integer(mark, text, "firewall mark", 1, 0xFFFFFFFF)
        return "fwmark/%s/%d" % (family, mark)
    if kind not in PROTOCOL_NUMBERS:
        raise IPVSModelError("%r: the protocol must be tcp, udp, sctp or fwmark" % (text,))
    if rest.startswith("["):
        end = rest.find("]:")
        if end < 0:
            raise IPVSModelError("%r: write an IPv6 service as %s/[ADDRESS]:PORT" % (text, kind))
        address, port = rest[1:end], rest[end + 2:]
        if ":" not in address:
            raise IPVSModelError("%r: brackets are for IPv6 addresses only" % (text,))
    else:
        address, sep, port = rest.rpartition(":")
        if not sep or ":" in address:
            raise IPVSModelError(
                "%r: expected %s/ADDRESS:PORT (IPv6 addresses in brackets: %s/[ADDRESS]:PORT)" % (text, kind, kind)
            )
    try:
        address = canonical_address(address)
    except IPVSModelError:
        raise IPVSModelError("%r: %r is not an IP address" % (text, address))
    port = _integer(port, text, "port", 0, 65535)
    return "%s/%s" % (kind, host_port(address, port))


def _integer(value, text, what, low, high):
    try:
        number = int(value, 10)
    except (TypeError, ValueError):
        raise IPVSModelError("%r: the %s %r is not a number" % (text, what, value))
    if not low <= number <= high:
        raise IPVSModelError("%r: the %s must be between %d and %d" % (text, what, low, high))
    return number


def parse_service_keys(keys):
    """Validate a list of service keys: all errors at once, each with its index. Returns the canonical keys."""
    canonical = []
    errors = []
    for index, key in enumerate(keys or []):
        try:
            canonical.append(parse_service_key(key))
        except IPVSModelError as exc:
            errors.append("services[%d]: %s" % (index, exc))
    if errors:
        raise IPVSModelError("; ".join(errors))
    return canonical


# ---------------------------------------------------------------------------------------------------------------
# Objects

def _address_sort_key(family, address):
    if address is None:
        return (family or "", b"")
    try:
        af = AF_INET6 if ":" in address else AF_INET
        return (family or "", socket.inet_pton(af, address))
    except (OSError, ValueError):
        return (family or "", address.encode())


def service_sort_key(service):
    """Sort key for normalized services: address services by family, protocol, address, port; then fwmarks."""
    if service.get("fwmark"):
        return (1, service["family"], "", b"", 0, service["fwmark"])
    family, packed = _address_sort_key(service["family"], service["address"])
    return (0, family, service["protocol"], packed, service["port"], 0)


def destination_sort_key(destination):
    family, packed = _address_sort_key(destination["family"], destination["address"])
    return (family, packed, destination["port"])


def normalize_service(raw, stats=True):
    """A raw service dict -> the documented service dict (without ``destinations``)."""
    af = raw.get("af")
    scheduler = raw.get("sched_name")
    flags = (raw.get("flags") or {}).get("flags", 0)
    fwmark = raw.get("fwmark") or None
    service = {
        "family": family_name(af),
        "fwmark": fwmark,
        "protocol": None if fwmark else protocol_name(raw.get("protocol")),
        "address": None if fwmark else address_text(af, raw.get("addr")),
        "port": None if fwmark else raw.get("port"),
        "scheduler": scheduler,
        "flags": service_flag_names(flags, scheduler),
        "scheduler_flags": scheduler_flag_names(flags, scheduler),
        "persistent": bool(flags & IP_VS_SVC_F_PERSISTENT),
        "persistence_timeout": raw.get("timeout", 0),
        "persistence_netmask": netmask_text(af, raw.get("netmask")),
        "persistence_prefix": netmask_prefix(af, raw.get("netmask")),
        "one_packet": bool(flags & IP_VS_SVC_F_ONEPACKET),
        "pe_name": raw.get("pe_name") or None,
    }
    service["key"] = service_key(service)
    if stats:
        service["stats"], service["rates"] = stats_and_rates(raw)
    return service


def normalize_destination(raw, service_af=None, stats=True):
    """A raw destination dict -> the documented destination dict.

    ``service_af`` is used when the kernel did not send IPVS_DEST_ATTR_ADDR_FAMILY (kernels before 4.0).
    """
    af = raw.get("addr_family") or service_af
    method = forwarding_method_name(raw.get("fwd_method"))
    tunnel = method == "tun"
    destination = {
        "family": family_name(af),
        "address": address_text(af, raw.get("addr")),
        "port": raw.get("port"),
        "forwarding_method": method,
        "weight": raw.get("weight"),
        "upper_threshold": raw.get("u_thresh", 0),
        "lower_threshold": raw.get("l_thresh", 0),
        "active_connections": raw.get("active_conns", 0),
        "inactive_connections": raw.get("inact_conns", 0),
        "persistent_connections": raw.get("persist_conns", 0),
        "tunnel_type": TUNNEL_TYPES.get(raw.get("tun_type", 0), "type-%s" % raw.get("tun_type")) if tunnel else None,
        "tunnel_port": raw.get("tun_port", 0) if tunnel else None,
        "tunnel_flags": tunnel_flag_names(raw.get("tun_flags", 0)) if tunnel else None,
    }
    destination["key"] = destination_key(destination)
    if stats:
        destination["stats"], destination["rates"] = stats_and_rates(raw)
    return destination


def normalize_timeouts(raw):
    """``{'timeout_tcp': ..}`` -> ``{'tcp': s, 'tcp_fin': s, 'udp': s}`` (seconds; None when not reported)."""
    return {
        "tcp": raw.get("timeout_tcp"),
        "tcp_fin": raw.get("timeout_tcp_fin"),
        "udp": raw.get("timeout_udp"),
    }


def normalize_daemon(raw):
    """A raw sync-daemon dict -> ``{'state': 'master', 'mcast_interface': 'eth1', 'syncid': 5, ...}``."""
    group = raw.get("mcast_group6") or raw.get("mcast_group")
    return {
        "state": DAEMON_STATES.get(raw.get("state"), "state-%s" % raw.get("state")),
        "mcast_interface": raw.get("mcast_ifn"),
        "syncid": raw.get("sync_id"),
        "sync_maxlen": raw.get("sync_maxlen"),
        "mcast_group": canonical_address(group) if group else None,
        "mcast_port": raw.get("mcast_port"),
        "mcast_ttl": raw.get("mcast_ttl"),
    }


def normalize_state(raw_state, stats=True):
    """The raw state from ``IPVSNetlink.info()`` -> the module's return values.

    Only the parts present in ``raw_state`` are returned (``services``, ``timeouts``, ``sync_daemons``), plus
    ``ipvs_version`` and ``conn_tab_size``. Services and destinations are sorted (see the sort keys).
    """
    info = raw_state.get("info") or {}
    result = {
        "ipvs_version": version_text(info.get("version")),
        "conn_tab_size": info.get("conn_tab_size"),
    }
    if "services" in raw_state:
        services = []
        for raw in raw_state["services"]:
            service = normalize_service(raw, stats=stats)
            if "destinations" in raw:
                service["destinations"] = sorted(
                    (normalize_destination(dest, raw.get("af"), stats=stats) for dest in raw["destinations"]),
                    key=destination_sort_key,
                )
            services.append(service)
        result["services"] = sorted(services, key=service_sort_key)
    if "timeouts" in raw_state:
        result["timeouts"] = normalize_timeouts(raw_state["timeouts"])
    if "daemons" in raw_state:
        result["sync_daemons"] = sorted(
            (normalize_daemon(raw) for raw in raw_state["daemons"]), key=lambda daemon: daemon["state"] != "master"
        )
    return result
