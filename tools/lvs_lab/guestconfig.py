"""Each guest's own configuration, rendered on the controller and handed to the guest as a read-only tar device.

The guest's first-boot unit (``guest/lvslab-firstboot``) unpacks it over ``/``. Rendering is pure so it can be
tested without a lab; :func:`write_tar` is the only function that touches the disk.
"""
import hashlib
import io
import tarfile
import time

CONFIG_UBD_INDEX = 15  # /dev/ubdp in the guest


def mac_address(host_index, nic_index):
    """A stable, locally administered unicast MAC for NIC ``nic_index`` of the ``host_index``-th host."""
    return f"02:1b:00:00:{host_index + 1:02x}:{nic_index:02x}"


def interface_name(nic_index):
    return f"eth{nic_index}"


def machine_id(lab_name, host_name):
    return hashlib.sha256(f"lvs-lab/{lab_name}/{host_name}".encode()).hexdigest()[:32]


def initiator_name(lab_name, host_name):
    return f"iqn.2026-11.test.lvs-lab:{lab_name}.{host_name}"


def network_unit(topology, host_index, nic_index):
    """systemd-networkd ``.network`` file for one NIC: its addresses and the routes whose gateway it reaches."""
    host = topology.hosts[host_index]
    nic = host.nics[nic_index]
    network = topology.network(nic.network)
    lines = [
        "# Written by lvs-lab at the guest's first boot.",
        "[Match]",
        f"MACAddress={mac_address(host_index, nic_index)}",
        "",
        "[Network]",
    ]
    for address in nic.addresses:
        lines.append(f"Address={address}/{network.prefix_for(address).prefixlen}")
    has_ipv6 = any(a.version == 6 for a in nic.addresses)
    lines.append("LinkLocalAddressing=" + ("ipv6" if has_ipv6 else "no"))
    lines.append("IPv6AcceptRA=no")
    for route in host.routes:
        prefix = network.prefix_for(route.via)
        if prefix is None or route.via not in prefix:
            continue
        lines += ["", "[Route]", f"Destination={route.to}", f"Gateway={route.via}"]
    return "\n".join(lines) + "\n"


def hosts_file(topology):
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback", ""]
    lines.append("# lvs-lab guests on the management network")
    for host in topology.hosts:
        lines.append(f"{topology.management_address(host)}\t{host.name}")
    return "\n".join(lines) + "\n"


def guest_files(topology, lab_name, host_index, authorized_key, host_key, host_key_pub):
    """Map of absolute guest path -> (mode, bytes) for one guest."""
    host = topology.hosts[host_index]
    files = {
        "/etc/hostname": (0o644, f"{host.name}\n"),
        "/etc/hosts": (0o644, hosts_file(topology)),
        "/root/.ssh/authorized_keys": (0o600, authorized_key.rstrip("\n") + "\n"),
        "/etc/ssh/ssh_host_ed25519_key": (0o600, host_key),
        "/etc/ssh/ssh_host_ed25519_key.pub": (0o644, host_key_pub),
        "/etc/iscsi/initiatorname.iscsi": (0o600, f"InitiatorName={initiator_name(lab_name, host.name)}\n"),
        "/etc/lvslab/lab": (0o644, f"LAB={lab_name}\nHOST={host.name}\nGROUPS={','.join(host.groups)}\n"),
    }
    for nic_index, _nic in enumerate(host.nics):
        name = interface_name(nic_index)
        files[f"/etc/systemd/network/10-lvslab-{name}.network"] = (0o644, network_unit(topology, host_index, nic_index))
    return {path: (mode, content.encode() if isinstance(content, str) else content) for path, (mode, content) in files.items()}


def write_tar(files, target):
    """Write ``files`` (from :func:`guest_files`) as a tar archive with the directories they need, owned by root."""
    directories = set()
    for path in files:
        parts = path.strip("/").split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            directories.add("/".join(parts[:depth]))
    now = int(time.time())
    with tarfile.open(target, "w", format=tarfile.GNU_FORMAT) as archive:
        for directory in sorted(directories):
            info = tarfile.TarInfo(directory)
            info.type = tarfile.DIRTYPE
            info.mode = 0o700 if directory in ("root", "root/.ssh") else 0o755
            info.mtime = now
            archive.addfile(info)
        for path, (mode, content) in sorted(files.items()):
            info = tarfile.TarInfo(path.strip("/"))
            info.size = len(content)
            info.mode = mode
            info.mtime = now
            archive.addfile(info, io.BytesIO(content))
