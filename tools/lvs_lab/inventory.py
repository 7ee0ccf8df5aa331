"""The Ansible inventory and ssh_config a running lab writes for its users. Pure rendering.

Guests are reached from the host namespace through an SSH ProxyCommand that opens the TCP connection inside
the lab namespace (``netns_proxy.py``), so ansible, molecule and plain ssh work without ``ip netns exec``; the
same files work from inside the namespace too. Host keys are pinned in a known_hosts file of the lab's own.
"""
import shlex
import sys

import yaml

from lvs_lab import guestconfig, paths
from lvs_lab.netns import bridge_name


def proxy_command(lab_name):
    script = paths.PACKAGE_DIR / "netns_proxy.py"
    return f"{sys.executable} -I {script} {paths.namespace_name(lab_name)} %h %p"


def control_path(lab_name):
    """SSH connection-sharing sockets per lab: labs reuse the same guest addresses, so a socket keyed only by
    address (Ansible's and testinfra's default) would carry one lab's commands to another lab's guest."""
    return f"~/.ansible/cp/lvslab-{lab_name}-%C"


def ssh_options(lab_name, known_hosts):
    """OpenSSH ``-o`` options shared by the inventory, ssh_config and ``lvs-lab ssh``."""
    return {
        "ProxyCommand": proxy_command(lab_name),
        "ControlPath": control_path(lab_name),
        "UserKnownHostsFile": str(known_hosts),
        "StrictHostKeyChecking": "yes",
        "IdentitiesOnly": "yes",
        "ServerAliveInterval": "15",
        "ConnectTimeout": "20",
    }


def host_vars(topology, host_index):
    host = topology.hosts[host_index]
    interfaces = []
    for nic_index, nic in enumerate(host.nics):
        network = topology.network(nic.network)
        interfaces.append({
            "name": guestconfig.interface_name(nic_index),
            "network": nic.network,
            "mac": guestconfig.mac_address(host_index, nic_index),
            "addresses": [f"{a}/{network.prefix_for(a).prefixlen}" for a in nic.addresses],
        })
    return {
        "ansible_host": str(topology.management_address(host)),
        "lvs_lab_memory_mib": host.memory,
        "lvs_lab_interfaces": interfaces,
        "lvs_lab_disks": [
            {"name": disk, "device": f"/dev/ubd{chr(ord('a') + index)}"}
            for index, disk in enumerate(host.disks, start=1)
        ],
    }


def networks_var(topology):
    result = {}
    for network in topology.networks:
        result[network.name] = {
            "ipv4": str(network.ipv4) if network.ipv4 else None,
            "ipv6": str(network.ipv6) if network.ipv6 else None,
            "namespace_addresses": [str(a) for a in network.namespace_addresses],
            "bridge": bridge_name(network.name),
        }
    return result


def render_inventory(topology, lab_name, private_key, known_hosts):
    options = ssh_options(lab_name, known_hosts)
    common_args = " ".join(f"-o {shlex.quote(f'{k}={v}')}" for k, v in options.items())
    document = {
        "all": {
            "vars": {
                "ansible_user": "root",
                "ansible_ssh_private_key_file": str(private_key),
                "ansible_ssh_common_args": common_args,
                "ansible_python_interpreter": "/usr/bin/python3",
                "lvs_lab_name": lab_name,
                "lvs_lab_namespace": paths.namespace_name(lab_name),
                "lvs_lab_management_network": topology.management_network,
                "lvs_lab_networks": networks_var(topology),
            },
            "hosts": {host.name: host_vars(topology, index) for index, host in enumerate(topology.hosts)},
            "children": {
                group: {"hosts": {h.name: None for h in topology.hosts if group in h.groups}}
                for group in topology.groups()
            },
        }
    }
    header = (
        f"# Ansible inventory of lvs-lab {lab_name!r}, written by 'lvs-lab up' (do not edit: 'down' removes it).\n"
        f"# Use it from the host: ansible all -i {paths.inventory_path(lab_name)} -m ping\n"
    )
    return header + yaml.safe_dump(document, sort_keys=False, default_flow_style=False, width=200)


def render_ssh_config(topology, lab_name, private_key, known_hosts):
    options = ssh_options(lab_name, known_hosts)
    lines = [f"# ssh -F <this file> <host> for lvs-lab {lab_name!r}"]
    for host in topology.hosts:
        lines += [f"Host {host.name}", f"    HostName {topology.management_address(host)}", "    User root",
                  f"    IdentityFile {private_key}"]
        lines += [f"    {key} {value}" for key, value in options.items()]
    return "\n".join(lines) + "\n"


def known_hosts_line(address, public_key):
    key_type, key_data = public_key.split()[:2]
    return f"{address} {key_type} {key_data}\n"


def molecule_instance_config(topology, lab_name, private_key):
    """Molecule's instance_config.yml for the default driver: one entry per guest."""
    return [
        {
            "instance": host.name,
            "address": str(topology.management_address(host)),
            "user": "root",
            "port": 22,
            "identity_file": str(private_key),
        }
        for host in topology.hosts
    ]
