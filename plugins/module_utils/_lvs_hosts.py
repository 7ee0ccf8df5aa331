# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This file is PRIVATE to the lvs.cluster collection. It is not a public API: it may change or disappear in any
# release without notice. Do not import it from outside the collection.
"""Inventory hosts as the data model sees them: their interfaces and addresses, the directors, VRRP instances and NAT
gateways (``lvs_interfaces``, ``lvs_vrrp_instances``, ``lvs_nat_gateways``). Pure, no I/O."""

from __future__ import annotations

import ipaddress

from ansible_collections.lvs.cluster.plugins.module_utils._lvs_model import (
    DEFAULT_ADVERT_INTERVAL,
    DIRECTOR_GROUP,
    GATEWAYS_VARIABLE,
    GATEWAY_FIELDS,
    INTERFACES_VARIABLE,
    MANAGEMENT_VARIABLE,
    TUNNEL_ADDRESS_VARIABLE,
    VRRP_FIELDS,
    VRRP_VARIABLE,
    _BAD,
    _bool,
    _describe,
    _family,
    _int,
    _ip,
    _ip_interface,
    _ip_network,
    _list,
    _mapping,
    _name,
    _number,
    _string,
    _unicast_problem,
    _unique,
)


# ---------------------------------------------------------------------------------------------------------------
# Hosts

class _Host(object):
    """The addresses of one inventory host: ``interfaces`` is a list of (name, [ip_interface, ...])."""

    __slots__ = ("name", "interfaces", "tunnel_address", "management", "managed_at")

    def __init__(self, name, interfaces, tunnel_address=None, management=(), managed_at=()):
        self.name = name
        self.interfaces = interfaces
        self.tunnel_address = tunnel_address
        self.management = list(management)
        # The networks of the host's own addresses that contain its ansible_host: where the inventory reaches it.
        self.managed_at = list(managed_at)

    def addresses(self, version=None):
        return [(ifname, address) for ifname, addresses in self.interfaces for address in addresses
                if version is None or address.version == version]

    def owner(self, ip):
        """The interface that holds ``ip`` as one of its addresses, or None."""
        for ifname, address in self.addresses(ip.version):
            if address.ip == ip:
                return ifname
        return None

    def on_network(self, network):
        """(interface, ip_interface) of the first address inside ``network``, or None."""
        for ifname, address in self.addresses(network.version):
            if address.ip in network:
                return ifname, address
        return None

    def containing(self, ip, interface=None):
        """(interface, ip_interface) of the first address whose network contains ``ip`` (on ``interface``)."""
        for ifname, address in self.addresses(ip.version):
            if (interface is None or ifname == interface) and ip in address.network:
                return ifname, address
        return None

    def networks(self, interface, version):
        return _unique([address.network for ifname, address in self.addresses(version) if ifname == interface])

    def is_management(self, address):
        return any(address.ip in network for network in self.management if network.version == address.version)


class _Context(object):
    """The inventory as the model sees it: hosts' addresses, the directors and their cluster-wide settings."""

    def __init__(self, hostvars, groups, director_group=DIRECTOR_GROUP):
        self.hostvars = hostvars if hostvars is not None else {}
        self.groups = groups if isinstance(groups, dict) else {}
        self.director_group = director_group
        self.errors = []
        self._hosts = {}
        self.instances = []
        self.instance_by_name = {}
        self.instances_broken = False
        self.gateways = []
        self.gateways_broken = False
        self.instances_missing_reported = False
        self.directors = self._load_directors()
        if self.directors:
            self._load_instances(self._setting(VRRP_VARIABLE))
            self._load_gateways(self._setting(GATEWAYS_VARIABLE))
        else:
            # Nothing can be placed without directors: their error says it, later checks stay quiet.
            self.instances_broken = self.gateways_broken = True

    # -- hostvars ------------------------------------------------------------------------------------------------

    def known(self, name):
        try:
            return isinstance(name, str) and name in self.hostvars
        except Exception:  # pylint: disable=broad-except
            return False

    def var(self, host, name):
        """A host variable (None when undefined); _BAD (error recorded) when it cannot be evaluated."""
        if not self.known(host):
            return None
        try:
            host_vars = self.hostvars[host]
            return host_vars.get(name) if hasattr(host_vars, "get") else None
        except Exception as exc:  # pylint: disable=broad-except
            # Ansible raises its own errors for a template that fails (an undefined variable inside it).
            self.errors.append("hostvars['%s'].%s: cannot be evaluated: %s" % (host, name, exc))
            return _BAD

    def host(self, name):
        """The parsed addresses of host ``name``: a _Host, None when it has no lvs_interfaces, _BAD when they are
        invalid (errors recorded once, under ``hostvars['name']``)."""
        if name not in self._hosts:
            self._hosts[name] = self._parse_host(name)
        return self._hosts[name]

    def _parse_host(self, name):
        raw = self.var(name, INTERFACES_VARIABLE)
        if raw is _BAD:
            return _BAD
        if raw is None:
            return None
        errors = []
        base = "hostvars['%s'].%s" % (name, INTERFACES_VARIABLE)
        items = _list(raw, base, errors, "a list of interfaces ({name: eth1, addresses: [198.51.100.21/24]})")
        interfaces = []
        if items is not _BAD:
            names = set()
            for index, item in enumerate(items):
                path = "%s[%d]" % (base, index)
                if not isinstance(item, dict):
                    errors.append("%s: must be a dictionary with name and addresses, got %s" % (path, _describe(item)))
                    continue
                ifname = _string(item.get("name"), path + ".name", errors, "an interface name")
                if ifname is not _BAD:
                    if ifname in names:
                        errors.append("%s.name: interface %s is listed twice" % (path, ifname))
                    names.add(ifname)
                addresses = []
                raw_addresses = item.get("addresses")
                raw_addresses = [] if raw_addresses is None else raw_addresses
                raw_addresses = _list(raw_addresses, path + ".addresses", errors, "a list of address/prefix")
                if raw_addresses is not _BAD:
                    for position, text in enumerate(raw_addresses):
                        address = _ip_interface(text, "%s.addresses[%d]" % (path, position), errors)
                        if address is not _BAD:
                            addresses.append(address)
                if ifname is not _BAD:
                    interfaces.append((ifname, addresses))
        tunnel = self.var(name, TUNNEL_ADDRESS_VARIABLE)
        if tunnel is not None and tunnel is not _BAD:
            tunnel = _ip(tunnel, "hostvars['%s'].%s" % (name, TUNNEL_ADDRESS_VARIABLE), errors)
        management = []
        raw_management = self.var(name, MANAGEMENT_VARIABLE)
        if raw_management not in (None, _BAD):
            mpath = "hostvars['%s'].%s" % (name, MANAGEMENT_VARIABLE)
            items = _list(raw_management, mpath, errors, "a list of networks")
            for index, text in enumerate(items if items is not _BAD else []):
                network = _ip_network(text, "%s[%d]" % (mpath, index), errors)
                if network is not _BAD:
                    management.append(network)
        ansible_host = self.var(name, "ansible_host")
        managed_at = []
        if isinstance(ansible_host, str):
            try:
                ansible_ip = ipaddress.ip_address(ansible_host.strip())
            except ValueError:
                ansible_ip = None
            if ansible_ip is not None:
                managed_at = _unique([address.network for ifname, address in _interfaces_addresses(interfaces)
                                      if ansible_ip in address.network])
                management.extend(managed_at)
        if errors:
            self.errors.extend(errors)
            return _BAD
        return _Host(name, interfaces, None if tunnel in (None, _BAD) else tunnel, _unique(management), managed_at)

    # -- directors and their settings ----------------------------------------------------------------------------

    def _load_directors(self):
        members = self.groups.get(self.director_group)
        if not isinstance(members, (list, tuple)) or not members:
            self.errors.append(
                "groups['%s']: the inventory has no directors (hosts in group %s)"
                % (self.director_group, self.director_group)
            )
            return []
        directors = [str(name) for name in members]
        for director in directors:
            if not self.known(director):
                self.errors.append("groups['%s']: %s is not in hostvars" % (self.director_group, director))
                continue
            host = self.host(director)
            if host is None:
                self.errors.append(
                    "hostvars['%s'].%s: required on every director (its interfaces and addresses place the VIPs and "
                    "VRRP)" % (director, INTERFACES_VARIABLE)
                )
        return directors

    def usable_directors(self):
        return [d for d in self.directors if isinstance(self.host(d), _Host)]

    def _setting(self, name):
        """A cluster-wide variable, read from the directors' hostvars; it must be the same on every director."""
        first = None
        first_director = None
        for director in self.directors:
            value = self.var(director, name)
            if value is _BAD:
                return _BAD
            if first_director is None:
                first, first_director = value, director
            elif value != first:
                self.errors.append(
                    "%s: differs between %s and %s; it is cluster-wide: define it once for all directors "
                    "(group_vars/directors or group_vars/all)" % (name, first_director, director)
                )
                return _BAD
        return first

    def _load_instances(self, raw):
        if raw is _BAD:
            self.instances_broken = True
            return
        if raw is None:
            return
        items = _list(raw, VRRP_VARIABLE, self.errors, "a list of VRRP instances")
        if items is _BAD:
            self.instances_broken = True
            return
        directors = self.usable_directors()
        seen_ids = {}
        for index, entry in enumerate(items):
            errors = []
            path = "%s[%d]" % (VRRP_VARIABLE, index)
            if not _mapping(entry, path, errors, VRRP_FIELDS):
                self.errors.extend(errors)
                self.instances_broken = True
                continue
            name = _name(entry.get("name"), path + ".name", errors)
            if name is not _BAD:
                path = "%s (%s)" % (path, name)
                if name in self.instance_by_name:
                    errors.append("%s.name: %s is also %s" % (path, name, self.instance_by_name[name]["path"]))
            network = entry.get("network")
            if network is None:
                errors.append("%s.network: required (the network the VRRP advertisements use, like "
                              "198.51.100.0/24)" % path)
                network = _BAD
            else:
                network = _ip_network(network, path + ".network", errors)
            vrid = entry.get("virtual_router_id")
            if vrid is None:
                errors.append("%s.virtual_router_id: required (1-255, unique on its network)" % path)
                vrid = _BAD
            else:
                vrid = _int(vrid, path + ".virtual_router_id", errors, 1, 255)
            advert = entry.get("advert_interval")
            advert = DEFAULT_ADVERT_INTERVAL if advert is None else _number(
                advert, path + ".advert_interval", errors, 0.01, 255)
            unicast = entry.get("unicast")
            unicast = True if unicast is None else _bool(unicast, path + ".unicast", errors)
            priorities = self._priorities(entry.get("priorities"), path + ".priorities", errors)
            members = {}
            if network is not _BAD:
                if vrid is not _BAD:
                    other = seen_ids.get((network, vrid))
                    if other:
                        errors.append("%s.virtual_router_id: %d is also used by %s on %s"
                                      % (path, vrid, other, network))
                    seen_ids[(network, vrid)] = path
                for director in directors:
                    found = self.host(director).on_network(network)
                    if found is None:
                        errors.append("%s.network: director %s has no address in %s (%s)"
                                      % (path, director, network, INTERFACES_VARIABLE))
                        continue
                    members[director] = {"interface": found[0], "address": str(found[1].ip),
                                         "prefix_length": found[1].network.prefixlen}
            if errors:
                self.errors.extend(errors)
                self.instances_broken = True
                continue
            instance = {
                "name": name,
                "path": path,
                "network": str(network),
                "family": _family(network.network_address),
                "virtual_router_id": vrid,
                "advert_interval": advert,
                "unicast": unicast,
                "priorities": priorities,
                "members": members,
            }
            self.instances.append(instance)
            self.instance_by_name[name] = instance

    def _priorities(self, raw, path, errors):
        directors = self.directors
        if raw is None:
            return dict((director, max(1, 150 - 10 * index)) for index, director in enumerate(directors))
        if not isinstance(raw, dict):
            errors.append("%s: must be a dictionary of director: priority, got %s" % (path, _describe(raw)))
            return _BAD
        result = {}
        for director, value in raw.items():
            if director not in directors:
                errors.append("%s.%s: %s is not a director (group %s)" % (path, director, director,
                                                                          self.director_group))
                continue
            number = _int(value, "%s.%s" % (path, director), errors, 1, 254, "a priority")
            if number is not _BAD:
                result[str(director)] = number
        missing = [director for director in directors if director not in raw]
        if missing:
            errors.append("%s: no priority for %s (give every director one, or leave priorities out for the "
                          "defaults)" % (path, ", ".join(missing)))
        values = list(result.values())
        if len(set(values)) != len(values):
            errors.append("%s: two directors have the same priority; give each its own, so the master is "
                          "known in advance" % path)
        return result

    def _load_gateways(self, raw):
        if raw is _BAD:
            self.gateways_broken = True
            return
        if raw is None:
            return
        items = _list(raw, GATEWAYS_VARIABLE, self.errors, "a list of floating gateway addresses")
        if items is _BAD:
            self.gateways_broken = True
            return
        directors = self.usable_directors()
        for index, entry in enumerate(items):
            errors = []
            path = "%s[%d]" % (GATEWAYS_VARIABLE, index)
            if isinstance(entry, str):
                entry = {"address": entry}
                address_path = path
            else:
                address_path = path + ".address"
            if not _mapping(entry, path, errors, GATEWAY_FIELDS, "an address/prefix or a dictionary"):
                self.errors.extend(errors)
                self.gateways_broken = True
                continue
            if entry.get("address") is None:
                errors.append("%s: required (the floating inside address with its prefix, like 198.18.1.1/24)"
                              % address_path)
                address = _BAD
            else:
                address = _ip_interface(entry["address"], address_path, errors)
            members = {}
            if address is not _BAD:
                problem = _unicast_problem(address.ip)
                if problem:
                    errors.append("%s: %s cannot be a gateway: %s" % (address_path, address.ip, problem))
                for other in self.gateways:
                    if other["network"] == str(address.network):
                        errors.append("%s: %s has a gateway already (%s)" % (address_path, address.network,
                                                                             other["path"]))
                for director in directors:
                    host = self.host(director)
                    if host.owner(address.ip):
                        errors.append("%s: %s is director %s's own address; the gateway floats between the "
                                      "directors" % (address_path, address.ip, director))
                    found = host.on_network(address.network)
                    if found is None:
                        errors.append("%s: director %s has no address in %s (%s)"
                                      % (address_path, director, address.network, INTERFACES_VARIABLE))
                    else:
                        members[director] = found[0]
            instance = self._instance_option(entry.get("vrrp_instance"), path + ".vrrp_instance", errors)
            if not errors and instance is None:
                instance = self.instance_on(members, path, errors, "the gateway %s" % address)
            if errors or instance is _BAD:
                self.errors.extend(errors)
                self.gateways_broken = True
                continue
            self.gateways.append({
                "path": path,
                "address": str(address.ip),
                "prefix_length": address.network.prefixlen,
                "network": str(address.network),
                "family": _family(address.ip),
                "vrrp_instance": instance,
                "members": members,
                "_network": address.network,
            })

    def _instance_option(self, value, path, errors):
        """A ``vrrp_instance`` option: the instance's name, None when not given, _BAD when wrong."""
        if value is None:
            return None
        name = _string(value, path, errors, "the name of an lvs_vrrp_instances entry")
        if name is _BAD:
            return _BAD
        if name not in self.instance_by_name:
            if not self.instances_broken:
                errors.append("%s: %s is not in %s (%s)" % (
                    path, name, VRRP_VARIABLE, ", ".join(sorted(self.instance_by_name)) or "none defined"))
            return _BAD
        return name

    def instance_on(self, interfaces, path, errors, what):
        """The VRRP instance that runs on ``interfaces`` ({director: interface}); errors when none or several."""
        candidates = [
            instance["name"] for instance in self.instances
            if all(instance["members"].get(director, {}).get("interface") == ifname
                   for director, ifname in interfaces.items())
        ]
        if len(candidates) == 1:
            return candidates[0]
        if self.instances_broken:
            return _BAD
        where = ", ".join("%s %s" % (director, ifname) for director, ifname in interfaces.items())
        if not candidates:
            if not self.instances:
                if not self.instances_missing_reported:
                    self.instances_missing_reported = True
                    errors.append("%s: not defined; the directors hold every VIP and NAT gateway in a VRRP instance, "
                                  "so define at least one (see docs/data-model.md)" % VRRP_VARIABLE)
            else:
                errors.append("%s: no VRRP instance runs on the interface that holds %s (%s); add one to %s or "
                              "set vrrp_instance" % (path, what, where, VRRP_VARIABLE))
        else:
            errors.append("%s: several VRRP instances run on the interface that holds %s (%s: %s); set "
                          "vrrp_instance" % (path, what, where, ", ".join(candidates)))
        return _BAD

    def gateways_for(self, version):
        return [gateway for gateway in self.gateways if gateway["_network"].version == version]


def _interfaces_addresses(interfaces):
    return [(ifname, address) for ifname, addresses in interfaces for address in addresses]
