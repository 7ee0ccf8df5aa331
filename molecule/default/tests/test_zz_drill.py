"""The fault drill's CI subset (issue 12) on this scenario's lab, after every other check (collected last: zz).

One event of each mechanism (tools/fault_drill/drill.py CI_EVENTS): the master director hard-killed, keepalived
killed with SIGKILL, nginx killed on a real server, a real server rebooted, nfsd's threads stopped on the storage
host, the master's front link cut for 5 s. Each under bounded client load through every VIP, each followed by
the wait for the converged state the cluster must reach by itself. The drill prints its table (pytest -s or the
verifier's output shows it) and exits 1 when any row is over its budget. The full list is `make drill`, which
also runs site.yml again after the events (changed=0).
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "_lab"))
import labtest  # noqa: E402  pylint: disable=wrong-import-position

LAB = labtest.lab("default")
EVENTS = os.environ.get("LVS_DRILL_EVENTS", "ci")


def test_the_cluster_survives_the_fault_drill_by_itself():
    drill = os.path.join(labtest.PROJECT, "tools", "lvs-drill")
    result = subprocess.run([drill, "--name", LAB, "--events", EVENTS], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, universal_newlines=True, timeout=1500, check=False)
    print(result.stdout)
    table = [line for line in result.stdout.splitlines() if line.startswith(("event ", "kill", "reboot", "nfsd",
                                                                                "cut"))]
    assert result.returncode == 0, "the fault drill failed:\n" + "\n".join(table or result.stdout.splitlines()[-30:])
    # every event ran and has its row
    assert "drill: " in result.stdout and " events in " in result.stdout
    assert not [line for line in table if "OVER" in line], table
