"""Host facts that decide whether guests can boot here: ``lvs-lab doctor`` reports them, ``up`` refuses to
start when one is missing, before anything is created.
"""
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

from lvs_lab import diagnose, guests, image, paths, topology, xstate
from lvs_lab.errors import LabError

TUN_DEVICE = Path("/dev/net/tun")
MIB = 1024 * 1024


def require_tun():
    if not TUN_DEVICE.exists():
        raise LabError(f"{TUN_DEVICE} is missing: the guests' network taps need it (load the tun module, or "
                       "in a container pass the device in: --device /dev/net/tun)")


def shm_free_mib():
    stats = os.statvfs(guests.GUEST_MEMORY_DIR)
    return stats.f_bavail * stats.f_frsize // MIB


def mem_available_mib():
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) // 1024
    return 0


def require_guest_memory(total_mib):
    """Each guest's memory is a (sparse) file in /dev/shm: a full /dev/shm kills guests with SIGBUS later,
    so refuse now when it cannot hold them all."""
    free = shm_free_mib()
    if free < total_mib:
        raise LabError(f"{guests.GUEST_MEMORY_DIR} has {free} MiB free, the lab's guests need {total_mib} MiB "
                       f"there (their memory is a file in it): enlarge it (mount -o remount,size=... "
                       f"{guests.GUEST_MEMORY_DIR}) or use smaller guests")


def cpu_flags():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def cpu_model():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def xstate_banner(guest_environment):
    """One line for ``up``: the host's XSAVE size and whether the shim is preloaded."""
    size = xstate.host_xstate_size()
    if "LD_PRELOAD" not in guest_environment:
        return f"host XSAVE area {size} bytes; xstate shim off ({xstate.SETTING}=off)"
    emulate = os.environ.get(xstate.EMULATE_SETTING)
    note = f", emulating a {emulate}-byte UML buffer" if emulate else ""
    return (f"host XSAVE area {size} bytes; xstate shim preloaded into the guests{note} (it adapts only "
            "buffers shorter than the host's; each console log says which it did)")


def uml_boots(library):
    """Boot the UML kernel to init once (the host's / as a read-only hostfs root; init powers off at once),
    with the shim preloaded: proves UML runs here, and the shim reports UML's buffer against the host's."""
    with tempfile.TemporaryDirectory(prefix="lvslab-doctor-", dir="/tmp") as scratch:
        command = [image.UML_BINARY, "mem=64M", f"umid=doctor{os.getpid()}", f"uml_dir={scratch}",
                   "root=/dev/root", "rootfstype=hostfs", "rootflags=/", "ro",
                   "init=/usr/sbin/poweroff", "-f", "con=null", "con0=null,fd:1"]
        environment = dict(os.environ, TMPDIR=guests.GUEST_MEMORY_DIR)
        if library is not None:
            environment["LD_PRELOAD"] = str(library)
        try:
            result = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, env=environment, cwd=scratch, timeout=60, check=False)
            output = result.stdout.decode(errors="replace")
        except subprocess.TimeoutExpired:
            return False, "timed out after 60 s", None
    booted = "System halted" in output or "Power down" in output
    return booted, output, xstate.guest_report_from_text(output)


def facts():
    """(label, value, ok) rows for ``lvs-lab doctor``; ok False means the lab cannot run here."""
    rows = []
    flags = cpu_flags()
    extensions = ", ".join(sorted(f for f in flags if f.startswith(("avx512f", "amx_")))) or "none"
    rows.append(("CPU", f"{cpu_model()} (AVX-512/AMX flags: {extensions})", True))
    rows.append(("host kernel", platform.release(), True))
    rows.append(("root", "yes" if os.geteuid() == 0 else "no: 'lvs-lab up' needs root", os.geteuid() == 0))
    try:
        version = image.uml_kernel_version()
        rows.append(("UML kernel", f"{image.UML_BINARY} {version}", True))
    except LabError as exc:
        rows.append(("UML kernel", str(exc), False))
        version = None
    try:
        library = xstate.ensure_built(log=lambda *_: None)
        rows.append(("xstate shim", f"{library} ({'preloaded' if xstate.enabled() else 'built, but off'})",
                     True))
    except LabError as exc:
        rows.append(("xstate shim", str(exc), False))
        library = None
    if library is not None:
        rows.append(("host XSAVE area", f"{xstate.host_xstate_size(library)} bytes", True))
    if version is not None:
        booted, output, report = uml_boots(library if xstate.enabled() else None)
        if booted:
            detail = xstate.describe(report) if report else "no shim report"
            rows.append(("UML boot to init", f"ok ({detail})", True))
        else:
            lines = "\n    ".join(diagnose.tail(output, 8) + diagnose.known_causes(output))
            rows.append(("UML boot to init", f"FAILED:\n    {lines}", False))
    rows.append(("/dev/net/tun", "present" if TUN_DEVICE.exists() else "MISSING", TUN_DEVICE.exists()))
    needed = sum(host.memory for host in topology.load(paths.DEFAULT_TOPOLOGY).hosts)
    rows.append(("memory", f"{mem_available_mib()} MiB available; {guests.GUEST_MEMORY_DIR} {shm_free_mib()} MiB "
                 f"free (guest memory lives there; the default lab needs {needed} MiB)", shm_free_mib() >= needed))
    for label, directory in (("state", paths.state_root()), ("image cache", paths.cache_root())):
        existing = directory
        while not existing.exists():
            existing = existing.parent
        free_gib = shutil.disk_usage(existing).free / 1024 ** 3
        rows.append((f"disk ({label})", f"{directory}: {free_gib:.1f} GiB free (the image needs 2.5 GiB)",
                     free_gib >= 3))
    return rows
