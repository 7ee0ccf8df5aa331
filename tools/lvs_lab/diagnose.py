"""Why a guest did not come up: its console log kept where cleanup does not reach, its last lines, and the
known causes named in plain words.
"""
import datetime
import re
import shutil

from lvs_lab import paths, xstate

TAIL_LINES = 15
KEPT_LOGS = 20

# (pattern in the console log, explanation). The first match is the cause; several may be listed.
KNOWN_CAUSES = (
    (re.compile(r"ptrace set fp regs failed, errno = 14"),
     "the host CPU's XSAVE area (AMX and newer extensions) is larger than the register buffer of this UML "
     "kernel, which the host kernel refuses (EFAULT). The lab's xstate shim adapts these calls; {shim}"),
    (re.compile(r"/dev/net/tun|tuntap.*(?:failed|error)|TUNSETIFF", re.IGNORECASE),
     "the guest could not open its network taps: /dev/net/tun is missing or not usable here "
     "(in a container, pass the device in: --device /dev/net/tun)"),
    (re.compile(r"Out of memory|Cannot allocate memory|No space left on device|Bus error|"
                r"create_mem_file|os_map_memory|not enough memory", re.IGNORECASE),
     "memory ran out: each guest's memory is a file in /dev/shm, so /dev/shm needs room for every guest "
     "(see 'lvs-lab doctor'); lower the guests' memory in the topology or free memory"),
    (re.compile(r"VFS: Unable to mount root fs|Cannot open root device"),
     "the guest could not mount its root image: rebuild it with 'lvs-lab build --force'"),
)


def _shim_state(text):
    report = xstate.REPORT.search(text)
    if report is None:
        return ("it was not loaded (is LVS_LAB_XSTATE_SHIM=off set?); unset that and start the lab again")
    if report.group(4) != "adapting":
        return (f"it reported '{report.group(4)}' (is LVS_LAB_XSTATE_SHIM_EMULATE set?); unset that and "
                "start the lab again")
    return "it was loaded and adapting, yet the call failed: please report this with the log"


def known_causes(text):
    """Plain-word explanations of the known causes found in a console log's text."""
    causes = []
    for pattern, explanation in KNOWN_CAUSES:
        if pattern.search(text):
            causes.append(explanation.format(shim=_shim_state(text)) if "{shim}" in explanation else explanation)
    return causes


# A panic's stack dump and call trace say nothing to a lab user; the lines before them do.
STACK_NOISE = re.compile(r"^\s*(\[<[0-9a-f]+>\]|([0-9a-f]{8} ?)+$|Stack:$|Call Trace:$)")


def tail(text, lines=TAIL_LINES):
    kept = [line for line in text.splitlines() if line.strip() and not STACK_NOISE.match(line)]
    return kept[-lines:]


def keep_log(lab_name, host_name, log_path):
    """Copy a failed guest's console log out of the lab directory (which cleanup removes); returns the copy.
    The newest KEPT_LOGS copies are kept."""
    directory = paths.state_root() / "failed-boots"
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    kept = directory / f"{lab_name}-{host_name}-{stamp}.log"
    try:
        shutil.copyfile(log_path, kept)
    except OSError:
        return None
    for old in sorted(directory.glob("*.log"), key=lambda path: path.stat().st_mtime)[:-KEPT_LOGS]:
        old.unlink(missing_ok=True)
    return kept


def boot_failure(lab_name, host_name, log_path, what):
    """The message for a guest that ``what`` ("exited during boot", "did not answer SSH within 300 s"):
    names the kept log, quotes its last lines and the known causes found in it."""
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        text = ""
    kept = keep_log(lab_name, host_name, log_path)
    message = [f"guest {host_name} {what}; its console log is kept at {kept or log_path}"]
    lines = tail(text)
    if lines:
        message.append(f"last lines of its console:\n    " + "\n    ".join(lines))
    causes = known_causes(text)
    if causes:
        message.append("known cause: " + "\nalso: ".join(causes))
    return "\n".join(message)
