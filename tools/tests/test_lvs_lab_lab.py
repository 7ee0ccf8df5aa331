"""A real two-guest lab: up, the read-only verbs, a second 'up' of the same name, down.

One lab (``pt-cycle-<pid>``) is shared by the tests of this module and removed by the last one, which checks
that nothing is left. Its guests run with the xstate shim exchanging only 832 bytes of UML's register buffer
(LVS_LAB_XSTATE_SHIM_EMULATE), as on a host whose XSAVE area UML's buffer cannot hold: every test here then
also proves that guests boot and work through the shim's adaptation; the fixture's finalizer removes it as well if a test failed on the way. Needs root,
/usr/bin/linux.uml and the cached image (the tests fail, never skip, without them).
"""
import hashlib
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from lvs_lab import guests, paths
from lvslab_helpers import (REPO_DIR, SMALL_TOPOLOGY, lab_env, lab_processes, leftovers, require_free, run_lab,
                            unique_lab_name, write_topology)

pytestmark = pytest.mark.lab

NAME = unique_lab_name("pt-cycle")
UP_TIMEOUT = 600  # seconds for 'up' as a whole (the tool waits up to 300 s for SSH)
EMULATED_UML_BUFFER = 832


@dataclass
class Lab:
    name: str
    env: dict
    state_root: Path
    topology: Path
    up_output: str

    @property
    def directory(self):
        return self.state_root / self.name

    @property
    def inventory(self):
        return self.directory / "inventory.yml"

    @property
    def ssh_config(self):
        return self.directory / "ssh_config"

    def run(self, *args, timeout=120):
        return run_lab(list(args), self.env, timeout=timeout)

    def ssh(self, host, command, timeout=60):
        return subprocess.run(["ssh", "-F", str(self.ssh_config), "-o", "BatchMode=yes", host, command],
                              capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False)

    def status(self):
        result = self.run("status", "--name", self.name, "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


@pytest.fixture(scope="module")
def running_lab(lab_requirements, lab_state_root, tmp_path_factory):
    require_free(NAME, lab_state_root)
    topology = write_topology(tmp_path_factory.mktemp("cycle") / "topology.yml", SMALL_TOPOLOGY)
    env = lab_env(lab_state_root, LVS_LAB_XSTATE_SHIM_EMULATE=str(EMULATED_UML_BUFFER))
    try:
        result = run_lab(["up", "--name", NAME, "--topology", str(topology)], env, timeout=UP_TIMEOUT)
        if result.returncode != 0:
            pytest.fail(f"lvs-lab up --name {NAME} exited {result.returncode}\n--- stdout\n{result.stdout}"
                        f"\n--- stderr\n{result.stderr}", pytrace=False)
        yield Lab(NAME, env, lab_state_root, topology, result.stdout)
    finally:
        if leftovers(NAME, lab_state_root):
            run_lab(["down", "--name", NAME], env, timeout=300)


def test_up_reports_the_lab(running_lab):
    assert f"lab '{NAME}' is up: 2 guests answered SSH" in running_lab.up_output
    assert f"inventory: {running_lab.inventory}" in running_lab.up_output
    state = json.loads((running_lab.directory / "state.json").read_text())
    assert state["phase"] == "up"
    assert state["namespace"] == f"lvslab-{NAME}"
    assert set(state["guests"]) == {"guest1", "guest2"}
    for host, guest in state["guests"].items():
        assert guest["umid"] == f"lvslab-{NAME}-{host}"
        assert guests.is_ours(guest["pid"], guest["umid"])


def test_status_json_shows_every_guest_running(running_lab):
    report = running_lab.status()
    assert report["name"] == NAME
    assert report["phase"] == "up"
    assert report["namespace"] == f"lvslab-{NAME}"
    assert report["inventory"] == str(running_lab.inventory)
    assert [g["host"] for g in report["guests"]] == ["guest1", "guest2"]
    assert [g["address"] for g in report["guests"]] == ["198.18.0.11", "198.18.0.12"]
    assert [g["groups"] for g in report["guests"]] == [["alpha"], ["beta"]]
    for guest in report["guests"]:
        assert guest["running"] is True
        assert isinstance(guest["pid"], int)
        assert 0 < guest["memory_mib"] < 512, guest
    text = running_lab.run("status", "--name", NAME)
    assert text.returncode == 0, text.stderr
    assert text.stdout.count("running") == 2


def test_the_guests_run_through_the_adapting_xstate_shim(running_lab):
    assert "xstate shim preloaded into the guests, emulating a 832-byte UML buffer" in running_lab.up_output
    for guest in running_lab.status()["guests"]:
        shim = guest["xstate_shim"]
        assert shim is not None, f"{guest['host']}: the shim did not report in the console log"
        assert (shim["uml_buffer"], shim["emulated"], shim["mode"]) == (EMULATED_UML_BUFFER, True, "adapting")
        assert shim["host_size"] > EMULATED_UML_BUFFER
    assert running_lab.run("status", "--name", NAME).stdout.count("xstate shim adapting: UML 832 (emulated)") == 2
    # Vector-heavy work in a guest gives the host's answer: register state survives the task switches.
    script = ("import hashlib; d = bytes(range(256)) * 40000; "
              "print(hashlib.sha256(d).hexdigest() + hashlib.blake2b(d.upper()).hexdigest())")
    guest = running_lab.ssh("guest1", f"python3 -c '{script}' & python3 -c '{script}'; wait")
    assert guest.returncode == 0, guest.stderr
    data = bytes(range(256)) * 40000
    expected = hashlib.sha256(data).hexdigest() + hashlib.blake2b(data.upper()).hexdigest()
    assert guest.stdout.split() == [expected, expected]


def test_status_all_lists_the_lab(running_lab):
    result = running_lab.run("status", "--all")
    assert result.returncode == 0
    assert NAME in result.stdout.split()


def test_namespace_has_the_bridges_and_taps(running_lab):
    result = running_lab.run("exec", "--name", NAME, "--", "ip", "-br", "link")
    assert result.returncode == 0, result.stderr
    links = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()}
    for bridge in ("br-mgmt", "br-data"):
        assert links.get(bridge) == "UP", result.stdout
    for tap in ("tap1n0", "tap1n1", "tap2n0", "tap2n1"):
        assert tap in links, result.stdout
    addresses = running_lab.run("exec", "--name", NAME, "--", "ip", "-br", "-4", "addr", "show", "dev", "br-mgmt")
    assert "198.18.0.1/24" in addresses.stdout
    assert running_lab.run("exec", "--name", NAME, "--", "ip", "-br", "-4", "addr", "show", "dev", "br-data").stdout \
        .split()[2:] == [], "the data network has no namespace address"


def test_exec_passes_the_exit_status_on(running_lab):
    assert running_lab.run("exec", "--name", NAME, "--", "sh", "-c", "exit 3").returncode == 3


def test_the_namespace_reaches_the_guests(running_lab):
    """From the lab namespace (the controller's side of the management network) every guest's sshd answers."""
    banner = ("import socket, sys\n"
              "with socket.create_connection((sys.argv[1], 22), timeout=10) as s: print(s.recv(64)[:4].decode())")
    for address in ("198.18.0.11", "198.18.0.12"):
        result = running_lab.run("exec", "--name", NAME, "--", sys.executable, "-c", banner, address)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout == "SSH-\n"


def test_ssh_with_the_written_ssh_config(running_lab):
    result = running_lab.ssh("guest1", "uname -r")
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"6\.1\.\d+\S*\n", result.stdout), result.stdout
    assert running_lab.ssh("guest2", "hostname").stdout == "guest2\n"


def test_lvs_lab_ssh_verb(running_lab):
    result = running_lab.run("ssh", "--name", NAME, "guest2", "uname", "-r")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("6.1.")
    unknown = running_lab.run("ssh", "--name", NAME, "guest9", "true")
    assert unknown.returncode == 1 and "no host 'guest9' in this lab" in unknown.stderr


def test_guest_network_configuration(running_lab):
    """The guest applied its config tar: addresses on both NICs, and the data network works guest to guest."""
    result = running_lab.ssh("guest1", "ip -br -4 addr; ping -c 1 -W 5 203.0.113.12 >/dev/null && echo PING-OK")
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^eth0\s+\S+\s+198\.18\.0\.11/24", result.stdout, re.M), result.stdout
    assert re.search(r"^eth1\s+\S+\s+203\.0\.113\.11/24", result.stdout, re.M), result.stdout
    assert "PING-OK" in result.stdout


def test_ansible_ping_from_the_host_namespace(running_lab, tmp_path):
    ansible = REPO_DIR / ".venv" / "bin" / "ansible"
    if not ansible.exists():
        ansible = Path(sys.executable).parent / "ansible"
    assert ansible.exists(), f"{ansible} is missing: run 'make venv'"
    result = subprocess.run([str(ansible), "-i", str(running_lab.inventory), "all", "-m", "ping"],
                            capture_output=True, text=True, timeout=180, cwd=tmp_path, stdin=subprocess.DEVNULL,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == 2, result.stdout
    assert "pong" in result.stdout


def test_inventory_verbs(running_lab):
    path = running_lab.run("inventory", "--name", NAME)
    assert path.returncode == 0 and path.stdout == f"{running_lab.inventory}\n"
    document = running_lab.run("inventory", "--name", NAME, "--format", "yaml")
    assert document.stdout == running_lab.inventory.read_text()
    molecule = running_lab.run("inventory", "--name", NAME, "--format", "molecule")
    assert molecule.returncode == 0
    import yaml

    assert [(e["instance"], e["address"]) for e in yaml.safe_load(molecule.stdout)] == [
        ("guest1", "198.18.0.11"), ("guest2", "198.18.0.12")]


def test_console_shows_the_boot_log(running_lab):
    result = running_lab.run("console", "--name", NAME, "guest1")
    assert result.returncode == 0
    assert "Linux version 6.1." in result.stdout


def test_up_with_a_name_in_use_is_refused(running_lab, tmp_path):
    state_before = (running_lab.directory / "state.json").read_bytes()
    status_before = running_lab.status()
    result = running_lab.run("up", "--name", NAME, "--topology", str(running_lab.topology))
    assert result.returncode == 1
    assert result.stderr.startswith(f"lvs-lab: error: lab name '{NAME}' is already in use"), result.stderr
    assert f"lvs-lab down --name {NAME}" in result.stderr
    assert "Traceback" not in result.stderr
    # A lab of that name started from another state directory: the namespace alone marks the name as in use.
    other_root = tmp_path / "other-state"
    elsewhere = run_lab(["up", "--name", NAME, "--topology", str(running_lab.topology)], lab_env(other_root))
    assert elsewhere.returncode == 1 and "is already in use" in elsewhere.stderr, elsewhere.stderr
    assert not other_root.exists()
    # The running lab is undisturbed.
    assert (running_lab.directory / "state.json").read_bytes() == state_before
    after = running_lab.status()
    assert [(g["pid"], g["running"]) for g in after["guests"]] == [(g["pid"], True) for g in status_before["guests"]]
    assert running_lab.ssh("guest1", "true").returncode == 0


def test_down_leaves_nothing(running_lab):
    """Last test of the module: it removes the shared lab."""
    recorded = {host: guest["pid"] for host, guest in
                json.loads((running_lab.directory / "state.json").read_text())["guests"].items()}
    assert lab_processes(NAME), "the guests should be running before down"
    result = running_lab.run("down", "--name", NAME, timeout=300)
    assert result.returncode == 0, result.stderr
    assert f"lab '{NAME}' removed: 2 guests stopped, namespace lvslab-{NAME} deleted" in result.stdout
    assert leftovers(NAME, running_lab.state_root) == []
    for host, pid in recorded.items():
        assert not guests.is_ours(pid, f"lvslab-{NAME}-{host}"), f"{host} (pid {pid}) still runs"
    assert paths.NAMESPACE_PREFIX + NAME not in {p.name for p in Path("/run/netns").iterdir()}
    assert (running_lab.state_root / "id_ed25519").exists(), "the controller key is kept for the next lab"
    again = running_lab.run("down", "--name", NAME)
    assert again.returncode == 0, again.stderr
    assert f"lab '{NAME}' is not running; nothing to remove" in again.stdout
