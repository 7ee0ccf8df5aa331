# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""lvs.cluster.ipvs (the whole table, the bulk path) against the fake kernel: reads, batches, failures."""

from __future__ import annotations

import errno
import json

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_netlink as nl
from ansible_collections.lvs.cluster.plugins.modules import ipvs
from ansible_collections.lvs.cluster.tests.unit.plugins.modules.fake_ipvs_kernel import (
    FakeKernel,
    ModuleRunner,
)


@pytest.fixture
def kernel():
    return FakeKernel()


@pytest.fixture
def run(monkeypatch, kernel):
    return ModuleRunner(monkeypatch, kernel, ipvs)


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(nl._Channel, "BATCH_SIZE", 25)  # pylint: disable=protected-access


def table(services=20, dests=4, weight=1):
    return [{"address": "198.51.100.%d" % (100 + number), "port": 80, "scheduler": "rr",
             "destinations": [{"address": "203.0.113.%d" % (10 + index), "weight": weight} for index in range(dests)]}
            for number in range(services)]


def names(requests):
    return [request.name for request in requests]


def test_four_steps_and_one_read_of_the_table(run, kernel):
    args = {"services": table(), "exclusive": True}
    checked = run(args, check_mode=True, diff=True)
    assert run.last_writes == [] and kernel.services == {}
    applied = run(args, diff=True)
    assert checked == applied
    assert applied["summary"] == {"services_created": 20, "services_modified": 0, "services_removed": 0,
                                  "destinations_created": 80, "destinations_modified": 0, "destinations_removed": 0}
    assert len(applied["diff"]["after"]["services"]) == 20 and applied["diff"]["before"]["services"] == {}
    assert len(kernel.services) == 20
    rechecked = run(args, check_mode=True, diff=True)
    reapplied = run(args, diff=True)
    assert rechecked == reapplied and reapplied["changed"] is False and reapplied["changes"] == []
    # a re-apply reads the table with one service dump and one destination dump per service, nothing else
    assert names(run.last_requests) == ["GET_SERVICE"] + ["GET_DEST"] * 20


def test_batches_ask_for_an_ack_only_at_their_end(run, kernel, small_batches):
    result = run({"services": table(services=10, dests=4)})  # 50 requests -> 2 batches of 25
    assert result["changed"] and len(result["changes"]) == 50
    writes = run.last_writes
    assert [sum(1 for w in writes if w.sendto == number) for number in sorted(set(w.sendto for w in writes))] == [25, 25]
    assert [index for index, request in enumerate(writes) if request.acked] == [24, 49]
    seqs = [request.seq for request in writes]
    assert seqs == list(range(seqs[0], seqs[0] + 50))
    assert kernel.sendtos[-2:] == [25, 25]


def test_errors_are_mapped_to_requests_by_sequence_number(run, kernel, small_batches):
    """Two refusals in the first batch (none of them acked): both are named; the batch's other requests were
    applied; the second batch was never sent."""
    kernel.fail[("NEW_DEST", "tcp/198.51.100.101:80", "203.0.113.12:80")] = errno.EINVAL
    kernel.fail[("NEW_SERVICE", "tcp/198.51.100.103:80", None)] = errno.ENOMEM
    result = run({"services": table(services=10, dests=4)}, fail=True)
    assert [(c["change"], c["errno"]) for c in result["refused"]] == [
        ("create destination 203.0.113.12:80 of tcp/198.51.100.101:80", errno.EINVAL),
        ("create service tcp/198.51.100.103:80", errno.ENOMEM),
        # its destinations went in the same batch and found no service
        ("create destination 203.0.113.10:80 of tcp/198.51.100.103:80", errno.ESRCH),
        ("create destination 203.0.113.11:80 of tcp/198.51.100.103:80", errno.ESRCH),
        ("create destination 203.0.113.12:80 of tcp/198.51.100.103:80", errno.ESRCH),
        ("create destination 203.0.113.13:80 of tcp/198.51.100.103:80", errno.ESRCH),
    ]
    assert "the service does not exist" in result["refused"][2]["error"]
    assert len(result["applied"]) == 25 - 6 and len(result["not_applied"]) == 25 and result["unknown"] == []
    assert result["changed"] is True
    assert result["msg"].startswith("Applying the IPVS changes failed: the kernel refused 6 of 50 changes: ")
    assert result["msg"].endswith("; 19 changes were applied and 25 were not sent.")
    assert result["summary"]["services_created"] == 4 and result["summary"]["destinations_created"] == 15
    assert kernel.sendtos[-1] == 25 and len(run.last_writes) == 25
    # exactly what the result says is in the kernel, and nothing else
    in_kernel = set("create service %s" % key for key in kernel.services)
    in_kernel |= set("create destination %s of %s" % (dest, key)
                     for key, entry in kernel.services.items() for dest in entry["dests"])
    assert set(result["applied"]) == in_kernel


def test_a_rerun_after_a_failure_completes_the_table(run, kernel, small_batches):
    kernel.fail[("NEW_SERVICE", "tcp/198.51.100.103:80", None)] = errno.ENOMEM
    run({"services": table(services=10, dests=4)}, fail=True)
    kernel.fail.clear()
    result = run({"services": table(services=10, dests=4)})
    # the refused service and its destinations, and the second batch (services 5 to 9)
    assert result["summary"]["services_created"] == 6 and result["summary"]["destinations_created"] == 24
    assert len(kernel.services) == 10
    assert run({"services": table(services=10, dests=4)})["changed"] is False


def test_lost_replies_make_outcomes_unknown(run, kernel, small_batches):
    kernel.fail[("NEW_DEST", "tcp/198.51.100.101:80", "203.0.113.12:80")] = errno.EINVAL

    original = kernel.raw

    def raw(sock):
        channel = original(sock)
        # after the service dump, the first batch's replies overflow the receive queue
        channel.enobufs_on = len(kernel.sendtos) + 1
        return channel

    kernel.raw = raw
    result = run({"services": table(services=10, dests=4)}, fail=True)
    assert "25 changes were sent but their outcome is unknown (replies were lost)" in result["msg"]
    assert len(result["unknown"]) == 25 and result["applied"] == [] and len(result["not_applied"]) == 25


def test_exclusive_removes_unlisted_services_and_destinations(run, kernel):
    kernel.add_service(addr="198.51.100.100", sched="rr", dests=[{"addr": "203.0.113.10", "port": 80},
                                                                 {"addr": "203.0.113.99", "port": 80}])
    kernel.add_service(addr="198.51.100.250", dests=[{"addr": "203.0.113.10", "port": 80}])
    kernel.add_service(fwmark=5)
    args = {"services": table(services=1, dests=1), "exclusive": True}
    result = run(args, diff=True)
    assert result["changes"] == [
        "remove destination 203.0.113.99:80 of tcp/198.51.100.100:80",
        "remove service tcp/198.51.100.250:80",
        "remove service fwmark/ipv4/5",
    ]
    assert sorted(result["diff"]["before"]["services"]) == ["fwmark/ipv4/5", "tcp/198.51.100.100:80",
                                                            "tcp/198.51.100.250:80"]
    assert list(result["diff"]["after"]["services"]) == ["tcp/198.51.100.100:80"]
    assert list(kernel.services) == ["tcp/198.51.100.100:80"]


def test_without_exclusive_unlisted_services_stay(run, kernel):
    kernel.add_service(addr="198.51.100.250", dests=[{"addr": "203.0.113.10", "port": 80}])
    result = run({"services": table(services=1, dests=1)})
    assert [change.split()[0] for change in result["changes"]] == ["create", "create"]
    assert len(kernel.services) == 2
    # and the unlisted service's destinations were never dumped
    assert names(run.last_requests).count("GET_DEST") == 0


def test_per_service_purge_overrides_exclusive(run, kernel):
    kernel.add_service(addr="198.51.100.100", sched="rr", dests=[{"addr": "203.0.113.10", "port": 80},
                                                                 {"addr": "203.0.113.99", "port": 80}])
    services = table(services=1, dests=1)
    services[0]["purge_destinations"] = False
    assert run({"services": services, "exclusive": True})["changed"] is False


def test_ten_percent_of_weights_changed_is_ten_percent_of_the_requests(run, kernel):
    run({"services": table(services=10, dests=10)})
    services = table(services=10, dests=10)
    for service in services:
        service["destinations"][3]["weight"] = 5
    result = run({"services": services})
    assert names(run.last_writes) == ["SET_DEST"] * 10
    assert all(change.endswith(" (weight)") for change in result["changes"])


def test_changes_are_capped_with_the_count_of_those_left_out(run, kernel):
    """110 changes: the result lists the first 50 and counts the other 60; the summary counts all of them; check
    mode reports the same."""
    args = {"services": table(services=10, dests=10)}
    checked = run(args, check_mode=True)
    result = run(args)
    assert checked == result
    assert len(kernel.services) == 10 and sum(len(entry["dests"]) for entry in kernel.services.values()) == 100
    assert result["changes"][:12] == ["create service tcp/198.51.100.100:80"] + [
        "create destination 203.0.113.%d:80 of tcp/198.51.100.100:80" % (10 + index) for index in range(10)] + [
        "create service tcp/198.51.100.101:80"]
    assert len(result["changes"]) == 50 and result["changes_omitted"] == 60
    assert result["summary"]["services_created"] == 10 and result["summary"]["destinations_created"] == 100
    again = run(args)
    assert again["changes"] == [] and again["changes_omitted"] == 0


@pytest.mark.parametrize("options", [{"diff": True}, {"verbosity": 2}, {"verbosity": 3}])
def test_diff_mode_or_verbosity_lists_every_change(run, kernel, options):
    args = {"services": table(services=10, dests=10)}
    if "verbosity" in options:
        args["_ansible_verbosity"] = options["verbosity"]
    result = run(args, diff=options.get("diff", False))
    assert len(result["changes"]) == 110 and result["changes_omitted"] == 0
    assert result["changes"][-1] == "create destination 203.0.113.19:80 of tcp/198.51.100.109:80"
    if options.get("diff"):
        # the diff stays exact: every service, with every real server
        assert len(result["diff"]["after"]["services"]) == 10


def test_verbosity_one_keeps_the_cap(run, kernel):
    result = run({"services": table(services=10, dests=10), "_ansible_verbosity": 1})
    assert len(result["changes"]) == 50 and result["changes_omitted"] == 60


def test_state_absent_entries(run, kernel):
    kernel.add_service(addr="198.51.100.100")
    result = run({"services": [{"address": "198.51.100.100", "port": 80, "state": "absent"},
                               {"address": "198.51.100.101", "port": 80, "state": "absent"}]})
    assert result["changes"] == ["remove service tcp/198.51.100.100:80"]


def test_validation_errors_name_every_entry_and_nothing_is_sent(run, kernel):
    kernel.add_service(addr="198.51.100.100")
    services = table(services=3, dests=2)
    services[1]["destinations"][1]["weight"] = -4
    services[2]["scheduler"] = "nosuch"
    services.append(dict(services[0]))
    result = run({"services": services, "exclusive": True}, fail=True)
    assert result["errors"] == [
        "services[1].destinations[1].weight: must be between 0 and 2147483647, got -4",
        "services[3]: service tcp/198.51.100.100:80 is declared twice (also services[0])",
    ]
    assert kernel.requests == [] and kernel.sockets == 0
    del services[3]
    services[1]["destinations"][1]["weight"] = 4
    result = run({"services": services, "exclusive": True}, fail=True)
    assert result["errors"] == [
        "services[2].scheduler: the running kernel offers no nosuch scheduler (no module ip_vs_nosuch; it offers "
        "dh, fo, lblc, lblcr, lc, mh, nq, ovf, rr, sed, sh, wlc, wrr)"]
    assert kernel.requests == [] and len(kernel.services) == 1


def test_every_option_round_trips(run, kernel):
    services = [
        {"protocol": "udp", "address": "2001:db8:100::53", "port": 53, "scheduler": "sh",
         "scheduler_flags": ["sh-fallback", "sh-port"], "persistence_timeout": 600, "persistence_prefix": 64,
         "one_packet": True, "destinations": [{"address": "2001:db8:101::21", "forwarding_method": "nat",
                                               "port": 5353, "weight": 4, "upper_threshold": 1000,
                                               "lower_threshold": 500}]},
        {"protocol": "sctp", "address": "198.51.100.101", "port": 9999, "scheduler": "lblcr",
         "persistence_timeout": 300, "persistence_netmask": "255.255.255.0",
         "destinations": [{"address": "198.51.100.22", "weight": 0}]},
        {"fwmark": 7, "scheduler": "mh", "scheduler_flags": ["mh-port"], "destinations": [
            {"address": "198.18.2.23", "forwarding_method": "tun", "tunnel_type": "gue", "tunnel_port": 6080,
             "tunnel_checksum": "nocsum"},
            {"address": "198.18.2.24", "forwarding_method": "tun", "tunnel_type": "gre", "tunnel_checksum": "csum"},
            {"address": "198.18.2.25", "forwarding_method": "ipip"},
            {"address": "2001:db8:101::25", "forwarding_method": "tun", "tunnel_type": "gue", "tunnel_port": 5555,
             "tunnel_checksum": "remcsum"}]},
        {"fwmark": 8, "family": "ipv6", "scheduler": "wrr", "persistence_timeout": 60, "persistence_engine": "sip",
         "destinations": [{"address": "2001:db8:101::22", "weight": 4}]},
    ]
    first = run({"services": services, "exclusive": True})
    assert first["summary"]["services_created"] == 4 and first["summary"]["destinations_created"] == 7
    second = run({"services": services, "exclusive": True})
    assert second["changed"] is False, second["changes"]


def test_not_root(run, kernel):
    kernel.fail[("GET_SERVICE", None, None)] = errno.EPERM
    result = run({"services": table(services=1, dests=1)}, fail=True)
    assert result["msg"].startswith("dumping the IPVS services was refused (Operation not permitted (errno 1)): IPVS "
                                    "netlink requests need CAP_NET_ADMIN; run as root (become: true)")
    assert result["errno"] == errno.EPERM and result["changed"] is False and run.last_writes == []


def test_one_dump_at_a_time(kernel):
    """The fake kernel refuses a second dump while one runs (EBUSY), as the kernel does: the client never does."""
    client = nl.IPVSNetlink(socket_factory=kernel, raw_factory=kernel.raw)
    client.open()
    try:
        channel = client._raw()  # pylint: disable=protected-access
        kernel.add_service()
        channel.sock.sendto(nl.encode_frame(0x1C, nl.IPVS_CMD_GET_SERVICE, 1, nl.NLM_F_REQUEST | nl.NLM_F_DUMP, b""),
                            (0, 0))
        with pytest.raises(nl.IPVSError) as failure:
            channel.dump(nl.IPVS_CMD_GET_SERVICE, b"", "service", False, "a second dump")
        assert failure.value.errno == errno.EBUSY
    finally:
        client.close()


# ---------------------------------------------------------------------------------------------------------------
# src: the table from a JSON file on the managed host

def test_src_file_gives_the_same_table_as_services(run, kernel, tmp_path):
    services = table(services=5, dests=3)
    path = tmp_path / "ipvs.json"
    path.write_text(json.dumps(services))
    first = run({"src": str(path), "exclusive": True})
    assert first["changed"] is True and first["summary"]["destinations_created"] == 15
    assert first["invocation"]["module_args"]["src"] == str(path)
    # The same table given inline changes nothing, and neither does the file again.
    assert run({"services": services, "exclusive": True})["changed"] is False
    assert run({"src": str(path), "exclusive": True})["changed"] is False
    services[2]["destinations"][0]["weight"] = 7
    path.write_text(json.dumps(services))
    assert run({"src": str(path)})["changes"] == [
        "modify destination 203.0.113.10:80 of tcp/198.51.100.102:80 (weight)"]


def test_src_file_in_check_mode_sends_no_write(run, kernel, tmp_path):
    path = tmp_path / "ipvs.json"
    path.write_text(json.dumps(table(services=2, dests=2)))
    result = run({"src": str(path)}, check_mode=True)
    assert result["changed"] is True and run.last_writes == [] and kernel.services == {}


@pytest.mark.parametrize("content, message", [
    (None, "src: cannot read {path}: No such file or directory"),
    ("{not json", "src: {path} is not JSON: Expecting property name enclosed in double quotes: line 1 column 2 "
                  "(char 1)"),
    ('{"services": []}', "{path}: must be a list of services, got {{'services': []}}"),
    ('[{"address": "198.51.100.100", "port": 70000}]', "{path}[0].port: must be between 0 and 65535, got 70000"),
])
def test_src_errors_name_the_file_and_nothing_is_sent(run, kernel, tmp_path, content, message):
    path = tmp_path / "ipvs.json"
    if content is not None:
        path.write_text(content)
    result = run({"src": str(path)}, fail=True)
    assert result["errors"] == [message.format(path=path)]
    assert kernel.requests == [] and kernel.sockets == 0


@pytest.mark.parametrize("args, message", [
    ({}, "one of the following is required: services, src"),
    ({"services": [], "src": "/x.json"}, "parameters are mutually exclusive: services|src"),
])
def test_exactly_one_of_services_and_src(run, kernel, args, message):
    assert run(args, fail=True)["msg"] == message
