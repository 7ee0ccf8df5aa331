"""Per-guest configuration (networkd units, files, the config tar) and the UML command line built from it."""
import re
import tarfile
from pathlib import Path

import pytest

from lvs_lab import guestconfig, guests, netns, topology

HOST_KEY = b"-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n-----END OPENSSH PRIVATE KEY-----\n"
HOST_KEY_PUB = b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyHostKeyHostKeyHostKeyHostKeyHost root@x\n"
AUTHORIZED_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIControllerControllerControllerContro lvs-lab controller"


def unit_entries(text):
    """A systemd unit as a list of (section, key, value); sections and keys may repeat."""
    entries, section = [], None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            assert line.endswith("]"), line
            section = line[1:-1]
            entries.append((section, None, None))
            continue
        key, _, value = line.partition("=")
        assert section is not None and _ == "=", line
        entries.append((section, key, value))
    return entries


def values(entries, section, key):
    return [v for s, k, v in entries if s == section and k == key]


def routes(entries):
    """[(Destination, Gateway)] of the [Route] sections, in order."""
    result, current = [], None
    for section, key, value in entries:
        if key is None:
            current = {} if section == "Route" else None
            if current is not None:
                result.append(current)
        elif current is not None:
            current[key] = value
    return [(r.get("Destination"), r.get("Gateway")) for r in result]


def host_index(topo, name):
    return [h.name for h in topo.hosts].index(name)


# --------------------------------------------------------------------------------------------------------
# network_unit


@pytest.mark.parametrize("host_name, nic_index, addresses, link_local, expected_routes", [
    ("director1", 0, ["198.18.0.11/24"], "no", []),
    ("director1", 1, ["198.51.100.11/24", "2001:db8:100::11/64"], "ipv6",
     [("0.0.0.0/0", "198.51.100.1"), ("::/0", "2001:db8:100::1"), ("198.18.2.0/24", "198.51.100.1")]),
    ("director1", 2, ["198.18.1.11/24", "2001:db8:101::11/64"], "ipv6", []),
    ("rs1", 1, ["198.51.100.21/24", "2001:db8:100::21/64"], "ipv6",
     [("0.0.0.0/0", "198.51.100.1"), ("::/0", "2001:db8:100::1")]),
    ("rs1", 2, ["198.18.1.21/24", "2001:db8:101::21/64"], "ipv6", [("198.18.2.0/24", "198.18.1.254")]),
    ("rs3", 0, ["198.18.0.23/24"], "no", []),
    ("rs3", 1, ["198.18.2.23/24", "2001:db8:102::23/64"], "ipv6",
     [("0.0.0.0/0", "198.18.2.1"), ("::/0", "2001:db8:102::1")]),
    ("storage1", 1, ["198.18.1.31/24", "2001:db8:101::31/64"], "ipv6",
     [("0.0.0.0/0", "198.18.1.254"), ("::/0", "2001:db8:101::fe")]),
])
def test_network_unit(default_topology, host_name, nic_index, addresses, link_local, expected_routes):
    index = host_index(default_topology, host_name)
    text = guestconfig.network_unit(default_topology, index, nic_index)
    entries = unit_entries(text)
    assert values(entries, "Match", "MACAddress") == [guestconfig.mac_address(index, nic_index)]
    assert values(entries, "Network", "Address") == addresses
    assert values(entries, "Network", "LinkLocalAddressing") == [link_local]
    assert values(entries, "Network", "IPv6AcceptRA") == ["no"]
    assert routes(entries) == expected_routes
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_every_route_lands_on_exactly_one_nic(default_topology):
    """Each route of a host appears on the one NIC whose network holds its gateway, never twice."""
    for index, h in enumerate(default_topology.hosts):
        seen = []
        for nic_index, _nic in enumerate(h.nics):
            seen += routes(unit_entries(guestconfig.network_unit(default_topology, index, nic_index)))
        assert sorted(seen) == sorted((str(r.to), str(r.via)) for r in h.routes), h.name


def test_network_unit_ipv4_only_network(small_doc):
    small_doc["hosts"][1]["routes"] = [{"to": "default", "via": "203.0.113.11"}]
    topo = topology.parse(small_doc)
    mgmt = unit_entries(guestconfig.network_unit(topo, 1, 0))
    data = unit_entries(guestconfig.network_unit(topo, 1, 1))
    assert values(mgmt, "Network", "Address") == ["198.18.0.12/24"]
    assert values(data, "Network", "LinkLocalAddressing") == ["no"]
    assert routes(mgmt) == []
    assert routes(data) == [("0.0.0.0/0", "203.0.113.11")]


# --------------------------------------------------------------------------------------------------------
# MACs, machine ids, names


def test_macs_are_unique_and_locally_administered_unicast(default_topology):
    macs = [guestconfig.mac_address(h, n) for h, host_ in enumerate(default_topology.hosts) for n in range(len(host_.nics))]
    assert len(macs) == sum(len(h.nics) for h in default_topology.hosts)
    assert len(set(macs)) == len(macs)
    for mac in macs:
        assert re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", mac), mac
        first = int(mac[:2], 16)
        assert first & 0b10 and not first & 0b01, f"{mac}: not locally administered unicast"


def test_macs_unique_at_the_limits():
    """Up to MAX_NICS NICs on many hosts: still unique and well formed."""
    macs = {guestconfig.mac_address(h, n) for h in range(64) for n in range(topology.MAX_NICS)}
    assert len(macs) == 64 * topology.MAX_NICS
    assert all(len(m) == 17 for m in macs)


def test_machine_ids():
    first = guestconfig.machine_id("default", "rs1")
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first == guestconfig.machine_id("default", "rs1")
    assert first != guestconfig.machine_id("default", "rs2")
    assert first != guestconfig.machine_id("other", "rs1")


def test_initiator_name_is_an_iqn():
    assert re.fullmatch(r"iqn\.\d{4}-\d{2}\.[a-z0-9.-]+:[a-z0-9.-]+", guestconfig.initiator_name("pytest-cycle", "rs1"))


def test_hosts_file(default_topology):
    lines = guestconfig.hosts_file(default_topology).splitlines()
    assert "127.0.0.1\tlocalhost" in lines
    for h in default_topology.hosts:
        assert f"{default_topology.management_address(h)}\t{h.name}" in lines


# --------------------------------------------------------------------------------------------------------
# guest_files and write_tar


@pytest.fixture
def rs1_files(default_topology):
    index = host_index(default_topology, "rs1")
    return guestconfig.guest_files(default_topology, "pytest-unit", index, AUTHORIZED_KEY, HOST_KEY, HOST_KEY_PUB)


def test_guest_files(rs1_files, default_topology):
    assert set(rs1_files) == {
        "/etc/hostname", "/etc/hosts", "/root/.ssh/authorized_keys", "/etc/ssh/ssh_host_ed25519_key",
        "/etc/ssh/ssh_host_ed25519_key.pub", "/etc/iscsi/initiatorname.iscsi", "/etc/lvslab/lab",
        "/etc/systemd/network/10-lvslab-eth0.network", "/etc/systemd/network/10-lvslab-eth1.network",
        "/etc/systemd/network/10-lvslab-eth2.network",
    }
    assert all(isinstance(content, bytes) for _mode, content in rs1_files.values())
    assert rs1_files["/etc/hostname"][1] == b"rs1\n"
    assert rs1_files["/root/.ssh/authorized_keys"] == (0o600, (AUTHORIZED_KEY + "\n").encode())
    assert rs1_files["/etc/ssh/ssh_host_ed25519_key"] == (0o600, HOST_KEY)
    assert rs1_files["/etc/ssh/ssh_host_ed25519_key.pub"] == (0o644, HOST_KEY_PUB)
    assert rs1_files["/etc/lvslab/lab"][1] == b"LAB=pytest-unit\nHOST=rs1\nGROUPS=real_servers\n"
    assert rs1_files["/etc/iscsi/initiatorname.iscsi"][1] == (
        f"InitiatorName={guestconfig.initiator_name('pytest-unit', 'rs1')}\n".encode())
    assert rs1_files["/etc/systemd/network/10-lvslab-eth2.network"][1] == guestconfig.network_unit(
        default_topology, host_index(default_topology, "rs1"), 2).encode()


def test_authorized_key_gets_exactly_one_newline(default_topology):
    files = guestconfig.guest_files(default_topology, "x", 0, AUTHORIZED_KEY + "\n\n", HOST_KEY, HOST_KEY_PUB)
    assert files["/root/.ssh/authorized_keys"][1] == (AUTHORIZED_KEY + "\n").encode()


def test_write_tar(rs1_files, tmp_path):
    target = tmp_path / "config.tar"
    guestconfig.write_tar(rs1_files, target)
    size = target.stat().st_size
    assert size > 0 and size % 512 == 0, "a UML block device must be a whole number of 512-byte sectors"
    with tarfile.open(target) as archive:
        members = archive.getmembers()
        names = [m.name for m in members]
        by_name = {m.name: m for m in members}
        for member in members:
            assert member.uid == 0 and member.gid == 0, member.name
            assert not member.name.startswith("/") and ".." not in member.name.split("/")
        for path, (mode, content) in rs1_files.items():
            member = by_name[path.lstrip("/")]
            assert member.isfile()
            assert member.mode == mode, path
            assert archive.extractfile(member).read() == content
            # Every parent directory is in the archive, before the file.
            parts = path.strip("/").split("/")
            for depth in range(1, len(parts)):
                parent = "/".join(parts[:depth])
                assert by_name[parent].isdir(), parent
                assert names.index(parent) < names.index(member.name)
        assert by_name["root"].mode == 0o700
        assert by_name["root/.ssh"].mode == 0o700
        assert by_name["etc"].mode == 0o755
        assert by_name["etc/systemd/network"].mode == 0o755
        assert len(names) == len(set(names))


def test_write_tar_is_read_by_gnu_tar(rs1_files, tmp_path):
    """The guest unpacks it with 'tar -x -f /dev/ubdp': GNU tar must list the same members."""
    import shutil
    import subprocess

    if shutil.which("tar") is None:
        pytest.fail("GNU tar is missing on this machine")
    target = tmp_path / "config.tar"
    guestconfig.write_tar(rs1_files, target)
    listing = subprocess.run(["tar", "-t", "-v", "--numeric-owner", "-f", str(target)],
                             capture_output=True, text=True, check=True).stdout
    assert "root/.ssh/authorized_keys" in listing
    assert "-rw------- 0/0" in listing


# --------------------------------------------------------------------------------------------------------
# The UML command line agrees with the files, the namespace and the inventory


def test_command_line(default_topology, tmp_path):
    index = host_index(default_topology, "rs1")
    base = Path("/cache/base.img")
    arguments = guests.command_line("pytest-unit", default_topology, index, base, tmp_path)
    assert arguments[0] == "/usr/bin/linux.uml"
    assert "mem=384M" in arguments
    assert "umid=lvslab-pytest-unit-rs1" in arguments
    assert f"uml_dir={tmp_path / 'uml'}" in arguments
    assert f"ubd0={tmp_path / 'guests' / 'rs1' / 'root.cow'},{base}" in arguments
    assert f"ubd1c={tmp_path / 'disks' / 'cluster.img'}" in arguments
    assert f"ubd{guestconfig.CONFIG_UBD_INDEX}r={tmp_path / 'guests' / 'rs1' / 'config.tar'}" in arguments
    assert "root=/dev/ubda" in arguments
    for nic_index in range(3):
        assert (f"eth{nic_index}=tuntap,{netns.tap_name(index, nic_index)},"
                f"{guestconfig.mac_address(index, nic_index)}") in arguments
    assert f"systemd.machine_id={guestconfig.machine_id('pytest-unit', 'rs1')}" in arguments
    assert guests.umid("pytest-unit", "rs1") == "lvslab-pytest-unit-rs1"


def test_config_device_is_dev_ubdp():
    """The first-boot script reads /dev/ubdp: ubd index 15 is the 16th letter."""
    assert chr(ord("a") + guestconfig.CONFIG_UBD_INDEX) == "p"
    script = (Path(guestconfig.__file__).parent / "guest" / "lvslab-firstboot").read_text()
    assert "config_device=/dev/ubdp" in script
    assert topology.MAX_DISKS < guestconfig.CONFIG_UBD_INDEX  # shared disks are ubd1..ubd14, never ubd15


def test_interface_names_fit_the_kernel_limit():
    longest_network = "n" * 12  # NETWORK_NAME_RE allows 12 characters
    assert topology.NETWORK_NAME_RE.match(longest_network)
    assert len(netns.bridge_name(longest_network)) <= 15
    assert len(netns.tap_name(998, topology.MAX_NICS - 1)) <= 15
    assert len({netns.tap_name(h, n) for h in range(20) for n in range(8)}) == 160
