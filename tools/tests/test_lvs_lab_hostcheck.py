"""Host checks: ``lvs-lab doctor`` on this machine (it boots the UML kernel once, to init and off), and the
refusals of ``up`` when the host cannot run the guests."""
import pytest

from lvs_lab import hostcheck
from lvs_lab.errors import LabError
from lvslab_helpers import lab_env, run_lab


def test_doctor_reports_every_fact_and_passes_here(lab_requirements, tmp_path):
    result = run_lab(["doctor"], lab_env(tmp_path / "state"), timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    labels = [line[4:22].strip() for line in result.stdout.splitlines() if line[:3] in ("ok ", "NO ")]
    assert labels == ["CPU", "host kernel", "root", "UML kernel", "xstate shim", "host XSAVE area",
                      "UML boot to init", "/dev/net/tun", "memory", "disk (state)", "disk (image cache)"]
    assert "NO " not in result.stdout
    boot = next(line for line in result.stdout.splitlines() if "UML boot to init" in line)
    assert "ok (xstate shim " in boot and "/ host " in boot, boot


def test_doctor_fails_when_uml_cannot_boot(lab_requirements, tmp_path):
    env = lab_env(tmp_path / "state", LVS_LAB_XSTATE_SHIM_EMULATE="832:unadapted")
    result = run_lab(["doctor"], env, timeout=120)
    assert result.returncode == 1
    boot = result.stdout.split("UML boot to init", 1)[1]
    assert boot.lstrip().startswith("FAILED:") and "ptrace set fp regs failed, errno = 14" in boot, result.stdout


def test_up_refuses_without_tun(monkeypatch, tmp_path):
    monkeypatch.setattr(hostcheck, "TUN_DEVICE", tmp_path / "no-tun")
    with pytest.raises(LabError, match=r"no-tun is missing: the guests' network taps need it"):
        hostcheck.require_tun()


def test_up_refuses_when_dev_shm_cannot_hold_the_guests(monkeypatch):
    monkeypatch.setattr(hostcheck, "shm_free_mib", lambda: 1000)
    with pytest.raises(LabError, match=r"/dev/shm has 1000 MiB free, the lab's guests need 1920 MiB"):
        hostcheck.require_guest_memory(1920)
    hostcheck.require_guest_memory(1000)
