"""Helpers shared by the lvs-lab test modules (plain functions; the fixtures are in conftest.py)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

TOOLS_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = TOOLS_DIR.parent
if str(TOOLS_DIR) not in sys.path:
    sys.path.insert(0, str(TOOLS_DIR))

from lvs_lab import paths  # noqa: E402  (needs TOOLS_DIR on sys.path)

LVS_LAB = TOOLS_DIR / "lvs-lab"
NETNS_RUN_DIR = Path("/run/netns")

SMALL_TOPOLOGY = {
    # Two guests: a management network with the namespace's own address, and one data network.
    "suite": "bookworm",
    "management_network": "mgmt",
    "networks": [
        {"name": "mgmt", "ipv4": "198.18.0.0/24", "namespace_addresses": ["198.18.0.1"]},
        {"name": "data", "ipv4": "203.0.113.0/24"},
    ],
    "hosts": [
        {
            "name": "guest1",
            "groups": ["alpha"],
            "memory": 256,
            "nics": [
                {"network": "mgmt", "addresses": ["198.18.0.11"]},
                {"network": "data", "addresses": ["203.0.113.11"]},
            ],
        },
        {
            "name": "guest2",
            "groups": ["beta"],
            "memory": 256,
            "nics": [
                {"network": "mgmt", "addresses": ["198.18.0.12"]},
                {"network": "data", "addresses": ["203.0.113.12"]},
            ],
        },
    ],
}


def unique_lab_name(stem):
    """A lab name of this test run alone: two checkouts running `make unit` at once on one machine (parallel work)
    must not meet on one lab (lab names are at most 20 characters)."""
    name = "%s-%d" % (stem, os.getpid() % 100000)
    assert len(name) <= 20, name
    return name


def write_topology(path, document):
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def lab_env(state_root, **extra):
    """Environment for ``tools/lvs-lab``: a private state root, the shared image cache, unbuffered output."""
    env = dict(os.environ)
    env["LVS_LAB_STATE_DIR"] = str(state_root)
    env.pop("LVS_LAB_NAME", None)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def run_lab(args, env, timeout=120, check=False):
    """Run ``tools/lvs-lab ARGS`` and return the CompletedProcess (text output captured)."""
    result = subprocess.run(
        [str(LVS_LAB), *args], env=env, cwd=REPO_DIR, capture_output=True, text=True, timeout=timeout,
        stdin=subprocess.DEVNULL, check=False,
    )
    if check and result.returncode != 0:
        pytest.fail(f"lvs-lab {' '.join(args)} exited {result.returncode}\n"
                    f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}")
    return result


def lab_namespaces():
    """Names of the lvs-lab namespaces on this machine (of every user: only ever compared, never touched)."""
    if not NETNS_RUN_DIR.is_dir():
        return set()
    return {p.name for p in NETNS_RUN_DIR.iterdir() if p.name.startswith(paths.NAMESPACE_PREFIX)}


def lab_processes(lab_name):
    """PIDs whose command line contains ``umid=lvslab-LAB-`` (the UML guests of that lab and their helpers)."""
    needle = f"umid={paths.NAMESPACE_PREFIX}{lab_name}-".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return sorted(found)


def leftovers(lab_name, state_root):
    """Everything of lab ``lab_name`` that still exists (empty when the lab is completely gone)."""
    found = []
    pids = lab_processes(lab_name)
    if pids:
        found.append(f"processes {pids}")
    if (NETNS_RUN_DIR / paths.namespace_name(lab_name)).exists():
        found.append(f"namespace /run/netns/{paths.namespace_name(lab_name)}")
    if (Path(state_root) / lab_name).exists():
        found.append(f"state directory {Path(state_root) / lab_name}")
    return found


def require_free(lab_name, state_root):
    """Fail clearly if a lab of this name is left over from an earlier, aborted test run."""
    found = leftovers(lab_name, state_root)
    if found:
        pytest.fail(f"lab {lab_name!r} already exists ({'; '.join(found)}), probably left over from an aborted "
                    f"test run: remove it with 'LVS_LAB_STATE_DIR=<its state dir> tools/lvs-lab down --name "
                    f"{lab_name}' (or 'ip netns delete lvslab-{lab_name}' and stop its processes)", pytrace=False)
