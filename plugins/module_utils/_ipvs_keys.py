# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This file is PRIVATE to the lvs.cluster collection. It is not a public API: it may change or disappear in any
# release without notice. Do not import it from outside the collection.
"""The keys of IPVS services and destinations, written in one place. Pure: no I/O, no pyroute2.

A service key is ``tcp/198.51.100.10:80``, ``udp/[2001:db8::10]:53`` or ``fwmark/ipv4/7``; a destination key,
within its service, ``198.51.100.21:80`` or ``[2001:db8::21]:80``. ``ipvs_info`` returns them, the write modules
name changes and errors with them, and the inventory data model (``_lvs_model``, used by the filter plugins,
which must not need pyroute2) keys services the same way. The raw-dict variants run once per object of an
11,000-object table: keep them cheap.
"""

from __future__ import annotations

import socket

FAMILIES = {int(socket.AF_INET): "ipv4", int(socket.AF_INET6): "ipv6"}
PROTOCOLS = {6: "tcp", 17: "udp", 132: "sctp"}


def host_port(address, port):
    """``198.51.100.21:80``, or ``[2001:db8::21]:80`` for an IPv6 address."""
    if ":" in address:
        return "[%s]:%s" % (address, port)
    return "%s:%s" % (address, port)


def service_key(protocol, address, port, fwmark=None, family=None):
    """A service key from names: ``service_key('tcp', '198.51.100.10', 80)``, ``service_key(None, None, None, 7,
    'ipv4')``. A firewall mark (non-zero) wins over protocol, address and port."""
    if fwmark:
        return "fwmark/%s/%s" % (family, fwmark)
    return "%s/%s" % (protocol, host_port(address, port))


def raw_service_key(raw):
    """The key of a raw service dict (kernel attribute names and numbers: af, protocol, addr, port, fwmark)."""
    if raw.get("fwmark"):
        return "fwmark/%s/%s" % (FAMILIES.get(raw["af"], "af%s" % raw["af"]), raw["fwmark"])
    return "%s/%s" % (PROTOCOLS.get(raw["protocol"], str(raw["protocol"])), host_port(raw["addr"], raw["port"]))


def raw_destination_key(raw):
    """The key of a raw destination dict (addr, port) within its service."""
    return host_port(raw["addr"], raw["port"])
