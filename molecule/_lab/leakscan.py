# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a secret could leak during a run, captured so that a test can grep all of it (issue 13).

- the controller: stdout and stderr of ansible-playbook (run with -vvv and --diff by the tests);
- every guest's process list: a sampler started on each guest before the run writes `ps -eww -o args` every
  0.2 s to a file under /run until it is stopped (or its time bound runs out); the snapshots are read back after;
- every guest's journal since boot (`journalctl -b -o export`: every field, _CMDLINE included).

Nothing here puts a secret on a guest's command line: the secrets are looked for on the controller, in the
bytes read back. (A `grep SECRET` run on a guest would itself be a leak: testinfra's ansible backend runs
commands through the shell module, which logs its arguments to the journal.)
"""
import base64
import binascii
import subprocess
import time

import labtest

SAMPLES = "/run/lvs-leakscan-ps.txt"
STOP = "/run/lvs-leakscan-ps.stop"
DONE = "=== done"


def start_samplers(names, seconds):
    """Start a process-list sampler on each guest, bounded to `seconds` (stopped earlier by stop_samplers)."""
    script = ("rm -f {stop}; end=$(( $(date +%s) + {seconds} )); n=0; "
              "while [ ! -e {stop} ] && [ $(date +%s) -lt $end ]; do "
              "echo \"=== $n $(date +%s.%N)\"; ps -eww -o args; n=$((n+1)); sleep 0.2; done; echo '{done}'"
              ).format(stop=STOP, seconds=int(seconds), done=DONE)
    for name in names:
        labtest.host(name).check_output(
            "rm -f %s; nohup sh -c '%s' > %s 2>&1 < /dev/null &" % (SAMPLES, script.replace("'", "'\\''"), SAMPLES))
    # Each sampler has taken its first snapshot before the run starts.
    for name in names:
        deadline = time.time() + 60
        while "=== 0 " not in labtest.host(name).run("head -c 200 %s" % SAMPLES).stdout:
            assert time.time() < deadline, "the process sampler did not start on %s" % name
            time.sleep(0.5)


def stop_samplers(names):
    """Stop the samplers; {guest: [snapshot, ...]} with each snapshot the text of one `ps` run."""
    for name in names:
        labtest.host(name).check_output("touch %s" % STOP)
    snapshots = {}
    for name in names:
        deadline = time.time() + 60
        while True:
            text = labtest.host(name).run("cat %s" % SAMPLES).stdout
            if text.rstrip().endswith(DONE):
                break
            assert time.time() < deadline, "the process sampler on %s did not stop" % name
            time.sleep(0.5)
        labtest.host(name).run("rm -f %s %s" % (SAMPLES, STOP))
        snapshots[name] = [chunk.split("\n", 1)[1] if "\n" in chunk else ""
                           for chunk in text.rstrip()[:-len(DONE)].split("=== ")[1:]]
    return snapshots


def journal(name):
    """The guest's whole journal of this boot, every field of every entry, as bytes."""
    result = labtest.host(name).run("journalctl -b -o export --no-pager")
    assert result.rc == 0, result.stderr
    return result.stdout_bytes if hasattr(result, "stdout_bytes") else result.stdout.encode("utf-8", "replace")


def playbook(args, timeout=1800):
    """ansible-playbook with `args` (list); (rc, stdout bytes, stderr bytes)."""
    result = subprocess.run(["ansible-playbook"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            timeout=timeout, check=False)
    return result.returncode, result.stdout, result.stderr


def forms(value):
    """The byte strings that would show `value` (text or bytes) if it leaked: itself and, for binary keys or
    long values, its base64 and hex forms and the leading part of each (output may wrap long lines)."""
    raw = value if isinstance(value, bytes) else value.encode("utf-8")
    found = {raw}
    if isinstance(value, bytes):
        encoded = base64.b64encode(raw)
        hexed = binascii.hexlify(raw)
        found |= {encoded, encoded[:40], hexed, hexed[:40], raw[:24]}
    return found


def hits(secrets, places):
    """[(place, secret name)] for every secret (name -> value) found in any place (name -> bytes or text)."""
    found = []
    for place, content in places.items():
        data = content if isinstance(content, bytes) else content.encode("utf-8", "replace")
        for secret, value in secrets.items():
            if any(form in data for form in forms(value)):
                found.append((place, secret))
    return found
