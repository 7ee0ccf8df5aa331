# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""lvs.cluster.ipvs_timeouts against the fake kernel (fake_ipvs_kernel)."""

from __future__ import annotations

import errno

import pytest

from ansible_collections.lvs.cluster.plugins.modules import ipvs_timeouts
from ansible_collections.lvs.cluster.tests.unit.plugins.modules.fake_ipvs_kernel import (
    FakeKernel,
    ModuleRunner,
)

DEFAULTS = {"timeout_tcp": 900, "timeout_tcp_fin": 120, "timeout_udp": 300}


@pytest.fixture
def kernel():
    return FakeKernel()


@pytest.fixture
def run(monkeypatch, kernel):
    return ModuleRunner(monkeypatch, kernel, ipvs_timeouts)


@pytest.mark.parametrize("args, timeouts, changes", [
    ({"tcp": 600}, {"tcp": 600, "tcp_fin": 120, "udp": 300}, ["set tcp timeout 900 -> 600"]),
    ({"tcpfin": 60, "udp": 30}, {"tcp": 900, "tcp_fin": 60, "udp": 30},
     ["set tcp_fin timeout 120 -> 60", "set udp timeout 300 -> 30"]),
    ({"tcp": 1, "tcp_fin": 2, "udp": 2147483}, {"tcp": 1, "tcp_fin": 2, "udp": 2147483},
     ["set tcp timeout 900 -> 1", "set tcp_fin timeout 120 -> 2", "set udp timeout 300 -> 2147483"]),
    ({"tcp": 0, "udp": 0, "tcp_fin": 121}, {"tcp": 900, "tcp_fin": 121, "udp": 300}, ["set tcp_fin timeout 120 -> 121"]),
])
def test_four_steps(run, kernel, args, timeouts, changes):
    checked = run(args, check_mode=True, diff=True)
    assert run.last_writes == [] and kernel.timeouts == DEFAULTS
    applied = run(args, diff=True)
    assert checked == applied
    assert applied["changed"] is True and applied["changes"] == changes and applied["timeouts"] == timeouts
    assert applied["diff"] == {"before": {"tcp": 900, "tcp_fin": 120, "udp": 300}, "after": timeouts}
    assert kernel.timeouts == {"timeout_tcp": timeouts["tcp"], "timeout_tcp_fin": timeouts["tcp_fin"],
                               "timeout_udp": timeouts["udp"]}
    # only the timeouts that change are sent (the kernel keeps the others as they are)
    (write,) = run.last_writes
    sent = dict((name, value) for name, value in write.attrs.items() if name.startswith("timeout_"))
    assert sent == dict(("timeout_" + name, timeouts[name]) for name in ("tcp", "tcp_fin", "udp")
                        if timeouts[name] != DEFAULTS["timeout_" + name])
    for check_mode in (True, False):
        again = run(args, check_mode=check_mode, diff=True)
        assert again["changed"] is False and again["changes"] == [] and run.last_writes == []
        assert again["diff"]["before"] == again["diff"]["after"] == timeouts


def test_nothing_given_changes_nothing(run, kernel):
    result = run({})
    assert result["changed"] is False and result["timeouts"] == {"tcp": 900, "tcp_fin": 120, "udp": 300}
    assert run.last_writes == []


@pytest.mark.parametrize("args, errors", [
    ({"tcp": -1}, ["tcp: must be between 0 and 2147483, got -1"]),
    ({"udp": 2147484}, ["udp: must be between 0 and 2147483, got 2147484"]),
    ({"tcp": -5, "tcp_fin": 3000000, "udp": 10},
     ["tcp: must be between 0 and 2147483, got -5", "tcp_fin: must be between 0 and 2147483, got 3000000"]),
])
def test_bad_input_names_the_option_and_changes_nothing(run, kernel, args, errors):
    result = run(args, fail=True)
    assert result["errors"] == errors and result["msg"] == "Invalid input: " + "; ".join(errors)
    assert result["changed"] is False and run.last_writes == [] and kernel.timeouts == DEFAULTS


def test_a_kernel_refusal_fails_with_the_reason(run, kernel):
    kernel.fail[("SET_CONFIG", None, None)] = errno.EINVAL
    result = run({"tcp": 10}, fail=True)
    assert result["errno"] == errno.EINVAL and "setting the IPVS timeouts failed" in result["msg"]
    assert kernel.timeouts == DEFAULTS


def test_without_ipvs(run, kernel):
    kernel.loaded = False
    result = run({"tcp": 10}, fail=True)
    assert "load_modules=true" in result["msg"]
    result = run({"tcp": 10, "load_modules": True})
    assert result["loaded_modules"] == ["ip_vs"] and kernel.timeouts["timeout_tcp"] == 10
