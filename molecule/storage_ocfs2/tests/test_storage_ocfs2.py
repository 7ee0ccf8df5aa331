"""The OCFS2 storage tier on the lab (topology storage.yml): storage1 exports an iSCSI LUN with CHAP, rs1-rs3 form
an O2CB cluster and mount one OCFS2 filesystem on /srv/lvs-shared.

Every check reads the result back on the guests (findmnt, blkid, configfs, mounted.ocfs2, files) or from the
client side (curl from the lab namespace), never from what the roles report. The last test kills rs3: keep it last.
"""
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import time

import pytest
import testinfra.utils.ansible_runner

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "_lab"))
import labtest  # noqa: E402  pylint: disable=wrong-import-position
import sharedfs  # noqa: E402  pylint: disable=wrong-import-position
from labtest import host  # noqa: E402  pylint: disable=wrong-import-position

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY)
testinfra_hosts = RUNNER.get_hosts("real_servers")

SCENARIO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAB = labtest.lab("ocfs2")

SHARE = "/srv/lvs-shared"
NODES = {"rs1": "198.18.1.21", "rs2": "198.18.1.22", "rs3": "198.18.1.23"}
TARGET = "iqn.2025-01.cluster.lvs:shared"
DEVICE = "/dev/disk/by-path/ip-198.18.1.31:3260-iscsi-%s-lun-0" % TARGET
LABEL = "lvs-shared"
CLUSTER = "lvs"
# O2CB declares a silent node dead after (31 - 1) * 2 s of disk heartbeat (Debian's threshold, the role's
# default); then the survivors recover its slot's journal and write again.
DEAD_NODE_BUDGET = 150


def playbook(*args):
    """Run bad_input.yml (playbooks/storage.yml) on the scenario's inventory; return (rc, output)."""
    result = subprocess.run(
        ["ansible-playbook", "-i", os.path.dirname(INVENTORY), os.path.join(SCENARIO, "bad_input.yml")] + list(args),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=900, check=False)
    return result.returncode, result.stdout


def flat(output):
    return " ".join(output.replace("''", "'").split())


def slots():
    return int(host("rs1").check_output("tunefs.ocfs2 -Q '%%N\\n' %s" % DEVICE))


def test_every_node_mounts_the_one_ocfs2_filesystem(host):
    mount = json.loads(host.check_output("findmnt --json --mountpoint %s" % SHARE))["filesystems"][0]
    assert mount["fstype"] == "ocfs2", mount
    assert host.check_output("readlink -f %s" % DEVICE) == host.check_output("readlink -f %s" % mount["source"])
    assert host.check_output("blkid -p -o value -s LABEL %s" % DEVICE) == LABEL
    unit = host.check_output("systemd-escape --path --suffix=mount %s" % SHARE)
    assert host.check_output("systemctl is-enabled '%s'" % unit) == "enabled"
    assert "o2cb.service" in host.check_output("systemctl show -p Requires --value '%s'" % unit).split()
    assert "nginx.service" in host.check_output("systemctl show -p Before --value '%s'" % unit).split()
    wanted_by = host.check_output("systemctl show -p WantedBy --value '%s'" % unit).split()
    assert "multi-user.target" in wanted_by, wanted_by


def test_the_o2cb_cluster_lists_every_node_under_its_own_name_and_all_have_it_mounted():
    for name, address in NODES.items():
        node = host(name)
        assert node.service("o2cb").is_enabled
        registered = node.check_output("ls /sys/kernel/config/cluster/%s/node" % CLUSTER).split()
        assert sorted(registered) == sorted(NODES), (name, registered)
        # O2CB finds the local node by `uname -n`: the entry of that name is this node, at its storage address.
        local = node.check_output("cat /sys/kernel/config/cluster/%s/node/%s/local" % (CLUSTER, name))
        assert local == "1", name
        assert node.check_output("cat /sys/kernel/config/cluster/%s/node/%s/ipv4_address" % (CLUSTER, name)) \
            == address
        assert "O2CB_ENABLED=true" in node.file("/etc/default/o2cb").content_string.splitlines()
    listing = host("rs1").check_output("mounted.ocfs2 -f")
    line = [entry for entry in listing.splitlines() if entry.startswith("/dev/")][0]
    assert sorted(re.split(r"[,\s]+", line.split(None, 3)[3].strip())) == sorted(NODES), listing
    assert len(set(host(n).file("/etc/ocfs2/cluster.conf").sha256sum for n in NODES)) == 1


def test_the_chap_password_is_kept_in_a_private_node_record_and_never_on_a_command_line():
    # The secret is compared here, never put into a command on the guest (that would log it).
    line = "node.session.auth.password = lab-only-chap-secret-7"
    for node in NODES:
        records = host(node).check_output("grep -rl '^node.session.auth.password = ' /etc/iscsi/nodes").split()
        assert records, node
        for record in records:
            assert host(node).file(record).mode == 0o600, (node, record)
            assert line in host(node).file(record).content_string.splitlines(), (node, record)
        record = host(node).check_output("iscsiadm -m node -T %s | grep -E '^node.startup|authmethod'" % TARGET)
        assert "node.startup = automatic" in record and "node.session.auth.authmethod = CHAP" in record, record


def test_concurrent_flocked_appends_from_every_node_are_exact():
    sharedfs.concurrent_flocked_appends_are_exact(list(NODES), SHARE)


def test_file_written_on_one_node_has_the_same_checksum_on_the_others_and_is_served():
    sharedfs.file_is_the_same_everywhere_and_served(LAB, NODES, SHARE)


def test_second_converge_kept_the_filesystem_and_its_data():
    sharedfs.marker_names_the_filesystem(NODES, SHARE, DEVICE)


def test_more_spares_than_the_volume_has_are_said_and_too_few_slots_refused_without_change():
    """OCFS2 adds slots only while no other node has the volume mounted: asking for more spares than the volume
    has is said and changes nothing; a volume with fewer slots than nodes would be refused (its message names
    tunefs.ocfs2 -N), and the filesystem is never re-created."""
    fs_uuid = host("rs1").check_output("blkid -p -o value -s UUID %s" % DEVICE)
    assert slots() == len(NODES) + 1
    rc, output = playbook("-e", json.dumps({"lvs_ocfs2_spare_slots": 2}))
    assert rc == 0, output
    assert "has %d node slots, %d wanted" % (len(NODES) + 1, len(NODES) + 2) in flat(output), output
    assert set(re.findall(r"changed=(\d+)", output)) == {"0"}, output
    assert slots() == len(NODES) + 1
    assert host("rs1").check_output("blkid -p -o value -s UUID %s" % DEVICE) == fs_uuid
    for node in NODES:
        assert host(node).file("%s/converge-marker" % SHARE).content_string == fs_uuid + "\n", node


@pytest.mark.parametrize("extra_vars, message", [
    ({"lvs_ocfs2_slots": 2}, "lvs_ocfs2_slots 2 is below the node count 3"),
    ({"lvs_ocfs2_cluster_name": "a-cluster-name-of-17"}, "lvs_ocfs2_cluster_name 'a-cluster-name-of-17' is not 1-16"),
    ({"lvs_ocfs2_node_number": 7}, "have the same node number 7"),
    ({"lvs_storage_iscsi_chap_password": ""}, "lvs_ocfs2_chap_password (lvs_storage_iscsi_chap_password) is missing"),
    ({"lvs_storage_iscsi_chap_password": "lab-only-{chap}-secret"},
     "lvs_ocfs2_chap_password (lvs_storage_iscsi_chap_password) or lvs_ocfs2_chap_user contains a character "
     "targetcli cannot carry"),
])
def test_bad_input_fails_with_a_clear_message_and_changes_nothing(extra_vars, message):
    state = ("sha256sum /etc/ocfs2/cluster.conf /etc/default/o2cb /etc/iscsi/initiatorname.iscsi; "
             "blkid -p -o value -s UUID %s; findmnt -n -o SOURCE %s" % (DEVICE, SHARE))
    before = [host(n).check_output(state) for n in NODES]
    rc, output = playbook("--limit", "real_servers", "-e", json.dumps(extra_vars))
    assert rc != 0, output
    assert message in flat(output), output
    assert "changed=1" not in output and "changed=2" not in output, output
    assert [host(n).check_output(state) for n in NODES] == before


def test_killing_a_node_leaves_the_others_writing():
    """rs3 powers off without unmounting (sysrq o); once O2CB declares it dead and recovers its journal, rs1 and
    rs2 must write again, without any Ansible run."""
    host("rs3").run("nohup sh -c 'sleep 1; echo o > /proc/sysrq-trigger' >/dev/null 2>&1 &")
    time.sleep(2)
    started = time.time()
    path = "%s/after-kill.txt" % SHARE
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(host(n).run, "timeout %d flock %s.lock sh -c 'echo %s >> %s'"
                               % (DEAD_NODE_BUDGET, path, n, path))
                   for n in ("rs1", "rs2")]
        results = [f.result() for f in futures]
    elapsed = time.time() - started
    assert all(r.rc == 0 for r in results), [r.stderr for r in results]
    print("writes on rs1 and rs2 resumed %.1f s after rs3 was killed" % elapsed)
    assert sorted(host("rs1").file(path).content_string.split()) == ["rs1", "rs2"]
    for name in ("rs1", "rs2"):
        assert host(name).check_output("findmnt -n -o FSTYPE %s" % SHARE) == "ocfs2", name
