"""When a guest does not come up: the error quotes its console, names a known cause in plain words, keeps the
log where cleanup does not reach, and leaves nothing else behind.

The lab test reproduces, on any host, the boot failure of hosts whose XSAVE area is larger than UML's
register buffer: the shim hands UML's calls to the kernel shortened to 832 bytes and unadapted
(LVS_LAB_XSTATE_SHIM_EMULATE=832:unadapted), exactly what UML 6.1 does on an AMX host.
"""
import pytest

from lvs_lab import diagnose
from lvslab_helpers import (SMALL_TOPOLOGY, lab_env, leftovers, require_free, run_lab, unique_lab_name,
                            write_topology)

NAME = unique_lab_name("pt-bootfail")

XSTATE_PANIC = """\
Linux version 6.1.176 (debian-kernel@lists.debian.org)
lvs-lab xstate shim: UML XSAVE buffer 2696 bytes, host XSAVE area 11008 bytes: adapting
Run /sbin/init as init process
userspace - ptrace set fp regs failed, errno = 14
Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b
"""


@pytest.mark.lab
def test_a_guest_that_panics_at_boot_is_diagnosed(lab_requirements, lab_state_root, tmp_path):
    require_free(NAME, lab_state_root)
    document = dict(SMALL_TOPOLOGY, hosts=SMALL_TOPOLOGY["hosts"][:1])
    topology = write_topology(tmp_path / "one-guest.yml", document)
    env = lab_env(lab_state_root, LVS_LAB_XSTATE_SHIM_EMULATE="832:unadapted")
    try:
        result = run_lab(["up", "--name", NAME, "--topology", str(topology)], env, timeout=300)
    finally:
        if leftovers(NAME, lab_state_root):
            run_lab(["down", "--name", NAME], env, timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    error = result.stderr
    assert "Traceback" not in error
    assert error.startswith("lvs-lab: error: guest guest1 exited during boot; its console log is kept at "), error
    assert "last lines of its console:" in error
    assert "ptrace set fp regs failed, errno = 14" in error
    assert "known cause: the host CPU's XSAVE area" in error
    assert "it reported 'not adapting' (is LVS_LAB_XSTATE_SHIM_EMULATE set?)" in error
    kept = sorted((lab_state_root / "failed-boots").glob(f"{NAME}-guest1-*.log"))
    assert kept, "the console log was not kept"
    assert str(kept[-1]) in error
    assert "Kernel panic" in kept[-1].read_text(errors="replace")
    assert leftovers(NAME, lab_state_root) == [], "a failed up must remove what it created"


def test_the_xstate_panic_is_named_with_the_shim_state():
    causes = diagnose.known_causes(XSTATE_PANIC)
    assert len(causes) == 1
    assert causes[0].startswith("the host CPU's XSAVE area (AMX and newer extensions) is larger than")
    assert "it was loaded and adapting, yet the call failed" in causes[0]
    without_shim = XSTATE_PANIC.replace(XSTATE_PANIC.splitlines()[1] + "\n", "")
    assert "it was not loaded (is LVS_LAB_XSTATE_SHIM=off set?)" in diagnose.known_causes(without_shim)[0]


@pytest.mark.parametrize("console, expected", [
    ("Failed to open /dev/net/tun, err = 2\nKernel panic", "/dev/net/tun is missing or not usable"),
    ("Out of memory: Killed process 1 (systemd)\n", "memory ran out: each guest's memory is a file in /dev/shm"),
    ("Bus error\n", "memory ran out"),
    ("VFS: Unable to mount root fs on unknown-block(98,0)\n", "rebuild it with 'lvs-lab build --force'"),
])
def test_known_causes_in_plain_words(console, expected):
    causes = diagnose.known_causes(console)
    assert len(causes) == 1 and expected in causes[0], causes


def test_a_normal_boot_log_names_no_cause():
    normal = ("Kernel command line: mem=256M eth0=tuntap,tap1n0,02:1b:00:00:01:00 con=null\n"
              "Memory: 238704K/708304K available (6634K kernel code)\nTUN/TAP backend - \n"
              "lvs-lab xstate shim: UML XSAVE buffer 2696 bytes, host XSAVE area 2432 bytes: passing through\n"
              "Welcome to Debian GNU/Linux 12 (bookworm)!\n")
    assert diagnose.known_causes(normal) == []


def test_boot_failure_keeps_the_log_and_quotes_its_end(tmp_path, monkeypatch):
    monkeypatch.setenv("LVS_LAB_STATE_DIR", str(tmp_path / "state"))
    log = tmp_path / "guest.log"
    log.write_text("".join(f"boot line {n}\n" for n in range(40)) + XSTATE_PANIC)
    message = diagnose.boot_failure("demo", "director2", log, "exited during boot")
    kept = list((tmp_path / "state" / "failed-boots").glob("demo-director2-*.log"))
    assert len(kept) == 1 and kept[0].read_text() == log.read_text()
    assert message.startswith(f"guest director2 exited during boot; its console log is kept at {kept[0]}")
    quoted = message.split("last lines of its console:\n", 1)[1].split("\nknown cause:", 1)[0].splitlines()
    assert len(quoted) == diagnose.TAIL_LINES
    assert quoted[-1].strip() == "Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b"
    assert "known cause: the host CPU's XSAVE area" in message


def test_only_the_newest_failed_logs_are_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("LVS_LAB_STATE_DIR", str(tmp_path / "state"))
    log = tmp_path / "guest.log"
    log.write_text("boot\n")
    directory = tmp_path / "state" / "failed-boots"
    directory.mkdir(parents=True)
    for number in range(diagnose.KEPT_LOGS + 5):
        (directory / f"old-{number:02d}.log").write_text("old\n")
    diagnose.keep_log("demo", "rs1", log)
    assert len(list(directory.glob("*.log"))) == diagnose.KEPT_LOGS
    assert list(directory.glob("demo-rs1-*.log"))
