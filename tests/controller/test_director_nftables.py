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


def render_rules(work, *extra_vars):
    """{director: path of its rendered rules}, for the lab's default topology and data model (plus extra_vars,
    given on the command line as key=value: strings, as a user would give them)."""
    assert COLLECTION.is_dir(), "run `make collection` first (the test uses the built collection)"
    lab_topology = topology.load(ROOT / "tools/lvs_lab/topologies/default.yml")
    hosts = work / "hosts.yml"
    hosts.write_text(inventory.render_inventory(lab_topology, "nfttest", work / "no-key", work / "no-known-hosts"))
    out = work / "out"
    out.mkdir()
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    command = [str(ROOT / ".venv/bin/ansible-playbook"), "-i", str(hosts), "-i", str(ROOT / "inventory/lab"),
               str(PLAYBOOK), "-e", "ansible_connection=local", "-e", "ansible_python_interpreter=" + sys.executable,
               "-e", "lvs_director_netfilter_backend=nftables", "-e", "lvs_director_pyroute2_source=none",
               "-e", "director_templates=" + str(COLLECTION / "roles/director/templates"), "-e", "nft_out=" + str(out)]
    for extra in extra_vars:
        command += ["-e", extra]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    files = {path.stem: path for path in sorted(out.glob("*.nft"))}
    assert set(files) == {"director1", "director2"}, files
    return files


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """{director: path of its rendered rules}, for the lab's default topology and data model (firewall on)."""
    return render_rules(tmp_path_factory.mktemp("nft"))


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
    # VRRP only from the other director, each instance on its own interface; IPVS sync only from the other
    # director on the sync interface (the first instance's, eth1); everything else of both counted and dropped.
    peer = {"director1": "director2", "director2": "director1"}[director]
    number = peer[-1]
    assert 'iifname "eth1" ip saddr 198.51.100.1%s ip protocol vrrp accept' % number in text
    assert 'iifname "eth2" ip saddr 198.18.1.1%s ip protocol vrrp accept' % number in text
    assert text.count("vrrp accept") == 2
    assert 'meta l4proto vrrp counter packets 0 bytes 0 drop comment "vrrp-not-from-a-peer"' in text
    assert 'iifname "eth1" ip saddr 198.51.100.1%s udp dport 8848 accept' % number in text
    assert text.count("udp dport 8848 accept") == 1
    assert 'udp dport 8848 counter packets 0 bytes 0 drop comment "sync-not-from-a-peer"' in text
    # The drops come after every accept of VRRP and sync, and all of them before the conntrack rule: the peers'
    # VRRP flow is established in conntrack, which knows no interfaces.
    assert text.index("vrrp-not-from-a-peer") > text.rindex("vrrp accept")
    assert text.index("sync-not-from-a-peer") > text.rindex("udp dport 8848 accept")
    assert text.index("sync-not-from-a-peer") < text.index("ct state established,related accept")
    assert len(rules_of(table, "forward")) >= 3


@pytest.mark.parametrize("firewall, sync_daemon", [("false", "true"), ("no", "false"), ("0", "off")])
def test_booleans_given_as_strings_are_honoured(tmp_path, firewall, sync_daemon):
    """-e lvs_director_firewall=false arrives as the string "false" (argument validation does not convert it):
    the firewall must stay off, leaving only the marking chain; likewise the sync daemon's rule follows
    lvs_director_sync_daemon=false, and stays with a true one."""
    files = render_rules(tmp_path, "lvs_director_firewall=" + firewall, "lvs_director_sync_daemon=" + sync_daemon)
    for path in files.values():
        table = loaded_table(path)
        chains = {item["chain"]["name"] for item in table if "chain" in item}
        assert chains == {"mark_services"}, chains
        text = path.read_text()
        assert "policy drop" not in text
        assert "tcp dport { 80, 8080 } meta mark set 10" in text
    (tmp_path / "on").mkdir()
    on = render_rules(tmp_path / "on", "lvs_director_firewall=true", "lvs_director_sync_daemon=" + sync_daemon)
    text = on["director1"].read_text()
    assert "chain input" in text
    assert ("udp dport 8848 accept" in text) is (sync_daemon == "true")


# ---------------------------------------------------------------------------------------------------------------
# What the loaded rules do to packets: director1's rules in a namespace of their own ("director", with eth1 on the
# front network and eth0 on the management network, as on the lab guest), clients in two more namespaces: one on
# the management network (198.18.0.0/24, the lab's admin network) and one on the front network. The namespaces
# are this test's own (named with its PID) and are deleted afterwards; only lab ranges are used.

PROBE = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(float(sys.argv[3]))
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    print("open")
except OSError as error:
    print(type(error).__name__)
"""


@pytest.fixture
def director_namespaces(rendered):
    """director1's rules in a namespace with eth0 (management) and eth1 (front), and the client namespaces."""
    yield from _director_namespaces(rendered)


def _director_namespaces(rendered):
    tag = "lvsnft%d" % os.getpid()
    names = {"director": tag + "d", "admin": tag + "a", "front": tag + "f"}

    def ip(*args, namespace=None):
        command = (["ip", "netns", "exec", namespace] if namespace else []) + list(args)
        subprocess.run(command, check=True, capture_output=True, text=True)

    created = []
    listener = None
    try:
        for name in names.values():
            ip("ip", "netns", "add", name)
            created.append(name)
        for peer, inside, outside, address, client in (
                ("admin", "eth0", tag + "m", "198.18.0.11/24", "198.18.0.1/24"),
                ("front", "eth1", tag + "x", "198.51.100.11/24", "198.51.100.1/24")):
            ip("ip", "link", "add", inside, "netns", names["director"], "type", "veth", "peer", "name", outside,
               "netns", names[peer])
            ip("ip", "address", "add", address, "dev", inside, namespace=names["director"])
            ip("ip", "link", "set", inside, "up", namespace=names["director"])
            ip("ip", "address", "add", client, "dev", outside, namespace=names[peer])
            ip("ip", "link", "set", outside, "up", namespace=names[peer])
            ip("ip", "link", "set", "lo", "up", namespace=names[peer])
        ip("ip", "link", "set", "lo", "up", namespace=names["director"])
        # No reverse-path filter: what the test sees dropped, the rules dropped.
        for conf in ("all", "default", "eth0", "eth1"):
            ip("sysctl", "-qw", "net.ipv4.conf.%s.rp_filter=0" % conf, namespace=names["director"])
        ip(NFT, "-f", str(rendered["director1"]), namespace=names["director"])
        # Something listening on SSH's port, and on a port the rules do not admit.
        listener = subprocess.Popen(
            ["ip", "netns", "exec", names["director"], sys.executable, "-c",
             "import socket, time\nsockets = []\nfor port in (22, 2222):\n"
             "    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
             "    s.bind(('0.0.0.0', port)); s.listen(8); sockets.append(s)\n"
             "print('ready', flush=True)\ntime.sleep(60)\n"],
            stdout=subprocess.PIPE, text=True)
        assert listener.stdout.readline().strip() == "ready"
        yield names
    finally:
        if listener is not None:
            listener.kill()
            listener.wait()
        for name in created:
            subprocess.run(["ip", "netns", "delete", name], check=False)


def connect(names, client, address, port, timeout=1.5):
    result = subprocess.run(["ip", "netns", "exec", names[client], sys.executable, "-c", PROBE, address, str(port),
                             str(timeout)], capture_output=True, text=True, check=True)
    return result.stdout.strip()


def test_ssh_is_admitted_from_the_admin_network_only(director_namespaces):
    names = director_namespaces
    assert connect(names, "admin", "198.18.0.11", 22) == "open"
    # From the front network the SYN is dropped (no answer at all: a timeout, not a refusal).
    assert connect(names, "front", "198.51.100.11", 22) == "TimeoutError"
    # A port the rules do not name is dropped from the admin network too.
    assert connect(names, "admin", "198.18.0.11", 2222) == "TimeoutError"


# ---------------------------------------------------------------------------------------------------------------
# VRRP and connection sync only from the peer, on the right interface: adverts (priority 255, VRRPv3 with its
# pseudo-header checksum, TTL 255) built by molecule/_lab/vrrp_advert.py, the lab's spoofing tool, sent from the
# client namespaces; a receiver in the director namespace reports what got through the rules (a raw socket sees
# a packet only after the input hook), and the drop rules' counters what they stopped.

sys.path.insert(0, str(ROOT / "molecule/_lab"))
import vrrp_advert  # noqa: E402  pylint: disable=wrong-import-position

RECEIVER = """
import json, select, socket, sys, time
vrrp = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
sync = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sync.bind(("0.0.0.0", 8848))
print("ready", flush=True)
seen = []
deadline = time.monotonic() + float(sys.argv[1])
while time.monotonic() < deadline:
    ready, _w, _x = select.select([vrrp, sync], [], [], 0.1)
    for sock in ready:
        data, (source, _port) = sock.recvfrom(2048)
        seen.append(["vrrp" if sock is vrrp else "sync", source])
print(json.dumps(seen), flush=True)
"""

SENDER = str(ROOT / "molecule/_lab/vrrp_advert.py")


def drop_counters(names):
    """{comment: packets} of the input chain's counted drops."""
    out = subprocess.run(["ip", "netns", "exec", names["director"], NFT, "-j", "list", "chain", "inet",
                          "lvs_director", "input"], capture_output=True, text=True, check=True).stdout
    counters = {}
    for item in json.loads(out)["nftables"]:
        rule = item.get("rule")
        if rule and rule.get("comment"):
            counters[rule["comment"]] = sum(e["counter"]["packets"] for e in rule["expr"] if "counter" in e)
    return counters


def test_vrrp_checksums_are_rfc_ones():
    """The tool's checksums: a message with its checksum filled in sums to zero (with the v3 pseudo-header)."""
    message = vrrp_advert.advert(3, 51, 255, ["198.51.100.100"], 1.0, "198.51.100.1", "224.0.0.18")
    pseudo = (bytes([198, 51, 100, 1, 224, 0, 0, 18]) + bytes([0, 112, 0, len(message)]))
    assert vrrp_advert.checksum(pseudo + message) == 0
    assert message[:4] == bytes([0x31, 51, 255, 1]) and message[4:6] == bytes([0, 100])
    version2 = vrrp_advert.advert(2, 51, 255, ["198.51.100.100"], 1.0, "198.51.100.1", "224.0.0.18", "secret")
    assert vrrp_advert.checksum(version2) == 0 and version2[-8:] == b"secret\0\0"
    packet = vrrp_advert.ipv4("198.51.100.1", "224.0.0.18", message)
    assert vrrp_advert.checksum(packet[:20]) == 0 and packet[8] == 255 and packet[9] == 112


def test_vrrp_and_sync_only_from_the_peer_on_its_interface(director_namespaces):
    names = director_namespaces
    receiver = subprocess.Popen(["ip", "netns", "exec", names["director"], sys.executable, "-c", RECEIVER, "6"],
                                stdout=subprocess.PIPE, text=True)
    try:
        assert receiver.stdout.readline().strip() == "ready"

        def send(client, source, destination):
            subprocess.run(["ip", "netns", "exec", names[client], sys.executable, SENDER, "--source", source,
                            "--to", destination, "--vrid", "51", "--vip", "198.51.100.100", "--sync-port", "8848",
                            "--count", "3", "--every", "0.05"], check=True, capture_output=True, text=True)

        # Another host on the front segment; the peer's address on the management interface; the peer's address
        # of the other network (back) arriving on the front interface: all dropped. Then the peer itself.
        send("front", "198.51.100.1", "198.51.100.11")
        send("admin", "198.51.100.12", "198.18.0.11")
        send("front", "198.18.1.12", "198.51.100.11")
        send("front", "198.51.100.12", "198.51.100.11")
        seen, _err = receiver.communicate(timeout=15)
    finally:
        if receiver.poll() is None:
            receiver.kill()
            receiver.wait()
    seen = json.loads(seen.strip().splitlines()[-1])
    assert sorted(set(map(tuple, seen))) == [("sync", "198.51.100.12"), ("vrrp", "198.51.100.12")], seen
    assert len(seen) == 6
    assert drop_counters(names) == {"vrrp-not-from-a-peer": 9, "sync-not-from-a-peer": 9}
