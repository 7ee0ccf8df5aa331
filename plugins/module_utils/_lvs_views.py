# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This file is PRIVATE to the lvs.cluster collection. It is not a public API: it may change or disappear in any
# release without notice. Do not import it from outside the collection.
"""Normalized services -> what one host renders: the director view and the real-server view. Pure, no I/O."""

from __future__ import annotations

import ipaddress

from ansible_collections.lvs.cluster.plugins.module_utils._lvs_model import (
    DIRECTOR_GROUP,
    LVSModelError,
    SYNC_GROUP_NAME,
    _describe,
    _max_prefix,
    _port_interval,
    _sysctl_interface,
    _unique,
)
from ansible_collections.lvs.cluster.plugins.module_utils._lvs_hosts import (
    _Context,
    _Host,
)
from ansible_collections.lvs.cluster.plugins.module_utils._lvs_services import (
    _place_vip,
)
from ansible_collections.lvs.cluster.plugins.module_utils._lvs_drain import apply_drain


# ---------------------------------------------------------------------------------------------------------------
# Views

def _check_services(services):
    if not isinstance(services, (list, tuple)) or not all(
            isinstance(s, dict) and "key" in s and "real_servers" in s for s in services):
        raise LVSModelError(["%s: the input must be the output of lvs.cluster.lvs_services, got %s"
                             % ("_input", _describe(services))])
    return list(services)


def _raise(context):
    if context.errors:
        raise LVSModelError(_unique(context.errors))


def ipvs_service(service):
    """A normalized service -> one entry of the ``services`` option of lvs.cluster.ipvs (and ipvs_service)."""
    entry = {"family": service["family"]}
    if service["fwmark"]:
        entry["fwmark"] = service["fwmark"]
    else:
        entry.update(protocol=service["protocol"], address=service["vip"], port=service["port"])
    entry["scheduler"] = service["scheduler"]
    entry["scheduler_flags"] = list(service["scheduler_flags"])
    persistence = service["persistence"]
    entry["persistence_timeout"] = persistence["timeout"] if persistence else 0
    if persistence:
        if service["family"] == "ipv4":
            entry["persistence_netmask"] = persistence["netmask"]
        else:
            entry["persistence_prefix"] = persistence["prefix_length"]
        if persistence["engine"]:
            entry["persistence_engine"] = persistence["engine"]
    entry["one_packet"] = service["one_packet"]
    entry["destinations"] = [ipvs_destination(service, rs) for rs in service["real_servers"]]
    return entry


def ipvs_destination(service, rs):
    """A real server of a normalized service -> one entry of the ipvs modules' ``destinations``."""
    entry = {
        "address": rs["address"],
        "port": rs["port"],
        "forwarding_method": service["forwarding"],
        "weight": rs["weight"],
        "upper_threshold": rs["upper_threshold"],
        "lower_threshold": rs["lower_threshold"],
    }
    tunnel = service["tunnel"]
    if service["forwarding"] == "tun" and tunnel:
        entry["tunnel_type"] = tunnel["type"]
        if tunnel["type"] == "gue":
            entry["tunnel_port"] = tunnel["port"]
        if tunnel["type"] != "ipip":
            entry["tunnel_checksum"] = tunnel["checksum"]
    return entry


def _address_entry(address, prefix_length, interface, family, **extra):
    entry = {
        "address": address,
        "prefix_length": prefix_length,
        "cidr": "%s/%d" % (address, prefix_length),
        "family": family,
        "interface": interface,
    }
    entry.update(extra)
    return entry


def director_view(services, hostvars, groups, director, director_group=DIRECTOR_GROUP, drained=None):
    """What ``director`` renders: see the lvs_director_view filter's RETURN.

    ``drained`` is the directors' drain state (see _lvs_drain): its real servers are rendered with weight 0.
    """
    services, drained_applied, drained_stale = apply_drain(_check_services(services), drained)
    context = _Context(hostvars, groups, director_group)
    if director not in context.directors:
        context.errors.append("director: %s is not a director (group %s: %s)"
                              % (director, director_group, ", ".join(context.directors) or "empty"))
    _raise(context)

    ipvs_services = []
    virtual_servers = []
    vips = []
    vip_index = {}
    schedulers = []
    engines = []
    nat_families = set()
    firewall_services = []
    fwmark_rules = []
    for service in services:
        entry = ipvs_service(service)
        ipvs_services.append(entry)
        virtual_servers.append({
            "key": service["key"],
            "name": service["name"],
            "ipvs": entry,
            "forwarding": service["forwarding"],
            "tunnel": service["tunnel"],
            "health_check": service["health_check"],
            "quorum": service["quorum"],
            "hysteresis": service["hysteresis"],
            "inhibit_on_failure": service["inhibit_on_failure"],
            "sorry_server": service["sorry_server"],
            "real_servers": [
                {"key": rs["key"], "host": rs["host"], "ipvs": destination, "health_check": rs["health_check"],
                 "drained": rs.get("drained", False)}
                for rs, destination in zip(service["real_servers"], entry["destinations"])
            ],
        })
        vip = ipaddress.ip_address(service["vip"])
        if vip not in vip_index:
            placement = _place_vip(context, vip, service["vrrp_instance"], "_input[%d]" % len(ipvs_services),
                                   context.errors)
            _raise(context)
            ifname, prefix = placement["interfaces"][director]
            vip_index[vip] = _address_entry(service["vip"], prefix, ifname, service["family"],
                                            vrrp_instance=service["vrrp_instance"], services=[])
            vips.append(vip_index[vip])
        if service["name"] not in vip_index[vip]["services"]:
            vip_index[vip]["services"].append(service["name"])
        schedulers.append(service["scheduler"])
        if service["persistence"] and service["persistence"]["engine"]:
            engines.append(service["persistence"]["engine"])
        if service["forwarding"] == "nat":
            nat_families.add(service["family"])
        if service["fwmark"]:
            for item in service["fwmark_match"]:
                fwmark_rules.append({"fwmark": service["fwmark"], "family": service["family"],
                                     "address": service["vip"], "protocol": item["protocol"],
                                     "ports": list(item["ports"])})
        else:
            firewall_services.append({"family": service["family"], "protocol": service["protocol"],
                                      "address": service["vip"], "port": service["port"]})

    gateways = [
        _address_entry(g["address"], g["prefix_length"], g["members"][director], g["family"],
                       network=g["network"], vrrp_instance=g["vrrp_instance"])
        for g in context.gateways
    ]
    instances = []
    vrrp_sources = []
    for instance in context.instances:
        member = instance["members"][director]
        priority = instance["priorities"][director]
        held = [dict(a) for a in vips if a["vrrp_instance"] == instance["name"]]
        held += [dict(g) for g in gateways if g["vrrp_instance"] == instance["name"]]
        for address in held:
            address.pop("services", None)
            address.pop("network", None)
            address.pop("vrrp_instance", None)
        # The other directors' addresses on the instance's network: its unicast peers, and in either mode the only
        # sources a firewall admits VRRP (and connection sync) from.
        members = [instance["members"][d]["address"] for d in context.directors if d != director]
        peers = members if instance["unicast"] else []
        vrrp_sources.append({"instance": instance["name"], "interface": member["interface"],
                             "family": instance["family"], "unicast": instance["unicast"], "peers": members})
        instances.append({
            "name": instance["name"],
            "interface": member["interface"],
            "family": instance["family"],
            "network": instance["network"],
            "virtual_router_id": instance["virtual_router_id"],
            "priority": priority,
            "state": "MASTER" if priority == max(instance["priorities"].values()) else "BACKUP",
            "advert_interval": instance["advert_interval"],
            "unicast": instance["unicast"],
            "unicast_src_ip": member["address"] if instance["unicast"] else None,
            "unicast_peers": peers,
            "virtual_ipaddresses": [a for a in held if a["family"] == instance["family"]],
            "virtual_ipaddresses_excluded": [a for a in held if a["family"] != instance["family"]],
        })

    modules = ["ip_vs"] + ["ip_vs_%s" % s for s in sorted(set(schedulers))]
    modules += ["ip_vs_pe_%s" % e for e in sorted(set(engines))]
    sysctls = []
    if "ipv4" in nat_families:
        sysctls.append({"name": "net.ipv4.ip_forward", "value": 1,
                        "reason": "NAT: replies of the real servers are routed back through the director"})
    if "ipv6" in nat_families:
        sysctls.append({"name": "net.ipv6.conf.all.forwarding", "value": 1,
                        "reason": "NAT (IPv6): replies of the real servers are routed back through the director"})
    return {
        "director": director,
        "ipvs_services": ipvs_services,
        "virtual_servers": virtual_servers,
        "vips": vips,
        "nat_gateways": gateways,
        "vrrp_instances": instances,
        "vrrp_sync_group": {"name": SYNC_GROUP_NAME, "instances": [i["name"] for i in instances]}
        if len(instances) > 1 else None,
        "kernel_modules": modules,
        "sysctls": sysctls,
        "firewall": {
            "services": firewall_services,
            "fwmark_rules": fwmark_rules,
            "vrrp": vrrp_sources,
            "management_networks": [str(n) for n in getattr(context.host(director), "managed_at", [])],
            "nat_networks": [{"network": g["network"], "interface": g["interface"], "family": g["family"]}
                             for g in gateways],
        },
        "interfaces": sorted(set([a["interface"] for a in vips + gateways] + [i["interface"] for i in instances])),
        "drained": {"real_servers": drained_applied, "stale": drained_stale},
    }


# Tunnel devices: the kernel's fallback device of each type receives what the director encapsulates (any source,
# any destination), so the real server needs no per-director tunnel.
_TUNNEL_DEVICES = {
    ("ipip", 4): ("tunl0", ["ipip"]),
    ("gue", 4): ("tunl0", ["fou", "ipip"]),
    ("gre", 4): ("gre0", ["ip_gre"]),
    ("ipip", 6): ("ip6tnl0", ["ip6_tunnel"]),
    ("gue", 6): ("ip6tnl0", ["fou6", "ip6_tunnel"]),
    ("gre", 6): ("ip6gre0", ["ip6_gre"]),
}


def _tunnel_overhead(tunnel, version):
    outer = 20 if version == 4 else 40
    if tunnel["type"] == "gre":
        return outer + 4 + (4 if tunnel["checksum"] == "csum" else 0)
    if tunnel["type"] == "gue":
        return outer + 8 + 4 + (8 if tunnel["checksum"] == "remcsum" else 0)
    return outer


def real_server_view(services, hostvars, groups, host_name, director_group=DIRECTOR_GROUP):
    """What real server ``host_name`` needs: see the lvs_real_server_view filter's RETURN."""
    services = _check_services(services)
    context = _Context(hostvars, groups, director_group)
    if not context.known(host_name):
        context.errors.append("host: %s is not in the inventory" % (host_name,))
    _raise(context)
    host = context.host(host_name)
    host = host if isinstance(host, _Host) else None

    served = []
    listen = []
    dr_vips = []
    tun_vips = []
    tunnels = []
    gateways = []
    arp_interfaces = []
    arp_vips = []
    vip_methods = {}
    for service in services:
        members = [("real_server", rs) for rs in service["real_servers"] if rs["host"] == host_name]
        sorry = service["sorry_server"]
        if sorry and sorry["host"] == host_name:
            members.append(("sorry_server", dict(sorry, health_check=None)))
        for role, rs in members:
            forwarding = service["forwarding"]
            vip = ipaddress.ip_address(service["vip"])
            methods = vip_methods.setdefault(vip, {})
            if forwarding != "nat":
                methods.setdefault(forwarding, service["name"])
                if len(methods) > 1:
                    raise LVSModelError([
                        "host: %s would hold VIP %s for %s; a real server holds a VIP one way "
                        "only (dr on a non-ARPing interface, or tun on the tunnel device)"
                        % (host_name, vip, " and ".join("%s (service %s)" % item for item in sorted(methods.items())))])
            ports = _listen_ports(service, rs)
            check = rs.get("health_check")
            served.append({
                "name": service["name"],
                "key": service["key"],
                "role": role,
                "forwarding": forwarding,
                "family": service["family"],
                "vip": service["vip"],
                "protocol": service["protocol"],
                "port": service["port"],
                "fwmark": service["fwmark"],
                "address": rs["address"],
                "interface": rs["interface"],
                "listen": ports,
                "health_check": check,
            })
            listen.extend(ports)
            if check and check["type"] in ("http", "https", "tcp", "dns") and check["port"]:
                listen.append({"protocol": "udp" if check["type"] == "dns" else "tcp", "port": check["port"]})
            vip_entry = _address_entry(service["vip"], _max_prefix(vip), None, service["family"])
            if forwarding == "dr":
                vip_entry.pop("interface")
                if vip_entry not in dr_vips:
                    dr_vips.append(vip_entry)
                if vip.version == 4:
                    arp_vips.append(service["vip"])
                    if rs["interface"]:
                        arp_interfaces.append(rs["interface"])
            elif forwarding == "tun":
                tunnel = service["tunnel"]
                device, modules = _TUNNEL_DEVICES[(tunnel["type"], vip.version)]
                vip_entry["interface"] = device
                if vip_entry not in tun_vips:
                    tun_vips.append(vip_entry)
                entry = {
                    "type": tunnel["type"],
                    "family": service["family"],
                    "device": device,
                    "port": tunnel["port"],
                    "checksum": tunnel["checksum"],
                    "kernel_modules": list(modules),
                    "overhead": _tunnel_overhead(tunnel, vip.version),
                }
                if entry not in tunnels:
                    tunnels.append(entry)
                if vip.version == 4:
                    arp_vips.append(service["vip"])
            else:
                gateway = {
                    "address": rs["nat_gateway"],
                    "family": service["family"],
                    "source": rs["address"],
                    "interface": rs["interface"],
                }
                network = next((g for g in context.gateways if g["address"] == rs["nat_gateway"]), None)
                gateway["network"] = network["network"] if network else None
                gateway["prefix_length"] = network["prefix_length"] if network else None
                if gateway not in gateways:
                    gateways.append(gateway)
    # Interfaces on which ARP for a non-ARPing VIP could arrive: those holding a DR address (the segment), and any
    # interface whose network contains one of the host's IPv4 DR/TUN VIPs.
    if host is not None:
        for text in arp_vips:
            found = host.containing(ipaddress.ip_address(text))
            if found:
                arp_interfaces.append(found[0])
    arp_interfaces = sorted(set(arp_interfaces))
    sysctls = []
    for ifname in arp_interfaces:
        name = _sysctl_interface(ifname)
        sysctls.append({"name": "net.ipv4.conf.%s.arp_ignore" % name, "value": 1,
                        "reason": "answer ARP only for addresses of %s itself, not for the VIPs" % ifname})
        sysctls.append({"name": "net.ipv4.conf.%s.arp_announce" % name, "value": 2,
                        "reason": "never use a VIP as the source of ARP requests sent on %s" % ifname})
    rp_filter = sorted(set(t["device"] for t in tunnels if t["family"] == "ipv4"))
    if rp_filter:
        sysctls.append({"name": "net.ipv4.conf.all.rp_filter", "value": 0,
                        "reason": "the kernel applies the larger of 'all' and the interface's value; 0 leaves every "
                                  "other interface's own setting in force"})
    for device in rp_filter:
        sysctls.append({"name": "net.ipv4.conf.%s.rp_filter" % device, "value": 2,
                        "reason": "loose: packets decapsulated on %s come from clients routed via another "
                                  "interface" % device})
    modules = []
    for tunnel in tunnels:
        modules.extend(m for m in tunnel["kernel_modules"] if m not in modules)
    return {
        "host": host_name,
        "services": served,
        "listen": _sorted_ports(listen),
        "dr": {"vips": dr_vips},
        "tun": {"vips": tun_vips, "tunnels": tunnels, "rp_filter_interfaces": rp_filter},
        "nat": {"gateways": gateways},
        "arp": {"interfaces": arp_interfaces, "vips": sorted(set(arp_vips), key=ipaddress.ip_address)},
        "kernel_modules": modules,
        "sysctls": sysctls,
    }


def _listen_ports(service, rs):
    """The (protocol, port) pairs a real server receives for ``service``."""
    if not service["fwmark"]:
        return [{"protocol": service["protocol"], "port": rs["port"]}]
    if rs["port"]:
        return _sorted_ports({"protocol": item["protocol"], "port": rs["port"]} for item in service["fwmark_match"])
    return _sorted_ports({"protocol": item["protocol"], "port": port}
                         for item in service["fwmark_match"] for port in item["ports"])


def _sorted_ports(items):
    unique = []
    for item in items:
        if item not in unique:
            unique.append(item)
    return sorted(unique, key=lambda item: (item["protocol"], _port_interval(item["port"])))
