"""The xstate shim (``native/xstate_shim.c``): built once per source version, preloaded into every guest.

UML kernels before 6.13 hand the host a fixed-size XSAVE buffer (2,696 bytes in Debian 12's 6.1); host
kernels since 5.14 refuse PTRACE_SETREGSET with anything but their full size, which is larger on CPUs with
AMX, so every guest panics at boot there. The shim adapts such calls and passes every other call through,
so it is preloaded always: on hosts that do not need it, it changes nothing (each guest's console log has
one line saying which it did; ``status`` shows it).

``LVS_LAB_XSTATE_SHIM=off`` starts guests without it (to compare, or if a host misbehaves with it);
``LVS_LAB_XSTATE_SHIM_EMULATE=N`` makes it exchange only N bytes of UML's buffer, so the adaptation runs
on any host (the lab tests use it).
"""
import ctypes
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from lvs_lab import paths
from lvs_lab.errors import LabError

SOURCE = paths.PACKAGE_DIR / "native" / "xstate_shim.c"
SETTING = "LVS_LAB_XSTATE_SHIM"
EMULATE_SETTING = "LVS_LAB_XSTATE_SHIM_EMULATE"
REPORT = re.compile(r"lvs-lab xstate shim: UML XSAVE buffer (\d+) bytes( \(emulated\))?, "
                    r"host XSAVE area (\d+) bytes: (adapting|not adapting|passing through)")
COMPILER_FLAGS = ("-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC")


def enabled():
    value = os.environ.get(SETTING, "on").strip().lower()
    if value not in ("on", "off"):
        raise LabError(f"{SETTING}={value!r}: use 'on' (the default) or 'off'")
    return value == "on"


def library_path():
    """Where the built shim lives: the cache, under a hash of its source (a changed source builds anew)."""
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]
    return paths.cache_root() / "native" / f"xstate-shim-{digest}.so"


def ensure_built(log=print):
    """Build the shim if this source version is not built yet; returns its path."""
    target = library_path()
    if target.exists():
        return target
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise LabError("no C compiler (cc/gcc) to build the lab's xstate shim: install gcc and libc6-dev "
                       "(make setup does it)")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        built = Path(scratch) / target.name
        result = subprocess.run([compiler, *COMPILER_FLAGS, "-o", str(built), str(SOURCE), "-ldl"],
                                capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise LabError(f"building {SOURCE.name} failed:\n{result.stderr.strip()}")
        built.replace(target)  # atomic: a concurrent build by another lab leaves one complete file
    log(f"built the xstate shim: {target}")
    return target


def guest_environment(log=print):
    """Environment additions for ``linux.uml``: the shim preloaded, unless switched off."""
    if not enabled():
        return {}
    return {"LD_PRELOAD": str(ensure_built(log))}


def load(library=None):
    """The shim as a ctypes library (for the host probe and the tests)."""
    handle = ctypes.CDLL(str(library or ensure_built(log=lambda *_: None)))
    handle.lvslab_host_xstate_size.restype = ctypes.c_size_t
    handle.lvslab_xstate_component.argtypes = (ctypes.c_uint, ctypes.POINTER(ctypes.c_uint),
                                                ctypes.POINTER(ctypes.c_uint))
    return handle


def host_xstate_size(library=None):
    """The XSAVE size this host's kernel expects in PTRACE_SETREGSET (0: no XSAVE, or ptrace refused)."""
    return load(library).lvslab_host_xstate_size()


def guest_report(console_log):
    """What the shim said in a guest's console log: a dict, or None if it said nothing (yet, or not loaded)."""
    try:
        with open(console_log, "rb") as handle:
            text = handle.read(256 * 1024).decode(errors="replace")  # the line comes early in the boot
    except OSError:
        return None
    return guest_report_from_text(text)


def guest_report_from_text(text):
    match = REPORT.search(text)
    if match is None:
        return None
    return {"uml_buffer": int(match.group(1)), "emulated": bool(match.group(2)),
            "host_size": int(match.group(3)), "mode": match.group(4)}


def describe(report):
    if report is None:
        return "xstate shim: no report"
    mode = report["mode"]
    emulated = " (emulated)" if report["emulated"] else ""
    return f"xstate shim {mode}: UML {report['uml_buffer']}{emulated} / host {report['host_size']} bytes"
