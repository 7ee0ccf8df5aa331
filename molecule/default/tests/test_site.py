"""The whole cluster end to end: playbooks/site.yml on the default lab, as `make demo` builds it.

The lab's data model (inventory/lab): web-dr 198.51.100.100:80 rr (rs1, rs2, direct routing), web-tun .101 (rs3,
IPIP to its routed subnet), web-nat .102:8080 wrr (rs1 weight 2, rs2 weight 1), web-dr6 2001:db8:100::100 (rs1,
rs2), web-fwmark .103 (mark 10 for ports 80 and 8080, persistent); NFS from storage1 mounted on every real
server and served by the sample web service under /shared/. Requests come from the lab namespace (the client
side); every answer names the real server that sent it (X-Served-By).
"""
import collections
import os
import sys
import uuid

import testinfra.utils.ansible_runner

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "_lab"))
import labtest  # noqa: E402  pylint: disable=wrong-import-position
from labtest import host  # noqa: E402  pylint: disable=wrong-import-position

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("all")

LAB = labtest.lab("default")
SHARE = "/srv/lvs-shared"
VIPS = ("198.51.100.100", "198.51.100.101", "198.51.100.102", "2001:db8:100::100", "198.51.100.103")
URLS = {
    "web-dr": "http://198.51.100.100",
    "web-tun": "http://198.51.100.101",
    "web-nat": "http://198.51.100.102:8080",
    "web-dr6": "http://[2001:db8:100::100]",
    "web-fwmark": "http://198.51.100.103",
}


def test_every_guest_runs_the_user_mode_linux_kernel(host):  # pylint: disable=redefined-outer-name
    assert host.check_output("uname -r").startswith("6.1.")
    # UML names itself as the CPU vendor (arch/um/kernel/um_arch.c).
    assert "vendor_id\t: User Mode Linux" in host.file("/proc/cpuinfo").content_string


def holders():
    """{director: the VIPs it holds on its front interface}."""
    return dict((name, [vip for vip in VIPS if " %s/" % vip in host(name).check_output("ip -o address show dev eth1")])
                for name in ("director1", "director2"))


def test_one_director_holds_every_vip_and_the_whole_table():
    labtest.wait_for(lambda: sorted(len(v) for v in holders().values()) == [0, len(VIPS)], 30,
                     "one director must hold all of %s, the other none" % (VIPS,), interval=1)
    master = [name for name, vips in holders().items() if vips][0]
    table = host(master).check_output("ipvsadm -Sn").splitlines()
    assert len([line for line in table if line.startswith("-A ")]) == 5, table
    assert len([line for line in table if line.startswith("-a ")]) == 9, table


def test_every_vip_reaches_its_real_servers_in_the_scheduled_proportions():
    assert labtest.requests(LAB, URLS["web-dr"] + "/", 20) == collections.Counter({"rs1": 10, "rs2": 10})
    assert labtest.requests(LAB, URLS["web-tun"] + "/", 4) == collections.Counter({"rs3": 4})
    assert labtest.requests(LAB, URLS["web-nat"] + "/", 6) == collections.Counter({"rs1": 4, "rs2": 2})
    assert labtest.requests(LAB, URLS["web-dr6"] + "/", 4) == collections.Counter({"rs1": 2, "rs2": 2})
    # Persistence: one client stays on one real server, on both marked ports.
    sticky = (labtest.requests(LAB, URLS["web-fwmark"] + "/", 3)
              + labtest.requests(LAB, URLS["web-fwmark"] + ":8080/", 3))
    assert len(sticky) == 1 and sum(sticky.values()) == 6 and set(sticky) <= {"rs1", "rs2"}, sticky


def test_a_file_written_on_one_real_server_is_served_by_all_through_the_vips():
    name = "site-%s.txt" % uuid.uuid4().hex
    content = uuid.uuid4().hex
    host("rs1").check_output("printf '%%s\\n' %s > %s/%s" % (content, SHARE, name))
    seen = collections.Counter()
    for service, count in (("web-dr", 4), ("web-tun", 2), ("web-nat", 3), ("web-dr6", 2)):
        answers = labtest.served(LAB, "%s/shared/%s" % (URLS[service], name), count)
        assert [body for body, _server in answers] == [content + "\n"] * count, (service, answers)
        seen.update(server for _body, server in answers)
    assert seen == collections.Counter({"rs1": 2 + 2 + 1, "rs2": 2 + 1 + 1, "rs3": 2}), seen
