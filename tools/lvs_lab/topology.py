"""Lab topology files: load, validate and normalize. Pure: no host changes, no subprocesses.

Every problem is reported with the path of the offending item (``hosts[2] (rs1).nics[1].addresses[0]``) before
the lab creates anything.
"""
import ipaddress
import re
from dataclasses import dataclass, field

import yaml

from lvs_lab.errors import TopologyError

# Documentation and benchmark ranges only: nothing in them is routed anywhere real.
ALLOWED_RANGES = tuple(
    ipaddress.ip_network(p) for p in ("198.51.100.0/24", "203.0.113.0/24", "198.18.0.0/15", "2001:db8::/32")
)
SUITES = ("bookworm", "trixie")
LAB_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,19}\Z")
HOST_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,19}\Z")
NETWORK_NAME_RE = re.compile(r"^[a-z][a-z0-9]{0,11}\Z")  # the bridge is br-<name>: 15 characters at most
GROUP_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,39}\Z")
DISK_SIZE_RE = re.compile(r"^([1-9][0-9]*)([MG])\Z")
MIN_MEMORY, MAX_MEMORY = 128, 4096  # MiB
MAX_NICS = 8
MAX_DISKS = 14  # ubd0 is the root disk and ubd15 the lab's config device


@dataclass(frozen=True)
class Network:
    name: str
    ipv4: ipaddress.IPv4Network | None
    ipv6: ipaddress.IPv6Network | None
    namespace_addresses: tuple  # the lab namespace's own addresses on this network (client, router)

    def prefix_for(self, address):
        return self.ipv4 if address.version == 4 else self.ipv6


@dataclass(frozen=True)
class Nic:
    network: str
    addresses: tuple


@dataclass(frozen=True)
class Route:
    to: ipaddress.IPv4Network | ipaddress.IPv6Network
    via: ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class SharedDisk:
    name: str
    size_mib: int


@dataclass(frozen=True)
class Host:
    name: str
    groups: tuple
    memory: int
    nics: tuple
    routes: tuple
    disks: tuple


@dataclass(frozen=True)
class Topology:
    suite: str
    management_network: str
    networks: tuple
    shared_disks: tuple
    hosts: tuple
    source: str = field(default="<memory>", compare=False)

    def network(self, name):
        return next(n for n in self.networks if n.name == name)

    def host(self, name):
        for host in self.hosts:
            if host.name == name:
                return host
        raise TopologyError(f"no host {name!r} in this lab (hosts: {', '.join(h.name for h in self.hosts)})")

    def management_address(self, host):
        nic = next(n for n in host.nics if n.network == self.management_network)
        return next(a for a in nic.addresses if a.version == 4)

    def groups(self):
        names = []
        for host in self.hosts:
            names.extend(g for g in host.groups if g not in names)
        return names


def validate_lab_name(name):
    if not isinstance(name, str) or not LAB_NAME_RE.match(name):
        raise TopologyError(
            f"lab name {name!r} is invalid: use 1-20 lowercase letters, digits and '-', starting with a letter or digit"
        )
    return name


def load(path):
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except OSError as exc:
        raise TopologyError(f"cannot read topology {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise TopologyError(f"topology {path} is not valid YAML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise TopologyError(f"topology {path} is not UTF-8 text: {exc}") from exc
    return parse(data, source=str(path))


def parse(data, source="<memory>"):
    """Validate a topology document (already decoded from YAML) and return a :class:`Topology`."""
    where = f"topology {source}"
    _expect_mapping(data, where)
    _no_unknown_keys(data, {"suite", "management_network", "networks", "shared_disks", "hosts"}, where)

    suite = data.get("suite", "bookworm")
    if suite not in SUITES:
        raise TopologyError(f"{where}: suite {suite!r} is not one of {', '.join(SUITES)}")

    networks = _parse_networks(data.get("networks"), where)
    by_network = {n.name: n for n in networks}
    management = data.get("management_network")
    if not isinstance(management, str) or management not in by_network:
        raise TopologyError(
            f"{where}: management_network {management!r} must name one of the networks ({', '.join(by_network)})"
        )
    if by_network[management].ipv4 is None:
        raise TopologyError(f"{where}: management network {management!r} needs an ipv4 prefix")

    shared_disks = _parse_shared_disks(data.get("shared_disks", []), where)
    hosts = _parse_hosts(data.get("hosts"), by_network, {d.name for d in shared_disks}, management, where)
    _check_unique_addresses(networks, hosts, where)
    return Topology(suite, management, networks, shared_disks, hosts, source)


def check_host_routes(topology, host_routes):
    """Refuse lab prefixes that overlap a (non-default) route of the host namespace.

    ``host_routes`` is an iterable of ``ip_network`` objects read from the host. A lab prefix that the host
    can route would let lab traffic reach the real network, or hide a real network behind the lab.
    """
    for network in topology.networks:
        for prefix in (network.ipv4, network.ipv6):
            if prefix is None:
                continue
            for route in host_routes:
                if route.prefixlen == 0 or route.version != prefix.version:
                    continue
                if route.overlaps(prefix):
                    raise TopologyError(
                        f"network {network.name}: prefix {prefix} overlaps the host route {route}; "
                        "choose another prefix from the documentation ranges"
                    )


def _parse_networks(items, where):
    _expect_list(items, f"{where}: networks", non_empty=True)
    networks = []
    for index, item in enumerate(items):
        at = f"networks[{index}]"
        _expect_mapping(item, at)
        _no_unknown_keys(item, {"name", "ipv4", "ipv6", "namespace_addresses"}, at)
        name = item.get("name")
        if not isinstance(name, str) or not NETWORK_NAME_RE.match(name):
            raise TopologyError(f"{at}: name {name!r} is invalid: 1-12 lowercase letters and digits, starting with a letter")
        at = f"networks[{index}] ({name})"
        if any(n.name == name for n in networks):
            raise TopologyError(f"{at}: duplicate network name {name!r}")
        ipv4 = _prefix(item.get("ipv4"), 4, f"{at}.ipv4") if item.get("ipv4") is not None else None
        ipv6 = _prefix(item.get("ipv6"), 6, f"{at}.ipv6") if item.get("ipv6") is not None else None
        if ipv4 is None and ipv6 is None:
            raise TopologyError(f"{at}: give an ipv4 or ipv6 prefix (or both)")
        for other in networks:
            for mine, theirs in ((ipv4, other.ipv4), (ipv6, other.ipv6)):
                if mine is not None and theirs is not None and mine.overlaps(theirs):
                    raise TopologyError(f"{at}: prefix {mine} overlaps network {other.name} ({theirs})")
        network = Network(name, ipv4, ipv6, ())
        addresses = _addresses(item.get("namespace_addresses", []), network, f"{at}.namespace_addresses")
        networks.append(Network(name, ipv4, ipv6, addresses))
    return tuple(networks)


def _parse_shared_disks(items, where):
    _expect_list(items, f"{where}: shared_disks")
    disks = []
    for index, item in enumerate(items):
        at = f"shared_disks[{index}]"
        _expect_mapping(item, at)
        _no_unknown_keys(item, {"name", "size"}, at)
        name = item.get("name")
        if not isinstance(name, str) or not NETWORK_NAME_RE.match(name):
            raise TopologyError(f"{at}: name {name!r} is invalid: 1-12 lowercase letters and digits")
        if any(d.name == name for d in disks):
            raise TopologyError(f"{at}: duplicate shared disk name {name!r}")
        match = DISK_SIZE_RE.match(str(item.get("size", "")))
        if not match:
            raise TopologyError(f"{at} ({name}): size {item.get('size')!r} must look like 512M or 2G")
        size_mib = int(match.group(1)) * (1024 if match.group(2) == "G" else 1)
        if size_mib > 64 * 1024:
            raise TopologyError(f"{at} ({name}): size {item['size']} is above the 64G limit")
        disks.append(SharedDisk(name, size_mib))
    return tuple(disks)


def _parse_hosts(items, by_network, disk_names, management, where):
    _expect_list(items, f"{where}: hosts", non_empty=True)
    hosts = []
    for index, item in enumerate(items):
        at = f"hosts[{index}]"
        _expect_mapping(item, at)
        _no_unknown_keys(item, {"name", "groups", "memory", "nics", "routes", "disks"}, at)
        name = item.get("name")
        if not isinstance(name, str) or not HOST_NAME_RE.match(name):
            raise TopologyError(f"{at}: name {name!r} is invalid: 1-20 lowercase letters, digits and '-', starting with a letter")
        at = f"hosts[{index}] ({name})"
        if any(h.name == name for h in hosts):
            raise TopologyError(f"{at}: duplicate host name {name!r}")

        groups = item.get("groups", [])
        _expect_list(groups, f"{at}.groups")
        for group in groups:
            if not isinstance(group, str) or not GROUP_NAME_RE.match(group) or group in ("all", "ungrouped"):
                raise TopologyError(f"{at}.groups: {group!r} is not a usable Ansible group name")

        memory = item.get("memory", 256)
        if isinstance(memory, bool) or not isinstance(memory, int) or not MIN_MEMORY <= memory <= MAX_MEMORY:
            raise TopologyError(f"{at}.memory: {memory!r} must be a whole number of MiB from {MIN_MEMORY} to {MAX_MEMORY}")

        nics = _parse_nics(item.get("nics"), by_network, at)
        if management not in [n.network for n in nics]:
            raise TopologyError(f"{at}: needs a NIC on the management network {management!r}")
        routes = _parse_routes(item.get("routes", []), nics, by_network, at)

        disks = item.get("disks", [])
        _expect_list(disks, f"{at}.disks")
        if len(disks) > MAX_DISKS:
            raise TopologyError(f"{at}.disks: at most {MAX_DISKS} disks per host")
        for disk in disks:
            if not isinstance(disk, str) or disk not in disk_names:
                raise TopologyError(f"{at}.disks: {disk!r} is not one of the shared_disks ({', '.join(sorted(disk_names)) or 'none'})")
        if len(set(disks)) != len(disks):
            raise TopologyError(f"{at}.disks: a disk is listed twice")
        hosts.append(Host(name, tuple(groups), memory, nics, routes, tuple(disks)))
    return tuple(hosts)


def _parse_nics(items, by_network, at):
    _expect_list(items, f"{at}.nics", non_empty=True)
    if len(items) > MAX_NICS:
        raise TopologyError(f"{at}.nics: at most {MAX_NICS} NICs per host")
    nics = []
    for index, item in enumerate(items):
        nic_at = f"{at}.nics[{index}]"
        _expect_mapping(item, nic_at)
        _no_unknown_keys(item, {"network", "addresses"}, nic_at)
        network = by_network.get(item.get("network")) if isinstance(item.get("network"), str) else None
        if network is None:
            raise TopologyError(f"{nic_at}.network: {item.get('network')!r} is not one of the networks ({', '.join(by_network)})")
        if any(n.network == network.name for n in nics):
            raise TopologyError(f"{nic_at}: a second NIC on network {network.name}")
        addresses = _addresses(item.get("addresses"), network, f"{nic_at}.addresses", non_empty=True)
        nics.append(Nic(network.name, addresses))
    return tuple(nics)


def _parse_routes(items, nics, by_network, at):
    _expect_list(items, f"{at}.routes")
    routes = []
    for index, item in enumerate(items):
        route_at = f"{at}.routes[{index}]"
        _expect_mapping(item, route_at)
        _no_unknown_keys(item, {"to", "via"}, route_at)
        via = _address(item.get("via"), f"{route_at}.via")
        to_text = item.get("to")
        if to_text == "default":
            to = ipaddress.ip_network("0.0.0.0/0" if via.version == 4 else "::/0")
        else:
            try:
                to = ipaddress.ip_network(str(to_text), strict=True)
            except ValueError as exc:
                raise TopologyError(f"{route_at}.to: {to_text!r} is not 'default' or a network prefix ({exc})") from exc
        if to.version != via.version:
            raise TopologyError(f"{route_at}: to {to} and via {via} are of different address families")
        on_link = [
            n.network for n in nics
            if (prefix := by_network[n.network].prefix_for(via)) is not None and via in prefix
        ]
        if not on_link:
            raise TopologyError(f"{route_at}.via: {via} is not on any network this host has a NIC on")
        if any(r.to == to for r in routes):
            raise TopologyError(f"{route_at}.to: a second route to {to}")
        routes.append(Route(to, via))
    return tuple(routes)


def _check_unique_addresses(networks, hosts, where):
    owners = {}
    for network in networks:
        for address in network.namespace_addresses:
            owners[address] = f"the namespace on {network.name}"
    for host in hosts:
        for nic in host.nics:
            for address in nic.addresses:
                if address in owners:
                    raise TopologyError(f"{where}: host {host.name} ({nic.network}): address {address} is already used by {owners[address]}")
                owners[address] = f"host {host.name}"


def _addresses(items, network, at, non_empty=False):
    if items is None:
        items = []
    _expect_list(items, at, non_empty=non_empty)
    addresses = []
    for index, text in enumerate(items):
        address = _address(text, f"{at}[{index}]")
        prefix = network.prefix_for(address)
        if prefix is None:
            raise TopologyError(f"{at}[{index}]: {address} is IPv{address.version} but network {network.name} has no IPv{address.version} prefix")
        if address not in prefix:
            raise TopologyError(f"{at}[{index}]: {address} is not in network {network.name} ({prefix})")
        if address.version == 4 and prefix.prefixlen < 31 and address in (prefix.network_address, prefix.broadcast_address):
            raise TopologyError(f"{at}[{index}]: {address} is the network or broadcast address of {prefix}")
        if address in addresses:
            raise TopologyError(f"{at}[{index}]: {address} is listed twice")
        addresses.append(address)
    return tuple(addresses)


def _address(text, at):
    try:
        address = ipaddress.ip_address(str(text))
    except ValueError as exc:
        raise TopologyError(f"{at}: {text!r} is not an IP address") from exc
    if not any(address in allowed for allowed in ALLOWED_RANGES if allowed.version == address.version):
        raise TopologyError(f"{at}: {address} is outside the lab's allowed ranges ({_allowed_text()})")
    return address


def _prefix(text, version, at):
    try:
        prefix = ipaddress.ip_network(str(text), strict=True)
    except ValueError as exc:
        raise TopologyError(f"{at}: {text!r} is not a network prefix ({exc})") from exc
    if prefix.version != version:
        raise TopologyError(f"{at}: {prefix} is not an IPv{version} prefix")
    if not any(prefix.subnet_of(allowed) for allowed in ALLOWED_RANGES if allowed.version == version):
        raise TopologyError(f"{at}: {prefix} is outside the lab's allowed ranges ({_allowed_text()})")
    return prefix


def _allowed_text():
    return ", ".join(str(p) for p in ALLOWED_RANGES)


def _expect_mapping(value, at):
    if not isinstance(value, dict):
        raise TopologyError(f"{at}: expected a mapping, got {type(value).__name__}")


def _expect_list(value, at, non_empty=False):
    if not isinstance(value, list):
        raise TopologyError(f"{at}: expected a list, got {type(value).__name__}")
    if non_empty and not value:
        raise TopologyError(f"{at}: must not be empty")


def _no_unknown_keys(mapping, allowed, at):
    unknown = sorted(map(str, set(mapping) - allowed))
    if unknown:
        raise TopologyError(f"{at}: unknown key(s) {', '.join(map(str, unknown))} (allowed: {', '.join(sorted(allowed))})")
