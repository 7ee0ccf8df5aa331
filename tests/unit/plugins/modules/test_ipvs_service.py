# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""lvs.cluster.ipvs_service against the fake kernel (fake_ipvs_kernel): requests are checked at the byte level."""

from __future__ import annotations

import errno
import socket

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_netlink as nl
from ansible_collections.lvs.cluster.plugins.modules import ipvs_service
from ansible_collections.lvs.cluster.tests.unit.plugins.modules.fake_ipvs_kernel import (
    FakeKernel,
    ModuleRunner,
)


WEB = {"address": "198.51.100.100", "port": 80}
DR = nl.IP_VS_CONN_F_DROUTE


@pytest.fixture
def kernel():
    return FakeKernel()


@pytest.fixture
def run(monkeypatch, kernel):
    return ModuleRunner(monkeypatch, kernel, ipvs_service)


def names(requests):
    return [request.name for request in requests]


def test_create_a_service_with_destinations(run, kernel):
    args = dict(WEB, scheduler="wrr", destinations=[
        {"address": "198.51.100.21", "weight": 3},
        {"address": "198.51.100.22", "forwarding_method": "nat", "port": 8080, "upper_threshold": 100,
         "lower_threshold": 10}])
    result = run(args)
    assert result["changed"] is True
    assert result["changes"] == [
        "create service tcp/198.51.100.100:80",
        "create destination 198.51.100.21:80 of tcp/198.51.100.100:80",
        "create destination 198.51.100.22:8080 of tcp/198.51.100.100:80",
    ]
    assert result["summary"]["services_created"] == 1 and result["summary"]["destinations_created"] == 2
    assert kernel.table() == {"tcp/198.51.100.100:80": ("wrr", 0, 0, 0xFFFFFFFF, "", {
        "198.51.100.21:80": (DR, 3, 0, 0, 0, 0, 0, socket.AF_INET),
        "198.51.100.22:8080": (nl.IP_VS_CONN_F_MASQ, 1, 100, 10, 0, 0, 0, socket.AF_INET)})}
    # one service dump (the service does not exist: no destination dump), then one sendto, acked once at its end
    assert names(run.last_requests) == ["GET_SERVICE", "NEW_SERVICE", "NEW_DEST", "NEW_DEST"]
    assert [request.acked for request in run.last_writes] == [False, False, True]
    assert len(set(request.sendto for request in run.last_writes)) == 1
    service = result["service"]
    assert (service["key"], service["scheduler"], [d["key"] for d in service["destinations"]]) == (
        "tcp/198.51.100.100:80", "wrr", ["198.51.100.21:80", "198.51.100.22:8080"])


def test_four_steps_check_apply_check_apply(run, kernel):
    """community.docker's pattern: check mode, apply, idempotent check, idempotent apply."""
    kernel.add_service(sched="rr", dests=[{"addr": "198.51.100.21", "port": 80}])
    args = dict(WEB, scheduler="sh", scheduler_flags=["sh-port"], persistence_timeout=120,
                persistence_netmask="255.255.255.0",
                destinations=[{"address": "198.51.100.21", "weight": 2},
                              {"address": "198.51.100.23", "forwarding_method": "tun", "tunnel_type": "gue",
                               "tunnel_port": 6080, "tunnel_checksum": "csum"}],
                purge_destinations=True)
    table = kernel.table()
    checked = run(args, check_mode=True, diff=True)
    assert run.last_writes == [] and kernel.table() == table
    applied = run(args, diff=True)
    assert checked == applied
    assert applied["changed"] and applied["diff"]["before"]["scheduler"] == "rr"
    assert applied["diff"]["after"]["scheduler"] == "sh"
    assert applied["diff"]["after"]["scheduler_flags"] == ["sh-port"]
    assert applied["diff"]["after"]["persistence_netmask"] == "255.255.255.0"
    rechecked = run(args, check_mode=True, diff=True)
    reapplied = run(args, diff=True)
    assert rechecked == reapplied
    assert reapplied["changed"] is False and reapplied["changes"] == [] and run.last_writes == []
    assert reapplied["diff"]["before"] == reapplied["diff"]["after"] == applied["diff"]["after"]
    assert reapplied["service"] == applied["service"]


def test_modify_in_place_uses_set_never_delete_and_create(run, kernel):
    kernel.add_service(sched="wlc", dests=[{"addr": "198.51.100.21", "port": 80, "weight": 1, "active": 42},
                                           {"addr": "198.51.100.22", "port": 80}])
    result = run(dict(WEB, scheduler="lc", destinations=[{"address": "198.51.100.21", "weight": 7,
                                                          "upper_threshold": 50}]))
    assert names(run.last_writes) == ["SET_SERVICE", "SET_DEST"]
    assert result["changes"] == [
        "modify service tcp/198.51.100.100:80 (scheduler)",
        "modify destination 198.51.100.21:80 of tcp/198.51.100.100:80 (weight, upper_threshold)"]
    dests = kernel.services["tcp/198.51.100.100:80"]["dests"]
    assert dests["198.51.100.21:80"]["active_conns"] == 42  # the same kernel object, changed in place
    assert "198.51.100.22:80" in dests  # not purged


@pytest.mark.parametrize("change,fields", [
    ({"persistence_timeout": 300}, ["persistence_timeout"]),
    ({"one_packet": True, "protocol": "udp"}, None),
    ({"scheduler": "mh", "scheduler_flags": ["mh-fallback"]}, ["scheduler", "scheduler_flags"]),
    ({"persistence_timeout": 30, "persistence_engine": "sip"}, ["persistence_timeout", "persistence_engine"]),
])
def test_each_service_setting_is_modified_in_place(run, kernel, change, fields):
    protocol = {"udp": 17}.get(change.get("protocol"), 6)
    kernel.add_service(protocol=protocol)
    result = run(dict(WEB, **change))
    assert names(run.last_writes) == ["SET_SERVICE"]
    if fields:
        assert result["changes"] == ["modify service tcp/198.51.100.100:80 (%s)" % ", ".join(fields)]
    assert run(dict(WEB, **change))["changed"] is False


@pytest.mark.parametrize("dest,fields", [
    ({"forwarding_method": "nat"}, ["forwarding_method"]),
    ({"forwarding_method": "tun"}, ["forwarding_method"]),
    ({"forwarding_method": "tun", "tunnel_type": "gre", "tunnel_checksum": "csum"},
     ["forwarding_method", "tunnel_type", "tunnel_checksum"]),
    ({"forwarding_method": "tun", "tunnel_type": "gue", "tunnel_port": 5555, "tunnel_checksum": "remcsum"},
     ["forwarding_method", "tunnel_type", "tunnel_port", "tunnel_checksum"]),
    ({"weight": 0}, ["weight"]),
    ({"upper_threshold": 9, "lower_threshold": 9}, ["upper_threshold", "lower_threshold"]),
])
def test_each_destination_setting_is_modified_in_place(run, kernel, dest, fields):
    kernel.add_service(dests=[{"addr": "198.51.100.21", "port": 80}])
    args = dict(WEB, destinations=[dict({"address": "198.51.100.21"}, **dest)])
    result = run(args)
    assert names(run.last_writes) == ["SET_DEST"]
    assert result["changes"] == ["modify destination 198.51.100.21:80 of tcp/198.51.100.100:80 (%s)"
                                 % ", ".join(fields)]
    assert run(args)["changed"] is False


def test_purge_destinations(run, kernel):
    kernel.add_service(dests=[{"addr": "198.51.100.21", "port": 80}, {"addr": "198.51.100.22", "port": 80}])
    result = run(dict(WEB, destinations=[{"address": "198.51.100.22"}], purge_destinations=True))
    assert names(run.last_writes) == ["DEL_DEST"]
    assert result["changes"] == ["remove destination 198.51.100.21:80 of tcp/198.51.100.100:80"]
    assert list(kernel.table()["tcp/198.51.100.100:80"][5]) == ["198.51.100.22:80"]
    result = run(dict(WEB, destinations=[], purge_destinations=True))
    assert kernel.table()["tcp/198.51.100.100:80"][5] == {} and result["service"]["destinations"] == []


def test_destinations_omitted_are_left_alone(run, kernel):
    kernel.add_service(sched="rr", dests=[{"addr": "198.51.100.21", "port": 80}])
    result = run(dict(WEB, scheduler="rr"))
    assert result["changed"] is False
    assert [d["key"] for d in result["service"]["destinations"]] == ["198.51.100.21:80"]


def test_absent(run, kernel):
    kernel.add_service(dests=[{"addr": "198.51.100.21", "port": 80}])
    kernel.add_service(port=443)
    checked = run(dict(WEB, state="absent"), check_mode=True, diff=True)
    assert run.last_writes == [] and len(kernel.services) == 2
    result = run(dict(WEB, state="absent"), diff=True)
    assert result == checked
    assert result["changed"] and result["service"] is None and names(run.last_writes) == ["DEL_SERVICE"]
    assert result["diff"]["after"] == {} and result["diff"]["before"]["destinations"][0]["key"] == "198.51.100.21:80"
    assert list(kernel.services) == ["tcp/198.51.100.100:443"]
    again = run(dict(WEB, state="absent"))
    assert again["changed"] is False and run.last_writes == []


def test_ipv6_fwmark_and_mixed_family_tunnel(run, kernel):
    args = {"fwmark": 7, "family": "ipv6", "scheduler": "mh", "scheduler_flags": ["mh-port"],
            "persistence_timeout": 60, "persistence_prefix": 64,
            "destinations": [{"address": "2001:db8:101::21"},
                             {"address": "198.18.2.23", "forwarding_method": "tun", "tunnel_type": "gue",
                              "tunnel_port": 6080}]}
    result = run(args)
    assert result["changed"]
    assert kernel.table() == {"fwmark/ipv6/7": ("mh", nl.IP_VS_SVC_F_PERSISTENT | nl.IP_VS_SVC_F_SCHED2, 60, 64, "", {
        "[2001:db8:101::21]:0": (DR, 1, 0, 0, 0, 0, 0, socket.AF_INET6),
        "198.18.2.23:0": (nl.IP_VS_CONN_F_TUNNEL, 1, 0, 0, nl.IP_VS_CONN_F_TUNNEL_TYPE_GUE, 6080, 0, socket.AF_INET)})}
    assert run(args)["changed"] is False
    # only the mixed-family check reads the sync daemons, through pyroute2
    assert "GET_DAEMON" in names(run.last_requests)


def test_mixed_family_refused_while_a_sync_daemon_runs(run, kernel):
    kernel.daemons = [[("IPVS_DAEMON_ATTR_STATE", 1), ("IPVS_DAEMON_ATTR_MCAST_IFN", "eth1"),
                       ("IPVS_DAEMON_ATTR_SYNC_ID", 1)]]
    result = run({"fwmark": 7, "family": "ipv6", "destinations": [{"address": "198.18.2.23",
                                                                   "forwarding_method": "tun"}]}, fail=True)
    assert result["msg"] == ("Invalid input: destinations[0].address: the kernel refuses real servers of another "
                             "address family while a connection-sync daemon runs (eth1)")
    assert run.last_writes == [] and kernel.services == {}


INVALID = [
    (dict(WEB, port=70000), "port: must be between 0 and 65535"),
    ({"fwmark": 3, "port": 80}, "port: a firewall-mark service (fwmark) has no port"),
    ({"address": "198.51.100.1.5", "port": 80}, "address: '198.51.100.1.5' is not an IPv4 or IPv6 address"),
    (dict(WEB, scheduler="rr", scheduler_flags=["sh-port"]), "scheduler_flags: the rr scheduler takes no flags"),
    (dict(WEB, destinations=[{"address": "198.51.100.21", "weight": 2147483648}]),
     "destinations[0].weight: must be between 0 and 2147483647"),
    (dict(WEB, destinations=[{"address": "198.51.100.21"}, {"address": "198.51.100.21"}]),
     "destinations[1]: destination 198.51.100.21:80 is listed twice in tcp/198.51.100.100:80 (also destinations[0])"),
    (dict(WEB, destinations=[{"address": "198.51.100.21", "forwarding_method": "nat", "tunnel_type": "gre"}]),
     "destinations[0].tunnel_type: only for forwarding_method tun, not nat"),
    (dict(WEB, destinations=[{"address": "2001:db8::1"}]),
     "destinations[0].address: an IPv6 real server in an IPv4 service needs forwarding_method tun"),
    (dict(WEB, destinations=[{"address": "198.51.100.21", "upper_threshold": 1, "lower_threshold": 2}]),
     "destinations[0].lower_threshold: 2 is above upper_threshold 1"),
    (dict(WEB, scheduler="twos"), "scheduler: the running kernel offers no twos scheduler (no module ip_vs_twos"),
]


@pytest.mark.parametrize("args,message", INVALID, ids=[case[1].split(":")[0] for case in INVALID])
def test_invalid_input_fails_before_anything_is_sent(run, kernel, args, message):
    kernel.add_service(sched="rr", dests=[{"addr": "198.51.100.21", "port": 80}])
    table = kernel.table()
    result = run(args, fail=True)
    assert result["msg"].startswith("Invalid input: ") and message in result["msg"], result["msg"]
    assert any(message in error for error in result["errors"])
    assert result["changed"] is False
    assert run.last_writes == [] and kernel.table() == table
    assert kernel.sockets == 0  # validation and kernel facts come before any netlink socket


def test_a_kernel_failure_reports_what_was_applied(run, kernel):
    kernel.fail[("NEW_DEST", "tcp/198.51.100.100:80", "198.51.100.22:80")] = errno.ENOMEM
    result = run(dict(WEB, destinations=[{"address": "198.51.100.21"}, {"address": "198.51.100.22"},
                                         {"address": "198.51.100.23"}]), fail=True)
    assert result["msg"] == (
        "Applying the IPVS changes failed: the kernel refused 1 of 4 changes: create destination 198.51.100.22:80 of "
        "tcp/198.51.100.100:80: Cannot allocate memory (errno 12); 3 changes were applied and 0 were not sent.")
    assert result["changed"] is True
    assert result["applied"] == ["create service tcp/198.51.100.100:80",
                                 "create destination 198.51.100.21:80 of tcp/198.51.100.100:80",
                                 "create destination 198.51.100.23:80 of tcp/198.51.100.100:80"]
    assert result["refused"] == [{"change": "create destination 198.51.100.22:80 of tcp/198.51.100.100:80",
                                  "errno": 12, "error": "Cannot allocate memory (errno 12)"}]
    assert result["not_applied"] == [] and result["unknown"] == []
    assert sorted(kernel.table()["tcp/198.51.100.100:80"][5]) == ["198.51.100.21:80", "198.51.100.23:80"]


def test_unknown_scheduler_refused_by_the_kernel_is_explained(run, kernel):
    run.modules.offered = None  # /lib/modules unreadable: the kernel decides
    run.modules.schedulers = None
    kernel.schedulers.discard("ovf")
    result = run(dict(WEB, scheduler="ovf"), fail=True)
    assert "the kernel could not load scheduler module ip_vs_ovf" in result["msg"]
    assert result["refused"][0]["errno"] == errno.ENOENT and result["changed"] is False


def test_ip_vs_not_loaded(run, kernel):
    kernel.loaded = False
    result = run(WEB, fail=True)
    assert "modprobe ip_vs" in result["msg"] and "load_modules=true" in result["msg"]
    assert run.commands == []
    result = run(dict(WEB, load_modules=True, scheduler="sed"))
    assert result["changed"] and result["loaded_modules"] == ["ip_vs", "ip_vs_sed"]
    assert run.commands == [["/sbin/modprobe", "ip_vs"], ["/sbin/modprobe", "ip_vs_sed"]]


def test_absent_without_ip_vs_is_no_change(run, kernel):
    kernel.loaded = False
    result = run(dict(WEB, state="absent"), diff=True)
    assert result["changed"] is False and result["service"] is None and run.commands == []
    assert result["diff"] == {"before": {}, "after": {}}


def test_load_modules_in_check_mode_loads_only_ip_vs(run, kernel):
    kernel.loaded = False
    result = run(dict(WEB, load_modules=True, scheduler="sed"), check_mode=True)
    assert result["changed"] and result["loaded_modules"] == ["ip_vs"] and run.last_writes == []
