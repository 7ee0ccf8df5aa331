# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This file is PRIVATE to the lvs.cluster collection. It is not a public API: it may change or disappear in any
# release without notice. Do not import it from outside the collection.
"""The virtual-service data model of lvs.cluster: inventory variables -> validated services -> per-host views.

Pure functions, no I/O. The filter plugins ``lvs_services``, ``lvs_director_view`` and ``lvs_real_server_view``
are thin wrappers around ``_lvs_services.normalize_services``, ``_lvs_views.director_view`` and
``_lvs_views.real_server_view``; docs/data-model.md describes the variables and every rule applied here.

This file holds what the others share: the model's names, limits and defaults, its error, and the field checks.
``_lvs_hosts`` reads hosts, VRRP instances and gateways; ``_lvs_services`` validates services; ``_lvs_views`` places
them on one host.

Data flows one way: ``lvs_virtual_services`` (what the user writes) plus per-host addresses (``lvs_interfaces``)
and the directors' cluster-wide settings (``lvs_vrrp_instances``, ``lvs_nat_gateways``) -> ``normalize_services``
(validated once: every error is collected, each naming the entry and field, and the host where one is involved)
-> one view per host. The views never re-validate the services, they only place them on a host's interfaces.

Hostvars are read through the mapping protocol only (``name in hostvars``, ``hostvars[name].get(var)``), so a
plain dict of dicts works as well as Ansible's lazily templated ``hostvars``.
"""

from __future__ import annotations

import ipaddress
import math
import re

from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_keys as _keys

SERVICES_VARIABLE = "lvs_virtual_services"
VRRP_VARIABLE = "lvs_vrrp_instances"
GATEWAYS_VARIABLE = "lvs_nat_gateways"
INTERFACES_VARIABLE = "lvs_interfaces"
TUNNEL_ADDRESS_VARIABLE = "lvs_tunnel_address"
MANAGEMENT_VARIABLE = "lvs_management_networks"
DIRECTOR_GROUP = "directors"
SYNC_GROUP_NAME = "lvs"

PROTOCOLS = ("tcp", "udp", "sctp")
FORWARDING_METHODS = ("dr", "nat", "tun")
# Every scheduler Linux 6.1 ships (net/netfilter/ipvs/ip_vs_*.c); whether the running kernel has the module is
# checked by the ipvs modules on the director.
SCHEDULERS = ("rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "mh", "fo", "ovf", "twos")
SCHEDULER_FLAGS = {"sh": ("sh-fallback", "sh-port"), "mh": ("mh-fallback", "mh-port")}
ALL_SCHEDULER_FLAGS = ("sh-fallback", "sh-port", "mh-fallback", "mh-port")
PERSISTENCE_ENGINES = ("sip",)
TUNNEL_TYPES = ("ipip", "gue", "gre")
TUNNEL_CHECKSUMS = ("nocsum", "csum", "remcsum")
HEALTH_CHECK_TYPES = ("http", "https", "tcp", "dns", "misc", "none")
DNS_QUERY_TYPES = ("A", "AAAA", "NS", "CNAME", "SOA", "MX", "TXT", "PTR")

DEFAULT_SCHEDULER = "wlc"
DEFAULT_FORWARDING = "dr"
DEFAULT_PROTOCOL = "tcp"
DEFAULT_WEIGHT = 1
DEFAULT_ADVERT_INTERVAL = 1
# Health-check timing: a stopped server is out of the table after at most interval + timeout + retries *
# (retry_delay + timeout) = 4 s (issue: under 5 s), where keepalived's own defaults take about a minute.
HEALTH_CHECK_DEFAULTS = {"interval": 1, "timeout": 1, "retries": 1, "retry_delay": 1, "warmup": 0}
DEFAULT_HTTP_STATUS = [200]

MAX_PORT = 65535
MAX_FWMARK = 0xFFFFFFFF
MAX_WEIGHT = 0x7FFFFFFF  # an int in the kernel
MAX_THRESHOLD = 0xFFFFFFFF
MAX_PERSISTENCE_TIMEOUT = 0xFFFFFFFF // 1000  # the kernel keeps timeout * HZ in 32 bits (HZ up to 1000)
MAX_INTERVAL = 86400

SERVICE_FIELDS = (
    "name", "vip", "port", "ports", "protocol", "fwmark", "fwmark_match", "scheduler", "scheduler_flags",
    "persistence", "one_packet", "forwarding", "tunnel", "real_servers", "health_check", "sorry_server", "quorum",
    "hysteresis", "inhibit_on_failure", "vrrp_instance",
)
REAL_SERVER_FIELDS = ("host", "address", "port", "weight", "upper_threshold", "lower_threshold", "health_check")
SORRY_SERVER_FIELDS = ("host", "address", "port")
PERSISTENCE_FIELDS = ("timeout", "netmask", "prefix_length", "engine")
TUNNEL_FIELDS = ("type", "port", "checksum")
FWMARK_MATCH_FIELDS = ("protocol", "ports")
HEALTH_CHECK_FIELDS = (
    "type", "port", "path", "status", "digest", "virtualhost", "interval", "timeout", "retries", "retry_delay",
    "warmup", "query", "query_type", "script", "dynamic",
)
HEALTH_CHECK_TIMING = ("interval", "timeout", "retries", "retry_delay", "warmup")
# The fields each check type takes, besides ``type`` itself.
HEALTH_CHECK_TYPE_FIELDS = {
    "http": ("port", "path", "status", "digest", "virtualhost") + HEALTH_CHECK_TIMING,
    "https": ("port", "path", "status", "digest", "virtualhost") + HEALTH_CHECK_TIMING,
    "tcp": ("port",) + HEALTH_CHECK_TIMING,
    "dns": ("port", "query", "query_type") + HEALTH_CHECK_TIMING,
    "misc": ("script", "dynamic") + HEALTH_CHECK_TIMING,
    "none": (),
}
VRRP_FIELDS = ("name", "network", "virtual_router_id", "priorities", "advert_interval", "unicast")
GATEWAY_FIELDS = ("address", "vrrp_instance")
INTERFACE_FIELDS_USED = ("name", "addresses")  # other keys of an lvs_interfaces entry (mac, network) are ignored

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_DIGEST = re.compile(r"^[0-9a-fA-F]{32}$")
_BAD = object()  # a value that failed validation (its error is recorded): later checks skip it


class LVSModelError(ValueError):
    """Invalid inventory data. ``errors`` lists every problem, each starting with the variable path it is about."""

    def __init__(self, errors):
        self.errors = list(errors)
        if len(self.errors) == 1:
            message = self.errors[0]
        else:
            message = "%d errors:\n- %s" % (len(self.errors), "\n- ".join(self.errors))
        super(LVSModelError, self).__init__(message)


# ---------------------------------------------------------------------------------------------------------------
# Scalars. Each helper appends "<path>: <problem>" to ``errors`` and returns _BAD, or returns the value.

def _describe(value):
    if isinstance(value, str):
        value = str(value)
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _int(value, path, errors, low, high, what="an integer"):
    number = _BAD
    if isinstance(value, bool):
        number = _BAD
    elif isinstance(value, int):
        number = int(value)
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and re.match(r"^\s*-?[0-9]+\s*$", value):
        number = int(value)
    if number is _BAD:
        errors.append("%s: must be %s, got %s" % (path, what, _describe(value)))
        return _BAD
    if not low <= number <= high:
        errors.append("%s: must be between %d and %d, got %d" % (path, low, high, number))
        return _BAD
    return number


def _number(value, path, errors, low, high, what="a number of seconds"):
    number = _BAD
    if isinstance(value, bool):
        number = _BAD
    elif isinstance(value, (int, float)):
        number = value
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = _BAD
    if number is _BAD or math.isnan(number):
        errors.append("%s: must be %s, got %s" % (path, what, _describe(value)))
        return _BAD
    if not low <= number <= high:
        errors.append("%s: must be between %s and %s, got %s" % (path, low, high, number))
        return _BAD
    if isinstance(number, float) and number.is_integer():
        return int(number)
    return number


def _bool(value, path, errors):
    if isinstance(value, bool):
        return value
    key = value.strip().lower() if isinstance(value, str) else value
    if key in ("yes", "on", "true", "1", 1):
        return True
    if key in ("no", "off", "false", "0", 0):
        return False
    errors.append("%s: must be a boolean, got %s" % (path, _describe(value)))
    return _BAD


def _choice(value, path, errors, choices, upper=False):
    key = value.strip() if isinstance(value, str) else value
    if isinstance(key, str):
        key = key.upper() if upper else key.lower()
        if key in choices:
            return key
    errors.append("%s: must be one of %s, got %s" % (path, ", ".join(choices), _describe(value)))
    return _BAD


def _string(value, path, errors, what="a non-empty string"):
    if isinstance(value, str) and value.strip():
        return str(value).strip()
    errors.append("%s: must be %s, got %s" % (path, what, _describe(value)))
    return _BAD


def _name(value, path, errors):
    if isinstance(value, str) and _NAME.match(value):
        return str(value)
    errors.append(
        "%s: must be a name of letters, digits, '_', '.' and '-' (up to 64, starting with a letter or digit), got %s"
        % (path, _describe(value))
    )
    return _BAD


def _list(value, path, errors, what="a list"):
    if isinstance(value, (list, tuple)):
        return list(value)
    errors.append("%s: must be %s, got %s" % (path, what, _describe(value)))
    return _BAD


def _mapping(value, path, errors, allowed, what="a dictionary"):
    if not isinstance(value, dict):
        errors.append("%s: must be %s, got %s" % (path, what, _describe(value)))
        return False
    unknown = sorted(str(key) for key in value if key not in allowed)
    if unknown:
        errors.append(
            "%s: unknown field%s %s (known: %s)"
            % (path, "s" if len(unknown) > 1 else "", ", ".join(unknown), ", ".join(allowed))
        )
    return True


def _ip(value, path, errors, prefix_hint="give the address alone"):
    """An address (no prefix length) -> ipaddress object, or _BAD."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("[") and text.endswith("]"):
            text = text[1:-1]
        if "/" in text:
            errors.append("%s: %s has a prefix length; %s" % (path, _describe(value), prefix_hint))
            return _BAD
        try:
            return ipaddress.ip_address(text)
        except ValueError:
            pass
    errors.append("%s: %s is not an IPv4 or IPv6 address" % (path, _describe(value)))
    return _BAD


def _ip_interface(value, path, errors):
    """``198.51.100.11/24`` -> IPv4Interface (the prefix length is required), or _BAD."""
    if isinstance(value, str) and "/" in value:
        try:
            return ipaddress.ip_interface(value.strip())
        except ValueError:
            pass
    errors.append(
        "%s: must be an address with its prefix length (like 198.51.100.11/24 or 2001:db8::11/64), got %s"
        % (path, _describe(value))
    )
    return _BAD


def _ip_network(value, path, errors):
    if isinstance(value, str) and "/" in value:
        try:
            return ipaddress.ip_network(value.strip())
        except ValueError:
            try:
                network = ipaddress.ip_network(value.strip(), strict=False)
            except ValueError:
                network = None
            if network is not None:
                errors.append("%s: %s has host bits set; write the network as %s" % (path, _describe(value), network))
                return _BAD
    errors.append("%s: must be a network like 198.51.100.0/24, got %s" % (path, _describe(value)))
    return _BAD


def _unicast_problem(ip):
    """Why ``ip`` cannot be a virtual or real server address, or None."""
    if ip.is_multicast:
        return "it is a multicast address"
    if ip.is_unspecified:
        return "it is the unspecified address"
    if ip.is_loopback:
        return "it is a loopback address"
    if ip.version == 4:
        if ip == ipaddress.IPv4Address("255.255.255.255"):
            return "it is the broadcast address"
        if ip in ipaddress.IPv4Network("0.0.0.0/8"):
            return "0.0.0.0/8 is not a unicast range"
        return None
    if ip.is_link_local:
        return "it is a link-local address"
    if ip.ipv4_mapped is not None:
        return "it is an IPv4-mapped address (write the IPv4 address)"
    return None


def _family(ip):
    return "ipv4" if ip.version == 4 else "ipv6"


def _family_label(version):
    return "IPv4" if version == 4 else "IPv6"


def _max_prefix(ip):
    return 32 if ip.version == 4 else 128


def service_key(service):
    """``tcp/198.51.100.100:80``, ``tcp/[2001:db8:100::100]:80`` or ``fwmark/ipv4/7``, as ipvs_info writes it."""
    return _keys.service_key(service.get("protocol"), service.get("vip"), service.get("port"), service.get("fwmark"),
                             service.get("family"))


def destination_key(address, port):
    """``198.51.100.21:80`` or ``[2001:db8:100::21]:80``, as ipvs_info writes it."""
    return _keys.host_port(address, port)


def _netmask_text(prefix_length):
    return str(ipaddress.IPv4Network((0, prefix_length)).netmask)


def _sysctl_interface(name):
    """An interface name as a sysctl path component (``eth0.100`` -> ``eth0/100``)."""
    return name.replace(".", "/")


def _port_interval(item):
    return (item, item) if isinstance(item, int) else tuple(int(part) for part in item.split("-"))


def _unique(items):
    seen = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen
