# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""VRRP advertisements (RFC 3768 version 2, RFC 5798 version 3, IPv4) built by hand, for spoofing tests.

Used as a module (the controller test of the nftables rules) and as a script run in the lab namespace by the
cluster_dr scenario:

    python3 vrrp_advert.py --device br-front --source 198.51.100.1 --to 198.51.100.11 --to 224.0.0.18 \
        --vrid 51 --priority 255 --version 3 --vip 198.51.100.100 --count 20 --every 0.2

Each packet is a complete IPv4 datagram (IP protocol 112, TTL 255 as VRRP requires) written to a raw socket with
IP_HDRINCL, so the source address can be any address (another host's: that is the point); with --ether-to, as
an Ethernet frame to that MAC address through a packet socket on --device, so the destination address need not
be routed through that device (a peer's address forged on the wrong segment). Only the standard library: the
controller's virtualenv has no scapy. Prints one JSON line: the packets sent to each destination.
"""
import argparse
import ipaddress
import json
import socket
import struct
import sys
import time

IPPROTO_VRRP = 112
VRRP_MULTICAST = "224.0.0.18"


def checksum(data):
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def advert(version, vrid, priority, vips, interval, source, destination, auth_pass=""):
    """The VRRP message (without IP header). Version 3: the checksum covers an IPv4 pseudo-header (source,
    destination, protocol 112, length) as for UDP, the interval is in centiseconds (12 bits). Version 2: the
    checksum covers the message alone, the interval is in seconds, an 8-byte authentication field follows the
    addresses (type 1, simple text password, when ``auth_pass`` is given)."""
    addresses = b"".join(ipaddress.IPv4Address(a).packed for a in vips)
    if version == 3:
        head = struct.pack("!BBBBH", 0x31, vrid, priority, len(vips), int(round(interval * 100)) & 0x0FFF)
        message = head + b"\0\0" + addresses
        pseudo = (ipaddress.IPv4Address(source).packed + ipaddress.IPv4Address(destination).packed
                  + struct.pack("!BBH", 0, IPPROTO_VRRP, len(message)))
        value = checksum(pseudo + message)
    elif version == 2:
        auth = auth_pass.encode()[:8].ljust(8, b"\0")
        head = struct.pack("!BBBBBB", 0x21, vrid, priority, len(vips), 1 if auth_pass else 0,
                           max(1, int(round(interval))))
        message = head + b"\0\0" + addresses + auth
        value = checksum(message)
    else:
        raise ValueError("VRRP version 2 or 3, not %r" % version)
    return message[:6] + struct.pack("!H", value) + message[8:]


def ipv4(source, destination, payload, protocol=IPPROTO_VRRP, ttl=255):
    """A whole IPv4 datagram around ``payload`` (header checksum computed here)."""
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0xC0, 20 + len(payload), 0, 0x4000, ttl, protocol, 0,
                         ipaddress.IPv4Address(source).packed, ipaddress.IPv4Address(destination).packed)
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + payload


def udp(source, destination, sport, dport, data):
    """A UDP datagram (with its pseudo-header checksum) for ``ipv4(..., protocol=17)``."""
    length = 8 + len(data)
    pseudo = (ipaddress.IPv4Address(source).packed + ipaddress.IPv4Address(destination).packed
              + struct.pack("!BBH", 0, 17, length))
    value = checksum(pseudo + struct.pack("!HHHH", sport, dport, length, 0) + data) or 0xFFFF
    return struct.pack("!HHHH", sport, dport, length, value) + data


def raw_socket(device=None):
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)  # IPPROTO_RAW implies IP_HDRINCL
    if device:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device.encode())
    return sock


class EtherSocket(object):
    """Sends whole IPv4 datagrams as Ethernet frames to one MAC address out of ``device``."""

    def __init__(self, device, destination_mac):
        with open("/sys/class/net/%s/address" % device) as handle:
            source_mac = handle.read().strip()
        self.header = (bytes.fromhex(destination_mac.replace(":", "")) + bytes.fromhex(source_mac.replace(":", ""))
                       + b"\x08\x00")
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        self.sock.bind((device, 0))

    def sendto(self, packet, _address):
        self.sock.send(self.header + packet)

    def close(self):
        self.sock.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", help="send out of this interface (SO_BINDTODEVICE)")
    parser.add_argument("--ether-to", help="send as Ethernet frames to this MAC address (needs --device)")
    parser.add_argument("--source", required=True, help="the IPv4 source address written into the packets")
    parser.add_argument("--to", action="append", required=True, help="a destination (repeat)")
    parser.add_argument("--vrid", type=int, required=True)
    parser.add_argument("--priority", type=int, default=255)
    parser.add_argument("--version", type=int, default=3, choices=[2, 3])
    parser.add_argument("--interval", type=float, default=1.0, help="the advertisement interval announced (s)")
    parser.add_argument("--vip", action="append", default=[], help="a virtual address announced (repeat)")
    parser.add_argument("--auth-pass", default="")
    parser.add_argument("--sync-port", type=int, default=0,
                        help="also send one junk UDP datagram to this port (the IPVS sync daemon's) per round")
    parser.add_argument("--count", type=int, default=10, help="rounds (at most 200)")
    parser.add_argument("--every", type=float, default=0.2, help="seconds between rounds (at least 0.05)")
    arguments = parser.parse_args(argv)
    count, every = min(arguments.count, 200), max(arguments.every, 0.05)
    sock = EtherSocket(arguments.device, arguments.ether_to) if arguments.ether_to else raw_socket(arguments.device)
    sent = {}
    try:
        for round_number in range(count):
            for destination in arguments.to:
                packet = ipv4(arguments.source, destination,
                              advert(arguments.version, arguments.vrid, arguments.priority, arguments.vip,
                                     arguments.interval, arguments.source, destination, arguments.auth_pass))
                sock.sendto(packet, (destination, 0))
                sent["vrrp " + destination] = sent.get("vrrp " + destination, 0) + 1
                if arguments.sync_port and not ipaddress.IPv4Address(destination).is_multicast:
                    datagram = udp(arguments.source, destination, arguments.sync_port, arguments.sync_port,
                                   b"\0" * 16)
                    sock.sendto(ipv4(arguments.source, destination, datagram, protocol=17, ttl=1),
                                (destination, 0))
                    sent["sync " + destination] = sent.get("sync " + destination, 0) + 1
            if round_number + 1 < count:
                time.sleep(every)
    finally:
        sock.close()
    print(json.dumps(sent, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
