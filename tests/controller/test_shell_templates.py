"""ShellCheck on the shell scripts the roles install, rendered as they would be for the lab cluster.

The collection's shell code lives in templates (``*.sh.j2``), which ansible-test's shellcheck sanity test does not
look at (it checks ``*.sh`` files only). Here each is rendered by Ansible on the controller for the lab's hosts and
data model (``shell_templates.yml``), including the director's iptables script with every chain wanted and with
none, and checked by ShellCheck (as POSIX sh, what their ``#!/bin/sh`` runs) with no check disabled.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

from lvs_lab import inventory, topology  # noqa: E402

COLLECTION = ROOT / "build/ansible_collections/lvs/cluster"
PLAYBOOK = Path(__file__).with_name("shell_templates.yml")
SHELLCHECK = shutil.which("shellcheck")
EXPECTED = {"director1-director-netfilter-all", "director1-director-netfilter-none", "director1-keepalived-notify",
            "director1-keepalived-config-test", "rs1-arp-filter", "rs2-arp-filter", "rs3-arp-filter"}


@pytest.fixture(scope="module")
def scripts(tmp_path_factory):
    assert COLLECTION.is_dir(), "run `make collection` first (the test uses the built collection)"
    work = tmp_path_factory.mktemp("shell")
    hosts = work / "hosts.yml"
    hosts.write_text(inventory.render_inventory(topology.load(ROOT / "tools/lvs_lab/topologies/default.yml"),
                                                "shtest", work / "no-key", work / "no-known-hosts"))
    out = work / "out"
    out.mkdir()
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    result = subprocess.run(
        [str(ROOT / ".venv/bin/ansible-playbook"), "-i", str(hosts), "-i", str(ROOT / "inventory/lab"),
         str(PLAYBOOK), "-e", "ansible_connection=local", "-e", "ansible_python_interpreter=" + sys.executable,
         "-e", "collection_dir=" + str(COLLECTION), "-e", "shell_out=" + str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    files = {path.stem: path for path in sorted(out.glob("*.sh"))}
    assert EXPECTED <= set(files), sorted(files)
    return files


def shellcheck(path):
    assert SHELLCHECK, "shellcheck is missing: run `make setup` (tools/setup-host.sh installs it)"
    return subprocess.run([SHELLCHECK, "--shell=sh", "--severity=style", str(path)], capture_output=True, text=True,
                          check=False)


def test_shellcheck_finds_a_fault(tmp_path):
    """The check below can fail: the same call reports an unquoted variable and a bash-only construct."""
    bad = tmp_path / "bad.sh"
    bad.write_text('#!/bin/sh\nrm -f $1\n[[ -n "$2" ]] && echo yes\n')
    result = shellcheck(bad)
    assert result.returncode != 0
    assert "SC2086" in result.stdout and "SC3010" in result.stdout


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_rendered_script_passes_shellcheck(scripts, name):
    result = shellcheck(scripts[name])
    assert result.returncode == 0, result.stdout + result.stderr
    assert scripts[name].read_text().startswith("#!/bin/sh\n")
