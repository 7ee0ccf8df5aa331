"""tools/run-molecule.py with a stand-in `molecule` on PATH: scenarios run and are reported, and a stop (SIGTERM, as
CI's timeout or a user's kill sends) ends every process a scenario started, starts no further scenario and destroys
the interrupted scenario's lab."""
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]

# The stand-in: `molecule test -s NAME` records its process group and starts a grandchild (as Ansible and the lab
# tool do), then waits for it; `molecule destroy -s NAME` records the call.
FAKE_MOLECULE = """#!/bin/sh
verb=$1; name=$3
case "$verb" in
  test)
    echo "$name $$" >> "$FAKE_STATE/started"
    case "$name" in
      ok*) exit 0 ;;
      bad*) echo "scenario $name failed here"; exit 2 ;;
    esac
    sleep 300 &
    echo $! > "$FAKE_STATE/$name.grandchild"
    wait
    ;;
  destroy)
    echo "$name" >> "$FAKE_STATE/destroyed"
    ;;
esac
"""


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "project"
    (root / "tools").mkdir(parents=True)
    shutil.copy(REPO / "tools" / "run-molecule.py", root / "tools" / "run-molecule.py")
    for name in ("ok_one", "bad_two", "slow_a", "slow_b"):
        (root / "molecule" / name).mkdir(parents=True)
        (root / "molecule" / name / "molecule.yml").write_text("---\n")
    manifest = root / "build" / "ansible_collections" / "lvs" / "cluster" / "MANIFEST.json"
    manifest.parent.mkdir(parents=True)
    manifest.write_text("{}")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "molecule"
    fake.write_text(FAKE_MOLECULE)
    fake.chmod(0o755)
    state = tmp_path / "state"
    state.mkdir()
    env = dict(os.environ, PATH="%s:%s" % (bin_dir, os.environ["PATH"]), FAKE_STATE=str(state),
               XDG_CACHE_HOME=str(tmp_path / "cache"), LVS_MOLECULE_STOP_GRACE="5")
    env.pop("LVS_MOLECULE_JOBS", None)
    return root, state, env


def start(root, env, *args):
    return subprocess.Popen([sys.executable, str(root / "tools" / "run-molecule.py")] + list(args), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for(predicate, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purpose (its parent, the stopped runner's child, may not have reaped it yet).
    with open("/proc/%d/stat" % pid) as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_results_are_reported_and_a_failure_prints_its_log(project):
    root, _state, env = project
    proc = start(root, env, "--jobs", "2", "ok_one", "bad_two")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1, out
    assert "ok_one           passed" in out
    assert "bad_two          FAILED (exit 2)" in out
    assert "scenario bad_two failed here" in out
    assert "2 scenario(s)" in out and "1 failed: bad_two" in out


def test_sigterm_stops_every_process_of_a_scenario_starts_no_other_and_destroys_its_lab(project):
    root, state, env = project
    proc = start(root, env, "--jobs", "1", "slow_a", "slow_b")
    assert wait_for(lambda: (state / "slow_a.grandchild").is_file()), "the first scenario never started"
    grandchild = int((state / "slow_a.grandchild").read_text())
    assert alive(grandchild)

    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)

    assert proc.returncode == 130, out
    assert wait_for(lambda: not alive(grandchild), 10), "the scenario's grandchild outlived the stop: " + out
    started = (state / "started").read_text().split()
    assert started[0::2] == ["slow_a"], "a scenario started after the stop: %s" % started
    assert (state / "destroyed").read_text().split() == ["slow_a"]
    assert "slow_a           interrupted; its lab destroyed" in out
    assert "stopped after" in out
