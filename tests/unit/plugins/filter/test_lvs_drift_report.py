# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drift and report filters on the lab's data model; the IPVS side comes from the real lvs.cluster.ipvs and
ipvs_info modules run against the fake kernel (check mode: the kernel refuses any write)."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.filter import (
    lvs_drift_file,
    lvs_drift_ipvs,
    lvs_drift_real_server,
    lvs_drift_vips,
    lvs_report,
    lvs_report_svg,
    lvs_report_table,
)
from ansible_collections.lvs.cluster.plugins.filter.lvs_director_view import lvs_director_view
from ansible_collections.lvs.cluster.plugins.filter.lvs_real_server_view import lvs_real_server_view
from ansible_collections.lvs.cluster.plugins.filter.lvs_services import lvs_services
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_model import normalize_destination, normalize_service
from ansible_collections.lvs.cluster.plugins.modules import ipvs
from ansible_collections.lvs.cluster.tests.unit.plugins.filter.lvs_lab_data import lab
from ansible_collections.lvs.cluster.tests.unit.plugins.modules.fake_ipvs_kernel import FakeKernel, ModuleRunner

DIRECTORS = ("director1", "director2")


@pytest.fixture(scope="module")
def model():
    services, hostvars, groups = lab()
    normalized = lvs_services(services, hostvars, groups)
    views = dict((name, lvs_director_view(normalized, hostvars, groups, name)) for name in DIRECTORS)
    rs_views = dict((name, lvs_real_server_view(normalized, hostvars, groups, name)) for name in ("rs1", "rs2", "rs3"))
    return {"normalized": normalized, "hostvars": hostvars, "groups": groups, "views": views, "rs": rs_views}


@pytest.fixture
def kernel():
    return FakeKernel()


def programmed(monkeypatch, kernel, view):
    """The fake kernel holding exactly the view's table, as the static engine programs it."""
    result = ModuleRunner(monkeypatch, kernel, ipvs)({"services": view["ipvs_services"], "exclusive": True})
    assert result["changed"]
    return kernel


def plan(monkeypatch, kernel, view):
    """What playbooks/drift.yml runs: the ipvs module in check and diff mode with the wanted table."""
    return ModuleRunner(monkeypatch, kernel, ipvs)({"services": view["ipvs_services"], "exclusive": True},
                                                   check_mode=True, diff=True)


def addresses(held):
    """ip -j address show, for {interface: [cidr, ...]} (and flags)."""
    links = []
    for name, cidrs in held.items():
        links.append({"ifname": name, "flags": ["BROADCAST", "NOARP", "UP"] if name == "lvs-dr" else ["UP"],
                      "addr_info": [{"local": c.split("/")[0], "prefixlen": int(c.split("/")[1]), "scope": "global"}
                                    for c in cidrs]})
    return links


def test_filter_modules_export_their_filter():
    for module, name in ((lvs_drift_file, "lvs_drift_file"), (lvs_drift_ipvs, "lvs_drift_ipvs"),
                         (lvs_drift_real_server, "lvs_drift_real_server"), (lvs_drift_vips, "lvs_drift_vips"),
                         (lvs_report, "lvs_report"), (lvs_report_svg, "lvs_report_svg"),
                         (lvs_report_table, "lvs_report_table")):
        assert list(module.FilterModule().filters()) == [name]


def test_ipvs_no_drift_then_each_difference_named(monkeypatch, kernel, model):
    view = model["views"]["director1"]
    programmed(monkeypatch, kernel, view)
    assert lvs_drift_ipvs.lvs_drift_ipvs(plan(monkeypatch, kernel, view), "director1") == []
    # a weight changed behind the model's back, a rogue real server, a service the model does not know
    kernel.services["tcp/198.51.100.100:80"]["dests"]["198.51.100.21:80"]["weight"] = 7
    kernel.add_dest("tcp/198.51.100.100:80", "198.51.100.99", 80, weight=3)
    kernel.add_service(addr="198.51.100.199", port=443, sched="rr")
    del kernel.services["tcp/198.51.100.101:80"]
    writes = len(kernel.writes())
    result = plan(monkeypatch, kernel, view)
    assert len(kernel.writes()) == writes
    lines = lvs_drift_ipvs.lvs_drift_ipvs(result, "director1")
    assert sorted(lines) == sorted([
        "director1 IPVS service tcp/198.51.100.100:80 real server 198.51.100.21:80 weight: wanted 1, found 7",
        "director1 IPVS service tcp/198.51.100.100:80 real server 198.51.100.99:80: wanted absent (not in the "
        "inventory), found present (dr, weight 3)",
        "director1 IPVS service tcp/198.51.100.101:80: wanted present (scheduler rr, 1 real server), found absent",
        "director1 IPVS service tcp/198.51.100.101:80 real server 198.18.2.23:80: wanted present (tun, weight 1), "
        "found absent",
        "director1 IPVS service tcp/198.51.100.199:443: wanted absent, found present (scheduler rr, 0 real servers)",
    ]), lines


def test_ipvs_drained_server_at_weight_0_is_not_drift(monkeypatch, kernel, model):
    services, hostvars, groups = lab()
    drained = lvs_director_view(model["normalized"], hostvars, groups, "director1",
                                drained={"version": 1, "drained": {"rs1": ["*"]}})
    programmed(monkeypatch, kernel, drained)
    assert lvs_drift_ipvs.lvs_drift_ipvs(plan(monkeypatch, kernel, drained), "director1") == []
    # against the model without the drain state, the weights 0 are differences
    lines = lvs_drift_ipvs.lvs_drift_ipvs(plan(monkeypatch, kernel, model["views"]["director1"]), "director1")
    assert "director1 IPVS service tcp/198.51.100.102:8080 real server 198.18.1.21:80 weight: wanted 2, found 0" \
        in lines and len(lines) == 4


def test_ipvs_a_failed_read_is_drift():
    assert lvs_drift_ipvs.lvs_drift_ipvs({"failed": True, "msg": "pyroute2 missing"}, "d1") == [
        "d1 IPVS table: wanted readable, found an error: pyroute2 missing"]
    with pytest.raises(AnsibleFilterError, match="lvs_drift_ipvs"):
        lvs_drift_ipvs.lvs_drift_ipvs("nonsense", "d1")


def test_file_drift_quotes_the_changed_lines_unless_secret():
    rendered = "global_defs {\n}\nvrrp_instance VI_1 {\n    priority 150\n}\n"
    on_disk = rendered.replace("priority 150", "priority 99")
    result = {"changed": True, "diff": [{"before": on_disk, "after": rendered}]}
    assert lvs_drift_file.lvs_drift_file(result, "director2", "/etc/keepalived/keepalived.conf") == [
        'director2 /etc/keepalived/keepalived.conf line 4: wanted "priority 150", found "priority 99"']
    secret = lvs_drift_file.lvs_drift_file({"changed": True}, "director2", "/etc/k.conf", secret=True)
    assert secret == ["director2 /etc/k.conf: wanted the content rendered from the inventory, found a different "
                      "content (not shown: it holds a secret)"]
    assert lvs_drift_file.lvs_drift_file({"changed": False, "diff": [{"before": "a", "after": "a"}]}, "d", "/p") == []
    assert lvs_drift_file.lvs_drift_file({"skipped": True}, "d", "/p") == []
    assert lvs_drift_file.lvs_drift_file({"changed": True, "diff": [{"before": "", "after": "x"}]}, "d", "/p") == [
        "d /p: wanted the content rendered from the inventory, found an absent or empty file"]
    many = {"changed": True, "diff": [{"before": "a\nb\nc\nd\ne\nf\ng\n", "after": "A\nb\nC\nd\nE\nf\nG\n"}]}
    lines = lvs_drift_file.lvs_drift_file(many, "d", "/p", context=2)
    assert len(lines) == 3 and lines[-1] == "d /p: wanted (more differences), found see the task's diff (--diff)"


def vip_holdings(model, holders):
    """{director: {view, addresses}} where `holders` maps each director to the VIPs it holds."""
    data = {}
    for name in DIRECTORS:
        view = model["views"][name]
        data[name] = {"view": view, "addresses": addresses({"eth1": ["%s/32" % a for a in holders.get(name, [])]})}
    return data


def all_vips(model):
    view = model["views"]["director1"]
    return [v["address"] for v in view["vips"] + view["nat_gateways"]]


def test_vips_on_the_master_only(model):
    master = [i for i in model["views"]["director1"]["vrrp_instances"] if i["state"] == "MASTER"]
    assert master, "director1 has the highest priority in the lab"
    assert lvs_drift_vips.lvs_drift_vips(vip_holdings(model, {"director1": all_vips(model)})) == []
    holders = {"director1": all_vips(model), "director2": ["198.51.100.100"]}
    both = lvs_drift_vips.lvs_drift_vips(vip_holdings(model, holders))
    assert len(both) == 1 and both[0].startswith("cluster VIP 198.51.100.100: wanted on director1 (the VRRP master")
    assert both[0].endswith("found on director1, director2")
    moved = lvs_drift_vips.lvs_drift_vips(vip_holdings(model, {"director2": all_vips(model)}))
    assert len(moved) == len(all_vips(model)) and all(line.endswith("found on director2") for line in moved)
    none = lvs_drift_vips.lvs_drift_vips(vip_holdings(model, {}))
    assert all(line.endswith("found on no director") for line in none)


def test_real_server_sysctls_and_devices(model):
    view = model["rs"]["rs1"]
    sysctls = dict((item["name"], str(item["value"])) for item in view["sysctls"])
    held = {"lvs-dr": sorted(v["cidr"] for v in view["dr"]["vips"]), "tunl0": [], "eth1": ["198.51.100.21/24"]}
    assert lvs_drift_real_server.lvs_drift_real_server(view, "rs1", sysctls, addresses(held)) == []
    arp_ignore = [item["name"] for item in view["sysctls"] if item["name"].endswith("arp_ignore")][0]
    flipped = dict(sysctls, **{arp_ignore: "0"})
    removed = dict(held, **{"lvs-dr": held["lvs-dr"][1:]})
    lines = lvs_drift_real_server.lvs_drift_real_server(view, "rs1", flipped, addresses(removed))
    assert lines == ["rs1 sysctl %s: wanted 1, found 0" % arp_ignore,
                     "rs1 device lvs-dr addresses: wanted %s, found %s" % (", ".join(held["lvs-dr"]),
                                                                           ", ".join(held["lvs-dr"][1:]))]
    # with the ARP filter the ARP sysctls are not the role's business
    assert lvs_drift_real_server.lvs_drift_real_server(view, "rs1", flipped, addresses(held), arp_filter=True) == []
    gone = lvs_drift_real_server.lvs_drift_real_server(view, "rs1", {}, [])
    assert "rs1 device lvs-dr: wanted present with %s, found absent" % ", ".join(held["lvs-dr"]) in gone
    assert all(("found absent" in line) for line in gone)


def ipvs_info_of(kernel):
    """What lvs.cluster.ipvs_info returns for the fake kernel's table (the module's own normalizers)."""
    services = []
    for entry in kernel.services.values():
        service = normalize_service(entry["raw"])
        service["destinations"] = [normalize_destination(d, entry["raw"]["af"]) for d in entry["dests"].values()]
        services.append(service)
    return {"changed": False, "services": services}


def report_input(monkeypatch, model, drained_rs1=False):
    """Both directors: director1 holds every VIP and a table with counters; director2 the same table."""
    data = {}
    _services, hostvars, groups = lab()
    for name in DIRECTORS:
        kernel = FakeKernel()
        view = lvs_director_view(model["normalized"], hostvars, groups, name,
                                 drained={"version": 1, "drained": {"rs1": ["*"]}} if drained_rs1 else None)
        programmed(monkeypatch, kernel, view)
        kernel.services["tcp/198.51.100.100:80"]["dests"]["198.51.100.22:80"]["active_conns"] = 3
        info = ipvs_info_of(kernel)
        data[name] = {"view": view, "ipvs": info,
                      "addresses": addresses({"eth1": ["%s/32" % a for a in all_vips(model)]}
                                             if name == "director1" else {"eth1": ["198.51.100.12/24"]})}
    return data


def test_report_shape_table_and_svg(monkeypatch, model):
    mounts = {"rs1": {"filesystems": [{"target": "/srv/lvs-shared", "source": "198.18.1.31:/srv/nfs",
                                       "fstype": "nfs4"}]}, "rs2": {}}
    report = lvs_report.lvs_report(report_input(monkeypatch, model), mounts, "2026-01-01T00:00:00Z")
    assert json.loads(json.dumps(report)) == report
    assert report["directors"] == ["director1", "director2"]
    assert [i["master"] for i in report["vrrp"]] == ["director1"] * len(report["vrrp"])
    names = [s["name"] for s in report["services"]]
    assert names == [vs["name"] for vs in model["views"]["director1"]["virtual_servers"]]
    web = report["services"][names.index("web-dr")]
    assert web["director"] == "director1" and web["in_table"]
    assert [(r["host"], r["destination"], r["forwarding"], r["weight"], r["health"], r["active_connections"])
            for r in web["real_servers"]] == [("rs1", "198.51.100.21:80", "dr", 1, "up", 0),
                                              ("rs2", "198.51.100.22:80", "dr", 1, "up", 3)]
    for service in report["services"]:
        assert service["director"] == "director1", service
        for row in service["real_servers"]:
            assert all(isinstance(row[k], int) for k in ("active_connections", "inactive_connections",
                                                         "connections", "cps", "in_bps"))
    assert report["storage"] == {"rs1": [{"target": "/srv/lvs-shared", "source": "198.18.1.31:/srv/nfs",
                                          "fstype": "nfs4"}], "rs2": []}

    table = lvs_report_table.lvs_report_table(report)
    assert table.splitlines()[0].startswith("VRRP ") and "master director1" in table.splitlines()[0]
    assert "web-dr  tcp 198.51.100.100:80  rr on director1" in table
    assert "web-dr6  tcp [2001:db8:100::100]:80" in table
    assert "web-fwmark  fwmark 10 (198.51.100.103)" in table
    row = [line for line in table.splitlines() if line.strip().startswith("198.51.100.22:80")][0]
    assert row.split()[:6] == ["198.51.100.22:80", "rs2", "dr", "1", "up", "3"]
    assert "  rs1      198.18.1.31:/srv/nfs on /srv/lvs-shared (nfs4)" in table

    svg = lvs_report_svg.lvs_report_svg(report)
    root = ET.fromstring(svg.split("\n", 1)[1])
    texts = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    for service in report["services"]:
        assert service["name"] in texts
    for name in ("director1", "director2", "rs1", "rs2", "rs3", "198.18.1.31:/srv/nfs", "198.51.100.100"):
        assert name in texts
    assert svg == lvs_report_svg.lvs_report_svg(copy.deepcopy(report))


def test_report_health_drained_down_and_rogue(monkeypatch, model):
    data = report_input(monkeypatch, model, drained_rs1=True)
    services = data["director1"]["ipvs"]["services"]
    web = [s for s in services if s["key"] == "tcp/198.51.100.100:80"][0]
    web["destinations"] = [d for d in web["destinations"] if d["key"] != "198.51.100.22:80"]
    web["destinations"].append(dict(web["destinations"][0], key="198.51.100.99:80", address="198.51.100.99"))
    report = lvs_report.lvs_report(data)
    rows = dict((r["destination"], r) for r in report["services"][0]["real_servers"])
    assert rows["198.51.100.21:80"]["health"] == "drained" and rows["198.51.100.21:80"]["weight"] == 0
    assert rows["198.51.100.22:80"]["health"] == "down (not in the table)"
    assert rows["198.51.100.22:80"]["weight"] is None
    assert rows["198.51.100.99:80"]["health"] == "not in the inventory" and rows["198.51.100.99:80"]["host"] is None
    table = lvs_report_table.lvs_report_table(report)
    assert "down (not in the table)" in table and "not in the inventory" in table
    ET.fromstring(lvs_report_svg.lvs_report_svg(report).split("\n", 1)[1])


def test_report_bad_input_names_it():
    with pytest.raises(AnsibleFilterError, match="directors.director1: ipvs is missing"):
        lvs_report.lvs_report({"director1": {"view": {}, "addresses": []}})
    with pytest.raises(AnsibleFilterError, match="expected a mapping"):
        lvs_report.lvs_report({})
