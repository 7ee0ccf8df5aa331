"""The lab's network namespace: bridges, taps and the namespace's own addresses, all through iproute2.

Nothing here touches the host namespace except reading its routes. The lab namespace has no link to the
host namespace, so no lab packet can leave it.
"""
import ctypes
import ipaddress
import json
import os
import subprocess
from pathlib import Path

from lvs_lab.errors import LabError

CLONE_NEWNET = 0x40000000
NETNS_RUN_DIR = Path("/run/netns")

NAMESPACE_SYSCTLS = {
    # The namespace routes between the lab networks and is the client: forward, and accept the
    # asymmetric paths of direct routing and tunnelling (replies come from real servers, not directors).
    "net.ipv4.ip_forward": "1",
    "net.ipv6.conf.all.forwarding": "1",
    "net.ipv4.conf.all.rp_filter": "0",
    "net.ipv4.conf.default.rp_filter": "0",
    "net.ipv6.conf.default.accept_dad": "0",
}


def bridge_name(network_name):
    return f"br-{network_name}"


def tap_name(host_index, nic_index):
    return f"tap{host_index + 1}n{nic_index}"


def exists(namespace):
    return (NETNS_RUN_DIR / namespace).exists()


def run_ip(args, input_text=None):
    result = subprocess.run(["ip", *args], input=input_text, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise LabError(f"ip {' '.join(args[:4])} ... failed: {result.stderr.strip()}")
    return result.stdout


def create(namespace, topology):
    """Create the namespace with one bridge per network and one tap per guest NIC (taps stay down until
    their guest opens them)."""
    run_ip(["netns", "add", namespace])
    commands = ["link set lo up"]
    for network in topology.networks:
        bridge = bridge_name(network.name)
        commands.append(f"link add {bridge} type bridge stp_state 0 forward_delay 0")
        commands.append(f"link set {bridge} up")
    for host_index, host in enumerate(topology.hosts):
        for nic_index, nic in enumerate(host.nics):
            tap = tap_name(host_index, nic_index)
            commands.append(f"tuntap add dev {tap} mode tap")
            commands.append(f"link set {tap} master {bridge_name(nic.network)} up")
    set_sysctls(namespace, NAMESPACE_SYSCTLS)
    run_ip(["-n", namespace, "-batch", "-"], "\n".join(commands) + "\n")
    addresses = []
    for network in topology.networks:
        for address in network.namespace_addresses:
            prefix = network.prefix_for(address)
            extra = " nodad" if address.version == 6 else ""
            addresses.append(f"address add {address}/{prefix.prefixlen} dev {bridge_name(network.name)}{extra}")
    if addresses:
        run_ip(["-n", namespace, "-batch", "-"], "\n".join(addresses) + "\n")


def set_sysctls(namespace, values):
    arguments = [f"{key}={value}" for key, value in values.items()]
    result = subprocess.run(
        ["ip", "netns", "exec", namespace, "sysctl", "-q", "-w", *arguments],
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise LabError(f"setting sysctls in {namespace} failed: {result.stderr.strip()}")


def delete(namespace):
    """Delete the namespace; its bridges and taps go with it. Safe when it does not exist."""
    if exists(namespace):
        run_ip(["netns", "delete", namespace])


def links(namespace):
    """Names of the links in the namespace (empty when it does not exist)."""
    if not exists(namespace):
        return []
    return [link["ifname"] for link in json.loads(run_ip(["-n", namespace, "-j", "link", "show"]) or "[]")]


def host_routes():
    """Every non-default route prefix of the host namespace, in all tables and both families."""
    prefixes = set()
    for family in ("-4", "-6"):
        for route in json.loads(run_ip([family, "-j", "route", "show", "table", "all"]) or "[]"):
            destination = route.get("dst", "")
            if destination in ("", "default"):
                continue
            try:
                prefixes.add(ipaddress.ip_network(destination, strict=False))
            except ValueError:
                continue  # multicast/anycast names and similar are not prefixes
    return sorted(prefixes, key=lambda p: (p.version, p))


def enter(namespace):
    """Move the calling thread into ``namespace`` (network namespaces are per thread on Linux)."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(NETNS_RUN_DIR / namespace, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            error = ctypes.get_errno()
            raise LabError(f"cannot enter network namespace {namespace}: {os.strerror(error)}")
    finally:
        os.close(fd)
