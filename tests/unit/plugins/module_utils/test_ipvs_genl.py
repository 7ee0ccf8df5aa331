# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The generic netlink family lookup of the bulk path (_ipvs_netlink._GenericSocket), without pyroute2's socket:
the request's bytes, the reply's decoding, errors, and the hand-over of other requests to a pyroute2 socket."""

from __future__ import annotations

import errno
import socket
import struct

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_netlink as nl


def reply(family_id, seq=1, name=b"IPVS\0"):
    """A CTRL_CMD_NEWFAMILY reply as the kernel sends it: name first, then the id (u16, padded)."""
    name_attr = struct.pack("=HH", 4 + len(name), nl.CTRL_ATTR_FAMILY_NAME) + name + b"\0" * (-len(name) % 4)
    id_attr = struct.pack("=HHH2x", 6, nl.CTRL_ATTR_FAMILY_ID, family_id)
    body = name_attr + id_attr
    return struct.pack("=IHHIIBBH", 20 + len(body), nl.GENL_ID_CTRL, 0, seq, 1234, 1, 2, 0) + body


def error(code, seq=1):
    return struct.pack("=IHHIIi", 36, nl.NLMSG_ERROR, 0, seq, 1234, -code) + b"\0" * 16


def test_getfamily_request_bytes():
    data = nl.encode_getfamily("IPVS", 7)
    # nlmsghdr: length 28, GENL_ID_CTRL, NLM_F_REQUEST, seq 7, pid 0; genlmsghdr: GETFAMILY v1; "IPVS\0" padded
    assert data == (struct.pack("=IHHII", 32, 0x10, 1, 7, 0) + bytes([3, 1, 0, 0])
                    + struct.pack("=HH", 9, 2) + b"IPVS\0\0\0\0")
    assert len(data) == 32


def test_family_id_is_decoded():
    assert nl.decode_family_id(reply(0x2A)) == 0x2A


@pytest.mark.parametrize("data, code", [(error(errno.ENOENT), errno.ENOENT), (error(errno.EPERM), errno.EPERM),
                                        (reply(1)[:12], errno.EIO), (reply(1)[:24], errno.EIO)])
def test_error_replies_raise_oserror_with_the_code(data, code):
    with pytest.raises(OSError) as exc:
        nl.decode_family_id(data)
    assert exc.value.errno == code


class FakeNetlink(object):
    """Stands in for socket.socket(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC)."""

    def __init__(self, replies):
        self.replies = list(replies)
        self.sent = []
        self.bound = None
        self.closed = False

    def bind(self, address):
        self.bound = address

    def settimeout(self, value):
        self.timeout = value

    def send(self, data):
        self.sent.append(data)

    def recv(self, size):
        return self.replies.pop(0)

    def fileno(self):
        return 99

    def close(self):
        self.closed = True


class FakePyroute2(object):
    prid = 0x2A

    def __init__(self):
        self.calls = []
        self.closed = False

    def bind(self, name, msg_class):
        self.calls.append(("bind", name, msg_class))

    def nlm_request(self, msg, msg_type, msg_flags):
        self.calls.append(("request", msg, msg_type, msg_flags))
        return ["reply"]

    def close(self):
        self.closed = True


@pytest.fixture
def sockets(monkeypatch):
    made = {"raw": [], "pyroute2": []}

    def raw(family, kind, proto):
        assert (family, kind, proto) == (socket.AF_NETLINK, socket.SOCK_RAW, nl.NETLINK_GENERIC)
        made["raw"].append(FakeNetlink(made.pop("replies", [reply(0x2A)])))
        return made["raw"][-1]

    def pyroute2():
        made["pyroute2"].append(FakePyroute2())
        return made["pyroute2"][-1]

    monkeypatch.setattr(nl.socket, "socket", raw)
    monkeypatch.setattr(nl, "_pyroute2_socket", pyroute2)
    return made


def test_bind_resolves_the_family_without_pyroute2(sockets):
    sock = nl._GenericSocket()
    sock.bind("IPVS", nl.ipvs_msg)
    raw = sockets["raw"][0]
    assert sock.prid == 0x2A and raw.bound == (0, 0) and raw.sent == [nl.encode_getfamily("IPVS", 1)]
    assert sockets["pyroute2"] == [] and sock.fileno() == 99
    sock.close()
    assert raw.closed


def test_other_requests_go_through_one_pyroute2_socket_made_on_first_use(sockets):
    sock = nl._GenericSocket()
    sock.bind("IPVS", nl.ipvs_msg)
    assert sock.nlm_request("m1", 0x2A, 5) == ["reply"] and sock.nlm_request("m2", 0x2A, 5) == ["reply"]
    (helper,) = sockets["pyroute2"]
    assert helper.calls == [("bind", "IPVS", nl.ipvs_msg), ("request", "m1", 0x2A, 5), ("request", "m2", 0x2A, 5)]
    sock.close()
    assert helper.closed and sockets["raw"][0].closed


def test_a_missing_family_is_ipvs_not_loaded(sockets):
    sockets["replies"] = [error(errno.ENOENT)]
    client = nl.IPVSNetlink()
    with pytest.raises(nl.IPVSNotLoaded):
        client.open()
    assert sockets["raw"][0].closed


def test_a_refusal_names_what_was_done(sockets):
    sockets["replies"] = [error(errno.EPERM)]
    with pytest.raises(nl.IPVSPermissionError) as exc:
        nl.IPVSNetlink().open()
    assert "looking up the IPVS generic netlink family" in str(exc.value)
