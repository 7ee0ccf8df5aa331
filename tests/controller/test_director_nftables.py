"""The director role's nftables rules (the default netfilter backend) against a real kernel.

The lab's UML kernel has nf_tables without the ip/ip6/inet families, so the lab runs the iptables backend and
no Molecule scenario can load these rules. Here the role's template is rendered for the lab cluster's directors
(firewall on, the lab's data model: DR, TUN, NAT, IPv6 and firewall-mark services) on the controller, and each
file is loaded with nft into this host's kernel inside a network namespace of its own (``unshare --net``), which
disappears with the command: nothing reaches the host's own rules.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

from lvs_lab import inventory, topology  # noqa: E402

COLLECTION = ROOT / "build/ansible_collections/lvs/cluster"
PLAYBOOK = Path(__file__).with_name("director_nftables.yml")
NFT = shutil.which("nft") or "/usr/sbin/nft"


def in_own_netns(*command, stdin=None):
    return subprocess.run(["unshare", "--net", *command], input=stdin, capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """{director: path of its rendered rules}, for the lab's default topology and data model."""
    assert COLLECTION.is_dir(), "run `make collection` first (the test uses the built collection)"
    work = tmp_path_factory.mktemp("nft")
    lab_topology = topology.load(ROOT / "tools/lvs_lab/topologies/default.yml")
    hosts = work / "hosts.yml"
    hosts.write_text(inventory.render_inventory(lab_topology, "nfttest", work / "no-key", work / "no-known-hosts"))
    out = work / "out"
    out.mkdir()
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    result = subprocess.run(
        [str(ROOT / ".venv/bin/ansible-playbook"), "-i", str(hosts), "-i", str(ROOT / "inventory/lab"),
         str(PLAYBOOK), "-e", "ansible_connection=local", "-e", "ansible_python_interpreter=" + sys.executable,
         "-e", "lvs_director_netfilter_backend=nftables", "-e", "lvs_director_pyroute2_source=none",
         "-e", "director_templates=" + str(COLLECTION / "roles/director/templates"), "-e", "nft_out=" + str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    files = {path.stem: path for path in sorted(out.glob("*.nft"))}
    assert set(files) == {"director1", "director2"}, files
    return files


def loaded_table(path):
    """Load the rules into a fresh kernel namespace and return the table as nft lists it (JSON)."""
    result = in_own_netns("sh", "-c", '"$0" -f "$1" && "$0" -j list table inet lvs_director', NFT, str(path))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["nftables"]


def rules_of(table, chain):
    return [item["rule"] for item in table if "rule" in item and item["rule"]["chain"] == chain]


def test_nft_refuses_a_broken_file(tmp_path):
    """The check below can fail: the same nft, in the same kind of namespace, rejects a file with one bad rule."""
    broken = tmp_path / "broken.nft"
    broken.write_text("table inet lvs_director {\n chain input {\n  type filter hook input priority filter;\n"
                      "  ip saddr 198.18.0.0/33 tcp dport 22 accept\n }\n}\n")
    result = in_own_netns(NFT, "-c", "-f", str(broken))
    assert result.returncode != 0
    assert "198.18.0.0/33" in result.stderr


@pytest.mark.parametrize("director", ["director1", "director2"])
def test_the_rules_load_into_the_kernel(rendered, director):
    check = in_own_netns(NFT, "-c", "-f", str(rendered[director]))
    assert check.returncode == 0, check.stderr
    table = loaded_table(rendered[director])
    chains = {item["chain"]["name"]: item["chain"] for item in table if "chain" in item}
    assert set(chains) == {"mark_services", "input", "forward"}
    assert chains["input"]["policy"] == "drop" and chains["input"]["hook"] == "input"
    assert chains["forward"]["policy"] == "drop" and chains["forward"]["hook"] == "forward"
    assert chains["mark_services"]["hook"] == "prerouting"


@pytest.mark.parametrize("director", ["director1", "director2"])
def test_the_loaded_rules_say_what_the_lab_model_asks(rendered, director):
    table = loaded_table(rendered[director])
    text = in_own_netns("sh", "-c", '"$0" -f "$1" && "$0" list table inet lvs_director', NFT,
                        str(rendered[director])).stdout
    assert text, "nft listed nothing"
    # web-fwmark: TCP 80 and 8080 to 198.51.100.103 get mark 10, and marked packets are admitted.
    assert "ip daddr 198.51.100.103 tcp dport { 80, 8080 } meta mark set 0x0000000a" in text
    assert "meta mark 0x0000000a accept" in text
    # Every VIP of the model is admitted on its port, IPv6 included.
    for vip in ("ip daddr 198.51.100.100 tcp dport 80 accept", "ip daddr 198.51.100.101 tcp dport 80 accept",
                "ip daddr 198.51.100.102 tcp dport 8080 accept", "ip6 daddr 2001:db8:100::100 tcp dport 80 accept"):
        assert vip in text
    # SSH from the lab's admin network only.
    assert "ip saddr 198.18.0.0/24 tcp dport 22 accept" in text
    assert text.count("tcp dport 22 accept") == 1
    # VRRP and IPVS sync only from the other director (unicast peers).
    peer = {"director1": "director2", "director2": "director1"}[director]
    number = peer[-1]
    assert 'iifname "eth1" ip saddr 198.51.100.1%s ip protocol vrrp accept' % number in text
    assert "ip saddr { 198.18.1.1%s, 198.51.100.1%s } udp dport 8848 accept" % (number, number) in text \
        or "ip saddr { 198.51.100.1%s, 198.18.1.1%s } udp dport 8848 accept" % (number, number) in text
    assert len(rules_of(table, "forward")) >= 3
