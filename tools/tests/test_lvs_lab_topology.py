"""Topology files: validation (every error names the offending item), host-route overlap, the default lab."""
import copy
import ipaddress

import pytest

from lvs_lab import topology
from lvs_lab.errors import LabError, TopologyError

SOURCE = "t.yml"


def host(doc, index):
    return doc["hosts"][index]


def nic(doc, host_index, nic_index):
    return doc["hosts"][host_index]["nics"][nic_index]


def with_disks(doc, *names, size="1G"):
    doc["shared_disks"] = [{"name": name, "size": size} for name in names]
    return doc


def parse_error(doc):
    with pytest.raises(TopologyError) as caught:
        topology.parse(doc, source=SOURCE)
    return str(caught.value)


# Each case: (id, mutation of the two-guest document, fragments the message must contain).
# hosts[1] is guest2 (nics[0] on mgmt 198.18.0.0/24, nics[1] on data 203.0.113.0/24); networks[1] is data.
ERROR_CASES = [
    # --- the document
    ("unknown-top-key", lambda d: d.update(colour="blue"), [f"topology {SOURCE}", "unknown key(s) colour"]),
    ("suite", lambda d: d.update(suite="sid"), [f"topology {SOURCE}", "suite 'sid'"]),
    ("networks-missing", lambda d: d.pop("networks"), [f"topology {SOURCE}: networks: expected a list"]),
    ("networks-empty", lambda d: d.update(networks=[]), [f"topology {SOURCE}: networks: must not be empty"]),
    ("management-unknown", lambda d: d.update(management_network="admin"), ["management_network 'admin'", "mgmt, data"]),
    ("management-missing", lambda d: d.pop("management_network"), ["management_network None"]),
    ("management-ipv6-only", lambda d: d["networks"].__setitem__(0, {"name": "mgmt", "ipv6": "2001:db8:5::/64"}),
     ["management network 'mgmt' needs an ipv4 prefix"]),
    ("hosts-missing", lambda d: d.pop("hosts"), [f"topology {SOURCE}: hosts: expected a list"]),
    ("hosts-empty", lambda d: d.update(hosts=[]), [f"topology {SOURCE}: hosts: must not be empty"]),
    # --- networks
    ("network-not-mapping", lambda d: d["networks"].__setitem__(1, "data"), ["networks[1]: expected a mapping, got str"]),
    ("network-unknown-key", lambda d: d["networks"][1].update(mtu=1500), ["networks[1]: unknown key(s) mtu"]),
    ("network-name-upper", lambda d: d["networks"][1].update(name="Data"), ["networks[1]: name 'Data' is invalid"]),
    ("network-name-dash", lambda d: d["networks"][1].update(name="da-ta"), ["networks[1]: name 'da-ta' is invalid"]),
    ("network-name-long", lambda d: d["networks"][1].update(name="abcdefghijklm"),
     ["networks[1]: name 'abcdefghijklm' is invalid"]),
    ("network-name-digit", lambda d: d["networks"][1].update(name="1data"), ["networks[1]: name '1data' is invalid"]),
    ("network-name-missing", lambda d: d["networks"][1].pop("name"), ["networks[1]: name None is invalid"]),
    ("network-duplicate", lambda d: d["networks"][1].update(name="mgmt"), ["networks[1] (mgmt): duplicate network name"]),
    ("ipv4-host-bits", lambda d: d["networks"][1].update(ipv4="203.0.113.1/24"),
     ["networks[1] (data).ipv4: '203.0.113.1/24' is not a network prefix"]),
    ("ipv4-garbage", lambda d: d["networks"][1].update(ipv4="banana"), ["networks[1] (data).ipv4: 'banana'"]),
    ("ipv4-is-ipv6", lambda d: d["networks"][1].update(ipv4="2001:db8:5::/64"),
     ["networks[1] (data).ipv4: 2001:db8:5::/64 is not an IPv4 prefix"]),
    ("ipv6-is-ipv4", lambda d: d["networks"][1].update(ipv6="198.51.100.0/24"),
     ["networks[1] (data).ipv6: 198.51.100.0/24 is not an IPv6 prefix"]),
    ("ipv4-192.0.2.0/24", lambda d: d["networks"][1].update(ipv4="192.0.2.0/24"),
     ["networks[1] (data).ipv4: 192.0.2.0/24 is outside the lab's allowed ranges"]),
    ("ipv4-10/24", lambda d: d["networks"][1].update(ipv4="10.0.0.0/24"),
     ["networks[1] (data).ipv4: 10.0.0.0/24 is outside"]),
    ("ipv4-wider-than-allowed", lambda d: d["networks"][0].update(ipv4="198.16.0.0/14"),
     ["networks[0] (mgmt).ipv4: 198.16.0.0/14 is outside"]),
    ("ipv6-2001:db9::/64", lambda d: d["networks"][1].update(ipv6="2001:db9::/64"),
     ["networks[1] (data).ipv6: 2001:db9::/64 is outside"]),
    ("ipv6-ula", lambda d: d["networks"][1].update(ipv6="fd00::/64"), ["networks[1] (data).ipv6: fd00::/64 is outside"]),
    ("no-prefix", lambda d: d["networks"][1].pop("ipv4"), ["networks[1] (data): give an ipv4 or ipv6 prefix"]),
    ("overlap-ipv4", lambda d: d["networks"][1].update(ipv4="198.18.0.128/25"),
     ["networks[1] (data): prefix 198.18.0.128/25 overlaps network mgmt (198.18.0.0/24)"]),
    ("overlap-ipv6", lambda d: (d["networks"][0].update(ipv6="2001:db8:1::/48"),
                                d["networks"][1].update(ipv6="2001:db8:1:5::/64")),
     ["networks[1] (data): prefix 2001:db8:1:5::/64 overlaps network mgmt (2001:db8:1::/48)"]),
    ("ns-address-not-list", lambda d: d["networks"][0].update(namespace_addresses="198.18.0.1"),
     ["networks[0] (mgmt).namespace_addresses: expected a list, got str"]),
    ("ns-address-other-network", lambda d: d["networks"][0].update(namespace_addresses=["203.0.113.1"]),
     ["networks[0] (mgmt).namespace_addresses[0]: 203.0.113.1 is not in network mgmt (198.18.0.0/24)"]),
    ("ns-address-outside", lambda d: d["networks"][0].update(namespace_addresses=["10.0.0.1"]),
     ["networks[0] (mgmt).namespace_addresses[0]: 10.0.0.1 is outside"]),
    ("ns-address-family", lambda d: d["networks"][0].update(namespace_addresses=["2001:db8::1"]),
     ["networks[0] (mgmt).namespace_addresses[0]: 2001:db8::1 is IPv6 but network mgmt has no IPv6 prefix"]),
    ("ns-address-network", lambda d: d["networks"][0].update(namespace_addresses=["198.18.0.0"]),
     ["networks[0] (mgmt).namespace_addresses[0]: 198.18.0.0 is the network or broadcast address"]),
    ("ns-address-broadcast", lambda d: d["networks"][0].update(namespace_addresses=["198.18.0.255"]),
     ["networks[0] (mgmt).namespace_addresses[0]: 198.18.0.255 is the network or broadcast address"]),
    ("ns-address-twice", lambda d: d["networks"][0].update(namespace_addresses=["198.18.0.1", "198.18.0.1"]),
     ["networks[0] (mgmt).namespace_addresses[1]: 198.18.0.1 is listed twice"]),
    ("ns-address-garbage", lambda d: d["networks"][0].update(namespace_addresses=["router"]),
     ["networks[0] (mgmt).namespace_addresses[0]: 'router' is not an IP address"]),
    # --- shared disks
    ("disks-not-list", lambda d: d.update(shared_disks="cluster"), [f"topology {SOURCE}: shared_disks: expected a list"]),
    ("disk-not-mapping", lambda d: d.update(shared_disks=["cluster"]), ["shared_disks[0]: expected a mapping, got str"]),
    ("disk-unknown-key", lambda d: d.update(shared_disks=[{"name": "cluster", "size": "1G", "shared": True}]),
     ["shared_disks[0]: unknown key(s) shared"]),
    ("disk-name", lambda d: d.update(shared_disks=[{"name": "Cluster", "size": "1G"}]),
     ["shared_disks[0]: name 'Cluster' is invalid"]),
    ("disk-duplicate", lambda d: with_disks(d, "cluster", "cluster"), ["shared_disks[1]: duplicate shared disk name 'cluster'"]),
    *[(f"disk-size-{size}", lambda d, size=size: with_disks(d, "cluster", size=size),
       ["shared_disks[0] (cluster): size", "must look like 512M or 2G"])
      for size in ("1T", "0G", "512", "1.5G", "-1G", "", 1024)],
    ("disk-size-missing", lambda d: d.update(shared_disks=[{"name": "cluster"}]),
     ["shared_disks[0] (cluster): size None must look like"]),
    ("disk-size-65G", lambda d: with_disks(d, "cluster", size="65G"),
     ["shared_disks[0] (cluster): size 65G is above the 64G limit"]),
    ("disk-size-65537M", lambda d: with_disks(d, "cluster", size="65537M"),
     ["shared_disks[0] (cluster): size 65537M is above the 64G limit"]),
    # --- hosts
    ("host-not-mapping", lambda d: d["hosts"].__setitem__(1, "guest2"), ["hosts[1]: expected a mapping, got str"]),
    ("host-unknown-key", lambda d: host(d, 1).update(cpus=2), ["hosts[1]: unknown key(s) cpus"]),
    *[(f"host-name-{name}", lambda d, name=name: host(d, 1).update(name=name), [f"hosts[1]: name {name!r} is invalid"])
      for name in ("Guest2", "2guest", "guest_2", "guest.2", "g" * 21, "", None)],
    ("host-duplicate", lambda d: host(d, 1).update(name="guest1"), ["hosts[1] (guest1): duplicate host name 'guest1'"]),
    ("groups-not-list", lambda d: host(d, 1).update(groups="beta"), ["hosts[1] (guest2).groups: expected a list, got str"]),
    *[(f"group-{group}", lambda d, group=group: host(d, 1).update(groups=["beta", group]),
       [f"hosts[1] (guest2).groups: {group!r} is not a usable Ansible group name"])
      for group in ("all", "ungrouped", "Beta", "be-ta", "1beta", "b" * 41, 7, None)],
    *[(f"memory-{memory!r}", lambda d, memory=memory: host(d, 1).update(memory=memory),
       [f"hosts[1] (guest2).memory: {memory!r} must be a whole number of MiB from 128 to 4096"])
      for memory in (64, 127, 4097, "256M", "256", True, 256.0, None)],
    # --- NICs
    ("nics-missing", lambda d: host(d, 1).pop("nics"), ["hosts[1] (guest2).nics: expected a list, got NoneType"]),
    ("nics-empty", lambda d: host(d, 1).update(nics=[]), ["hosts[1] (guest2).nics: must not be empty"]),
    ("nics-nine", lambda d: host(d, 1).update(nics=[nic(d, 1, 0)] * 9), ["hosts[1] (guest2).nics: at most 8 NICs per host"]),
    ("nic-not-mapping", lambda d: host(d, 1)["nics"].__setitem__(1, "data"), ["hosts[1] (guest2).nics[1]: expected a mapping"]),
    ("nic-unknown-key", lambda d: nic(d, 1, 1).update(mac="02:00:00:00:00:01"), ["hosts[1] (guest2).nics[1]: unknown key(s) mac"]),
    ("nic-unknown-network", lambda d: nic(d, 1, 1).update(network="nowhere"),
     ["hosts[1] (guest2).nics[1].network: 'nowhere' is not one of the networks (mgmt, data)"]),
    ("nic-network-missing", lambda d: nic(d, 1, 1).pop("network"), ["hosts[1] (guest2).nics[1].network: None"]),
    ("nic-second-on-network", lambda d: nic(d, 1, 1).update(network="mgmt", addresses=["198.18.0.13"]),
     ["hosts[1] (guest2).nics[1]: a second NIC on network mgmt"]),
    ("nic-addresses-missing", lambda d: nic(d, 1, 1).pop("addresses"), ["hosts[1] (guest2).nics[1].addresses: must not be empty"]),
    ("nic-addresses-empty", lambda d: nic(d, 1, 1).update(addresses=[]), ["hosts[1] (guest2).nics[1].addresses: must not be empty"]),
    ("nic-addresses-not-list", lambda d: nic(d, 1, 1).update(addresses="203.0.113.12"),
     ["hosts[1] (guest2).nics[1].addresses: expected a list, got str"]),
    *[(f"address-outside-{address}", lambda d, address=address: nic(d, 1, 1).update(addresses=[address]),
       [f"hosts[1] (guest2).nics[1].addresses[0]: {address} is outside the lab's allowed ranges"])
      for address in ("192.0.2.5", "10.0.0.1", "2001:db9::1", "127.0.0.1", "fe80::1", "8.8.8.8")],
    ("address-outside-mgmt", lambda d: nic(d, 1, 0).update(addresses=["10.0.0.1"]),
     ["hosts[1] (guest2).nics[0].addresses[0]: 10.0.0.1 is outside"]),
    ("address-second-outside", lambda d: nic(d, 1, 1).update(addresses=["203.0.113.12", "192.0.2.5"]),
     ["hosts[1] (guest2).nics[1].addresses[1]: 192.0.2.5 is outside"]),
    ("address-not-in-network", lambda d: nic(d, 1, 1).update(addresses=["198.51.100.5"]),
     ["hosts[1] (guest2).nics[1].addresses[0]: 198.51.100.5 is not in network data (203.0.113.0/24)"]),
    ("address-network-address", lambda d: nic(d, 1, 1).update(addresses=["203.0.113.0"]),
     ["hosts[1] (guest2).nics[1].addresses[0]: 203.0.113.0 is the network or broadcast address of 203.0.113.0/24"]),
    ("address-broadcast", lambda d: nic(d, 1, 1).update(addresses=["203.0.113.255"]),
     ["hosts[1] (guest2).nics[1].addresses[0]: 203.0.113.255 is the network or broadcast address"]),
    ("address-ipv6-on-ipv4-network", lambda d: nic(d, 1, 1).update(addresses=["2001:db8::5"]),
     ["hosts[1] (guest2).nics[1].addresses[0]: 2001:db8::5 is IPv6 but network data has no IPv6 prefix"]),
    ("address-twice", lambda d: nic(d, 1, 1).update(addresses=["203.0.113.12", "203.0.113.12"]),
     ["hosts[1] (guest2).nics[1].addresses[1]: 203.0.113.12 is listed twice"]),
    ("address-garbage", lambda d: nic(d, 1, 1).update(addresses=["guest2.example"]),
     ["hosts[1] (guest2).nics[1].addresses[0]: 'guest2.example' is not an IP address"]),
    ("address-with-prefix", lambda d: nic(d, 1, 1).update(addresses=["203.0.113.12/24"]),
     ["hosts[1] (guest2).nics[1].addresses[0]: '203.0.113.12/24' is not an IP address"]),
    ("management-nic-missing", lambda d: host(d, 1).update(nics=[nic(d, 1, 1)]),
     ["hosts[1] (guest2): needs a NIC on the management network 'mgmt'"]),
    # --- routes
    ("routes-not-list", lambda d: host(d, 1).update(routes={"to": "default", "via": "203.0.113.1"}),
     ["hosts[1] (guest2).routes: expected a list, got dict"]),
    ("route-not-mapping", lambda d: host(d, 1).update(routes=["default"]), ["hosts[1] (guest2).routes[0]: expected a mapping"]),
    ("route-unknown-key", lambda d: host(d, 1).update(routes=[{"to": "default", "via": "203.0.113.1", "metric": 5}]),
     ["hosts[1] (guest2).routes[0]: unknown key(s) metric"]),
    ("route-via-missing", lambda d: host(d, 1).update(routes=[{"to": "default"}]),
     ["hosts[1] (guest2).routes[0].via: None is not an IP address"]),
    ("route-via-outside", lambda d: host(d, 1).update(routes=[{"to": "default", "via": "192.0.2.1"}]),
     ["hosts[1] (guest2).routes[0].via: 192.0.2.1 is outside"]),
    ("route-to-host-bits", lambda d: host(d, 1).update(routes=[{"to": "198.51.100.1/24", "via": "203.0.113.1"}]),
     ["hosts[1] (guest2).routes[0].to: '198.51.100.1/24' is not 'default' or a network prefix"]),
    ("route-to-garbage", lambda d: host(d, 1).update(routes=[{"to": "anywhere", "via": "203.0.113.1"}]),
     ["hosts[1] (guest2).routes[0].to: 'anywhere'"]),
    ("route-families", lambda d: host(d, 1).update(routes=[{"to": "2001:db8:5::/64", "via": "203.0.113.1"}]),
     ["hosts[1] (guest2).routes[0]: to 2001:db8:5::/64 and via 203.0.113.1 are of different address families"]),
    ("route-via-not-on-link", lambda d: host(d, 1).update(routes=[{"to": "default", "via": "198.51.100.1"}]),
     ["hosts[1] (guest2).routes[0].via: 198.51.100.1 is not on any network this host has a NIC on"]),
    ("route-via-ipv6-not-on-link", lambda d: host(d, 1).update(routes=[{"to": "default", "via": "2001:db8::1"}]),
     ["hosts[1] (guest2).routes[0].via: 2001:db8::1 is not on any network"]),
    ("route-twice", lambda d: host(d, 1).update(routes=[{"to": "default", "via": "203.0.113.1"},
                                                        {"to": "default", "via": "198.18.0.1"}]),
     ["hosts[1] (guest2).routes[1].to: a second route to 0.0.0.0/0"]),
    # --- disks of a host
    ("host-disks-not-list", lambda d: with_disks(d, "cluster") and host(d, 1).update(disks="cluster"),
     ["hosts[1] (guest2).disks: expected a list, got str"]),
    ("host-disk-unknown", lambda d: with_disks(d, "cluster") and host(d, 1).update(disks=["nope"]),
     ["hosts[1] (guest2).disks: 'nope' is not one of the shared_disks (cluster)"]),
    ("host-disk-no-shared-disks", lambda d: host(d, 1).update(disks=["cluster"]),
     ["hosts[1] (guest2).disks: 'cluster' is not one of the shared_disks (none)"]),
    ("host-disk-twice", lambda d: with_disks(d, "cluster") and host(d, 1).update(disks=["cluster", "cluster"]),
     ["hosts[1] (guest2).disks: a disk is listed twice"]),
    ("host-disks-fifteen", lambda d: with_disks(d, *[f"d{i}" for i in range(15)], size="1M")
     and host(d, 1).update(disks=[f"d{i}" for i in range(15)]),
     ["hosts[1] (guest2).disks: at most 14 disks per host"]),
    # --- addresses used twice
    ("duplicate-address-two-hosts", lambda d: nic(d, 1, 0).update(addresses=["198.18.0.11"]),
     ["host guest2 (mgmt): address 198.18.0.11 is already used by host guest1"]),
    ("duplicate-address-data", lambda d: nic(d, 1, 1).update(addresses=["203.0.113.11"]),
     ["host guest2 (data): address 203.0.113.11 is already used by host guest1"]),
    ("duplicate-address-namespace", lambda d: nic(d, 1, 0).update(addresses=["198.18.0.1"]),
     ["host guest2 (mgmt): address 198.18.0.1 is already used by the namespace on mgmt"]),
]


@pytest.mark.parametrize("mutate, fragments", [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES])
def test_parse_error_names_the_offending_item(small_doc, mutate, fragments):
    mutate(small_doc)
    message = parse_error(small_doc)
    for fragment in fragments:
        assert fragment in message


def test_error_path_in_the_default_topology(default_copy):
    """The example of the module docstring: rs1 is hosts[2]; its front NIC is nics[1]."""
    default_copy["hosts"][2]["nics"][1]["addresses"][0] = "192.0.2.5"
    assert parse_error(default_copy).startswith("hosts[2] (rs1).nics[1].addresses[0]: 192.0.2.5 is outside")


def test_duplicate_address_across_networks_of_one_topology(default_copy):
    # rs2 takes rs1's IPv6 address on the back network.
    default_copy["hosts"][3]["nics"][2]["addresses"][1] = "2001:db8:101::21"
    assert "host rs2 (back): address 2001:db8:101::21 is already used by host rs1" in parse_error(default_copy)


def test_errors_are_lab_errors():
    assert issubclass(TopologyError, LabError)


def test_top_level_must_be_a_mapping():
    with pytest.raises(TopologyError, match=rf"^topology {SOURCE}: expected a mapping, got list$"):
        topology.parse([], source=SOURCE)


def test_parse_accepts_the_small_topology(small_doc):
    parsed = topology.parse(small_doc, source=SOURCE)
    assert [h.name for h in parsed.hosts] == ["guest1", "guest2"]
    assert parsed.source == SOURCE
    assert parsed.suite == "bookworm"
    assert parsed.groups() == ["alpha", "beta"]
    assert parsed.network("mgmt").namespace_addresses == (ipaddress.ip_address("198.18.0.1"),)
    assert parsed.network("data").namespace_addresses == ()
    assert parsed.management_address(parsed.host("guest2")) == ipaddress.ip_address("198.18.0.12")
    assert parsed.shared_disks == ()
    assert all(h.routes == () and h.disks == () for h in parsed.hosts)


def test_parse_defaults(small_doc):
    del small_doc["suite"]
    del small_doc["hosts"][0]["memory"]
    del small_doc["hosts"][0]["groups"]
    parsed = topology.parse(small_doc)
    assert parsed.suite == "bookworm"
    assert parsed.hosts[0].memory == 256
    assert parsed.hosts[0].groups == ()
    assert parsed.source == "<memory>"


@pytest.mark.parametrize("memory", [128, 4096])
def test_memory_limits_are_inclusive(small_doc, memory):
    small_doc["hosts"][1]["memory"] = memory
    assert topology.parse(small_doc).hosts[1].memory == memory


def test_routes_and_disks_are_normalized(small_doc):
    with_disks(small_doc, "cluster", "scratch", size="512M")
    small_doc["shared_disks"][1]["size"] = "2G"
    small_doc["hosts"][1].update(
        routes=[{"to": "default", "via": "203.0.113.1"}, {"to": "198.51.100.0/24", "via": "198.18.0.1"}],
        disks=["scratch", "cluster"],
    )
    parsed = topology.parse(small_doc)
    assert [(d.name, d.size_mib) for d in parsed.shared_disks] == [("cluster", 512), ("scratch", 2048)]
    guest2 = parsed.host("guest2")
    assert guest2.disks == ("scratch", "cluster")
    assert [(str(r.to), str(r.via)) for r in guest2.routes] == [
        ("0.0.0.0/0", "203.0.113.1"), ("198.51.100.0/24", "198.18.0.1")]


def test_ipv6_default_route_and_31_prefix(small_doc):
    small_doc["networks"][1] = {"name": "data", "ipv4": "203.0.113.0/31", "ipv6": "2001:db8:7::/64"}
    small_doc["hosts"][0]["nics"][1]["addresses"] = ["203.0.113.0", "2001:db8:7::11"]
    small_doc["hosts"][1]["nics"][1]["addresses"] = ["203.0.113.1", "2001:db8:7::12"]
    small_doc["hosts"][1]["routes"] = [{"to": "default", "via": "2001:db8:7::11"}]
    parsed = topology.parse(small_doc)  # a /31 has no network or broadcast address (RFC 3021)
    assert str(parsed.hosts[1].routes[0].to) == "::/0"


def test_unknown_host_lists_the_hosts(default_topology):
    with pytest.raises(TopologyError, match="no host 'rs9' in this lab .*director1, director2, rs1, rs2, rs3, storage1"):
        default_topology.host("rs9")


# --------------------------------------------------------------------------------------------------------
# load(): files


def test_load_reports_malformed_yaml(tmp_path):
    path = tmp_path / "broken.yml"
    path.write_text("suite: bookworm\nhosts: [\n  - name: a\n")
    with pytest.raises(TopologyError, match=rf"topology {path} is not valid YAML"):
        topology.load(path)


def test_load_reports_a_missing_file(tmp_path):
    path = tmp_path / "absent.yml"
    with pytest.raises(TopologyError, match=rf"cannot read topology {path}: No such file or directory"):
        topology.load(path)


def test_load_reports_a_directory(tmp_path):
    with pytest.raises(TopologyError, match=rf"cannot read topology {tmp_path}"):
        topology.load(tmp_path)


def test_load_reports_an_empty_file(tmp_path):
    path = tmp_path / "empty.yml"
    path.write_text("")
    with pytest.raises(TopologyError, match=rf"topology {path}: expected a mapping, got NoneType"):
        topology.load(path)


def test_load_names_the_file_in_errors(tmp_path):
    path = tmp_path / "lab.yml"
    path.write_text("suite: bookworm\ncolour: blue\n")
    with pytest.raises(TopologyError, match=rf"topology {path}: unknown key\(s\) colour"):
        topology.load(path)


def test_load_reports_a_file_that_is_not_utf8(tmp_path):
    """Regression (fixed): a non-UTF-8 file raises UnicodeDecodeError (a traceback) instead of a TopologyError."""
    path = tmp_path / "latin1.yml"
    path.write_bytes("suite: bookworm\n# r\xe9seau de test\n".encode("latin-1"))
    with pytest.raises(TopologyError, match=str(path)):
        topology.load(path)


# --------------------------------------------------------------------------------------------------------
# Malformed values must be reported, never crash the parser


@pytest.mark.parametrize("mutate, fragment", [
    (lambda d: d.update({"management_network": ["mgmt"]}), "management_network"),
    (lambda d: nic(d, 1, 1).update(network={"name": "data"}), "hosts[1] (guest2).nics[1].network"),
    (lambda d: with_disks(d, "cluster") and host(d, 1).update(disks=[["cluster"]]), "hosts[1] (guest2).disks"),
    (lambda d: d.update({1: "one", "colour": "blue"}), "unknown key(s)"),
    (lambda d: host(d, 1).update({True: "yes", "cpus": 2}), "hosts[1]: unknown key(s)"),
], ids=["management-network-list", "nic-network-mapping", "disk-name-list", "mixed-key-types", "host-mixed-key-types"])
def test_malformed_values_raise_topology_error(small_doc, mutate, fragment):
    """Regression (fixed): unhashable values (lists, mappings) and non-string keys next to string ones crash parse()
    with TypeError instead of a TopologyError naming the item."""
    mutate(small_doc)
    message = parse_error(small_doc)
    assert fragment in message


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


def _replaced(document, path, value):
    copied = copy.deepcopy(document)
    target = copied
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return copied


def test_parse_raises_only_topology_error(default_doc):
    """Replace every node of the default topology by values of other types: parse() either accepts the result
    or raises TopologyError, nothing else (the command line shows a traceback for anything else)."""
    replacements = [None, True, 7, 2.5, "x", "", [], ["x"], [["x"]], {}, {"k": "v"}]
    crashes = []
    for path in _paths(default_doc):
        if not path:
            continue
        for value in replacements:
            try:
                topology.parse(_replaced(default_doc, path, value))
            except TopologyError:
                pass
            except Exception as exc:  # noqa: BLE001  (collect them all for one report)
                crashes.append(f"{'.'.join(map(str, path))} = {value!r}: {type(exc).__name__}: {exc}")
    assert not crashes, f"{len(crashes)} documents crash parse():\n" + "\n".join(crashes[:25])


@pytest.mark.parametrize("mutate", [
    lambda d: host(d, 1).update(name="guest2\n"),
    lambda d: (d["networks"][1].update(name="data\n"), nic(d, 0, 1).update(network="data\n"),
               nic(d, 1, 1).update(network="data\n")),
    lambda d: host(d, 1).update(groups=["beta\n"]),
    lambda d: with_disks(d, "cluster\n") and host(d, 1).update(disks=["cluster\n"]),
], ids=["host", "network", "group", "shared-disk"])
def test_names_with_a_trailing_newline_are_refused(small_doc, mutate):
    """Regression (fixed): the name patterns end in '$', which also matches before a trailing newline, so 'guest2\\n' passes
    (and would become a hostname, an ssh_config 'Host' line, a bridge name br-data\\n ...)."""
    mutate(small_doc)
    with pytest.raises(TopologyError):
        topology.parse(small_doc)


# --------------------------------------------------------------------------------------------------------
# Lab names


@pytest.mark.parametrize("name", ["default", "pytest-cycle", "a", "0lab", "lab-", "a" * 20, "molecule-default"])
def test_valid_lab_names(name):
    assert topology.validate_lab_name(name) == name


@pytest.mark.parametrize("name", ["", "Default", "-lab", "a" * 21, "lab_1", "lab 1", "lab.1", "lab/1", "läb",
                                  None, 5, "lab\n"])
def test_invalid_lab_names(name):
    """(The same trailing-newline regression as the topology names, fixed.)"""
    with pytest.raises(TopologyError, match="lab name .* is invalid"):
        topology.validate_lab_name(name)


# --------------------------------------------------------------------------------------------------------
# Host routes


def net(text):
    return ipaddress.ip_network(text)


@pytest.mark.parametrize("route, network_name", [
    ("198.51.100.0/25", "front"),    # part of a lab prefix
    ("198.18.0.0/15", "mgmt"),       # a supernet of several: the first lab network is named
    ("198.18.1.5/32", "back"),       # a host route inside a lab prefix
    ("203.0.113.0/24", "client"),
    ("2001:db8::/32", "client"),     # IPv6: mgmt has no IPv6 prefix, client is the first that has one
    ("2001:db8:102::/48", "remote"),
])
def test_host_route_overlapping_a_lab_prefix_is_refused(default_topology, route, network_name):
    with pytest.raises(TopologyError, match=rf"network {network_name}: prefix .* overlaps the host route {route}"):
        topology.check_host_routes(default_topology, [net("10.0.0.0/8"), net(route)])


@pytest.mark.parametrize("routes", [
    [],
    [net("0.0.0.0/0"), net("::/0")],                  # default routes are ignored
    [net("192.0.2.0/24"), net("fd00::/64"), net("fe80::/64"), net("10.0.0.0/8")],  # this machine's own
    [net("198.51.101.0/24"), net("203.0.112.0/24"), net("198.20.0.0/16"), net("2001:db9::/32")],  # neighbours
])
def test_host_routes_that_do_not_overlap_are_accepted(default_topology, routes):
    assert topology.check_host_routes(default_topology, routes) is None


def test_small_topology_vs_a_host_route(small_doc):
    parsed = topology.parse(small_doc)
    with pytest.raises(TopologyError, match="network data: prefix 203.0.113.0/24 overlaps the host route 203.0.113.128/25"):
        topology.check_host_routes(parsed, [net("203.0.113.128/25")])


# --------------------------------------------------------------------------------------------------------
# The default topology


def test_default_topology_hosts_and_groups(default_topology):
    assert default_topology.suite in topology.SUITES
    assert [h.name for h in default_topology.hosts] == ["director1", "director2", "rs1", "rs2", "rs3", "storage1"]
    assert default_topology.groups() == ["directors", "real_servers", "storage"]
    members = {g: [h.name for h in default_topology.hosts if g in h.groups] for g in default_topology.groups()}
    assert members == {"directors": ["director1", "director2"], "real_servers": ["rs1", "rs2", "rs3"],
                       "storage": ["storage1"]}


def test_default_topology_management(default_topology):
    mgmt = default_topology.network(default_topology.management_network)
    assert mgmt.namespace_addresses, "the controller reaches guests through the namespace's management address"
    addresses = [default_topology.management_address(h) for h in default_topology.hosts]
    assert len(set(addresses)) == len(addresses)
    assert all(a in mgmt.ipv4 for a in addresses)


def _networks_of(topo, host_obj):
    return {n.network for n in host_obj.nics} - {topo.management_network}


def test_default_topology_is_direct_routing_capable(default_topology):
    """Directors and real servers share one L2 segment (front) that also holds the VIP range."""
    directors = [h for h in default_topology.hosts if "directors" in h.groups]
    real_servers = [h for h in default_topology.hosts if "real_servers" in h.groups]
    assert len(directors) >= 2, "two directors for failover"
    assert all("front" in _networks_of(default_topology, h) for h in directors)
    assert sum("front" in _networks_of(default_topology, h) for h in real_servers) >= 2
    front = default_topology.network("front")
    assert front.ipv4 is not None and front.ipv6 is not None
    assert front.namespace_addresses, "the namespace routes client traffic onto front"


def test_default_topology_has_nat_network(default_topology):
    """Directors and real servers share a second, inside network (for NAT): back."""
    for h in default_topology.hosts:
        if "directors" in h.groups or "storage" in h.groups:
            assert "back" in _networks_of(default_topology, h), h.name


def test_default_topology_has_a_real_server_alone_in_a_routed_subnet(default_topology):
    """One real server (for IP tunnelling) shares no data network with any other guest and reaches the rest
    through a router: the namespace's address on its network."""
    alone = []
    for h in default_topology.hosts:
        if "real_servers" not in h.groups:
            continue
        mine = _networks_of(default_topology, h)
        others = set().union(*(_networks_of(default_topology, o) for o in default_topology.hosts if o is not h))
        if mine and not mine & others:
            alone.append(h)
    assert [h.name for h in alone] == ["rs3"]
    rs3 = alone[0]
    (remote_name,) = _networks_of(default_topology, rs3)
    remote = default_topology.network(remote_name)
    gateways = {r.via for r in rs3.routes if r.to.prefixlen == 0}
    assert gateways and gateways <= set(remote.namespace_addresses)
    assert {g.version for g in gateways} == {4, 6}
    # The directors reach the routed subnet through the namespace too.
    for director in ("director1", "director2"):
        assert any(r.to == remote.ipv4 for r in default_topology.host(director).routes)


def test_default_topology_every_host_has_default_routes(default_topology):
    for h in default_topology.hosts:
        defaults = {r.via.version for r in h.routes if r.to.prefixlen == 0}
        assert defaults == {4, 6}, h.name


def test_default_topology_storage_and_shared_disk(default_topology):
    assert [(d.name, d.size_mib) for d in default_topology.shared_disks] == [("cluster", 1024)]
    users = [h.name for h in default_topology.hosts if "cluster" in h.disks]
    assert users == ["rs1", "rs2", "rs3"]


def test_default_topology_addresses_in_allowed_ranges(default_topology):
    everything = [a for n in default_topology.networks for a in n.namespace_addresses]
    everything += [a for h in default_topology.hosts for nic_ in h.nics for a in nic_.addresses]
    assert len(set(everything)) == len(everything)
    for address in everything:
        assert any(address in r for r in topology.ALLOWED_RANGES if r.version == address.version), address
    for network in default_topology.networks:
        assert network.ipv4 is None or not network.ipv4.overlaps(net("192.0.2.0/24"))


def test_default_topology_memory_fits(default_topology):
    assert sum(h.memory for h in default_topology.hosts) <= 2048
