"""The GFS2 storage tier on the lab (topology storage.yml): storage1 exports an iSCSI LUN with CHAP, rs1-rs3 form
a corosync cluster with dlm and mount one GFS2 filesystem on /srv/lvs-shared.

Every check reads the result back on the guests (findmnt, blkid, corosync-quorumtool, files) or from the client
side (curl from the lab namespace), never from what the roles report. The last test kills rs3: keep it last.
"""
import base64
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import time

import pytest
import testinfra.utils.ansible_runner
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "_lab"))
import labtest  # noqa: E402  pylint: disable=wrong-import-position
import sharedfs  # noqa: E402  pylint: disable=wrong-import-position
import leakscan  # noqa: E402  pylint: disable=wrong-import-position
from labtest import host  # noqa: E402  pylint: disable=wrong-import-position

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY)
testinfra_hosts = RUNNER.get_hosts("real_servers")

SCENARIO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAB = labtest.lab("gfs2")

SHARE = "/srv/lvs-shared"
NODES = {"rs1": "198.18.1.21", "rs2": "198.18.1.22", "rs3": "198.18.1.23"}
TARGET = "iqn.2025-01.cluster.lvs:shared"
DEVICE = "/dev/disk/by-path/ip-198.18.1.31:3260-iscsi-%s-lun-0" % TARGET
LOCK_TABLE = "lvs:shared"


def chap_password():
    """The lab's CHAP secret, read out of the scenario's vault (group_vars/all/vault.yml) with the lab's vault
    client, as ansible reads it (ANSIBLE_VAULT_IDENTITY_LIST from molecule.yml)."""
    text = subprocess.run(["ansible-vault", "view", os.path.join(SCENARIO, "group_vars", "all", "vault.yml")],
                          stdout=subprocess.PIPE, check=True, universal_newlines=True, timeout=120).stdout
    return yaml.safe_load(text)["vault_lab_chap_password"]


def playbook(*args):
    """Run bad_input.yml (playbooks/storage.yml) on the scenario's inventory; return (rc, output)."""
    result = subprocess.run(
        ["ansible-playbook", "-i", os.path.dirname(INVENTORY), os.path.join(SCENARIO, "bad_input.yml")] + list(args),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=900, check=False)
    return result.returncode, result.stdout


def flat(output):
    return " ".join(output.replace("''", "'").split())


def test_every_node_mounts_the_one_gfs2_filesystem(host):
    mount = json.loads(host.check_output("findmnt --json --mountpoint %s" % SHARE))["filesystems"][0]
    assert mount["fstype"] == "gfs2", mount
    assert host.check_output("readlink -f %s" % DEVICE) == host.check_output("readlink -f %s" % mount["source"])
    # The lock table names the cluster and the filesystem; dlm holds the lockspace.
    assert host.check_output("ls /sys/fs/gfs2") == LOCK_TABLE
    assert host.check_output("blkid -p -o value -s LABEL %s" % DEVICE) == LOCK_TABLE
    unit = host.check_output("systemd-escape --path --suffix=mount %s" % SHARE)
    assert host.check_output("systemctl is-enabled '%s'" % unit) == "enabled"
    assert "dlm.service" in host.check_output("systemctl show -p Requires --value '%s'" % unit).split()
    assert "nginx.service" in host.check_output("systemctl show -p Before --value '%s'" % unit).split()


def test_same_filesystem_uuid_and_unique_initiators():
    uuids = set(host(n).check_output("blkid -p -o value -s UUID %s" % DEVICE) for n in NODES)
    assert len(uuids) == 1, uuids
    names = [host(n).check_output("cat /etc/iscsi/initiatorname.iscsi") for n in NODES]
    assert names == ["InitiatorName=iqn.2025-01.cluster.lvs.initiator:%s" % n for n in NODES]
    for name in NODES:
        record = host(name).check_output("iscsiadm -m node -T %s | grep -E '^node.startup|authmethod'" % TARGET)
        assert "node.startup = automatic" in record and "node.session.auth.authmethod = CHAP" in record, record


def test_corosync_lists_every_node_and_dlm_runs_without_fencing_in_the_lab():
    listing = host("rs1").check_output("corosync-quorumtool -l -p")
    members = [line.split()[3] for line in listing.splitlines() if line.split() and line.split()[0].isdigit()]
    assert sorted(members) == sorted(NODES), listing
    assert "Quorate:          Yes" in host("rs1").check_output("corosync-quorumtool -s || true")
    keys = set()
    for name in NODES:
        node = host(name)
        assert node.service("dlm").is_running
        assert "enable_fencing=0" in node.file("/etc/dlm/dlm.conf").content_string
        key = node.file("/etc/corosync/authkey")
        assert key.mode == 0o400 and key.user == "root"
        keys.add(key.sha256sum)
    assert len(keys) == 1, "the authkey must be the same on every node"


def test_the_chap_password_is_kept_in_a_private_node_record_and_never_on_a_command_line():
    """The initiators' CHAP password lives only in their 0600 node records (iscsiadm -v would have put it on a
    command line); the converge's output never shows it."""
    # The secret is compared here, never put into a command on the guest (that would log it).
    line = "node.session.auth.password = %s" % chap_password()
    for node in NODES:
        records = host(node).check_output(
            "grep -rl '^node.session.auth.password = ' /etc/iscsi/nodes").split()
        assert records, node
        for record in records:
            assert host(node).file(record).mode == 0o600, (node, record)
            assert line in host(node).file(record).content_string.splitlines(), (node, record)
    tasks = open(os.path.join(os.path.dirname(SCENARIO), "..", "roles", "iscsi_initiator", "tasks", "login.yml")).read()
    assert "node.session.auth.password, value" not in tasks


def test_target_has_one_chap_acl_per_real_server():
    storage = host("storage1")
    saved = storage.file("/etc/rtslib-fb-target/saveconfig.json")
    assert saved.mode == 0o600, "the saved target configuration holds the CHAP secret"
    tpg = json.loads(saved.content_string)["targets"][0]["tpgs"][0]
    assert tpg["attributes"]["authentication"] == 1 and tpg["attributes"]["generate_node_acls"] == 0
    acls = dict((acl["node_wwn"], acl) for acl in tpg["node_acls"])
    assert sorted(acls) == ["iqn.2025-01.cluster.lvs.initiator:%s" % n for n in sorted(NODES)]
    assert all(acl["chap_userid"] == "lvs-cluster" and acl["chap_password"] for acl in acls.values())
    assert [p["ip_address"] for p in tpg["portals"]] == ["198.18.1.31"]
    assert storage.service("rtslib-fb-targetctl").is_enabled


def test_concurrent_flocked_appends_from_every_node_are_exact():
    sharedfs.concurrent_flocked_appends_are_exact(list(NODES), SHARE)


def test_file_written_on_one_node_has_the_same_checksum_on_the_others_and_is_served():
    sharedfs.file_is_the_same_everywhere_and_served(LAB, NODES, SHARE)


def test_second_converge_kept_the_filesystem_and_its_data():
    sharedfs.marker_names_the_filesystem(NODES, SHARE, DEVICE)


def journals():
    return int(host("rs1").check_output("gfs2_edit -p jindex %s | grep -c 'journal[0-9]'" % DEVICE))


def test_more_journals_are_added_in_place_and_the_data_stays():
    """A node joining the cluster needs a journal: raising the count (here one more spare) makes the role add it
    with gfs2_jadd on the mounted filesystem, never re-create it; a second run changes nothing."""
    fs_uuid = host("rs1").check_output("blkid -p -o value -s UUID %s" % DEVICE)
    assert journals() == len(NODES) + 1
    more = json.dumps({"lvs_gfs2_spare_journals": 2})
    # The journal is added once, by the node the role runs its one-off filesystem tasks on (the first): that node
    # alone is enough for the change; the second run, on every host, shows that nothing else changes.
    rc, output = playbook("--limit", sorted(NODES)[0], "-e", more)
    assert rc == 0, output
    assert re.search(r"changed: \[%s\]" % sorted(NODES)[0], output), output
    assert journals() == len(NODES) + 2
    assert host("rs1").check_output("blkid -p -o value -s UUID %s" % DEVICE) == fs_uuid
    for node in NODES:
        assert host(node).file("%s/converge-marker" % SHARE).content_string == fs_uuid + "\n", node
    rc, output = playbook("-e", more)
    assert rc == 0 and set(re.findall(r"changed=(\d+)", output)) == {"0"}, output


@pytest.mark.parametrize("extra_vars, message, limit", [
    ({"lvs_gfs2_journals": 2}, "lvs_gfs2_journals 2 is below the node count 3", "real_servers"),
    ({"lvs_gfs2_lab_without_fencing": False}, "GFS2 needs fencing", "real_servers"),
    ({"lvs_storage_iscsi_chap_password": ""},
     "lvs_iscsi_target_chap_password (lvs_storage_iscsi_chap_password) is missing", "storage"),
    ({"lvs_storage_iscsi_chap_password": ""},
     "lvs_gfs2_chap_password (lvs_storage_iscsi_chap_password) is missing", "real_servers"),
    # targetcli has no quoting: a secret with a space would break its command line (or become another secret)
    ({"lvs_storage_iscsi_chap_password": "lab only chap secret"},
     "lvs_iscsi_target_chap_password (lvs_storage_iscsi_chap_password) or lvs_iscsi_target_chap_user contains "
     "a character targetcli cannot carry", "storage"),
    ({"lvs_storage_iscsi_chap_password": "lab-only-{chap}-secret"},
     "lvs_gfs2_chap_password (lvs_storage_iscsi_chap_password) or lvs_gfs2_chap_user contains a character "
     "targetcli cannot carry", "real_servers"),
])
def test_bad_input_fails_with_a_clear_message_and_changes_nothing(extra_vars, message, limit):
    state = ("sha256sum /etc/corosync/corosync.conf /etc/dlm/dlm.conf /etc/iscsi/initiatorname.iscsi; "
             "blkid -p -o value -s UUID %s; findmnt -n -o SOURCE %s" % (DEVICE, SHARE))
    storage_state = "sha256sum /etc/rtslib-fb-target/saveconfig.json"
    before = [host(n).check_output(state) for n in NODES], host("storage1").check_output(storage_state)
    rc, output = playbook("--limit", limit, "-e", json.dumps(extra_vars))
    assert rc != 0, output
    assert message in flat(output), output
    assert "changed=1" not in output and "changed=2" not in output, output
    assert ([host(n).check_output(state) for n in NODES], host("storage1").check_output(storage_state)) == before


# A CHAP password the roles refuse (targetcli could not carry its spaces): the failing run below.
REFUSED_PASSWORD = "refused chap secret 7e41c9"
GUESTS = sorted(NODES) + ["storage1"]
PLAYED = ["rs1", "storage1"]  # the hosts the leak test's runs are limited to


def test_secrets_never_reach_output_journals_or_process_lists():
    """Issue 13. On the converged lab, with a process sampler on the hosts it runs on: the storage play with -vvv and
    --diff after the target's and rs1's copies of the CHAP secret were tampered with (so targetcli sets the
    password and the node record is rewritten: the secret-handling tasks really run), then a run with a CHAP
    password the roles refuse (it fails). Neither the CHAP secret (out of the vault), nor the refused one, nor the
    corosync authkey appears in ansible-playbook's stdout or stderr, any guest's journal of this boot or any
    process snapshot; the snapshots saw targetcli and ansible's module processes, so they could have seen a leak.
    """
    secrets = {"CHAP password": chap_password(), "refused CHAP password": REFUSED_PASSWORD,
               "corosync authkey": base64.b64decode(host("rs1").check_output("base64 -w0 /etc/corosync/authkey"))}
    assert len(secrets["corosync authkey"]) >= 128
    initiator = "iqn.2025-01.cluster.lvs.initiator:rs1"
    host("storage1").check_output(
        "targetcli /iscsi/%s/tpg1/acls/%s set auth password=tampered-not-secret" % (TARGET, initiator))
    for record in host("rs1").check_output("grep -rl '^node.session.auth.password = ' /etc/iscsi/nodes").split():
        host("rs1").check_output(
            "sed -i 's/^node.session.auth.password = .*/node.session.auth.password = tampered-not-secret/' '%s'"
            % record)
    # Limited to the two hosts whose copies were tampered with: they run every secret-handling task of the target
    # and the initiator roles (rs1 is also the node the GFS2 role delegates its one-off tasks to); the other
    # nodes would run the same tasks with nothing to change, at the cost of minutes of -vvv output.
    storage_play = ["-i", os.path.dirname(INVENTORY), os.path.join(SCENARIO, "bad_input.yml"), "-vvv", "--diff",
                    "--limit", ",".join(PLAYED)]
    started = time.time()
    leakscan.start_samplers(PLAYED, 1200)
    try:
        rc, out, err = leakscan.playbook(storage_play)
        failed_rc, failed_out, failed_err = leakscan.playbook(
            storage_play + ["-e", json.dumps({"lvs_storage_iscsi_chap_password": REFUSED_PASSWORD})])
    finally:
        snapshots = leakscan.stop_samplers(PLAYED)
    sys.stderr.write("two -vvv runs: %.0f s; process snapshots: %s\n" % (
        time.time() - started, ", ".join("%s %d" % (n, len(s)) for n, s in sorted(snapshots.items()))))
    text = out.decode("utf-8", "replace")
    assert rc == 0, text[-5000:]
    # The secret-handling tasks ran and changed the tampered copies back, under no_log.
    assert re.search(r"changed: \[storage1\]", text) and re.search(r"changed: \[rs1\]", text), text[-5000:]
    assert "the output has been hidden" in text
    failed_text = (failed_out + failed_err).decode("utf-8", "replace")
    assert failed_rc != 0 and "contains a character targetcli cannot carry" in flat(failed_text), failed_text[-5000:]
    # The snapshots are real: taken all along, and they caught the module processes and targetcli.
    for name in PLAYED:
        assert len(snapshots[name]) >= 20, (name, len(snapshots[name]))
        assert any("sleep 0" in snap and "python3" in snap for snap in snapshots[name]), name
    assert any(re.search(r"(?m)^\S*python3 \S*targetcli\s*$|^\S*targetcli\s*$", snap)
               for snap in snapshots["storage1"]), "no snapshot of storage1 caught targetcli"
    places = {"stdout of the -vvv --diff run": out, "stderr of the -vvv --diff run": err,
              "stdout of the failing run": failed_out, "stderr of the failing run": failed_err}
    for name in GUESTS:
        places["journal of %s" % name] = leakscan.journal(name)
    for name in PLAYED:
        places["processes of %s" % name] = "\n".join(snapshots[name])
    # targetcli logs every command line it runs to ~/.targetcli/log.txt: the role runs it with a HOME of its own
    # (removed after) and scrubs root's log, which this test's own targetcli call above just wrote to.
    places["targetcli files of storage1"] = host("storage1").run(
        "cat /root/.targetcli/log.txt /root/.targetcli/history.txt 2>/dev/null").stdout
    assert "password=tampered-not-secret" not in places["targetcli files of storage1"]
    assert host("storage1").run("ls -d /run/lvs-targetcli.*").rc != 0, "the role left targetcli's HOME behind"
    assert leakscan.hits(secrets, places) == []
    assert host("storage1").file("/etc/rtslib-fb-target/saveconfig.json").mode == 0o600


def test_killing_a_node_leaves_the_others_writing_within_seconds():
    """rs3 powers off without unmounting (sysrq o); rs1 and rs2 must write again soon (journal replay)."""
    host("rs3").run("nohup sh -c 'sleep 1; echo o > /proc/sysrq-trigger' >/dev/null 2>&1 &")
    time.sleep(2)
    started = time.time()
    path = "%s/after-kill.txt" % SHARE
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(host(n).run, "timeout 120 flock %s.lock sh -c 'echo %s >> %s'" % (path, n, path))
                   for n in ("rs1", "rs2")]
        results = [f.result() for f in futures]
    elapsed = time.time() - started
    assert all(r.rc == 0 for r in results), [r.stderr for r in results]
    print("writes on rs1 and rs2 resumed %.1f s after rs3 was killed" % elapsed)
    assert elapsed < 60, "the survivors took %.1f s to write" % elapsed
    assert sorted(host("rs1").file(path).content_string.split()) == ["rs1", "rs2"]
    assert "Quorate:          Yes" in host("rs1").check_output("corosync-quorumtool -s || true")
