"""The NFS storage tier on the lab (topology storage.yml): storage1 exports /srv/lvs-shared to rs1-rs3.

Every check reads the result back on the guests (findmnt, exportfs, files) or from the client side (curl from
the lab namespace through `tools/lvs-lab exec`), never from what the roles report.
"""
import hashlib
import json
import os
import shlex
import subprocess
import sys
import time
import uuid

import pytest
import testinfra.utils.ansible_runner

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "_lab"))
import labtest  # noqa: E402  pylint: disable=wrong-import-position
from labtest import host  # noqa: E402  pylint: disable=wrong-import-position

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY)
testinfra_hosts = RUNNER.get_hosts("real_servers")

SCENARIO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAB = labtest.lab("nfs")

SHARE = "/srv/lvs-shared"
SERVER = "198.18.1.31"
REAL_SERVERS = {"rs1": "198.18.1.21", "rs2": "198.18.1.22", "rs3": "198.18.1.23"}
EXPORTS_FILE = "/etc/exports.d/lvs-cluster.exports"
NOBODY = 65534


def client(*command):
    return labtest.client(LAB, *command)


def wait_for(predicate, seconds, message):
    return labtest.wait_for(predicate, seconds, message, interval=1)


def test_share_is_a_hard_nfs42_mount_from_storage1(host):
    mount = json.loads(host.check_output("findmnt --json --mountpoint %s" % SHARE))["filesystems"][0]
    assert mount["source"] == "%s:%s" % (SERVER, SHARE)
    assert mount["fstype"] == "nfs4"
    options = mount["options"].split(",")
    assert "vers=4.2" in options and "hard" in options, options
    assert "timeo=100" in options and "retrans=3" in options, options
    # The unit is enabled (mounted again at boot) and ordered before the web service.
    unit = host.check_output("systemd-escape --path --suffix=mount %s" % SHARE)
    assert host.check_output("systemctl is-enabled '%s'" % unit) == "enabled"
    assert "nginx.service" in host.check_output("systemctl show -p Before --value '%s'" % unit).split()
    # Wanted by multi-user.target too: mounted at boot even where remote-fs.target is disabled.
    assert {"remote-fs.target", "multi-user.target"} <= _units(host, unit, "WantedBy")
    # nginx requires the mount (the web role's RequiresMountsFor= drop-in): it never serves the empty mount point.
    assert unit in _units(host, "nginx.service", "Requires")
    assert unit in _units(host, "nginx.service", "After")


def _units(guest, unit, prop):
    """A dependency property of a unit as a set of names (`systemctl show` quotes names with a backslash)."""
    return set(shlex.split(guest.check_output("systemctl show -p %s --value %s" % (prop, shlex.quote(unit)))))


def test_exports_list_exactly_the_real_servers():
    storage = host("storage1")
    output = storage.check_output("exportfs -v")
    clients = dict((line.split("(")[0].strip(), line.split("(")[1].rstrip(")").split(","))
                   for line in output.splitlines() if "(" in line)
    assert sorted(clients) == sorted(REAL_SERVERS.values()), output
    for options in clients.values():
        assert {"sync", "root_squash", "secure", "rw"} <= set(options), options
        assert "insecure" not in options and "no_root_squash" not in options and "async" not in options
    versions = storage.check_output("cat /proc/fs/nfsd/versions").split()
    assert "+4.2" in versions and "-3" in versions, versions


def test_a_host_not_in_the_list_is_refused():
    """storage1 itself (198.18.1.31, not a real server) is refused; rs1 with the same command is not."""
    probe = "mkdir -p /mnt/probe && timeout 60 mount -t nfs -o vers=4.2,soft,timeo=50,retrans=1 %s:%s /mnt/probe"
    refused = host("storage1").run(probe % (SERVER, SHARE))
    assert refused.rc != 0
    assert "access denied" in refused.stderr, refused.stderr
    allowed = host("rs1").run(probe % (SERVER, SHARE) + " && umount /mnt/probe")
    assert allowed.rc == 0, allowed.stderr


def test_written_on_rs1_read_on_rs2_rs3_and_served_by_every_web_server():
    name = "shared-%s.txt" % uuid.uuid4().hex
    content = "written on rs1 %s" % uuid.uuid4().hex
    host("rs1").check_output("printf '%%s\\n' %s > %s/%s" % (content.replace(" ", "_"), SHARE, name))
    expected = content.replace(" ", "_") + "\n"
    # root_squash: root on rs1 is nobody on the share.
    assert host("rs1").file("%s/%s" % (SHARE, name)).uid == NOBODY
    for other in ("rs2", "rs3"):
        assert host(other).file("%s/%s" % (SHARE, name)).content_string == expected
    for server, address in REAL_SERVERS.items():
        body = client("curl", "-s", "-m", "10", "-f", "http://%s/shared/%s" % (address, name))
        assert body == expected, "%s served %r" % (server, body)


def test_storage_host_reboot_loses_no_write():
    """Writes before a reboot of the storage host are all there after it, a write made while it was down
    completes once it is back (hard mount), and every client uses the share again without a manual step."""
    before = {}
    for name in REAL_SERVERS:
        data = "".join("%s line %d %s\n" % (name, i, uuid.uuid4().hex) for i in range(200))
        path = "%s/before-%s.txt" % (SHARE, name)
        host(name).check_output("printf '%%s' '%s' > %s" % (data, path))
        before[path] = hashlib.sha256(data.encode()).hexdigest()
    # The write is queued on rs2 right after the reboot starts: the hard mount holds it until the server is back
    # (and its NFSv4 grace period is over), then completes it.
    outage = "%s/outage-%s.txt" % (SHARE, uuid.uuid4().hex)
    boot_id = host("storage1").check_output("cat /proc/sys/kernel/random/boot_id")
    host("storage1").run("nohup sh -c 'sleep 2; systemctl reboot' >/dev/null 2>&1 &")
    time.sleep(4)
    host("rs2").check_output(
        "systemd-run --unit=lvs-test-outage-write --collect sh -c 'echo during-outage > %s'" % outage)
    labtest.wait_for(lambda: host("storage1").check_output("cat /proc/sys/kernel/random/boot_id") != boot_id
                     and host("storage1").run("systemctl is-active nfs-server").stdout.strip() == "active",
                     300, "storage1 did not come back with nfs-server running after its reboot", interval=3)
    wait_for(lambda: host("rs3").run("cat %s" % outage).stdout == "during-outage\n", 240,
             "the write made during the outage never arrived")
    for name in REAL_SERVERS:
        for path, digest in before.items():
            assert host(name).check_output("sha256sum %s" % path).split()[0] == digest, (name, path)


def _run_bad_input(extra_vars):
    """Run bad_input.yml (the nfs_server role) with `extra_vars`; return (rc, output)."""
    inventory = os.path.dirname(INVENTORY)
    result = subprocess.run(
        ["ansible-playbook", "-i", inventory, os.path.join(SCENARIO, "bad_input.yml"), "-e", json.dumps(extra_vars)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=600, check=False)
    return result.returncode, result.stdout


@pytest.mark.parametrize("extra_vars, message", [
    ({"lvs_nfs_server_export_network": "203.0.113.0/24"},
     "host rs1 (198.18.1.21) is outside the export network 203.0.113.0/24"),
    ({"lvs_nfs_server_export_options": ["rw", "sync", "insecure"]}, "refused option 'insecure'"),
    ({"lvs_nfs_server_export_options": ["rw", "sync", "no_root_squash"]}, "refused option 'no_root_squash'"),
    ({"lvs_nfs_server_export_options": ["rw", "sync", "bogus_opt"]}, "unknown option 'bogus_opt'"),
])
def test_bad_input_fails_with_a_clear_message_and_changes_nothing(extra_vars, message):
    storage = host("storage1")
    state = "sha256sum %s /etc/nfs.conf.d/lvs-cluster.conf; exportfs -v" % EXPORTS_FILE
    before = storage.check_output(state)
    rc, output = _run_bad_input(extra_vars)
    assert rc != 0, output
    assert message in " ".join(output.replace("''", "'").split()), output
    assert "changed=0" in output, output
    assert storage.check_output(state) == before


def _mount_unit(guest):
    return guest.check_output("systemd-escape --path --suffix=mount %s" % SHARE)


def _status(url):
    """HTTP status of one request from the client side; 000 when nothing answers (connection refused)."""
    return client("sh", "-c", "curl -s -m 10 -o /dev/null -w '%%{http_code}' %s || true" % shlex.quote(url))


def _write_on_rs1(prefix):
    name = "%s-%s.txt" % (prefix, uuid.uuid4().hex)
    content = uuid.uuid4().hex
    host("rs1").check_output("printf '%%s\\n' %s > %s/%s" % (content, SHARE, name))
    return name, content + "\n"


def test_a_rebooted_real_server_serves_the_share_again():
    """rs2 rebooted cleanly (systemctl reboot) mounts the share at boot, and nginx starts only after it: it serves a
    file written on rs1. remote-fs.target is disabled on rs2 for this boot, so the roles bring the share up, not
    the image's targets (the image enables remote-fs.target as an installed Debian 12 does: rs1 shows it)."""
    assert host("rs1").check_output("systemctl is-enabled remote-fs.target nfs-client.target").split() == \
        ["enabled", "enabled"]
    rs2 = host("rs2")
    unit = _mount_unit(rs2)
    name, expected = _write_on_rs1("reboot")
    rs2.check_output("systemctl disable --quiet remote-fs.target")
    try:
        labtest.reboot("rs2", LAB)
        assert rs2.run("systemctl is-enabled remote-fs.target").stdout.strip() == "disabled"
        mount = json.loads(rs2.check_output("findmnt --json --mountpoint %s" % SHARE))["filesystems"][0]
        assert (mount["source"], mount["fstype"]) == ("%s:%s" % (SERVER, SHARE), "nfs4"), mount
        assert rs2.check_output("systemctl is-active nginx.service") == "active"
        mounted_at, nginx_at = (int(rs2.check_output("systemctl show -p ActiveEnterTimestampMonotonic --value %s"
                                                     % shlex.quote(u))) for u in (unit, "nginx.service"))
        assert 0 < mounted_at <= nginx_at, "nginx started before the share was mounted"
        served = client("curl", "-s", "-m", "10", "-f", "http://%s/shared/%s" % (REAL_SERVERS["rs2"], name))
        assert served == expected
    finally:
        rs2.check_output("systemctl enable --quiet remote-fs.target")


def test_nginx_does_not_serve_without_the_share_and_comes_back_with_it():
    """On rs3: stopping the mount unit stops nginx; while the share cannot be mounted nginx does not start (and its
    journal says why); once it can, starting nginx mounts the share first and serves it again."""
    rs3 = host("rs3")
    unit = shlex.quote(_mount_unit(rs3))
    name, expected = _write_on_rs1("unmounted")
    url = "http://%s/shared/%s" % (REAL_SERVERS["rs3"], name)
    assert _status(url) == "200"
    # An assertion the mount fails stands for a share that cannot be mounted (storage host unreachable ...).
    failing = "/run/systemd/system/%s.d" % _mount_unit(rs3)
    try:
        rs3.check_output("systemctl stop %s" % unit)
        assert rs3.run("findmnt --mountpoint %s" % SHARE).rc != 0
        assert rs3.run("systemctl is-active nginx.service").stdout.strip() == "inactive"
        assert _status(url) == "000"

        rs3.check_output("mkdir -p %s && printf '[Unit]\\nAssertPathExists=/run/lvs-test-no-share\\n' > %s/test.conf"
                         " && systemctl daemon-reload" % (shlex.quote(failing), shlex.quote(failing)))
        since = rs3.check_output("date +%s")
        assert rs3.run("systemctl start nginx.service").rc != 0
        assert rs3.run("systemctl is-active nginx.service").stdout.strip() != "active"
        assert rs3.run("findmnt --mountpoint %s" % SHARE).rc != 0
        assert _status(url) == "000"
        journal = rs3.check_output("journalctl --no-pager -u nginx.service --since @%s" % since)
        assert "Dependency failed for" in journal, journal  # logged under nginx.service

        rs3.check_output("rm -r %s && systemctl daemon-reload" % shlex.quote(failing))
        rs3.check_output("systemctl start nginx.service")
        assert rs3.run("findmnt --mountpoint %s" % SHARE).rc == 0
        assert client("curl", "-s", "-m", "10", "-f", url) == expected
    finally:
        rs3.run("rm -rf %s; systemctl daemon-reload; systemctl start nginx.service" % shlex.quote(failing))
