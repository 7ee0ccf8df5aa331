# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fake kernel IPVS table behind a fake netlink socket, at the byte level, for the write modules' tests.

``FakeKernel`` stands where the kernel stands: ``IPVSNetlink(socket_factory=kernel, raw_factory=kernel.raw)``
binds a fake pyroute2 socket (family id, and ``nlm_request`` for the few reads that go through pyroute2) and
does its bulk I/O on a fake raw socket. Every request that arrives is decoded with pyroute2 and the collection's
message classes (so the fast encoder's output must parse), then handled with the kernel's rules
(net/netfilter/ipvs/ip_vs_ctl.c, Linux 6.1): EEXIST, ESRCH, ENOENT for unknown schedulers, ERANGE for a lower
threshold above the upper one, EINVAL for other-family real servers without tunnelling, one dump at a time per
socket (EBUSY), an error reply for a failing request whether or not it asked for an ack, an ack only when asked.

With ``read_only=True`` (check mode) any write request fails the test: a proof that nothing was sent.
"""

from __future__ import annotations

import errno
import os
import socket
import struct

from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_netlink as nl
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_keys import raw_destination_key as raw_dest_key
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_keys import raw_service_key as raw_key

PRID = 0x1C
ALL_SCHEDULERS = ("rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "mh", "fo", "ovf")
WRITE_COMMANDS = {
    nl.IPVS_CMD_NEW_SERVICE: "NEW_SERVICE", nl.IPVS_CMD_SET_SERVICE: "SET_SERVICE",
    nl.IPVS_CMD_DEL_SERVICE: "DEL_SERVICE", nl.IPVS_CMD_NEW_DEST: "NEW_DEST", nl.IPVS_CMD_SET_DEST: "SET_DEST",
    nl.IPVS_CMD_DEL_DEST: "DEL_DEST", nl.IPVS_CMD_FLUSH: "FLUSH", nl.IPVS_CMD_ZERO: "ZERO",
    nl.IPVS_CMD_NEW_DAEMON: "NEW_DAEMON", nl.IPVS_CMD_DEL_DAEMON: "DEL_DAEMON", nl.IPVS_CMD_SET_CONFIG: "SET_CONFIG",
}
NAMES = dict(WRITE_COMMANDS)
NAMES.update({nl.IPVS_CMD_GET_SERVICE: "GET_SERVICE", nl.IPVS_CMD_GET_DEST: "GET_DEST",
              nl.IPVS_CMD_GET_DAEMON: "GET_DAEMON", nl.IPVS_CMD_GET_INFO: "GET_INFO", nl.IPVS_CMD_GET_CONFIG: "GET_CONFIG"})


class ReadOnlyViolation(AssertionError):
    pass


class Request(object):
    """One request as the fake kernel received it."""

    def __init__(self, cmd, flags, seq, service, dest, sendto):
        self.cmd = cmd
        self.name = NAMES.get(cmd, str(cmd))
        self.flags = flags
        self.seq = seq
        self.service = service
        self.dest = dest
        self.sendto = sendto  # the number of the sendto() call that carried it
        self.attrs = None  # the decoded request (nla_to_dict), for requests sent through pyroute2
        self.service_key = raw_key(service) if service else None
        self.dest_key = raw_dest_key(dest) if dest else None

    @property
    def acked(self):
        return bool(self.flags & nl.NLM_F_ACK)

    def __repr__(self):
        return "<%s %s %s>" % (self.name, self.service_key, self.dest_key or "")


class FakeKernel(object):
    """The IPVS state of a fake kernel, and the socket factories the client uses."""

    def __init__(self, read_only=False, schedulers=ALL_SCHEDULERS, loaded=True):
        self.read_only = read_only
        self.schedulers = set(schedulers)
        self.engines = {"sip"}
        self.loaded = loaded
        self.services = {}  # key -> {"raw": {...}, "dests": {key: raw}} (insertion order like the kernel's lists)
        self.daemons = []  # attribute lists (IPVS_DAEMON_ATTR_*), as GET_DAEMON sends them
        self.timeouts = {"timeout_tcp": 900, "timeout_tcp_fin": 120, "timeout_udp": 300}
        self.interfaces = {"eth0": 1500, "eth1": 1500, "eth2": 9000}  # name -> MTU
        self.requests = []
        self.sendtos = []  # number of messages per sendto()
        self.fail = {}  # (command name, service key, dest key or None) -> errno to answer
        self.sockets = 0
        self.open_sockets = 0

    # -- the table, as a test sets it up or reads it -----------------------------------------------------------
    def add_service(self, af=socket.AF_INET, protocol=6, addr="198.51.100.100", port=80, fwmark=0, sched="wlc",
                    flags=0, timeout=0, netmask=None, pe_name=None, dests=()):
        raw = {"af": af}
        if fwmark:
            raw["fwmark"] = fwmark
        else:
            raw.update(protocol=protocol, addr=addr, port=port)
        raw.update(sched_name=sched, flags={"flags": flags | nl.IP_VS_SVC_F_HASHED, "mask": 0xFFFFFFFF},
                   timeout=timeout, netmask=(0xFFFFFFFF if af == socket.AF_INET else 128) if netmask is None else netmask)
        if pe_name:
            raw["pe_name"] = pe_name
        entry = {"raw": raw, "dests": {}}
        self.services[raw_key(raw)] = entry
        for dest in dests:
            self.add_dest(raw_key(raw), **dest)
        return raw_key(raw)

    def add_dest(self, service_key, addr, port, af=None, fwd=nl.IP_VS_CONN_F_DROUTE, weight=1, u_thresh=0,
                 l_thresh=0, tun_type=0, tun_port=0, tun_flags=0, active=0):
        service = self.services[service_key]
        raw = {"addr": addr, "port": port, "fwd_method": fwd, "weight": weight, "u_thresh": u_thresh,
               "l_thresh": l_thresh, "tun_type": tun_type, "tun_port": tun_port, "tun_flags": tun_flags,
               "active_conns": active, "inact_conns": 0, "persist_conns": 0,
               "addr_family": af or service["raw"]["af"]}
        service["dests"][raw_dest_key(raw)] = raw

    def table(self):
        """``{service key: (scheduler, flags without hashed, timeout, netmask, pe, {dest key: (...)})}``."""
        result = {}
        for key, entry in self.services.items():
            raw = entry["raw"]
            dests = dict((dkey, (d["fwd_method"], d["weight"], d["u_thresh"], d["l_thresh"], d["tun_type"],
                                 d["tun_port"], d["tun_flags"], d["addr_family"]))
                         for dkey, d in entry["dests"].items())
            result[key] = (raw["sched_name"], raw["flags"]["flags"] & ~nl.IP_VS_SVC_F_HASHED, raw["timeout"],
                           raw["netmask"], raw.get("pe_name") or "", dests)
        return result

    def writes(self):
        return [request for request in self.requests if request.cmd in WRITE_COMMANDS]

    # -- socket factories ----------------------------------------------------------------------------------
    def __call__(self):
        self.sockets += 1
        self.open_sockets += 1
        return _FakeSocket(self)

    def raw(self, sock):
        assert isinstance(sock, _FakeSocket) and sock.prid == PRID
        self.open_sockets += 1
        return FakeRawSocket(self)

    # -- request handling ----------------------------------------------------------------------------------
    def handle_write(self, cmd, service, dest):
        """Apply one write request; 0 or a positive errno, as the kernel's ip_vs_genl_set_cmd."""
        if self.read_only:
            raise ReadOnlyViolation("a %s request was sent in check mode" % NAMES.get(cmd, cmd))
        injected = self.fail.get((NAMES[cmd], raw_key(service), raw_dest_key(dest) if dest else None))
        if injected:
            return injected
        key = raw_key(service)
        entry = self.services.get(key)
        if cmd == nl.IPVS_CMD_NEW_SERVICE:
            if entry is not None:
                return errno.EEXIST
            if service["sched_name"] not in self.schedulers:
                return errno.ENOENT
            if service.get("pe_name") and service["pe_name"] not in self.engines:
                return errno.ENOENT
            if service["af"] == socket.AF_INET6 and not 1 <= service["netmask"] <= 128:
                return errno.EINVAL
            flags = service["flags"]
            raw = dict(service, flags={"flags": (flags["flags"] & flags["mask"]) | nl.IP_VS_SVC_F_HASHED,
                                       "mask": 0xFFFFFFFF})
            self.services[key] = {"raw": raw, "dests": {}}
            return 0
        if entry is None:
            return errno.ESRCH
        if cmd == nl.IPVS_CMD_SET_SERVICE:
            if service["sched_name"] not in self.schedulers:
                return errno.ENOENT
            old = entry["raw"]["flags"]["flags"]
            mask = service["flags"]["mask"]
            flags = (old & ~mask) | (service["flags"]["flags"] & mask)
            entry["raw"].update(sched_name=service["sched_name"], timeout=service["timeout"],
                                netmask=service["netmask"], flags={"flags": flags | nl.IP_VS_SVC_F_HASHED,
                                                                   "mask": 0xFFFFFFFF})
            entry["raw"].pop("pe_name", None)
            if service.get("pe_name"):
                entry["raw"]["pe_name"] = service["pe_name"]
            return 0
        if cmd == nl.IPVS_CMD_DEL_SERVICE:
            del self.services[key]
            return 0
        dkey = raw_dest_key(dest)
        af = dest.get("addr_family") or entry["raw"]["af"]
        if cmd != nl.IPVS_CMD_DEL_DEST and af != entry["raw"]["af"]:
            if self.daemons or dest.get("fwd_method") != nl.IP_VS_CONN_F_TUNNEL:
                return errno.EINVAL
        if cmd in (nl.IPVS_CMD_NEW_DEST, nl.IPVS_CMD_SET_DEST):
            if dest["l_thresh"] > dest["u_thresh"]:
                return errno.ERANGE
            if dest.get("tun_type") == nl.IP_VS_CONN_F_TUNNEL_TYPE_GUE and not dest.get("tun_port"):
                return errno.EINVAL
        if cmd == nl.IPVS_CMD_NEW_DEST:
            if dkey in entry["dests"]:
                return errno.EEXIST
            raw = {"tun_type": 0, "tun_port": 0, "tun_flags": 0}
            raw.update(dest)
            raw.update(addr_family=af, active_conns=0, inact_conns=0, persist_conns=0)
            entry["dests"][dkey] = raw
            return 0
        old = entry["dests"].get(dkey)
        if old is None:
            return errno.ENOENT
        if cmd == nl.IPVS_CMD_SET_DEST:
            # the kernel resets what the request leaves out (memset of ip_vs_dest_user_kern)
            old.update(tun_type=0, tun_port=0, tun_flags=0)
            old.update(dest)
            return 0
        del entry["dests"][dkey]
        return 0

    def handle_config(self, cmd, parsed):
        """NEW_DAEMON, DEL_DAEMON and SET_CONFIG, as ip_vs_genl_set_daemon / ip_vs_genl_set_config and
        start_sync_thread (ip_vs_sync.c) handle them; 0 or a positive errno."""
        if cmd == nl.IPVS_CMD_SET_CONFIG:
            for name in ("timeout_tcp", "timeout_tcp_fin", "timeout_udp"):
                value = parsed.get(name)
                if value is not None and value > 0x7FFFFFFF // 250:  # CONFIG_HZ=250
                    return errno.EINVAL
            for name in ("timeout_tcp", "timeout_tcp_fin", "timeout_udp"):
                if parsed.get(name):  # 0 leaves a timeout as it is
                    self.timeouts[name] = parsed[name]
            return 0
        daemon = parsed.get("daemon") or {}
        state = daemon.get("state")
        running = [attrs for attrs in self.daemons if dict(attrs)["IPVS_DAEMON_ATTR_STATE"] == state]
        if cmd == nl.IPVS_CMD_DEL_DAEMON:
            if state is None:
                return errno.EINVAL
            if not running:
                return errno.ESRCH
            self.daemons.remove(running[0])
            return 0
        if state is None or "mcast_ifn" not in daemon or "sync_id" not in daemon:
            return errno.EINVAL
        if daemon["mcast_ifn"] not in self.interfaces:
            return errno.ENODEV
        if running:
            return errno.EEXIST
        six = "mcast_group6" in daemon
        headers = 48 if six else 28
        mtu = self.interfaces[daemon["mcast_ifn"]]
        mtu = min(max(mtu, 1500), 65535) if state == nl.IP_VS_STATE_BACKUP else min(mtu, 1500)
        low = (1024 if state == nl.IP_VS_STATE_BACKUP else 1) + headers + 8
        maxlen = daemon.get("sync_maxlen")
        maxlen = min(max(maxlen, low), 65535 - headers) if maxlen else mtu - headers
        group = ("IPVS_DAEMON_ATTR_MCAST_GROUP6", daemon["mcast_group6"]) if six else \
            ("IPVS_DAEMON_ATTR_MCAST_GROUP", daemon.get("mcast_group") or "224.0.0.81")
        attrs = [("IPVS_DAEMON_ATTR_STATE", state), ("IPVS_DAEMON_ATTR_MCAST_IFN", daemon["mcast_ifn"]),
                 ("IPVS_DAEMON_ATTR_SYNC_ID", daemon["sync_id"]), ("IPVS_DAEMON_ATTR_SYNC_MAXLEN", maxlen), group,
                 ("IPVS_DAEMON_ATTR_MCAST_PORT", daemon.get("mcast_port") or 8848),
                 ("IPVS_DAEMON_ATTR_MCAST_TTL", daemon.get("mcast_ttl") or 1)]
        self.daemons.append(attrs)
        return 0

    def dump(self, cmd, service):
        """The replies to a dump request: a list of encoded messages."""
        if cmd == nl.IPVS_CMD_GET_SERVICE:
            return [_wire(nl.IPVS_CMD_NEW_SERVICE, [("IPVS_CMD_ATTR_SERVICE", _service_attrs(entry["raw"]))])
                    for entry in self.services.values()]
        entry = self.services.get(raw_key(service)) if service else None
        if entry is None:
            return []
        return [_wire(nl.IPVS_CMD_NEW_DEST, [("IPVS_CMD_ATTR_DEST", _dest_attrs(dest))])
                for dest in entry["dests"].values()]


def _decoded(cmd, attrs):
    decoded = nl.ipvs_msg(_wire(cmd, attrs))
    decoded.decode()
    return decoded


def _service_attrs(raw):
    attrs = [("IPVS_SVC_ATTR_AF", raw["af"])]
    if raw.get("fwmark"):
        attrs.append(("IPVS_SVC_ATTR_FWMARK", raw["fwmark"]))
    else:
        attrs += [("IPVS_SVC_ATTR_PROTOCOL", raw["protocol"]), ("IPVS_SVC_ATTR_ADDR", raw["addr"]),
                  ("IPVS_SVC_ATTR_PORT", raw["port"])]
    attrs += [("IPVS_SVC_ATTR_SCHED_NAME", raw["sched_name"])]
    if raw.get("pe_name"):
        attrs.append(("IPVS_SVC_ATTR_PE_NAME", raw["pe_name"]))
    attrs += [("IPVS_SVC_ATTR_FLAGS", raw["flags"]), ("IPVS_SVC_ATTR_TIMEOUT", raw["timeout"]),
              ("IPVS_SVC_ATTR_NETMASK", raw["netmask"]),
              ("IPVS_SVC_ATTR_STATS64", {"attrs": [("IPVS_STATS_ATTR_CONNS", 3)]})]
    return {"attrs": attrs}


def _dest_attrs(raw):
    return {"attrs": [
        ("IPVS_DEST_ATTR_ADDR", raw["addr"]), ("IPVS_DEST_ATTR_PORT", raw["port"]),
        ("IPVS_DEST_ATTR_FWD_METHOD", raw["fwd_method"]), ("IPVS_DEST_ATTR_WEIGHT", raw["weight"]),
        ("IPVS_DEST_ATTR_TUN_TYPE", raw["tun_type"]), ("IPVS_DEST_ATTR_TUN_PORT", raw["tun_port"]),
        ("IPVS_DEST_ATTR_TUN_FLAGS", raw["tun_flags"]), ("IPVS_DEST_ATTR_U_THRESH", raw["u_thresh"]),
        ("IPVS_DEST_ATTR_L_THRESH", raw["l_thresh"]), ("IPVS_DEST_ATTR_ACTIVE_CONNS", raw["active_conns"]),
        ("IPVS_DEST_ATTR_INACT_CONNS", raw["inact_conns"]), ("IPVS_DEST_ATTR_PERSIST_CONNS", raw["persist_conns"]),
        ("IPVS_DEST_ATTR_ADDR_FAMILY", raw["addr_family"]),
    ]}


def _wire(cmd, attrs, seq=0, flags=nl.NLM_F_MULTI):
    msg = nl.ipvs_msg()
    msg["cmd"] = cmd
    msg["version"] = 1
    msg["attrs"] = attrs
    msg["header"]["type"] = PRID
    msg["header"]["flags"] = flags
    msg["header"]["sequence_number"] = seq
    msg.encode()
    return bytes(msg.data)


def _with_seq(data, seq):
    data = bytearray(data)
    struct.pack_into("=I", data, 8, seq)
    return bytes(data)


def _error(seq, code, request_header):
    payload = struct.pack("=i", -code) + request_header  # NETLINK_CAP_ACK: the request's header only
    return struct.pack("=IHHII", 16 + len(payload), nl.NLMSG_ERROR, 0x100 if code == 0 else 0, seq, 0) + payload


class FakeRawSocket(object):
    """The raw side: sendto() carries encoded requests, recv_into() returns queued datagrams."""

    def __init__(self, kernel):
        self.kernel = kernel
        self.queue = []
        self.dump_running = False
        self.options = {}
        self.blocking = True
        self.closed = False
        self.enobufs_on = None  # (index of the sendto): make the next receive fail with ENOBUFS and drop replies

    def setblocking(self, flag):
        self.blocking = flag

    def setsockopt(self, level, name, value):
        self.options[(level, name)] = value

    def getsockopt(self, level, name):
        if (level, name) == (socket.SOL_SOCKET, socket.SO_RCVBUF):
            return 2 * self.options.get((socket.SOL_SOCKET, nl.SO_RCVBUFFORCE), 212992)
        return 425984

    def fileno(self):
        raise AssertionError("the client waited for a reply that the fake kernel never queues")

    def close(self):
        assert not self.closed
        self.closed = True
        self.kernel.open_sockets -= 1

    def sendto(self, data, address):
        assert address == (0, 0)
        kernel = self.kernel
        number = len(kernel.sendtos)
        data = bytes(data)
        offset = 0
        count = 0
        replies = []
        while offset < len(data):
            length, msg_type, flags, seq, _pid = struct.unpack_from("=IHHII", data, offset)
            assert msg_type == PRID and length >= 20
            msg = nl.ipvs_msg(data[offset:offset + length])
            msg.decode()
            parsed = nl.nla_to_dict(msg)
            cmd = msg["cmd"]
            request = Request(cmd, flags, seq, parsed.get("service"), parsed.get("dest"), number)
            kernel.requests.append(request)
            header = data[offset:offset + 16]
            count += 1
            if flags & nl.NLM_F_DUMP == nl.NLM_F_DUMP and cmd in (nl.IPVS_CMD_GET_SERVICE, nl.IPVS_CMD_GET_DEST):
                refused = kernel.fail.get((NAMES[cmd], request.service_key, None))
                if refused:
                    replies.append(_error(seq, refused, header))
                elif self.dump_running:
                    replies.append(_error(seq, errno.EBUSY, header))
                else:
                    messages = [_with_seq(item, seq) for item in kernel.dump(cmd, request.service)]
                    # The kernel fills one skb, sends it, and adds NLMSG_DONE once the reader comes back.
                    for start in range(0, len(messages), 50):
                        replies.append(b"".join(messages[start:start + 50]))
                    replies.append(struct.pack("=IHHIIi", 20, nl.NLMSG_DONE, nl.NLM_F_MULTI, seq, 0, 0))
                    self.dump_running = True
            elif cmd in WRITE_COMMANDS:
                code = kernel.handle_write(cmd, request.service, request.dest)
                if code or flags & nl.NLM_F_ACK:
                    replies.append(_error(seq, code, header))
            else:
                raise AssertionError("unexpected request %r on the raw socket" % request)
            offset += (length + 3) & ~3
        kernel.sendtos.append(count)
        if self.enobufs_on == number:
            # the receive queue overflowed: the first half of the replies is lost
            replies = replies[len(replies) // 2:]
            replies.insert(0, OSError(errno.ENOBUFS, os.strerror(errno.ENOBUFS)))
        self.queue.extend(replies)
        return len(data)

    def recv_into(self, buffer, nbytes=0, flags=0):
        if not self.queue:
            raise BlockingIOError(errno.EAGAIN, "no data")
        item = self.queue.pop(0)
        if isinstance(item, Exception):
            raise item
        if item[4:6] == struct.pack("=H", nl.NLMSG_DONE):
            self.dump_running = False
        buffer[:len(item)] = item
        return len(item)


class _FakeSocket(object):
    """The pyroute2 GenericNetlinkSocket stand-in: bind, prid, fileno, nlm_request (daemons), close."""

    def __init__(self, kernel):
        self.kernel = kernel
        self.prid = None

    def bind(self, proto, msg_class):
        assert proto == "IPVS" and msg_class is nl.ipvs_msg
        if not self.kernel.loaded:
            raise nl.NetlinkError(errno.ENOENT)
        self.prid = PRID

    def nlm_request(self, msg, msg_type, msg_flags):
        msg.encode()
        request = nl.ipvs_msg(bytes(msg.data))
        request.decode()
        cmd = request["cmd"]
        parsed = nl.nla_to_dict(request)
        self.kernel.requests.append(Request(cmd, msg_flags, 0, None, None, None))
        self.kernel.requests[-1].attrs = parsed
        if cmd in WRITE_COMMANDS:
            if self.kernel.read_only:
                raise ReadOnlyViolation("a %s request was sent in check mode" % NAMES[cmd])
            code = self.kernel.fail.get((NAMES[cmd], None, None)) or self.kernel.handle_config(cmd, parsed)
            if code:
                raise nl.NetlinkError(code)
            return ()
        if cmd == nl.IPVS_CMD_GET_CONFIG:
            return (_decoded(nl.IPVS_CMD_SET_CONFIG, [
                ("IPVS_CMD_ATTR_TIMEOUT_TCP", self.kernel.timeouts["timeout_tcp"]),
                ("IPVS_CMD_ATTR_TIMEOUT_TCP_FIN", self.kernel.timeouts["timeout_tcp_fin"]),
                ("IPVS_CMD_ATTR_TIMEOUT_UDP", self.kernel.timeouts["timeout_udp"])]),)
        assert cmd == nl.IPVS_CMD_GET_DAEMON, "unexpected pyroute2 request %d" % cmd
        return tuple(_decoded(nl.IPVS_CMD_NEW_DAEMON, [("IPVS_CMD_ATTR_DAEMON", {"attrs": daemon})])
                     for daemon in self.kernel.daemons)

    def close(self):
        self.kernel.open_sockets -= 1


# ---------------------------------------------------------------------------------------------------------------
# Running a module against the fake kernel

class AnsibleExitJson(Exception):
    pass


class AnsibleFailJson(Exception):
    pass


class ModuleRunner(object):
    """Runs a module's main() with the fake kernel standing in for the host (netlink and /lib/modules)."""

    def __init__(self, monkeypatch, kernel, module):
        from ansible.module_utils import basic
        from ansible_collections.lvs.cluster.plugins.module_utils import _common

        self.kernel = kernel
        self.module = module
        self.commands = []
        self.modules = _common.KernelModules(
            loaded={"ip_vs", "ip_vs_wlc"},
            offered=["ip_vs"] + ["ip_vs_%s" % name for name in ALL_SCHEDULERS] + ["ip_vs_pe_sip", "ip_vs_ftp"])

        def client_factory():
            return nl.IPVSNetlink(socket_factory=kernel, raw_factory=kernel.raw)

        def exit_json(_self, **kwargs):
            raise AnsibleExitJson(kwargs)

        def fail_json(_self, **kwargs):
            kwargs["failed"] = True
            raise AnsibleFailJson(kwargs)

        def run_command(_self, args, **_kwargs):
            self.commands.append(list(args))
            if args[-1] == "ip_vs":
                kernel.loaded = True
            return 0, "", ""

        monkeypatch.setattr(_common, "IPVSNetlink", client_factory)
        monkeypatch.setattr(_common, "probe_kernel_modules", lambda: self.modules)
        monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
        monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
        monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
        monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda _self, name, required=False: "/sbin/" + name)

    def __call__(self, args, check_mode=False, diff=False, fail=False):
        """Run once; returns the result dict. In check mode the kernel refuses every write."""
        import pytest
        from ansible.module_utils.testing import patch_module_args

        args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
        before = len(self.kernel.requests)
        self.kernel.read_only = check_mode
        try:
            with patch_module_args(args):
                with pytest.raises(AnsibleFailJson if fail else AnsibleExitJson) as result:
                    self.module.main()
        finally:
            self.kernel.read_only = False
        self.last_requests = self.kernel.requests[before:]
        assert self.kernel.open_sockets == 0, "the module left netlink sockets open"
        return result.value.args[0]

    @property
    def last_writes(self):
        return [request for request in self.last_requests if request.cmd in WRITE_COMMANDS]
