# -*- coding: utf-8 -*-
# Copyright: (c) 2026, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks shared by the scenarios of a cluster filesystem on the shared iSCSI LUN (storage_gfs2, storage_ocfs2): the
same guarantees whichever cluster stack holds the locks. Each reads the result back on the guests or from the
client side; the scenario's test module names the nodes, the share and the device."""
import concurrent.futures
import uuid

from labtest import client, host

APPENDS = 100


def concurrent_flocked_appends_are_exact(nodes, share):
    """Every node appends APPENDS numbered lines to one file under flock, all at once: none may be lost."""
    name = "append-%s.txt" % uuid.uuid4().hex
    script = ("for i in $(seq %d); do flock %s/%s.lock sh -c 'echo \"$(hostname) $0\" >> %s/%s' $i; done"
              % (APPENDS, share, name, share, name))
    with concurrent.futures.ThreadPoolExecutor(len(nodes)) as pool:
        for future in [pool.submit(host(n).check_output, script) for n in nodes]:
            future.result()
    lines = host(nodes[-1]).file("%s/%s" % (share, name)).content_string.splitlines()
    assert len(lines) == APPENDS * len(nodes), "expected %d lines, got %d" % (APPENDS * len(nodes), len(lines))
    for node in nodes:
        mine = [line for line in lines if line.split()[0] == node]
        assert sorted(int(line.split()[1]) for line in mine) == list(range(1, APPENDS + 1)), node


def file_is_the_same_everywhere_and_served(lab, nodes, share):
    """A file written on the first node has the same checksum on the others and through each one's nginx.
    nodes: {name: the address the client reaches it on}, in order."""
    name = "blob-%s.bin" % uuid.uuid4().hex
    path = "%s/%s" % (share, name)
    first, *others = list(nodes)
    digest = host(first).check_output(
        "head -c 5000000 /dev/urandom > %s && chmod 0644 %s && sync && sha256sum %s" % (path, path, path)).split()[0]
    for node in others:
        assert host(node).check_output("sha256sum %s" % path).split()[0] == digest, node
    for node, address in nodes.items():
        served = client(lab, "sh", "-c", "curl -s -f -m 30 http://%s/shared/%s | sha256sum" % (address, name))
        assert served.split()[0] == digest, node


def marker_names_the_filesystem(nodes, share, device):
    """The converge wrote the marker (the filesystem's UUID) after the first converge; the idempotence run and
    check mode came since: the marker must still be there on every node, on the same filesystem."""
    fs_uuid = host(list(nodes)[0]).check_output("blkid -p -o value -s UUID %s" % device)
    for node in nodes:
        assert host(node).file("%s/converge-marker" % share).content_string == fs_uuid + "\n", node
