"""Fixtures of the lvs-lab tests; puts ``tools/`` (the ``lvs_lab`` package) and this directory on sys.path.

Unit tests (the default) are pure and need nothing but the virtualenv. Tests marked ``lab`` boot real
User-Mode Linux guests: they need root, ``/usr/bin/linux.uml`` and the cached guest image, and FAIL (never
skip) with a clear message when one of these is missing. ``pytest -m "not lab"`` runs only the fast ones.

Every test that runs the command line points ``LVS_LAB_STATE_DIR`` at a temporary directory and uses lab
names starting with ``pytest-``; labs of other users (``default``, ``molecule-*`` ...) are never touched.
``LVS_LAB_CACHE_DIR`` is left alone so the lab tests reuse the image that is already built.
"""
import copy
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

TESTS_DIR = Path(__file__).resolve().parent
TOOLS_DIR = TESTS_DIR.parent
for directory in (TOOLS_DIR, TESTS_DIR):
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))

from lvs_lab import paths  # noqa: E402
from lvslab_helpers import SMALL_TOPOLOGY  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "lab: boots real User-Mode Linux guests (needs root, /usr/bin/linux.uml and the cached image; minutes)",
    )


@pytest.fixture
def small_doc():
    """A fresh copy of the two-guest topology document (a dict, as decoded from YAML)."""
    return copy.deepcopy(SMALL_TOPOLOGY)


@pytest.fixture(scope="session")
def default_doc():
    with open(paths.DEFAULT_TOPOLOGY, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.fixture
def default_copy(default_doc):
    """A fresh copy of the default topology document, free to modify."""
    return copy.deepcopy(default_doc)


@pytest.fixture(scope="session")
def default_topology():
    from lvs_lab import topology

    return topology.load(paths.DEFAULT_TOPOLOGY)


@pytest.fixture
def state_root(tmp_path):
    """A state root that does not exist yet (commands that must create nothing must not create it either)."""
    return tmp_path / "state"


@pytest.fixture(scope="session")
def lab_requirements():
    """Fail (never skip) with a clear message when this machine cannot run lab guests."""
    from lvs_lab import image
    from lvs_lab.errors import LabError

    problems = []
    if os.geteuid() != 0:
        problems.append("the lab tests must run as root (network namespaces, taps, bridges)")
    if not os.access(image.UML_BINARY, os.X_OK):
        problems.append(f"{image.UML_BINARY} is missing: install Debian's user-mode-linux package (make setup)")
    else:
        try:
            cached = image.image_path("bookworm")
        except LabError as exc:
            problems.append(str(exc))
        else:
            if not cached.exists():
                problems.append(f"the guest image {cached} is not built: run 'tools/lvs-lab build' first "
                                "(the tests never build it)")
    for tool in ("ip", "ssh", "ssh-keygen"):
        if shutil.which(tool) is None:
            problems.append(f"the {tool} command is missing")
    if problems:
        pytest.fail("cannot run the lab tests on this machine:\n  " + "\n  ".join(problems), pytrace=False)


@pytest.fixture(scope="session")
def lab_state_root():
    """State root of the lab tests. Short on purpose: UML puts its sockets below it (108-byte path limit)."""
    root = Path(tempfile.mkdtemp(prefix="lvslab-pytest-", dir="/tmp"))
    yield root
    if not any(p.is_dir() for p in root.iterdir()):  # a lab that could not be removed stays, for diagnosis
        shutil.rmtree(root, ignore_errors=True)
