# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who answers address resolution for an address on a lab bridge: run inside the lab namespace (the client side).

    neighbours.py BRIDGE ADDRESS [SECONDS]

IPv4: broadcasts an ARP request for ADDRESS on BRIDGE from a raw packet socket and collects every ARP reply.
IPv6: sends a neighbour solicitation to ADDRESS's solicited-node multicast group and collects every neighbour
advertisement for it. Prints the answering MAC addresses as a JSON list, one entry per reply (duplicates kept,
so a second responder cannot hide). Standard library only: the host has neither arping nor ndisc6.
"""

import ipaddress
import json
import socket
import struct
import sys
import time

ETH_P_ARP = 0x0806


def mac_text(raw):
    return ":".join("%02x" % b for b in raw)


def own_ipv4(bridge):
    import fcntl  # pylint: disable=import-outside-toplevel
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    request = struct.pack("256s", bridge.encode()[:15])
    return fcntl.ioctl(probe.fileno(), 0x8915, request)[20:24]  # SIOCGIFADDR


def arp(bridge, address, seconds):
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
    sock.bind((bridge, ETH_P_ARP))
    mac = sock.getsockname()[4]
    target = socket.inet_aton(address)
    frame = b"\xff" * 6 + mac + struct.pack("!H", ETH_P_ARP)
    frame += struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + own_ipv4(bridge) + b"\x00" * 6 + target
    sock.send(frame)
    answers = []
    deadline = time.time() + seconds
    while time.time() < deadline:
        sock.settimeout(max(0.01, deadline - time.time()))
        try:
            packet = sock.recv(2048)
        except socket.timeout:
            break
        op = struct.unpack("!H", packet[20:22])[0]
        if op == 2 and packet[28:32] == target:
            answers.append(mac_text(packet[22:28]))
    return answers


def ndp(bridge, address, seconds):
    target = ipaddress.IPv6Address(address)
    group = ipaddress.IPv6Address("ff02::1:ff00:0") + (int(target) & 0xFFFFFF)
    index = socket.if_nametoindex(bridge)
    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
    with open("/sys/class/net/%s/address" % bridge) as handle:
        mac = bytes(int(part, 16) for part in handle.read().strip().split(":"))
    # Type 135, code 0, checksum (the kernel computes it for raw ICMPv6 sockets), reserved, target, source LL option.
    message = struct.pack("!BBHI", 135, 0, 0, 0) + target.packed + struct.pack("!BB", 1, 1) + mac
    sock.sendto(message, (str(group), 0, 0, index))
    answers = []
    deadline = time.time() + seconds
    while time.time() < deadline:
        sock.settimeout(max(0.01, deadline - time.time()))
        try:
            packet = sock.recv(2048)
        except socket.timeout:
            break
        if packet[0] != 136 or packet[8:24] != target.packed:
            continue
        options = packet[24:]
        while len(options) >= 8 and options[1]:
            if options[0] == 2:  # target link-layer address
                answers.append(mac_text(options[2:8]))
            options = options[options[1] * 8:]
    return answers


def main():
    bridge, address = sys.argv[1], sys.argv[2]
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 1.5
    version = ipaddress.ip_address(address).version
    print(json.dumps((arp if version == 4 else ndp)(bridge, address, seconds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
