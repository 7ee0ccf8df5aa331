# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers shared by the testinfra tests of the lab scenarios.

Client requests run in the lab namespace (the client side) through `tools/lvs-lab exec`; guests are reached
through Molecule's inventory. The lab's name is LVS_MOLECULE_LAB (set by the scenario's provisioner env).
"""
import collections
import os
import re
import subprocess
import time

import testinfra

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
PROJECT = os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.path.abspath(os.path.join(__file__, "../../..")))
LVS_LAB = os.path.join(PROJECT, "tools", "lvs-lab")


def lab(suffix):
    return os.environ.get("LVS_MOLECULE_LAB") or os.environ.get("LVS_MOLECULE_LAB_PREFIX", "mol") + "-" + suffix


def host(name):
    return testinfra.get_host("ansible://%s?ansible_inventory=%s" % (name, INVENTORY))


def client(lab_name, *command, timeout=180):
    """Run a command in the lab namespace (the client side) and return its stdout."""
    return subprocess.run([LVS_LAB, "exec", "--name", lab_name, "--", *command], check=True, timeout=timeout,
                          stdout=subprocess.PIPE, universal_newlines=True).stdout


def requests(lab_name, url, count):
    """`count` sequential requests from the client side: Counter of the answers (host names, or FAILED)."""
    script = 'for i in $(seq %d); do curl -s -m 3 "%s" || echo FAILED; done' % (count, url)
    return collections.Counter(line.strip() for line in client(lab_name, "sh", "-c", script).splitlines()
                               if line.strip())


def served(lab_name, url, count):
    """`count` sequential requests from the client side: [(body, the X-Served-By header)]; (None, None) for each
    request that failed or did not answer 200."""
    script = ('for i in $(seq %d); do curl -s -m 3 -w "\\n%%{http_code} %%header{x-served-by}\\n---\\n" "%s" '
              '|| true; done' % (count, url))
    answers = []
    for chunk in client(lab_name, "sh", "-c", script).split("\n---\n")[:count]:
        body, _newline, status = chunk.rpartition("\n")
        code, _space, server = status.partition(" ")
        answers.append((body, server) if code == "200" else (None, None))
    return answers


def download_sha256(lab_name, url):
    """Download `url` from the client side: (size, sha256) of what arrived."""
    out = client(lab_name, "sh", "-c", 'curl -s -m 30 "%s" | tee /dev/null | sha256sum; curl -s -m 30 -o /dev/null '
                 '-w "%%{size_download}" "%s"' % (url, url))
    digest, size = out.split()[0], int(out.split()[-1])
    return size, digest


def table(director, service):
    """The destinations of one IPVS service on a director: {address: (weight, forward)}, and the scheduler."""
    output = host(director).check_output("ipvsadm -Ln --tun-info %s" % service)
    scheduler = re.search(r"^(?:TCP|UDP|SCTP)\s+\S+\s+(\S+)", output, re.M).group(1)
    servers = dict((m.group(1), (int(m.group(4)), m.group(2), m.group(3)))
                   for m in re.finditer(r"->\s+(\S+):\d+\s+(\S+)\s+(\S+)\s+(\d+)", output))
    return scheduler, servers


def predicted(scheduler, weights, count):
    """What rr/wrr give for `count` requests: exact shares proportional to the weights (rr: equal)."""
    assert scheduler in ("rr", "wrr"), "the test predicts rr and wrr exactly, not %s" % scheduler
    weights = dict((name, 1 if scheduler == "rr" else w) for name, w in weights.items() if w > 0)
    total = sum(weights.values())
    assert count % total == 0, "choose a request count divisible by the total weight %d" % total
    return collections.Counter(dict((name, count * w // total) for name, w in weights.items()))


def wait_for(predicate, seconds, message, interval=2):
    """Poll `predicate` until it is true (returns that moment's time.time()) or fail after `seconds`.

    An exception from the predicate (a guest that is still booting) counts as not yet; the last one is in the
    failure message.
    """
    deadline = time.time() + seconds
    last_error = None
    while time.time() < deadline:
        try:
            if predicate():
                return time.time()
        except Exception as exc:  # pylint: disable=broad-except
            last_error = exc
        time.sleep(interval)
    raise AssertionError(message if last_error is None else "%s (last error: %s)" % (message, last_error))


def converge(extra_vars_file, limit):
    """Run the scenario's converge playbook again with extra vars (the removal tests)."""
    scenario = os.environ["MOLECULE_SCENARIO_DIRECTORY"]
    playbook = os.path.join(PROJECT, "molecule", "cluster_dr", "converge.yml")
    result = subprocess.run(
        ["ansible-playbook", "-i", os.path.dirname(INVENTORY), "-e", "@" + os.path.join(scenario, extra_vars_file),
         "-l", limit, playbook],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=900, check=False)
    assert result.returncode == 0, result.stdout[-4000:]
    return result.stdout


def reboot(name, lab_name):
    """Reboot a guest from inside (systemctl reboot) and wait until it answers SSH again with a new boot id."""
    before = host(name).check_output("cat /proc/sys/kernel/random/boot_id")
    subprocess.run([LVS_LAB, "ssh", "--name", lab_name, name, "--", "systemctl reboot"], timeout=60, check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def back():
        out = subprocess.run([LVS_LAB, "ssh", "--name", lab_name, name, "--",
                              "cat /proc/sys/kernel/random/boot_id; systemctl is-system-running --wait"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, universal_newlines=True,
                             timeout=120, check=False).stdout.split()
        return out and out[0] != before.strip()
    wait_for(back, 300, "%s did not come back after a reboot" % name)


def sha256_of(name, path):
    return host(name).check_output("sha256sum %s" % path).split()[0]
