# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_common: what the running kernel offers (read from a fake /proc and /lib/modules), and failure results."""

from __future__ import annotations

from ansible_collections.lvs.cluster.plugins.module_utils import _common
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_diff import IPVSValidationError
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_netlink import IPVSPermissionError


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_schedulers_and_engines_from_modules_dep_builtin_and_proc(tmp_path):
    write(tmp_path / "proc/modules", "ip_vs_wlc 16384 1 - Live 0x0\nip_vs 188416 3 ip_vs_wlc, Live 0x0\n"
                                     "nf_conntrack 180224 1 ip_vs, Live 0x0\n")
    write(tmp_path / "lib/modules/6.1.0-test/modules.dep",
          "kernel/net/netfilter/ipvs/ip_vs.ko: kernel/net/netfilter/nf_conntrack.ko\n"
          "kernel/net/netfilter/ipvs/ip_vs_rr.ko.xz: kernel/net/netfilter/ipvs/ip_vs.ko\n"
          "kernel/net/netfilter/ipvs/ip_vs_mh.ko.zst: kernel/net/netfilter/ipvs/ip_vs.ko\n"
          "kernel/net/netfilter/ipvs/ip_vs_ftp.ko: kernel/net/netfilter/ipvs/ip_vs.ko\n"
          "kernel/net/netfilter/ipvs/ip_vs_pe_sip.ko.gz: kernel/net/netfilter/nf_conntrack_sip.ko\n"
          "kernel/net/netfilter/xt_ipvs.ko: kernel/net/netfilter/ipvs/ip_vs.ko\n")
    write(tmp_path / "lib/modules/6.1.0-test/modules.builtin", "kernel/net/netfilter/ipvs/ip_vs_twos.ko\n")
    kernel = _common.probe_kernel_modules(root=str(tmp_path), release="6.1.0-test")
    assert kernel.schedulers == {"rr", "mh", "twos", "wlc"}
    assert kernel.engines == {"sip"}
    assert kernel.loaded == {"ip_vs", "ip_vs_wlc"}
    assert "ip_vs_rr" in kernel.offered and "ip_vs_rr" not in kernel.loaded


def test_nothing_known_without_module_indexes(tmp_path):
    write(tmp_path / "proc/modules", "ip_vs_rr 16384 1 - Live 0x0\n")
    kernel = _common.probe_kernel_modules(root=str(tmp_path), release="none")
    assert kernel.schedulers is None and kernel.engines is None and kernel.loaded == {"ip_vs_rr"}
    kernel = _common.probe_kernel_modules(root=str(tmp_path / "nothing"), release="none")
    assert kernel.schedulers is None and kernel.loaded == set()


def test_failure_arguments():
    args = _common.failure(IPVSValidationError(["port: bad", "weight: bad"]), {"loaded_modules": []})
    assert args == {"loaded_modules": [], "changed": False, "msg": "Invalid input: port: bad; weight: bad",
                    "errors": ["port: bad", "weight: bad"]}
    args = _common.failure(IPVSPermissionError("refused", 1))
    assert args == {"changed": False, "msg": "refused", "errno": 1}
    error = _common.IPVSApplyError("failed", applied=["create service x"], refused=[], not_applied=[], unknown=[],
                                   summary={})
    args = _common.failure(error)
    assert args["changed"] is True and args["changes"] == ["create service x"] and args["msg"] == "failed"
