# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests of lvs.cluster.ipvs_info against a fake kernel.

``FakeIPVSKernel`` stands where pyroute2's socket stands: IPVSNetlink binds it and sends it real ``ipvs_msg``
requests; it answers with replies encoded by the collection's message classes and decoded again from bytes, so
everything above the socket (the client, nla_to_dict, the model, the module) runs as on a host. It refuses any
command that is not a read, so these tests also prove that the module never writes, in check mode or not.
"""

from __future__ import annotations

import errno
import functools
import logging
import socket

import sys

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_netlink as nl
from ansible_collections.lvs.cluster.plugins.modules import ipvs_info


AF_INET = socket.AF_INET
AF_INET6 = socket.AF_INET6
PRID = 0x22
READ_COMMANDS = {nl.IPVS_CMD_GET_SERVICE, nl.IPVS_CMD_GET_DEST, nl.IPVS_CMD_GET_DAEMON, nl.IPVS_CMD_GET_CONFIG,
                 nl.IPVS_CMD_GET_INFO}


def stats64(conns):
    return {"attrs": [("IPVS_STATS_ATTR_CONNS", conns), ("IPVS_STATS_ATTR_INPKTS", conns * 10),
                      ("IPVS_STATS_ATTR_INBYTES", conns * 1000), ("IPVS_STATS_ATTR_CPS", 1)]}


def service_attrs(af=AF_INET, protocol=6, addr="198.51.100.100", port=80, fwmark=0, sched="wlc", flags=0x2,
                  timeout=0, netmask=0xFFFFFFFF, conns=0):
    attrs = [("IPVS_SVC_ATTR_AF", af)]
    if fwmark:
        attrs.append(("IPVS_SVC_ATTR_FWMARK", fwmark))
    else:
        attrs += [("IPVS_SVC_ATTR_PROTOCOL", protocol), ("IPVS_SVC_ATTR_ADDR", addr), ("IPVS_SVC_ATTR_PORT", port)]
    attrs += [
        ("IPVS_SVC_ATTR_SCHED_NAME", sched),
        ("IPVS_SVC_ATTR_FLAGS", {"flags": flags, "mask": 0xFFFFFFFF}),
        ("IPVS_SVC_ATTR_TIMEOUT", timeout),
        ("IPVS_SVC_ATTR_NETMASK", netmask),
        ("IPVS_SVC_ATTR_STATS64", stats64(conns)),
    ]
    return attrs


def dest_attrs(addr, port, af=AF_INET, fwd=nl.IP_VS_CONN_F_DROUTE, weight=1, conns=0):
    return [
        ("IPVS_DEST_ATTR_ADDR", addr),
        ("IPVS_DEST_ATTR_PORT", port),
        ("IPVS_DEST_ATTR_FWD_METHOD", fwd),
        ("IPVS_DEST_ATTR_WEIGHT", weight),
        ("IPVS_DEST_ATTR_TUN_TYPE", 0),
        ("IPVS_DEST_ATTR_TUN_PORT", 0),
        ("IPVS_DEST_ATTR_TUN_FLAGS", 0),
        ("IPVS_DEST_ATTR_U_THRESH", 0),
        ("IPVS_DEST_ATTR_L_THRESH", 0),
        ("IPVS_DEST_ATTR_ACTIVE_CONNS", 0),
        ("IPVS_DEST_ATTR_INACT_CONNS", 0),
        ("IPVS_DEST_ATTR_PERSIST_CONNS", 0),
        ("IPVS_DEST_ATTR_ADDR_FAMILY", af),
        ("IPVS_DEST_ATTR_STATS64", stats64(conns)),
    ]


def default_table():
    """Three services the way the lab's integration test sets them up, in kernel hash order (unsorted)."""
    return [
        (service_attrs(af=AF_INET6, protocol=17, addr="2001:db8:100::100", port=53, sched="sh",
                       flags=0x2 | 0x1 | 0x8, timeout=600, netmask=64),
         [dest_attrs("2001:db8:101::21", 53, af=AF_INET6, fwd=nl.IP_VS_CONN_F_TUNNEL)]),
        (service_attrs(conns=12),
         [dest_attrs("198.51.100.22", 80, weight=2, conns=5), dest_attrs("198.51.100.21", 80, weight=3, conns=7)]),
        (service_attrs(fwmark=7, sched="mh", flags=0x2 | 0x10),
         [dest_attrs("198.18.1.22", 0, fwd=nl.IP_VS_CONN_F_MASQ)]),
    ]


class FakeIPVSKernel(object):
    """A fake pyroute2 GenericNetlinkSocket with an IPVS family (or without one: ``loaded=False``)."""

    def __init__(self, table=None, loaded=True, dump_errno=None):
        self.table = default_table() if table is None else table
        self.loaded = loaded
        self.dump_errno = dump_errno
        self.timeouts = (900, 120, 300)
        self.daemons = [[("IPVS_DAEMON_ATTR_STATE", 2), ("IPVS_DAEMON_ATTR_MCAST_IFN", "eth1"),
                         ("IPVS_DAEMON_ATTR_SYNC_ID", 5), ("IPVS_DAEMON_ATTR_SYNC_MAXLEN", 1472),
                         ("IPVS_DAEMON_ATTR_MCAST_GROUP", "224.0.0.81"), ("IPVS_DAEMON_ATTR_MCAST_PORT", 8848),
                         ("IPVS_DAEMON_ATTR_MCAST_TTL", 1)]]
        self.requests = []
        self.sockets = 0
        self.open_sockets = 0

    # the socket factory IPVSNetlink calls
    def __call__(self):
        self.sockets += 1
        self.open_sockets += 1
        return _FakeSocket(self)

    @staticmethod
    def wire(cmd, attrs, cls=None):
        """Encode a reply with the collection's classes, then decode it from bytes, as pyroute2 would."""
        msg = (cls or nl.ipvs_msg)()
        msg["cmd"] = cmd
        msg["version"] = 1
        msg["attrs"] = attrs
        msg["header"]["type"] = PRID
        msg.encode()
        decoded = nl.ipvs_msg(bytes(msg.data))
        decoded.decode()
        return decoded

    def handle(self, msg, msg_type, msg_flags):
        # The request really goes through the encoder, as it would to the kernel.
        msg.encode()
        request = nl.ipvs_msg(bytes(msg.data))
        request.decode()
        cmd = request["cmd"]
        self.requests.append(cmd)
        assert msg_type == PRID
        assert cmd in READ_COMMANDS, "the module sent a write command: %d" % cmd
        # (NLM_F_DUMP shares its bits with NLM_F_REPLACE/EXCL: the command, not the flags, tells a read.)
        assert msg_flags & nl.NLM_F_REQUEST
        if self.dump_errno:
            raise nl.NetlinkError(self.dump_errno)
        if cmd == nl.IPVS_CMD_GET_SERVICE:
            assert msg_flags & nl.NLM_F_DUMP == nl.NLM_F_DUMP
            return tuple(self.wire(nl.IPVS_CMD_NEW_SERVICE, [("IPVS_CMD_ATTR_SERVICE", {"attrs": svc})])
                         for svc, _dests in self.table)
        if cmd == nl.IPVS_CMD_GET_DEST:
            # Like ip_vs_genl_dump_dests(): find the service by its identifying attributes.
            wanted = nl.nla_to_dict(request.get_attr("IPVS_CMD_ATTR_SERVICE"))
            for svc, dests in self.table:
                have = dict((name[len("IPVS_SVC_ATTR_"):].lower(), value) for name, value in svc)
                if all(have.get(key) == value for key, value in wanted.items()):
                    return tuple(self.wire(nl.IPVS_CMD_NEW_DEST, [("IPVS_CMD_ATTR_DEST", {"attrs": dest})])
                                 for dest in dests)
            return ()
        if cmd == nl.IPVS_CMD_GET_DAEMON:
            return tuple(self.wire(nl.IPVS_CMD_NEW_DAEMON, [("IPVS_CMD_ATTR_DAEMON", {"attrs": daemon})])
                         for daemon in self.daemons)
        if cmd == nl.IPVS_CMD_GET_CONFIG:
            tcp, tcp_fin, udp = self.timeouts
            return (self.wire(nl.IPVS_CMD_SET_CONFIG, [("IPVS_CMD_ATTR_TIMEOUT_TCP", tcp),
                                                       ("IPVS_CMD_ATTR_TIMEOUT_TCP_FIN", tcp_fin),
                                                       ("IPVS_CMD_ATTR_TIMEOUT_UDP", udp)]),)
        # IPVS_CMD_GET_INFO: the reply's attributes are IPVS_INFO_ATTR_*, numbered from 1 again.
        return (self.wire(nl.IPVS_CMD_SET_INFO, [("IPVS_INFO_ATTR_VERSION", 0x010201),
                                                 ("IPVS_INFO_ATTR_CONN_TAB_SIZE", 4096)], nl.ipvs_info_msg),)


class _FakeSocket(object):
    def __init__(self, kernel):
        self.kernel = kernel
        self.prid = None

    def bind(self, proto, msg_class):
        assert proto == "IPVS" and msg_class is nl.ipvs_msg
        if not self.kernel.loaded:
            raise nl.NetlinkError(errno.ENOENT)
        self.prid = PRID

    def nlm_request(self, msg, msg_type, msg_flags):
        return self.kernel.handle(msg, msg_type, msg_flags)

    def close(self):
        self.kernel.open_sockets -= 1


class AnsibleExitJson(Exception):
    pass


class AnsibleFailJson(Exception):
    pass


@pytest.fixture
def kernel(monkeypatch):
    fake = FakeIPVSKernel()
    monkeypatch.setattr(ipvs_info, "IPVSNetlink", functools.partial(nl.IPVSNetlink, socket_factory=fake))
    return fake


class CommandLog(list):
    """run_command calls; ``answer`` says what they return (and ``hook`` runs first, like modprobe would)."""

    def __init__(self):
        super(CommandLog, self).__init__()
        self.answer = {"rc": 0, "hook": None}


@pytest.fixture
def commands(monkeypatch):
    """Record run_command calls (modprobe), answered by the test."""
    calls = CommandLog()
    answer = calls.answer

    def run_command(self, args, **kwargs):
        calls.append(list(args))
        if answer["hook"]:
            answer["hook"]()
        return answer["rc"], "", "modprobe: FATAL: Module ip_vs not found" if answer["rc"] else ""

    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, name, required=False: "/sbin/" + name)
    return calls


@pytest.fixture(autouse=True)
def exits(monkeypatch):
    def exit_json(self, **kwargs):
        raise AnsibleExitJson(kwargs)

    def fail_json(self, **kwargs):
        kwargs["failed"] = True
        raise AnsibleFailJson(kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)


def run(args, expect=AnsibleExitJson):
    with patch_module_args(args):
        with pytest.raises(expect) as result:
            ipvs_info.main()
    return result.value.args[0]


# ---------------------------------------------------------------------------------------------------------------

def test_default_reads_everything_sorted(kernel):
    result = run({})
    assert result["changed"] is False
    assert result["loaded_modules"] == []
    assert result["ipvs_version"] == "1.2.1"
    assert result["conn_tab_size"] == 4096
    assert [s["key"] for s in result["services"]] == [
        "tcp/198.51.100.100:80", "udp/[2001:db8:100::100]:53", "fwmark/ipv4/7"]
    web = result["services"][0]
    assert web["scheduler"] == "wlc"
    assert web["flags"] == ["hashed"]
    assert web["persistent"] is False
    assert web["persistence_netmask"] == "255.255.255.255"
    assert web["stats"] == {"conns": 12, "in_pkts": 120, "out_pkts": 0, "in_bytes": 12000, "out_bytes": 0}
    assert web["rates"]["cps"] == 1
    assert [(d["key"], d["weight"], d["forwarding_method"], d["stats"]["conns"]) for d in web["destinations"]] == [
        ("198.51.100.21:80", 3, "dr", 7), ("198.51.100.22:80", 2, "dr", 5)]
    dns = result["services"][1]
    assert (dns["persistent"], dns["persistence_timeout"], dns["persistence_prefix"]) == (True, 600, 64)
    assert dns["scheduler_flags"] == ["sh-fallback"]
    assert dns["destinations"][0]["forwarding_method"] == "tun"
    assert dns["destinations"][0]["tunnel_type"] == "ipip"
    fwm = result["services"][2]
    assert (fwm["fwmark"], fwm["scheduler_flags"], fwm["destinations"][0]["forwarding_method"]) == (
        7, ["mh-port"], "nat")
    assert result["timeouts"] == {"tcp": 900, "tcp_fin": 120, "udp": 300}
    assert result["sync_daemons"] == [{"state": "backup", "mcast_interface": "eth1", "syncid": 5,
                                       "sync_maxlen": 1472, "mcast_group": "224.0.0.81", "mcast_port": 8848,
                                       "mcast_ttl": 1}]
    # one dump of the services, one per service for the destinations, one socket, closed
    assert kernel.requests.count(nl.IPVS_CMD_GET_SERVICE) == 1
    assert kernel.requests.count(nl.IPVS_CMD_GET_DEST) == 3
    assert (kernel.sockets, kernel.open_sockets) == (1, 0)


def test_check_mode_gives_the_same_result(kernel):
    normal = run({})
    checked = run({"_ansible_check_mode": True})
    assert checked == normal


def test_gather_timeouts_only_sends_no_service_dump(kernel):
    result = run({"gather": ["timeouts"]})
    assert result["timeouts"] == {"tcp": 900, "tcp_fin": 120, "udp": 300}
    assert "services" not in result and "sync_daemons" not in result
    assert sorted(kernel.requests) == sorted([nl.IPVS_CMD_GET_INFO, nl.IPVS_CMD_GET_CONFIG])


def test_gather_services_without_destinations_or_stats(kernel):
    result = run({"gather": ["services"]})
    assert all("destinations" not in s and "stats" not in s and "rates" not in s for s in result["services"])
    assert nl.IPVS_CMD_GET_DEST not in kernel.requests
    assert "timeouts" not in result


def test_stats_and_destinations_imply_services(kernel):
    result = run({"gather": ["stats"]})
    assert "stats" in result["services"][0] and "destinations" not in result["services"][0]
    result = run({"gather": ["destinations"]})
    assert "destinations" in result["services"][0] and "stats" not in result["services"][0]
    assert "stats" not in result["services"][0]["destinations"][0]


def test_services_filter_dumps_only_selected_destinations(kernel):
    result = run({"services": ["UDP/[2001:DB8:100:0::100]:53", "fwmark/7", "tcp/192.0.2.1:80"]})
    assert [s["key"] for s in result["services"]] == ["udp/[2001:db8:100::100]:53", "fwmark/ipv4/7"]
    assert kernel.requests.count(nl.IPVS_CMD_GET_DEST) == 2


def test_services_filter_with_gather_timeouts_still_reads_services(kernel):
    result = run({"services": ["tcp/198.51.100.100:80"], "gather": ["timeouts"]})
    assert [s["key"] for s in result["services"]] == ["tcp/198.51.100.100:80"]
    assert "destinations" not in result["services"][0]


def test_invalid_service_keys_fail_before_any_request(kernel):
    result = run({"services": ["tcp/198.51.100.100:80", "http://x"]}, AnsibleFailJson)
    assert "services[1]" in result["msg"]
    assert kernel.requests == [] and kernel.sockets == 0


def test_empty_table(kernel):
    kernel.table = []
    kernel.daemons = []
    result = run({})
    assert result["services"] == [] and result["sync_daemons"] == []


def test_ipvs_not_loaded_fails_without_load_modules(kernel, commands):
    kernel.loaded = False
    result = run({}, AnsibleFailJson)
    assert "modprobe ip_vs" in result["msg"]
    assert "load_modules=true" in result["msg"]
    assert commands == []
    assert kernel.open_sockets == 0


def test_load_modules_runs_modprobe_and_reads_again(kernel, commands):
    kernel.loaded = False

    def load():
        kernel.loaded = True

    commands.answer["hook"] = load
    result = run({"load_modules": True, "_ansible_check_mode": True})
    assert commands == [["/sbin/modprobe", "ip_vs"]]
    assert result["loaded_modules"] == ["ip_vs"]
    assert result["changed"] is False
    assert len(result["services"]) == 3


def test_load_modules_does_nothing_when_loaded(kernel, commands):
    result = run({"load_modules": True})
    assert commands == []
    assert result["loaded_modules"] == []


def test_modprobe_failure_is_reported(kernel, commands):
    kernel.loaded = False
    commands.answer["rc"] = 1
    result = run({"load_modules": True}, AnsibleFailJson)
    assert "'modprobe ip_vs' failed (rc=1)" in result["msg"]
    assert "Module ip_vs not found" in result["msg"]


def test_permission_denied(kernel):
    kernel.dump_errno = errno.EPERM
    result = run({}, AnsibleFailJson)
    assert "CAP_NET_ADMIN" in result["msg"]
    assert result["errno"] == errno.EPERM
    assert kernel.open_sockets == 0


def test_other_netlink_errors(kernel):
    kernel.dump_errno = errno.EINVAL
    result = run({"gather": ["daemons"]}, AnsibleFailJson)
    assert "failed: Invalid argument (errno 22)" in result["msg"]


def test_missing_pyroute2(monkeypatch, kernel):
    monkeypatch.setattr(ipvs_info, "HAS_PYROUTE2", False)
    monkeypatch.setattr(ipvs_info, "PYROUTE2_IMPORT_ERROR", "ImportError: No module named 'pyroute2'")
    result = run({}, AnsibleFailJson)
    assert "pyroute2>=0.9.1" in result["msg"]
    assert "pip install" in result["msg"]
    # The interpreter the module ran with, and the director role's variables that name the right one.
    assert "This module ran with the Python interpreter %s." % sys.executable in result["msg"]
    assert "lvs_director_ipvs_python" in result["msg"]
    assert "lvs_director_python_venv" in result["msg"]
    assert result["exception"] == "ImportError: No module named 'pyroute2'"
    assert kernel.sockets == 0


def test_client_refuses_to_work_without_pyroute2(monkeypatch):
    monkeypatch.setattr(nl, "HAS_PYROUTE2", False)
    with pytest.raises(nl.IPVSLibraryMissing):
        nl.IPVSNetlink(socket_factory=FakeIPVSKernel()).open()


def test_importing_opens_no_socket(monkeypatch):
    # IPVSNetlink() itself opens nothing; only open() / "with" does.
    fake = FakeIPVSKernel()
    client = nl.IPVSNetlink(socket_factory=fake)
    assert fake.sockets == 0
    with pytest.raises(nl.IPVSError, match="not open"):
        client.get_services()
    with client:
        assert fake.open_sockets == 1
    assert fake.open_sockets == 0


def test_gather_choices_are_validated(kernel):
    result = run({"gather": ["everything"]}, AnsibleFailJson)
    assert "gather" in result["msg"]


def test_enoent_after_bind_is_not_reported_as_missing_ipvs(kernel):
    # Only the family lookup's ENOENT means "ip_vs is not loaded".
    kernel.dump_errno = errno.ENOENT
    result = run({"gather": ["timeouts"]}, AnsibleFailJson)
    assert "modprobe" not in result["msg"]
    assert "reading the IPVS version failed: No such file or directory" in result["msg"]


def test_socket_errors_are_reported(monkeypatch):
    def no_socket():
        raise OSError(errno.EPROTONOSUPPORT, "Protocol not supported")

    monkeypatch.setattr(ipvs_info, "IPVSNetlink", functools.partial(nl.IPVSNetlink, socket_factory=no_socket))
    result = run({}, AnsibleFailJson)
    assert result["msg"].startswith("opening a generic netlink socket failed")


def test_real_socket_on_this_host(caplog):
    """The real pyroute2 socket: IPVS either answers (a host with ip_vs, as root) or is reported as a typed
    error, and pyroute2 logs no error or warning about the missing family (the module reports it)."""
    caplog.set_level(logging.DEBUG)
    client = nl.IPVSNetlink()
    try:
        with client:
            info = client.get_info()
    except nl.IPVSNotLoaded as exc:
        assert "modprobe ip_vs" in str(exc)
        assert exc.errno == errno.ENOENT
    except nl.IPVSPermissionError as exc:
        assert "CAP_NET_ADMIN" in str(exc)
    else:
        assert info["version"] >= 0x010201
    assert client._sock is None  # pylint: disable=protected-access
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
