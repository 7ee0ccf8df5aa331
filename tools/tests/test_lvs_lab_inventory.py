"""The Ansible inventory, ssh_config, known_hosts lines and Molecule instance config a lab writes."""
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lvs_lab import guestconfig, inventory, paths

LAB = "pytest-unit"
KEY = Path("/state/id_ed25519")
KNOWN_HOSTS = Path("/state/pytest-unit/known_hosts")


@pytest.fixture(scope="module")
def rendered(default_topology):
    return inventory.render_inventory(default_topology, LAB, KEY, KNOWN_HOSTS)


@pytest.fixture(scope="module")
def document(rendered):
    return yaml.safe_load(rendered)


def common_args(document):
    """ansible_ssh_common_args as {option: value}, split the way Ansible splits it (shlex)."""
    words = shlex.split(document["all"]["vars"]["ansible_ssh_common_args"])
    assert words[::2] == ["-o"] * (len(words) // 2) and len(words) % 2 == 0, words
    return dict(word.split("=", 1) for word in words[1::2])


def test_inventory_is_yaml_with_a_comment_header(rendered, document):
    assert rendered.startswith("# Ansible inventory of lvs-lab 'pytest-unit'")
    assert set(document) == {"all"}
    assert set(document["all"]) == {"vars", "hosts", "children"}


def test_inventory_groups_follow_the_topology(document, default_topology):
    children = document["all"]["children"]
    assert list(children) == ["directors", "real_servers", "storage"]
    for group, body in children.items():
        assert list(body["hosts"]) == [h.name for h in default_topology.hosts if group in h.groups]
    assert list(document["all"]["hosts"]) == [h.name for h in default_topology.hosts]


def test_inventory_hosts_use_the_management_address(document, default_topology):
    for h in default_topology.hosts:
        assert document["all"]["hosts"][h.name]["ansible_host"] == str(default_topology.management_address(h))
        assert document["all"]["hosts"][h.name]["lvs_lab_memory_mib"] == h.memory


def test_inventory_vars(document, default_topology):
    variables = document["all"]["vars"]
    assert variables["ansible_user"] == "root"
    assert variables["ansible_ssh_private_key_file"] == str(KEY)
    assert variables["ansible_python_interpreter"] == "/usr/bin/python3"
    assert variables["lvs_lab_name"] == LAB
    assert variables["lvs_lab_namespace"] == "lvslab-pytest-unit"
    assert variables["lvs_lab_management_network"] == "mgmt"
    networks = variables["lvs_lab_networks"]
    assert list(networks) == [n.name for n in default_topology.networks]
    assert networks["front"] == {"ipv4": "198.51.100.0/24", "ipv6": "2001:db8:100::/64",
                                 "namespace_addresses": ["198.51.100.1", "2001:db8:100::1"], "bridge": "br-front"}
    assert networks["mgmt"]["ipv6"] is None


def test_inventory_ssh_arguments(document):
    options = common_args(document)
    proxy = shlex.split(options["ProxyCommand"])
    assert proxy[0] == sys.executable
    assert Path(proxy[2]) == paths.PACKAGE_DIR / "netns_proxy.py" and Path(proxy[2]).is_file()
    assert proxy[1:] == ["-I", proxy[2], "lvslab-pytest-unit", "%h", "%p"]
    assert options["UserKnownHostsFile"] == str(KNOWN_HOSTS)
    assert options["StrictHostKeyChecking"] == "yes"
    assert options["IdentitiesOnly"] == "yes"


def test_inventory_interfaces_and_disks(document, default_topology):
    rs1 = document["all"]["hosts"]["rs1"]
    index = [h.name for h in default_topology.hosts].index("rs1")
    assert rs1["lvs_lab_interfaces"] == [
        {"name": "eth0", "network": "mgmt", "mac": guestconfig.mac_address(index, 0), "addresses": ["198.18.0.21/24"]},
        {"name": "eth1", "network": "front", "mac": guestconfig.mac_address(index, 1),
         "addresses": ["198.51.100.21/24", "2001:db8:100::21/64"]},
        {"name": "eth2", "network": "back", "mac": guestconfig.mac_address(index, 2),
         "addresses": ["198.18.1.21/24", "2001:db8:101::21/64"]},
    ]
    # The first shared disk is ubd1 on the UML command line, /dev/ubdb in the guest.
    assert rs1["lvs_lab_disks"] == [{"name": "cluster", "device": "/dev/ubdb"}]
    assert document["all"]["hosts"]["director1"]["lvs_lab_disks"] == []


def test_ansible_reads_the_inventory(rendered, default_topology, tmp_path):
    ansible_inventory = Path(sys.executable).parent / "ansible-inventory"
    if not ansible_inventory.exists():
        pytest.fail(f"{ansible_inventory} is missing: run 'make venv'")
    path = tmp_path / "inventory.yml"
    path.write_text(rendered)
    result = subprocess.run([str(ansible_inventory), "-i", str(path), "--list"], capture_output=True, text=True,
                            check=False, cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert sorted(listed["directors"]["hosts"]) == ["director1", "director2"]
    assert sorted(listed["real_servers"]["hosts"]) == ["rs1", "rs2", "rs3"]
    assert listed["_meta"]["hostvars"]["rs3"]["ansible_host"] == "198.18.0.23"
    assert "[WARNING]" not in result.stderr


# --------------------------------------------------------------------------------------------------------
# ssh_config


def ssh_blocks(text):
    blocks, current = {}, None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, _, value = line.strip().partition(" ")
        if key == "Host":
            current = blocks.setdefault(value, {})
            assert line == line.lstrip(), "Host lines start in column 0"
        else:
            assert current is not None and line.startswith("    "), line
            current[key] = value
    return blocks


def test_ssh_config_has_one_block_per_guest(default_topology):
    text = inventory.render_ssh_config(default_topology, LAB, KEY, KNOWN_HOSTS)
    assert text.count("\nHost ") == len(default_topology.hosts)
    blocks = ssh_blocks(text)
    assert list(blocks) == [h.name for h in default_topology.hosts]
    for h in default_topology.hosts:
        block = blocks[h.name]
        assert block["HostName"] == str(default_topology.management_address(h))
        assert block["User"] == "root"
        assert block["IdentityFile"] == str(KEY)
        assert block["ProxyCommand"].endswith(" lvslab-pytest-unit %h %p")
        assert block["UserKnownHostsFile"] == str(KNOWN_HOSTS)
        assert block["StrictHostKeyChecking"] == "yes"


def test_openssh_reads_the_ssh_config(default_topology, tmp_path):
    """'ssh -G' resolves the configuration without connecting anywhere."""
    if shutil.which("ssh") is None:
        pytest.fail("the OpenSSH client (ssh) is missing on this machine")
    path = tmp_path / "ssh_config"
    path.write_text(inventory.render_ssh_config(default_topology, LAB, KEY, tmp_path / "known_hosts"))
    result = subprocess.run(["ssh", "-F", str(path), "-G", "rs3"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    resolved = {}
    for line in result.stdout.splitlines():
        key, _, value = line.partition(" ")
        resolved.setdefault(key, value)
    assert resolved["hostname"] == "198.18.0.23"
    assert resolved["user"] == "root"
    assert resolved["identityfile"] == str(KEY)
    assert resolved["stricthostkeychecking"] in ("true", "yes")
    assert resolved["proxycommand"].endswith("netns_proxy.py lvslab-pytest-unit %h %p")


# --------------------------------------------------------------------------------------------------------
# known_hosts, molecule


@pytest.mark.parametrize("public_key", [
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey root@rs1\n",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey",
    "ssh-ed25519   AAAAC3NzaC1lZDI1NTE5AAAAIKey   comment with words\n",
])
def test_known_hosts_line(public_key):
    assert inventory.known_hosts_line("198.18.0.21", public_key) == "198.18.0.21 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey\n"


def test_known_hosts_line_takes_an_address_object():
    import ipaddress

    line = inventory.known_hosts_line(ipaddress.ip_address("198.18.0.11"), "ssh-ed25519 AAAA x\n")
    assert line == "198.18.0.11 ssh-ed25519 AAAA\n"


def test_molecule_instance_config(default_topology):
    config = inventory.molecule_instance_config(default_topology, LAB, KEY)
    assert [c["instance"] for c in config] == [h.name for h in default_topology.hosts]
    for entry, h in zip(config, default_topology.hosts):
        assert entry == {"instance": h.name, "address": str(default_topology.management_address(h)), "user": "root",
                         "port": 22, "identity_file": str(KEY)}
    # It must survive the YAML round trip the command line does.
    assert yaml.safe_load(yaml.safe_dump(config, sort_keys=False)) == config
