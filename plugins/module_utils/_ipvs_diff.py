# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This file is PRIVATE to the lvs.cluster collection. It is not a public API: it may change or disappear in any
# release without notice. Do not import it from outside the collection.
"""Declared IPVS services -> validated specs -> the changes that make the kernel's table match them. Pure: no I/O.

1. ``parse_services`` validates every entry (all errors at once, each naming the entry and the field) and turns
   each into a ``ServiceSpec``: a key (as ``ipvs_info`` returns it) and the raw dicts the kernel speaks (the same
   keys ``_ipvs_netlink.nla_to_dict`` gives), so that declared and current objects compare directly.
2. ``check_kernel_support`` checks the specs against facts about the running kernel (schedulers and persistence
   engines it offers, whether a sync daemon runs).
3. ``plan_changes`` diffs the specs against the raw table (one dump) and returns the ordered ``Change`` list:
   creates and in-place modifications (IPVS_CMD_SET_*; never delete and re-add), then removals.
4. ``Plan`` renders what changes: ``changes`` and ``summary`` for the result, before/after views for diff mode.
"""

from __future__ import annotations

import os
import socket
import sys

from ansible.module_utils.parsing.convert_bool import BOOLEANS_FALSE, BOOLEANS_TRUE

# raw_key and raw_dest_key keep the names this file has always given them (other files import them from here).
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_keys import (
    host_port,
    raw_destination_key as raw_dest_key,
    raw_service_key as raw_key,
)
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_model import (
    FAMILY_NUMBERS,
    PROTOCOL_NUMBERS,
    IPVSModelError,
    destination_sort_key,
    normalize_destination,
    normalize_service,
    service_sort_key,
)
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_netlink import (
    IP_VS_CONN_F_DROUTE,
    IP_VS_CONN_F_MASQ,
    IP_VS_CONN_F_TUNNEL,
    IP_VS_CONN_F_TUNNEL_TYPE_GRE,
    IP_VS_CONN_F_TUNNEL_TYPE_GUE,
    IP_VS_CONN_F_TUNNEL_TYPE_IPIP,
    IP_VS_SVC_F_HASHED,
    IP_VS_SVC_F_ONEPACKET,
    IP_VS_SVC_F_PERSISTENT,
    IP_VS_SVC_F_SCHED1,
    IP_VS_SVC_F_SCHED2,
    IP_VS_SVC_F_SCHED3,
    IP_VS_TUNNEL_ENCAP_FLAG_CSUM,
    IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM,
    IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM,
    IPVS_CMD_DEL_DEST,
    IPVS_CMD_DEL_SERVICE,
    IPVS_CMD_NEW_DEST,
    IPVS_CMD_NEW_SERVICE,
    IPVS_CMD_SET_DEST,
    IPVS_CMD_SET_SERVICE,
)

AF_INET = int(socket.AF_INET)
AF_INET6 = int(socket.AF_INET6)

# Limits the kernel enforces (or that keep its arithmetic exact).
MAX_PORT = 65535
MAX_FWMARK = 0xFFFFFFFF
MAX_WEIGHT = 0x7FFFFFFF  # an int in the kernel: larger values read back negative and are refused (ERANGE)
MAX_THRESHOLD = 0xFFFFFFFF
# The kernel keeps timeout * HZ in 32 bits; this bound is exact for any HZ up to 1000.
MAX_PERSISTENCE_TIMEOUT = 0xFFFFFFFF // 1000
SCHEDULER_NAME_MAX = 15  # IP_VS_SCHEDNAME_MAXLEN - 1

SERVICE_OPTIONS = (
    "state", "family", "protocol", "address", "port", "fwmark", "scheduler", "scheduler_flags",
    "persistence_timeout", "persistence_netmask", "persistence_prefix", "one_packet", "persistence_engine",
    "destinations", "purge_destinations",
)
DESTINATION_OPTIONS = (
    "address", "port", "forwarding_method", "weight", "upper_threshold", "lower_threshold", "tunnel_type",
    "tunnel_port", "tunnel_checksum",
)
DEFAULT_SCHEDULER = "wlc"
FORWARDING_CHOICES = {
    "nat": IP_VS_CONN_F_MASQ, "masq": IP_VS_CONN_F_MASQ,
    "dr": IP_VS_CONN_F_DROUTE, "route": IP_VS_CONN_F_DROUTE,
    "tun": IP_VS_CONN_F_TUNNEL, "ipip": IP_VS_CONN_F_TUNNEL,
}
FORWARDING_NAMES = {IP_VS_CONN_F_MASQ: "nat", IP_VS_CONN_F_DROUTE: "dr", IP_VS_CONN_F_TUNNEL: "tun"}
TUNNEL_TYPE_CHOICES = {
    "ipip": IP_VS_CONN_F_TUNNEL_TYPE_IPIP, "gue": IP_VS_CONN_F_TUNNEL_TYPE_GUE, "gre": IP_VS_CONN_F_TUNNEL_TYPE_GRE,
}
TUNNEL_CHECKSUM_CHOICES = {
    "nocsum": IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM, "csum": IP_VS_TUNNEL_ENCAP_FLAG_CSUM,
    "remcsum": IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM,
}
# ipvsadm -b names; the kernel's generic flag bits mean something only to these schedulers.
SCHEDULER_FLAG_CHOICES = {
    "sh": {"sh-fallback": IP_VS_SVC_F_SCHED1, "sh-port": IP_VS_SVC_F_SCHED2},
    "mh": {"mh-fallback": IP_VS_SVC_F_SCHED1, "mh-port": IP_VS_SVC_F_SCHED2},
}
ALL_SCHEDULER_FLAGS = ("sh-fallback", "sh-port", "mh-fallback", "mh-port")
PERSISTENCE_ENGINES = ("sip",)
_FORWARDING_NAMES = tuple(FORWARDING_CHOICES)
_TUNNEL_TYPE_NAMES = tuple(TUNNEL_TYPE_CHOICES)
_TUNNEL_CHECKSUM_NAMES = tuple(TUNNEL_CHECKSUM_CHOICES)
# The service flags this collection manages; IP_VS_SVC_F_HASHED is the kernel's own.
MANAGED_SERVICE_FLAGS = (IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_ONEPACKET | IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2
                         | IP_VS_SVC_F_SCHED3)
SCHEDULER_FLAG_BITS = IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2 | IP_VS_SVC_F_SCHED3
FULL_MASK = 0xFFFFFFFF

_BAD = object()  # a value that failed validation (its error is recorded): later checks skip it


class IPVSValidationError(IPVSModelError):
    """Invalid input; ``errors`` lists every problem, each starting with the entry and field it is about."""

    def __init__(self, errors):
        self.errors = list(errors)
        super(IPVSValidationError, self).__init__("; ".join(self.errors))


class ServiceSpec(object):
    """One validated service entry. ``raw`` is the kernel's view (af, protocol, addr, port, fwmark, sched_name,
    flags, timeout, netmask, pe_name); ``destinations`` is None when the entry does not manage them."""

    __slots__ = ("index", "path", "key", "state", "raw", "destinations", "purge")

    def __init__(self, index, path, key, state, raw, destinations=None, purge=False):
        self.index = index
        self.path = path
        self.key = key
        self.state = state
        self.raw = raw
        self.destinations = destinations
        self.purge = purge


class DestSpec(object):
    """One validated destination. ``raw``: addr, port, addr_family, fwd_method, weight, u_thresh, l_thresh,
    tun_type, tun_port, tun_flags."""

    __slots__ = ("index", "path", "key", "raw")

    def __init__(self, index, path, key, raw):
        self.index = index
        self.path = path
        self.key = key
        self.raw = raw


# ---------------------------------------------------------------------------------------------------------------
# Scalar validation. Each helper records an error and returns _BAD, or returns the value (None when not given).

def _where(path, name):
    return "%s.%s" % (path, name) if path else name


def _describe(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _integer(entry, name, path, errors, low, high, what="an integer"):
    value = entry.get(name)
    if value is None:
        return None
    number = _BAD
    if isinstance(value, bool):
        number = _BAD
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        try:
            number = int(value.strip(), 10)
        except ValueError:
            number = _BAD
    if number is _BAD:
        errors.append("%s: must be %s, got %s" % (_where(path, name), what, _describe(value)))
        return _BAD
    if not low <= number <= high:
        errors.append("%s: must be between %d and %d, got %d" % (_where(path, name), low, high, number))
        return _BAD
    return number


def _boolean(entry, name, path, errors):
    value = entry.get(name)
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    key = value.lower() if isinstance(value, str) else value
    if key in BOOLEANS_TRUE:
        return True
    if key in BOOLEANS_FALSE:
        return False
    errors.append("%s: must be a boolean, got %s" % (_where(path, name), _describe(value)))
    return _BAD


def _choice(entry, name, path, errors, choices):
    value = entry.get(name)
    if value is None:
        return None
    key = value.lower().strip() if isinstance(value, str) else value
    if isinstance(key, str) and key in choices:
        return key
    errors.append("%s: must be one of %s, got %s" % (_where(path, name), ", ".join(choices), _describe(value)))
    return _BAD


def _address(entry, name, path, errors):
    """(family number, canonical text, packed bytes) of an address option, or _BAD, or None."""
    value = entry.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("[") and text.endswith("]"):
            text = text[1:-1]
        for af in (AF_INET, AF_INET6):
            try:
                packed = socket.inet_pton(af, text)
            except (OSError, ValueError):
                continue
            return af, socket.inet_ntop(af, packed), packed
    errors.append("%s: %s is not an IPv4 or IPv6 address" % (_where(path, name), _describe(value)))
    return _BAD


_ALLOWED = {SERVICE_OPTIONS: frozenset(SERVICE_OPTIONS), DESTINATION_OPTIONS: frozenset(DESTINATION_OPTIONS)}


def _unknown_options(entry, allowed, path, errors):
    if _ALLOWED[allowed].issuperset(entry):
        return
    unknown = sorted(str(name) for name in entry if name not in allowed)
    if unknown:
        errors.append(
            "%s: unknown option%s %s (supported: %s)"
            % (path or "entry", "s" if len(unknown) > 1 else "", ", ".join(unknown), ", ".join(allowed))
        )


def _unicast_problem(af, packed):
    """Why the kernel would refuse this destination address (ip_vs_new_dest: EINVAL), or None."""
    if af == AF_INET:
        first = packed[0]
        if first == 0:
            return "0.0.0.0/8 is not a unicast address"
        if 224 <= first <= 239:
            return "it is a multicast address"
        if packed == b"\xff\xff\xff\xff":
            return "it is the broadcast address"
        return None
    if packed[0] == 0xFF:
        return "it is a multicast address"
    if packed == bytes(16):
        return "it is the unspecified address"
    if packed[0] == 0xFE and packed[1] & 0xC0 == 0x80:
        return "it is a link-local address (IPVS accepts those only for local real servers)"
    if packed[:12] == b"\0" * 10 + b"\xff\xff":
        return "it is an IPv4-mapped address (write the IPv4 address)"
    return None


# ---------------------------------------------------------------------------------------------------------------
# Entries

def parse_services(entries, purge_default=False, path="services"):
    """Validate service entries (a list of dicts); returns ``ServiceSpec`` objects or raises IPVSValidationError
    listing every error. ``purge_default`` is the ``purge_destinations`` of entries that do not set it."""
    errors = []
    specs = []
    if not isinstance(entries, list):
        raise IPVSValidationError(["%s: must be a list of services, got %s" % (path, _describe(entries))])
    seen = {}
    for index, entry in enumerate(entries):
        where = "%s[%d]" % (path, index)
        key, spec = parse_service(entry, where, errors, purge_default)
        if key is not None:
            other = seen.get(key)
            if other is not None:
                errors.append("%s: service %s is declared twice (also %s)" % (where, key, other))
                continue
            seen[key] = where
        if spec is not None:
            spec.index = index
            specs.append(spec)
    if errors:
        raise IPVSValidationError(errors)
    return specs


def parse_service(entry, path, errors, purge_default=False):
    """One service entry -> ``(key, ServiceSpec)``; the spec is None when the entry has errors (appended to
    ``errors``), the key None when even the key fields are wrong.

    ``path`` prefixes every message (``services[2]``; empty for the options of ``ipvs_service``).
    """
    if not isinstance(entry, dict):
        errors.append("%s: must be a dictionary, got %s" % (path or "service", _describe(entry)))
        return None, None
    count = len(errors)
    _unknown_options(entry, SERVICE_OPTIONS, path, errors)
    state = _choice(entry, "state", path, errors, ("present", "absent")) or "present"
    family = _choice(entry, "family", path, errors, ("ipv4", "ipv6"))
    fwmark = _integer(entry, "fwmark", path, errors, 1, MAX_FWMARK)
    address = _address(entry, "address", path, errors)
    protocol = _choice(entry, "protocol", path, errors, tuple(PROTOCOL_NUMBERS))
    port = _integer(entry, "port", path, errors, 0, MAX_PORT)

    raw = None
    if fwmark is not None:
        for name in ("address", "port", "protocol"):
            if entry.get(name) is not None:
                errors.append(
                    "%s: a firewall-mark service (fwmark) has no %s; give either fwmark or address, protocol and port"
                    % (_where(path, name), name)
                )
        if fwmark is not _BAD and family is not _BAD:
            af = FAMILY_NUMBERS[family or "ipv4"]
            raw = {"af": af, "fwmark": fwmark}
    elif address is None:
        errors.append("%s: required (or fwmark for a firewall-mark service)" % _where(path, "address"))
    elif address is not _BAD:
        af, text, _packed = address
        if family not in (None, _BAD) and FAMILY_NUMBERS[family] != af:
            errors.append(
                "%s: %s does not match the %s address %s"
                % (_where(path, "family"), family, "IPv4" if af == AF_INET else "IPv6", text)
            )
        if port is None:
            errors.append("%s: required for an address service (0 means every port)" % _where(path, "port"))
        if protocol is not _BAD and port not in (None, _BAD):
            raw = {"af": af, "protocol": PROTOCOL_NUMBERS[protocol or "tcp"], "addr": text, "port": port}
    if raw is None:
        return None, None
    key = raw_key(raw)
    if state == "absent":
        return key, ServiceSpec(None, path, key, state, raw) if len(errors) == count else None

    scheduler = entry.get("scheduler")
    if scheduler is None:
        scheduler = DEFAULT_SCHEDULER
    elif not isinstance(scheduler, str) or not scheduler.strip():
        errors.append("%s: must be a scheduler name, got %s" % (_where(path, "scheduler"), _describe(scheduler)))
        scheduler = _BAD
    else:
        scheduler = scheduler.strip().lower()
        if len(scheduler) > SCHEDULER_NAME_MAX or not all(c.isalnum() or c == "_" for c in scheduler):
            errors.append("%s: %s is not a scheduler name" % (_where(path, "scheduler"), _describe(scheduler)))
            scheduler = _BAD
    flags = _scheduler_flags(entry, path, errors, scheduler)

    timeout = _integer(entry, "persistence_timeout", path, errors, 0, MAX_PERSISTENCE_TIMEOUT, "a number of seconds")
    persistent = timeout not in (None, _BAD, 0)
    netmask = _persistence_mask(entry, path, errors, raw["af"], timeout)
    one_packet = _boolean(entry, "one_packet", path, errors)
    if one_packet and not (raw.get("fwmark") or raw.get("protocol") == PROTOCOL_NUMBERS["udp"]):
        errors.append(
            "%s: one-packet scheduling is for UDP services (or firewall-mark services carrying UDP), not %s"
            % (_where(path, "one_packet"), key.split("/", 1)[0])
        )
    engine = _choice(entry, "persistence_engine", path, errors, PERSISTENCE_ENGINES)
    if engine not in (None, _BAD) and not persistent and timeout is not _BAD:
        errors.append(
            "%s: a persistence engine works on persistent services only; set persistence_timeout"
            % _where(path, "persistence_engine")
        )
    if not raw.get("fwmark") and raw["port"] == 0 and not persistent and timeout is not _BAD:
        errors.append(
            "%s: port 0 (every port) works only for persistent services; set persistence_timeout"
            % _where(path, "port")
        )
    purge = _boolean(entry, "purge_destinations", path, errors)
    destinations = _destinations(entry, path, errors, raw, key)
    if purge and entry.get("destinations") is None:
        errors.append(
            "%s: purging needs the list of destinations to keep (destinations: [] removes them all)"
            % _where(path, "purge_destinations")
        )
    if len(errors) != count:
        return key, None
    raw.update(
        sched_name=scheduler,
        flags={
            "flags": (IP_VS_SVC_F_PERSISTENT if persistent else 0) | (IP_VS_SVC_F_ONEPACKET if one_packet else 0)
            | flags,
            "mask": FULL_MASK,
        },
        timeout=timeout if persistent else 0,
        netmask=netmask,
        pe_name=engine or "",
    )
    return key, ServiceSpec(None, path, key, state, raw, destinations,
                            purge_default if purge is None else purge)


def _scheduler_flags(entry, path, errors, scheduler):
    value = entry.get("scheduler_flags")
    if value is None:
        return 0
    if isinstance(value, str):
        value = [item for item in value.split(",") if item.strip()]
    where = _where(path, "scheduler_flags")
    if not isinstance(value, list):
        errors.append("%s: must be a list, got %s" % (where, _describe(value)))
        return 0
    bits = 0
    allowed = SCHEDULER_FLAG_CHOICES.get(scheduler, {}) if scheduler is not _BAD else None
    for item in value:
        name = item.strip().lower() if isinstance(item, str) else item
        if name not in ALL_SCHEDULER_FLAGS:
            errors.append("%s: %s is not a scheduler flag (%s)" % (where, _describe(item), ", ".join(ALL_SCHEDULER_FLAGS)))
        elif allowed is not None and name not in allowed:
            if allowed:
                errors.append("%s: the %s scheduler takes %s, not %s" % (where, scheduler, " or ".join(allowed), name))
            else:
                errors.append(
                    "%s: the %s scheduler takes no flags (%s is for the %s scheduler)"
                    % (where, scheduler, name, name.split("-", 1)[0])
                )
        elif allowed:
            bits |= allowed[name]
    return bits


def _persistence_mask(entry, path, errors, af, timeout):
    """The raw IPVS_SVC_ATTR_NETMASK: an IPv4 mask's bytes read in host order (as the kernel's __be32 reads
    back), or the IPv6 prefix length. Without persistence: 255.255.255.255 or 128, as
    ipvsadm sends (the kernel wants 1-128 for IPv6 services)."""
    default = FULL_MASK if af == AF_INET else 128
    mask = entry.get("persistence_netmask")
    prefix = entry.get("persistence_prefix")
    if mask is not None and prefix is not None:
        errors.append("%s: give persistence_netmask or persistence_prefix, not both" % _where(path, "persistence_prefix"))
        return default
    if mask is None and prefix is None:
        return default
    option = "persistence_netmask" if mask is not None else "persistence_prefix"
    if timeout in (None, 0):
        errors.append("%s: applies to persistent services only; set persistence_timeout" % _where(path, option))
        return default
    if mask is not None:
        if af != AF_INET:
            errors.append(
                "%s: IPv6 services take a prefix length: use persistence_prefix" % _where(path, "persistence_netmask")
            )
            return default
        try:
            packed = socket.inet_pton(AF_INET, str(mask).strip())
        except (OSError, ValueError):
            packed = None
        value = int.from_bytes(packed, "big") if packed else -1
        length = bin(value).count("1") if packed else 0
        if not packed or value != ((FULL_MASK << (32 - length)) & FULL_MASK):
            errors.append(
                "%s: %s is not a netmask like 255.255.255.0" % (_where(path, "persistence_netmask"), _describe(mask))
            )
            return default
        return int.from_bytes(packed, sys.byteorder)
    low, high = (0, 32) if af == AF_INET else (1, 128)
    length = _integer(entry, "persistence_prefix", path, errors, low, high, "a prefix length")
    if length is _BAD:
        return default
    if af == AF_INET6:
        return length
    mask_value = (FULL_MASK << (32 - length)) & FULL_MASK
    return int.from_bytes(mask_value.to_bytes(4, "big"), sys.byteorder)


def _destinations(entry, path, errors, service, service_key):
    value = entry.get("destinations")
    if value is None:
        return None
    where = _where(path, "destinations")
    if not isinstance(value, list):
        errors.append("%s: must be a list of destinations, got %s" % (where, _describe(value)))
        return None
    result = []
    seen = {}
    for index, item in enumerate(value):
        item_path = "%s[%d]" % (where, index)
        key, dest = parse_destination(item, item_path, errors, service)
        if key is not None:
            other = seen.get(key)
            if other is not None:
                errors.append("%s: destination %s is listed twice in %s (also %s)" % (item_path, key, service_key, other))
                continue
            seen[key] = item_path
        if dest is not None:
            dest.index = index
            result.append(dest)
    return result


_PLAIN_DEST_OPTIONS = frozenset(("address", "port", "forwarding_method", "weight", "upper_threshold",
                                 "lower_threshold"))
_PLAIN_METHODS = {"dr": IP_VS_CONN_F_DROUTE, "route": IP_VS_CONN_F_DROUTE, "nat": IP_VS_CONN_F_MASQ,
                  "masq": IP_VS_CONN_F_MASQ}
_BROADCAST = b"\xff\xff\xff\xff"


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _plain_destination(entry, service):
    """``(key, raw)`` of a destination entry that is valid at first sight, or None: then ``_parse_destination``
    checks it option by option and words the errors.

    "At first sight": only address, port, forwarding_method (dr, route, nat or masq, as written), weight and
    thresholds; an IPv4 address already in canonical form, in an IPv4 service; integers (not strings or floats)
    in range. A table of 10,000 such destinations is checked in a third of the time. The unit tests prove that the
    result equals the full check's for every entry this accepts, and that the full check finds no error in it.
    """
    if service["af"] != AF_INET or not _PLAIN_DEST_OPTIONS.issuperset(entry):
        return None
    address = entry.get("address")
    if not isinstance(address, str):
        return None
    try:
        packed = socket.inet_pton(AF_INET, address)
    except (OSError, ValueError):
        return None
    first = packed[0]
    if first == 0 or 224 <= first <= 239 or packed == _BROADCAST or socket.inet_ntop(AF_INET, packed) != address:
        return None
    method = entry.get("forwarding_method")
    if method is None:
        method = IP_VS_CONN_F_DROUTE
    elif isinstance(method, str) and method in _PLAIN_METHODS:
        method = _PLAIN_METHODS[method]
    else:
        return None
    port = entry.get("port")
    fwmark = service.get("fwmark")
    if port is None:
        port = 0 if fwmark else service["port"]
    elif not _is_int(port) or not 0 <= port <= MAX_PORT or (
            not fwmark and method != IP_VS_CONN_F_MASQ and port != service["port"]):
        return None
    weight = entry.get("weight")
    if weight is None:
        weight = 1
    elif not _is_int(weight) or not 0 <= weight <= MAX_WEIGHT:
        return None
    upper = entry.get("upper_threshold")
    lower = entry.get("lower_threshold")
    upper = 0 if upper is None else upper
    lower = 0 if lower is None else lower
    if (not _is_int(upper) or not _is_int(lower) or not 0 <= upper <= MAX_THRESHOLD
            or not 0 <= lower <= upper):
        return None
    raw = {
        "addr": address,
        "port": port,
        "addr_family": AF_INET,
        "fwd_method": method,
        "weight": weight,
        "u_thresh": upper,
        "l_thresh": lower,
        "tun_type": 0,
        "tun_port": 0,
        "tun_flags": 0,
    }
    return "%s:%d" % (address, port), raw


def parse_destination(entry, path, errors, service):
    """One destination entry of ``service`` (a raw service dict) -> ``(key, DestSpec)``, as ``parse_service``."""
    if isinstance(entry, dict):
        plain = _plain_destination(entry, service)
        if plain is not None:
            return plain[0], DestSpec(None, path, plain[0], plain[1])
    return _parse_destination(entry, path, errors, service)


def _parse_destination(entry, path, errors, service):
    """``parse_destination`` option by option, for every entry (``_plain_destination`` is its shortcut)."""
    if not isinstance(entry, dict):
        errors.append("%s: must be a dictionary, got %s" % (path, _describe(entry)))
        return None, None
    count = len(errors)
    _unknown_options(entry, DESTINATION_OPTIONS, path, errors)
    address = _address(entry, "address", path, errors)
    if address is None:
        errors.append("%s: required" % _where(path, "address"))
    port = _integer(entry, "port", path, errors, 0, MAX_PORT)
    method_name = _choice(entry, "forwarding_method", path, errors, _FORWARDING_NAMES) or "dr"
    weight = _integer(entry, "weight", path, errors, 0, MAX_WEIGHT)
    upper = _integer(entry, "upper_threshold", path, errors, 0, MAX_THRESHOLD)
    lower = _integer(entry, "lower_threshold", path, errors, 0, MAX_THRESHOLD)
    tunnel_type = tunnel_port = checksum = None
    if "tunnel_type" in entry or "tunnel_port" in entry or "tunnel_checksum" in entry:
        tunnel_type = _choice(entry, "tunnel_type", path, errors, _TUNNEL_TYPE_NAMES)
        tunnel_port = _integer(entry, "tunnel_port", path, errors, 1, MAX_PORT)
        checksum = _choice(entry, "tunnel_checksum", path, errors, _TUNNEL_CHECKSUM_NAMES)
    if method_name is _BAD:
        return None, None
    method = FORWARDING_CHOICES[method_name]
    fwmark = service.get("fwmark")

    if address not in (None, _BAD):
        af, text, packed = address
        problem = _unicast_problem(af, packed)
        if problem:
            errors.append("%s: the kernel refuses %s as a real server: %s" % (_where(path, "address"), text, problem))
        if af != service["af"] and method != IP_VS_CONN_F_TUNNEL:
            errors.append(
                "%s: an %s real server in an %s service needs forwarding_method tun (the kernel forwards the other "
                "methods only within one address family)"
                % (_where(path, "address"), "IPv4" if af == AF_INET else "IPv6",
                   "IPv4" if service["af"] == AF_INET else "IPv6")
            )
    if port is None:
        port = 0 if fwmark else service["port"]
    elif port is not _BAD and not fwmark and method != IP_VS_CONN_F_MASQ and port != service["port"]:
        errors.append(
            "%s: with forwarding_method %s the real server receives the packets unchanged, so its port must be the "
            "service's port %d (or left out); only nat can change the port"
            % (_where(path, "port"), FORWARDING_NAMES[method], service["port"])
        )
    if lower not in (None, _BAD) and upper is not _BAD:
        high = upper or 0
        if lower > high:
            errors.append(
                "%s: %d is above upper_threshold %d (the kernel refuses that; an upper threshold of 0 means no limit, "
                "and then the lower one must be 0 too)" % (_where(path, "lower_threshold"), lower, high)
            )
    tun_type = tun_port = tun_flags = 0
    if method == IP_VS_CONN_F_TUNNEL:
        type_name = tunnel_type or "ipip"
        if type_name is not _BAD:
            tun_type = TUNNEL_TYPE_CHOICES[type_name]
            if type_name == "gue":
                if tunnel_port is None:
                    errors.append("%s: required with tunnel_type gue (the UDP port of the GUE receiver)"
                                  % _where(path, "tunnel_port"))
                elif tunnel_port is not _BAD:
                    tun_port = tunnel_port
            elif tunnel_port is not None:
                errors.append("%s: only for tunnel_type gue, not %s" % (_where(path, "tunnel_port"), type_name))
            if checksum not in (None, _BAD):
                if type_name == "ipip":
                    errors.append("%s: only for tunnel_type gue or gre, not ipip" % _where(path, "tunnel_checksum"))
                elif checksum == "remcsum" and type_name != "gue":
                    errors.append("%s: remcsum is for tunnel_type gue only" % _where(path, "tunnel_checksum"))
                else:
                    tun_flags = TUNNEL_CHECKSUM_CHOICES[checksum]
    else:
        for name in ("tunnel_type", "tunnel_port", "tunnel_checksum"):
            if entry.get(name) is not None:
                errors.append(
                    "%s: only for forwarding_method tun, not %s" % (_where(path, name), FORWARDING_NAMES[method])
                )
    key = None
    if address not in (None, _BAD) and port is not _BAD:
        key = host_port(address[1], port)
    if len(errors) != count:
        return key, None
    af, text, _packed = address
    raw = {
        "addr": text,
        "port": port,
        "addr_family": af,
        "fwd_method": method,
        "weight": 1 if weight is None else weight,
        "u_thresh": upper or 0,
        "l_thresh": lower or 0,
        "tun_type": tun_type,
        "tun_port": tun_port,
        "tun_flags": tun_flags,
    }
    return key, DestSpec(None, path, key, raw)


def check_kernel_support(specs, schedulers=None, engines=None, sync_daemons=None):
    """Errors for what the running kernel cannot do, as IPVSValidationError (nothing when all is well).

    ``schedulers`` and ``engines`` are the names the kernel offers (None: unknown, not checked); ``sync_daemons``
    the running sync daemons (the kernel refuses destinations of another family while one runs).
    """
    errors = []
    for spec in specs:
        if spec.state != "present":
            continue
        sched = spec.raw["sched_name"]
        if schedulers is not None and sched not in schedulers:
            errors.append(
                "%s: the running kernel offers no %s scheduler (no module ip_vs_%s; it offers %s)"
                % (_where(spec.path, "scheduler"), sched, sched, ", ".join(sorted(schedulers)) or "none")
            )
        engine = spec.raw.get("pe_name")
        if engine and engines is not None and engine not in engines:
            errors.append(
                "%s: the running kernel has no %s persistence engine (no module ip_vs_pe_%s)"
                % (_where(spec.path, "persistence_engine"), engine, engine)
            )
        if sync_daemons:
            for dest in spec.destinations or ():
                if dest.raw["addr_family"] != spec.raw["af"]:
                    errors.append(
                        "%s: the kernel refuses real servers of another address family while a connection-sync "
                        "daemon runs (%s)" % (_where(dest.path, "address"), ", ".join(sync_daemons))
                    )
    if errors:
        raise IPVSValidationError(errors)


def needs_mixed_families(specs):
    """Whether any destination's family differs from its service's (then the sync daemons matter)."""
    return any(
        dest.raw["addr_family"] != spec.raw["af"]
        for spec in specs if spec.state == "present"
        for dest in spec.destinations or ()
    )


# ---------------------------------------------------------------------------------------------------------------
# Diff

def service_differences(want, have):
    """The options whose value differs between a declared raw service and the kernel's, in option names."""
    fields = []
    if want["sched_name"] != have.get("sched_name"):
        fields.append("scheduler")
    wflags = want["flags"]["flags"]
    hflags = (have.get("flags") or {}).get("flags", 0)
    changed = (wflags ^ hflags) & MANAGED_SERVICE_FLAGS
    if changed & IP_VS_SVC_F_PERSISTENT or (wflags & IP_VS_SVC_F_PERSISTENT and want["timeout"] != have.get("timeout")):
        fields.append("persistence_timeout")
    if wflags & IP_VS_SVC_F_PERSISTENT and want["netmask"] != have.get("netmask"):
        fields.append("persistence_netmask" if want["af"] == AF_INET else "persistence_prefix")
    if changed & IP_VS_SVC_F_ONEPACKET:
        fields.append("one_packet")
    if changed & SCHEDULER_FLAG_BITS:
        fields.append("scheduler_flags")
    if (want.get("pe_name") or "") != (have.get("pe_name") or ""):
        fields.append("persistence_engine")
    return fields


def dest_differences(want, have):
    """The options whose value differs between a declared raw destination and the kernel's."""
    fields = []
    if want["fwd_method"] != have.get("fwd_method"):
        fields.append("forwarding_method")
    if want["weight"] != have.get("weight"):
        fields.append("weight")
    if want["u_thresh"] != have.get("u_thresh", 0):
        fields.append("upper_threshold")
    if want["l_thresh"] != have.get("l_thresh", 0):
        fields.append("lower_threshold")
    if want["fwd_method"] == IP_VS_CONN_F_TUNNEL:
        tun_type = want["tun_type"]
        if tun_type != have.get("tun_type", 0):
            fields.append("tunnel_type")
        if tun_type == IP_VS_CONN_F_TUNNEL_TYPE_GUE and want["tun_port"] != have.get("tun_port", 0):
            fields.append("tunnel_port")
        if tun_type != IP_VS_CONN_F_TUNNEL_TYPE_IPIP and want["tun_flags"] != have.get("tun_flags", 0):
            fields.append("tunnel_checksum")
    return fields


class Change(object):
    """One request: ``action`` create/modify/remove of a ``kind`` service/destination. ``service`` and ``dest``
    are the raw dicts to send with ``cmd``; ``fields`` the options a modification changes."""

    __slots__ = ("action", "kind", "service_key", "dest_key", "fields", "cmd", "service", "dest")

    def __init__(self, action, kind, service_key, dest_key, cmd, service, dest=None, fields=None):
        self.action = action
        self.kind = kind
        self.service_key = service_key
        self.dest_key = dest_key
        self.cmd = cmd
        self.service = service
        self.dest = dest
        self.fields = fields

    @property
    def request(self):
        return (self.cmd, self.service, self.dest)

    def as_dict(self):
        result = {"action": self.action, "service": self.service_key, "destination": self.dest_key}
        if self.fields is not None:
            result["fields"] = list(self.fields)
        return result

    def describe(self):
        if self.kind == "service":
            text = "%s service %s" % (self.action, self.service_key)
        else:
            text = "%s destination %s of %s" % (self.action, self.dest_key, self.service_key)
        if self.fields:
            text += " (%s)" % ", ".join(self.fields)
        return text


class Plan(object):
    """The changes that make the table match the specs, in the order to send them, and views of them."""

    def __init__(self, specs, current, changes):
        self.specs = specs
        self.current = current  # key -> raw service (with 'destinations' where dumped)
        self.changes = changes

    @property
    def changed(self):
        return bool(self.changes)

    def summary(self, changes=None):
        counts = {}
        for kind in ("services", "destinations"):
            for action in ("created", "modified", "removed"):
                counts["%s_%s" % (kind, action)] = 0
        names = {"create": "created", "modify": "modified", "remove": "removed"}
        for change in self.changes if changes is None else changes:
            kind = "services" if change.kind == "service" else "destinations"
            counts["%s_%s" % (kind, names[change.action])] += 1
        return counts

    def affected_keys(self):
        keys = []
        seen = set()
        for change in self.changes:
            if change.service_key not in seen:
                seen.add(change.service_key)
                keys.append(change.service_key)
        return keys

    def before_view(self, key):
        """The documented view (``ipvs_info`` shape, without counters) of service ``key`` now, or None."""
        have = self.current.get(key)
        if have is None:
            return None
        return service_view(have, have.get("destinations"))

    def after_view(self, key, changes=None):
        """The view of service ``key`` once ``changes`` (all by default) are applied, or None when it is gone."""
        have = self.current.get(key)
        raw = have
        dests = None
        if have is not None and have.get("destinations") is not None:
            dests = dict((raw_dest_key(dest), dest) for dest in have["destinations"])
        for change in self.changes if changes is None else changes:
            if change.service_key != key:
                continue
            if change.kind == "service":
                if change.action == "remove":
                    return None
                raw = dict(change.service)
                raw["flags"] = {"flags": change.service["flags"]["flags"] | IP_VS_SVC_F_HASHED, "mask": FULL_MASK}
                if dests is None:
                    dests = {} if have is None else None
            else:
                if dests is None:
                    dests = {}
                if change.action == "remove":
                    dests.pop(change.dest_key, None)
                else:
                    dests[change.dest_key] = change.dest
        if raw is None:
            return None
        return service_view(raw, None if dests is None else list(dests.values()))

    def diff(self, keys=None):
        """``{'before': {'services': {...}}, 'after': {...}}``: the affected services only."""
        before = {}
        after = {}
        for key in self.affected_keys() if keys is None else keys:
            view = self.before_view(key)
            if view is not None:
                before[key] = view
            view = self.after_view(key)
            if view is not None:
                after[key] = view
        return {"before": {"services": before}, "after": {"services": after}}


_LIVE_FIELDS = ("active_connections", "inactive_connections", "persistent_connections")


def dest_view(raw, service_af):
    view = normalize_destination(raw, service_af, stats=False)
    for name in _LIVE_FIELDS:
        view.pop(name, None)
    return view


def service_view(raw, destinations=None):
    """A raw service (and raw destinations, or None) -> the documented shape of ``ipvs_info`` without counters."""
    view = normalize_service(raw, stats=False)
    if destinations is not None:
        view["destinations"] = sorted((dest_view(dest, raw.get("af")) for dest in destinations),
                                      key=destination_sort_key)
    return view


def sorted_views(views):
    return sorted(views, key=service_sort_key)


def plan_changes(specs, current_services, exclusive=False):
    """The changes from the current table (raw services from ``IPVSNetlink.dump_table``) to ``specs``.

    Order: per declared service its creation or in-place modification, then its destinations' creations and
    modifications; then destination removals; then service removals (``state: absent``, and with ``exclusive``
    every service not declared). Services whose destinations were not dumped must not manage destinations.
    """
    current = {}
    for raw in current_services:
        current[raw_key(raw)] = raw
    changes = []
    dest_removals = []
    removals = []
    declared = set()
    for spec in specs:
        declared.add(spec.key)
        have = current.get(spec.key)
        if spec.state == "absent":
            if have is not None:
                removals.append(Change("remove", "service", spec.key, None, IPVS_CMD_DEL_SERVICE, have))
            continue
        want = spec.raw
        if have is None:
            changes.append(Change("create", "service", spec.key, None, IPVS_CMD_NEW_SERVICE, want))
            for dest in spec.destinations or ():
                changes.append(Change("create", "destination", spec.key, dest.key, IPVS_CMD_NEW_DEST, want, dest.raw))
            continue
        fields = service_differences(want, have)
        if fields:
            changes.append(Change("modify", "service", spec.key, None, IPVS_CMD_SET_SERVICE, want, fields=fields))
        if spec.destinations is None:
            continue
        have_dests = {}
        for raw in have.get("destinations") or ():
            have_dests[raw_dest_key(raw)] = raw
        for dest in spec.destinations:
            old = have_dests.pop(dest.key, None)
            if old is None:
                changes.append(Change("create", "destination", spec.key, dest.key, IPVS_CMD_NEW_DEST, want, dest.raw))
                continue
            fields = dest_differences(dest.raw, old)
            if fields:
                changes.append(Change("modify", "destination", spec.key, dest.key, IPVS_CMD_SET_DEST, want, dest.raw,
                                      fields))
        if spec.purge:
            for key, old in have_dests.items():
                dest_removals.append(Change("remove", "destination", spec.key, key, IPVS_CMD_DEL_DEST, want, old))
    if exclusive:
        for key, have in current.items():
            if key not in declared:
                removals.append(Change("remove", "service", key, None, IPVS_CMD_DEL_SERVICE, have))
    return Plan(specs, current, changes + dest_removals + removals)


# ---------------------------------------------------------------------------------------------------------------
# Kernel errors, explained

def explain_error(change, code):
    """A kernel error code for ``change`` -> text with the likely cause."""
    text = "%s (errno %d)" % (os.strerror(code), code)
    hint = None
    service = change.service or {}
    if code == 2 and change.cmd in (IPVS_CMD_NEW_SERVICE, IPVS_CMD_SET_SERVICE):  # ENOENT
        hint = "the kernel could not load scheduler module ip_vs_%s%s" % (
            service.get("sched_name"),
            " or persistence engine module ip_vs_pe_%s" % service["pe_name"] if service.get("pe_name") else "")
    elif code == 3:  # ESRCH
        hint = "the service does not exist"
    elif code == 17:  # EEXIST
        hint = "it exists already (was the table changed meanwhile?)"
    elif code == 2 and change.cmd in (IPVS_CMD_SET_DEST, IPVS_CMD_DEL_DEST):
        hint = "the destination does not exist (was the table changed meanwhile?)"
    elif code == 22 and change.kind == "destination":  # EINVAL
        hint = ("the kernel refused the real server (a non-unicast address, or another address family while a "
                "sync daemon runs or without tun forwarding)")
    elif code == 34:  # ERANGE
        hint = "weight or thresholds out of range"
    elif code == 97:  # EAFNOSUPPORT
        hint = "the kernel has no IPv6 (ipv6.disable=1?)"
    return "%s: %s" % (text, hint) if hint else text
