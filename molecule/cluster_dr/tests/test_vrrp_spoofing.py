"""Issue 13: only the other director can move the VIPs.

A third machine on the front segment (the lab namespace, 198.51.100.1 on br-front) sends VRRP adverts with
priority 255 for instance `front` (the same version, router id, interval and addresses as the real ones, copied
from a captured advert; correct checksum, IP protocol 112, TTL 255), unicast to each director and to the
multicast group 224.0.0.18, plus junk to the IPVS sync port, while a bounded client load runs through the VIP.
Then the same adverts with a peer's address as the source: arriving on the wrong interface (the back network),
the peer's back address arriving on the front, and (Ethernet frames on the back segment to a director's back MAC
address) the peer's front address to the director's front address: the very flow the peers' own adverts made
"established" in conntrack, arriving on the wrong interface. The VIP must stay where it is, no request may fail, and the
directors' drop counters (the firewall's `-p 112 -j DROP` and sync-port drop in LVS-DIRECTOR-IN) must have seen
every unicast packet.

Packets are built by molecule/_lab/vrrp_advert.py and sent in the lab namespace through `tools/lvs-lab exec`,
only to lab addresses (198.51.100.0/24, 198.18.1.0/24) and the VRRP group on the lab's own bridges.
"""
import json
import os
import re
import struct
import subprocess
import sys
import time

import testinfra.utils.ansible_runner

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "_lab"))
import labtest  # noqa: E402  pylint: disable=wrong-import-position
import vrrp_advert  # noqa: E402  pylint: disable=wrong-import-position
from labtest import host  # noqa: E402  pylint: disable=wrong-import-position

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts("directors")

LAB = labtest.lab("dr")
SENDER = os.path.join(os.path.dirname(os.path.abspath(vrrp_advert.__file__)), "vrrp_advert.py")
VIP, FRONT_IF = "198.51.100.100", "eth1"
DIRECTORS = ("director1", "director2")
FRONT = {"director1": "198.51.100.11", "director2": "198.51.100.12"}
BACK = {"director1": "198.18.1.11", "director2": "198.18.1.12"}
SYNC_PORT = 8848
ROUNDS, EVERY = 25, 0.2  # 5 s of adverts per phase: longer than the master-down interval (about 3.6 s)
LOAD_REQUESTS = 80

# Run on a director: one VRRP advert received from the other director (a raw socket sees it after the firewall).
CAPTURE = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
s.settimeout(5)
while True:
    data, (source, _port) = s.recvfrom(2048)
    if source == sys.argv[1]:
        print(data.hex())
        break
"""


def other(name):
    return [d for d in DIRECTORS if d != name][0]


def holders():
    return [name for name in DIRECTORS if VIP in host(name).check_output("ip -o address show dev %s" % FRONT_IF)]


def transitions(name, since):
    lines = host(name).check_output("journalctl -t lvs-keepalived --since @%s -o cat --no-pager" % since)
    return re.findall(r"vrrp instance front is now (\w+)", lines)


def drop_counters(name):
    """(VRRP packets, sync packets) dropped by the role's catch-all rules in LVS-DIRECTOR-IN."""
    vrrp = sync = None
    for line in host(name).check_output("iptables-legacy -L LVS-DIRECTOR-IN -v -x -n").splitlines()[2:]:
        fields = line.split()
        # pkts bytes target prot opt in out source destination [match]
        if len(fields) >= 9 and fields[2] == "DROP" and fields[5] == "*" and fields[7] == "0.0.0.0/0":
            if fields[3] in ("112", "vrrp"):
                vrrp = int(fields[0])
            elif fields[3] in ("udp", "17") and "dpt:%d" % SYNC_PORT in line:
                sync = int(fields[0])
    assert vrrp is not None and sync is not None, "no VRRP/sync drop rule in LVS-DIRECTOR-IN on %s" % name
    return vrrp, sync


def real_advert(master):
    """A real advert of instance front, from the master as the backup receives it: the VRRP message (bytes)."""
    ip_packet = bytes.fromhex(host(other(master)).check_output(
        "timeout 10 python3 -c '%s' %s" % (CAPTURE, FRONT[master])))
    header_length = (ip_packet[0] & 0x0F) * 4
    assert ip_packet[8] == 255, "VRRP adverts go out with TTL 255"
    return ip_packet[header_length:]


def parse(message):
    version, vrid, priority, count = message[0] >> 4, message[1], message[2], message[3]
    if version == 3:
        interval = (struct.unpack("!H", message[4:6])[0] & 0x0FFF) / 100.0
    else:
        interval = float(message[5])
    vips = [".".join(str(b) for b in message[8 + 4 * i:12 + 4 * i]) for i in range(count)]
    return {"version": version, "vrid": vrid, "priority": priority, "interval": interval, "vips": vips}


def send(device, source, destinations, advert, rounds=ROUNDS, ether_to=None):
    command = ["python3", SENDER] + (["--ether-to", ether_to] if ether_to else [])
    command += ["--device", device, "--source", source, "--vrid", str(advert["vrid"]), "--priority", "255",
                "--version", str(advert["version"]), "--interval", str(advert["interval"]),
                "--sync-port", str(SYNC_PORT), "--count", str(rounds), "--every", str(EVERY)]
    for destination in destinations:
        command += ["--to", destination]
    for vip in advert["vips"]:
        command += ["--vip", vip]
    return json.loads(labtest.client(LAB, *command, timeout=60).strip().splitlines()[-1])


def test_the_crafted_advert_is_what_keepalived_sends():
    """The tool's adverts are real ones: rebuilt with the captured fields, a captured advert comes out byte for
    byte (version, interval, addresses, checksum over the pseudo-header with the unicast destination)."""
    master = holders()[0]
    message = real_advert(master)
    fields = parse(message)
    rebuilt = vrrp_advert.advert(fields["version"], fields["vrid"], fields["priority"], fields["vips"],
                                 fields["interval"], FRONT[master], FRONT[other(master)])
    assert rebuilt == message, (fields, message.hex(), rebuilt.hex())
    assert fields["vrid"] == 51 and VIP in fields["vips"]


def test_spoofed_adverts_do_not_move_the_vip_and_are_dropped():
    master = holders()
    assert len(master) == 1, master
    master = master[0]
    advert = parse(real_advert(master))
    since = dict((name, host(name).check_output("date +%s.%N")) for name in DIRECTORS)
    addresses = dict((name, host(name).check_output("ip -br addr")) for name in DIRECTORS)
    counters = dict((name, drop_counters(name)) for name in DIRECTORS)
    macs = dict((name, host(name).file("/sys/class/net/eth2/address").content_string.strip()) for name in DIRECTORS)
    # The client load: bounded in count and time (each request at most 3 s).
    load = subprocess.Popen(
        [labtest.LVS_LAB, "exec", "--name", LAB, "--", "sh", "-c",
         'for i in $(seq %d); do curl -s -o /dev/null -m 3 -w "%%{http_code}\\n" http://%s/; sleep 0.2; done'
         % (LOAD_REQUESTS, VIP)],
        stdout=subprocess.PIPE, universal_newlines=True)
    try:
        sent = {}
        # Another host on the front segment, unicast to both directors and to the VRRP group.
        sent.update(send("br-front", "198.51.100.1", [FRONT["director1"], FRONT["director2"], "224.0.0.18"],
                         advert))
        # A peer's front address arriving on the back interface (each director's other's address).
        sent.update(send("br-back", FRONT["director2"], [BACK["director1"]], advert))
        sent.update(send("br-back", FRONT["director1"], [BACK["director2"]], advert))
        # A peer's back address arriving on the front interface.
        sent.update(send("br-front", BACK["director2"], [FRONT["director1"]], advert))
        sent.update(send("br-front", BACK["director1"], [FRONT["director2"]], advert))
        # A peer's front address to the director's front address, on the back segment (conntrack's "established"
        # flow of the peers' adverts, on the wrong interface).
        for name in DIRECTORS:
            sent.update(send("br-back", FRONT[other(name)], [FRONT[name]], advert, ether_to=macs[name]))
        time.sleep(2)
    finally:
        answers, _err = load.communicate(timeout=LOAD_REQUESTS * 4)
    codes = answers.split()
    assert len(codes) == LOAD_REQUESTS and set(codes) == {"200"}, "requests failed: %s" % codes
    assert holders() == [master], "the VIP moved"
    for name in DIRECTORS:
        assert transitions(name, since[name]) == [], "%s changed VRRP state" % name
        assert host(name).check_output("ip -br addr") == addresses[name], "%s's addresses changed" % name
        vrrp, sync = drop_counters(name)
        # From another host; the peer's front address to the back address; the peer's back address on the front;
        # the peer's front address to the front address on the back segment. (Multicast to 224.0.0.18 never
        # reaches the input chain: unicast instances do not join the group.)
        unicast = 4 * ROUNDS
        assert vrrp - counters[name][0] >= unicast, (name, sent, counters[name], (vrrp, sync))
        assert sync - counters[name][1] >= unicast, (name, sent, counters[name], (vrrp, sync))
    # Still the sync daemons of a healthy pair: nothing was learnt from the junk.
    for name in DIRECTORS:
        role = "master" if name == master else "backup"
        assert "%s sync daemon (mcast=eth1" % role in host(name).check_output("ipvsadm -Ln --daemon")
