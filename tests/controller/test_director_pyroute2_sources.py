"""The director role's pyroute2 source and interpreter, as playbooks see them, on the controller.

- Without any inventory setting (a Galaxy user's case): source ``index``, the venv's python.
- With the lab's inventory (``inventory/lab``): source ``wheel`` (the lab's guests reach no index), the same venv.
- ``none`` (and ``distro``): the system python3; a version range that is no PEP 440 specifier is refused in preflight, naming
  the variable.
- pip's ``--break-system-packages`` is gone from the repository's roles, playbooks, scenarios and benchmarks.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = ROOT / "build/ansible_collections/lvs/cluster"
PLAYBOOK = Path(__file__).with_name("director_pyroute2.yml")
VENV_PYTHON = "/opt/lvs-cluster/venv/bin/python3"


def play(work, *arguments):
    """Run the playbook for two local directors; (completed process, {host: what it saw})."""
    assert COLLECTION.is_dir(), "run `make collection` first (the test uses the built collection)"
    hosts = work / "hosts.yml"
    hosts.write_text("all:\n  children:\n    directors:\n      hosts:\n"
                     "        director1: {ansible_connection: local}\n        director2: {ansible_connection: local}\n")
    out = work / "out"
    out.mkdir()
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    command = [str(ROOT / ".venv/bin/ansible-playbook"), "-i", str(hosts), *arguments, str(PLAYBOOK),
               "-e", "ansible_python_interpreter=" + sys.executable, "-e", "out_dir=" + str(out)]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    seen = {path.stem: json.loads(path.read_text()) for path in sorted(out.glob("*.json"))}
    return result, seen


def test_the_default_is_index_into_the_venv(tmp_path):
    result, seen = play(tmp_path)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert seen == {name: {"source": "index", "venv": "/opt/lvs-cluster/venv", "python": VENV_PYTHON}
                    for name in ("director1", "director2")}


def test_the_lab_inventory_chooses_the_wheel(tmp_path):
    result, seen = play(tmp_path, "-i", str(ROOT / "inventory/lab"))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert {name: item["source"] for name, item in seen.items()} == {"director1": "wheel", "director2": "wheel"}
    assert {item["python"] for item in seen.values()} == {VENV_PYTHON}


@pytest.mark.parametrize("scenario", ["cluster_nat", "cluster_tun", "ipvs_modules"])
def test_the_scenarios_with_inventories_of_their_own_choose_the_wheel(scenario):
    # The other scenarios with directors link inventory/lab/group_vars (the test above).
    text = "\n".join(path.read_text() for path in (ROOT / "molecule" / scenario).rglob("*.yml"))
    assert "lvs_director_pyroute2_source: wheel" in text


def test_none_runs_the_modules_with_the_system_python(tmp_path):
    result, seen = play(tmp_path, "-e", "lvs_director_pyroute2_source=none")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert {item["python"] for item in seen.values()} == {"/usr/bin/python3"}


def test_a_bad_version_range_is_refused_naming_the_variable(tmp_path):
    result, seen = play(tmp_path, "-e", "lvs_director_pyroute2_index_version='at least 0.9'")
    assert result.returncode != 0
    assert "lvs_director_pyroute2_index_version: 'at least 0.9' is no PEP 440 version specifier" in result.stdout
    assert seen == {}


def test_no_break_system_packages_in_the_repository():
    found = subprocess.run(["git", "-C", str(ROOT), "grep", "-l", "--", "--break-system-packages", "--",
                            "roles", "playbooks", "molecule", "bench", "tools", "inventory"],
                           capture_output=True, text=True, check=False)
    assert found.returncode == 1 and found.stdout == "", found.stdout
