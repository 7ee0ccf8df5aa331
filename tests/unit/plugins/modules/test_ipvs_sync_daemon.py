# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""lvs.cluster.ipvs_sync_daemon against the fake kernel (fake_ipvs_kernel): start, restart, stop, validation."""

from __future__ import annotations

import errno

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_netlink as nl
from ansible_collections.lvs.cluster.plugins.modules import ipvs_sync_daemon
from ansible_collections.lvs.cluster.tests.unit.plugins.modules.fake_ipvs_kernel import (
    FakeKernel,
    ModuleRunner,
)

MASTER = {"role": "master", "interface": "eth1", "syncid": 5}
BACKUP = {"role": "backup", "interface": "eth1", "syncid": 6, "mcast_group": "239.1.2.3", "mcast_port": 8849,
          "mcast_ttl": 3, "sync_maxlen": 1200}


@pytest.fixture
def kernel():
    return FakeKernel()


@pytest.fixture
def run(monkeypatch, kernel):
    monkeypatch.setattr(ipvs_sync_daemon, "interface_exists", lambda name: name in kernel.interfaces)
    return ModuleRunner(monkeypatch, kernel, ipvs_sync_daemon)


def names(requests):
    return [request.name for request in requests]


def daemons(kernel):
    """The fake kernel's running daemons, master first, as ``{'state': 1, 'mcast_ifn': 'eth1', ...}``."""
    return sorted((dict((name[len("IPVS_DAEMON_ATTR_"):].lower(), value) for name, value in attrs)
                   for attrs in kernel.daemons), key=lambda daemon: daemon["state"])


def four_steps(run, args):
    """Check mode, apply, check mode again, apply again: the first two agree, the last two change nothing."""
    checked = run(args, check_mode=True, diff=True)
    assert run.last_writes == []
    applied = run(args, diff=True)
    assert (checked["changed"], checked["changes"]) == (applied["changed"], applied["changes"])
    rechecked = run(args, check_mode=True, diff=True)
    reapplied = run(args, diff=True)
    for result in (rechecked, reapplied):
        assert result["changed"] is False and result["changes"] == [] and run.last_writes == []
        assert result["diff"]["before"] == result["diff"]["after"] == (applied["sync_daemon"] or {})
    return checked, applied


def test_start_both_daemons(run, kernel):
    checked, applied = four_steps(run, MASTER)
    assert applied["changes"] == ["start master sync daemon"]
    assert applied["sync_daemon"] == {"state": "master", "mcast_interface": "eth1", "syncid": 5,
                                      "sync_maxlen": 1472, "mcast_group": "224.0.0.81", "mcast_port": 8848,
                                      "mcast_ttl": 1}
    assert checked["diff"] == {"before": {}, "after": dict(applied["sync_daemon"], sync_maxlen=None)}
    checked, applied = four_steps(run, BACKUP)
    assert applied["sync_daemon"] == {"state": "backup", "mcast_interface": "eth1", "syncid": 6,
                                      "sync_maxlen": 1200, "mcast_group": "239.1.2.3", "mcast_port": 8849,
                                      "mcast_ttl": 3}
    assert checked["sync_daemon"] == applied["sync_daemon"]
    assert [d["state"] for d in daemons(kernel)] == [1, 2]


def test_the_start_request_carries_every_setting(run, kernel):
    run(dict(MASTER, mcast_group="ff02::81", sync_maxlen=1400))
    (start,) = run.last_writes
    assert start.name == "NEW_DAEMON"
    assert start.attrs["daemon"] == {"state": nl.IP_VS_STATE_MASTER, "mcast_ifn": "eth1", "sync_id": 5,
                                     "sync_maxlen": 1400, "mcast_group6": "ff02::81", "mcast_port": 8848,
                                     "mcast_ttl": 1}


@pytest.mark.parametrize("change, differences", [
    ({"syncid": 7}, "syncid"),
    ({"interface": "eth2"}, "interface"),
    ({"mcast_group": "239.0.0.9", "mcast_ttl": 2}, "mcast_group, mcast_ttl"),
    ({"mcast_group": "FF05::0:81"}, "mcast_group"),
    ({"mcast_port": 9000}, "mcast_port"),
    ({"sync_maxlen": 1000}, "sync_maxlen"),
])
def test_a_changed_setting_restarts_the_daemon(run, kernel, change, differences):
    run(MASTER)
    args = dict(MASTER, **change)
    checked, applied = four_steps(run, args)
    assert applied["changes"] == ["restart master sync daemon (%s)" % differences]
    assert checked["diff"]["before"]["syncid"] == 5 and checked["diff"]["after"]["syncid"] == args["syncid"]
    (daemon,) = daemons(kernel)
    assert daemon["mcast_ifn"] == args["interface"] and daemon["sync_id"] == args["syncid"]


def test_a_restart_is_a_stop_then_a_start(run, kernel):
    run(MASTER)
    run(dict(MASTER, syncid=9))
    assert names(run.last_requests) == ["GET_DAEMON", "DEL_DAEMON", "NEW_DAEMON", "GET_DAEMON"]


def test_an_omitted_maxlen_is_not_compared(run, kernel):
    run(dict(MASTER, sync_maxlen=1000))
    result = run(MASTER)
    assert result["changed"] is False and result["sync_daemon"]["sync_maxlen"] == 1000


def test_stop(run, kernel):
    run(MASTER)
    run(BACKUP)
    args = {"role": "master", "state": "absent"}
    checked, applied = four_steps(run, args)
    assert applied["changes"] == ["stop master sync daemon"] and applied["sync_daemon"] is None
    assert checked["diff"]["after"] == {} and checked["diff"]["before"]["syncid"] == 5
    assert [d["state"] for d in daemons(kernel)] == [nl.IP_VS_STATE_BACKUP]


def test_absent_without_ipvs_changes_nothing(run, kernel):
    kernel.loaded = False
    result = run({"role": "backup", "state": "absent"})
    assert result["changed"] is False and run.commands == []


def test_present_without_ipvs_fails_unless_loading_is_allowed(run, kernel):
    kernel.loaded = False
    result = run(MASTER, fail=True)
    assert "load_modules=true" in result["msg"] and run.last_writes == []
    result = run(dict(MASTER, load_modules=True))
    assert result["changed"] and result["loaded_modules"] == ["ip_vs"] and run.commands == [["/sbin/modprobe", "ip_vs"]]


@pytest.mark.parametrize("args, errors", [
    ({"interface": None}, ["interface: required with state=present"]),
    ({"interface": "eth9"}, ["interface: this host has no network interface 'eth9'"]),
    ({"interface": "a-very-long-name0"}, ["interface: 'a-very-long-name0' is longer than 15 characters"]),
    ({"interface": "eth/1"}, ["interface: 'eth/1' is not a valid network interface name"]),
    ({"syncid": 256}, ["syncid: must be between 0 and 255, got 256"]),
    ({"syncid": -1, "mcast_port": 0}, ["syncid: must be between 0 and 255, got -1",
                                       "mcast_port: must be between 1 and 65535, got 0"]),
    ({"mcast_ttl": 256}, ["mcast_ttl: must be between 1 and 255, got 256"]),
    ({"mcast_group": "198.51.100.1"},
     ["mcast_group: 198.51.100.1 is not a multicast address (IPv4 224.0.0.0/4, IPv6 ff00::/8)"]),
    ({"mcast_group": "2001:db8::1"},
     ["mcast_group: 2001:db8::1 is not a multicast address (IPv4 224.0.0.0/4, IPv6 ff00::/8)"]),
    ({"mcast_group": "groupie"}, ["mcast_group: must be an IPv4 or IPv6 multicast address, got 'groupie'"]),
    ({"sync_maxlen": 36}, ["sync_maxlen: must be between 37 and 65507 for a master daemon with an IPv4 group, got 36"]),
    ({"sync_maxlen": 65508}, ["sync_maxlen: must be between 37 and 65507 for a master daemon with an IPv4 group, "
                              "got 65508"]),
    ({"role": "backup", "sync_maxlen": 1059},
     ["sync_maxlen: must be between 1060 and 65507 for a backup daemon with an IPv4 group, got 1059"]),
    ({"role": "backup", "sync_maxlen": 1079, "mcast_group": "ff02::81"},
     ["sync_maxlen: must be between 1080 and 65487 for a backup daemon with an IPv6 group, got 1079"]),
])
def test_bad_input_names_the_option_and_changes_nothing(run, kernel, args, errors):
    run(MASTER)
    before = list(kernel.daemons)
    result = run(dict(MASTER, **args), fail=True)
    assert result["errors"] == errors and result["msg"] == "Invalid input: " + "; ".join(errors)
    assert result["changed"] is False and run.last_writes == [] and kernel.daemons == before


@pytest.mark.parametrize("role, maxlen", [("master", 37), ("master", 65507), ("backup", 1060), ("backup", 65507)])
def test_the_bounds_of_maxlen_are_kept_as_given(run, kernel, role, maxlen):
    args = {"role": role, "interface": "eth1", "sync_maxlen": maxlen}
    run(args)
    assert run(args)["changed"] is False and daemons(kernel)[0]["sync_maxlen"] == maxlen


def test_a_kernel_refusal_is_explained(run, kernel):
    kernel.fail[("NEW_DAEMON", None, None)] = errno.EINVAL
    result = run(MASTER, fail=True)
    assert result["changed"] is False and result["errno"] == errno.EINVAL
    assert "starting the master sync daemon failed" in result["msg"] and "other address family" in result["msg"]


def test_a_failed_start_after_a_stop_reports_the_change(run, kernel):
    run(MASTER)
    kernel.fail[("NEW_DAEMON", None, None)] = errno.ENOMEM
    result = run(dict(MASTER, syncid=8), fail=True)
    assert result["changed"] is True and kernel.daemons == []
    assert "The master sync daemon was stopped to apply new settings and does not run now." in result["msg"]
