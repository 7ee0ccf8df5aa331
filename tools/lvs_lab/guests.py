"""UML guest processes: start one inside the lab namespace, find it again, stop it by its own PID.

Each guest runs in a session of its own, so the UML helper processes it forks share its process group. A
clean stop is SIGTERM to the main PID (UML shuts the guest down); only if that does not finish in time is the
group killed, which also ends helpers that a SIGKILL to the main PID alone would leave orphaned.
"""
import ctypes
import os
import platform
import shlex
import signal
import subprocess
import time
from pathlib import Path

from lvs_lab import guestconfig, netns
from lvs_lab.errors import LabError
from lvs_lab.image import UML_BINARY

STOP_TIMEOUT = 45.0
GUEST_MEMORY_DIR = "/dev/shm"
KERNEL_ARGS_SETTING = "LVS_LAB_KERNEL_ARGS"
KCMP_SYSCALL = {"x86_64": 312, "aarch64": 272}
KCMP_VM = 1


def umid(lab_name, host_name):
    return f"lvslab-{lab_name}-{host_name}"


def command_line(lab_name, topology, host_index, base_image, lab_dir):
    """The ``linux.uml`` argument list for one guest (run inside the lab namespace)."""
    host = topology.hosts[host_index]
    guest_dir = lab_dir / "guests" / host.name
    arguments = [
        UML_BINARY,
        f"mem={host.memory}M",
        f"umid={umid(lab_name, host.name)}",
        f"uml_dir={lab_dir / 'uml'}",
        f"ubd0={guest_dir / 'root.cow'},{base_image}",
    ]
    for disk_index, disk in enumerate(host.disks, start=1):
        # "c": shared between guests without host-side locking, as a cluster filesystem expects.
        arguments.append(f"ubd{disk_index}c={lab_dir / 'disks' / (disk + '.img')}")
    arguments.append(f"ubd{guestconfig.CONFIG_UBD_INDEX}r={guest_dir / 'config.tar'}")
    arguments += ["root=/dev/ubda", "rw"]
    for nic_index, _nic in enumerate(host.nics):
        tap = netns.tap_name(host_index, nic_index)
        mac = guestconfig.mac_address(host_index, nic_index)
        arguments.append(f"eth{nic_index}=tuntap,{tap},{mac}")
    arguments += [
        "con=null", "con0=null,fd:1", "ssl=null",
        f"systemd.machine_id={guestconfig.machine_id(lab_name, host.name)}",
        f"lvslab.lab={lab_name}",
    ]
    # Extra kernel command-line words for every guest (debugging: "systemd.log_level=debug", "init=/bin/sh").
    arguments += shlex.split(os.environ.get(KERNEL_ARGS_SETTING, ""))
    return arguments


def start(namespace, arguments, log_path, extra_environment=None):
    """Start a guest inside ``namespace``; returns its PID (``ip netns exec`` execs UML in place).
    ``extra_environment``: e.g. the xstate shim's LD_PRELOAD (see xstate.guest_environment)."""
    # guest memory is a file in TMPDIR, on tmpfs as UML expects
    environment = dict(os.environ, TMPDIR=GUEST_MEMORY_DIR, **(extra_environment or {}))
    with open(log_path, "ab") as log, open(os.devnull, "rb") as nothing:
        process = subprocess.Popen(
            ["ip", "netns", "exec", namespace, *arguments],
            stdin=nothing, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, env=environment, close_fds=True,
        )
    return process.pid


def is_ours(pid, expected_umid):
    """True if ``pid`` is still the UML main process of this guest (guards against PID reuse)."""
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return f"umid={expected_umid}".encode() in words


def has_exited(pid, expected_umid):
    """True once a guest has ended. For a guest this very process started, waitpid tells (and reaps it): its
    command line is no proof while ``ip netns exec`` turns into linux.uml, when /proc/PID/cmdline briefly
    lacks the umid. For a guest of another process, its PID no longer running that guest."""
    try:
        ended, _status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return not is_ours(pid, expected_umid)
    return ended == pid


def is_zombie_or_gone(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")


def group_members(pgid):
    """PIDs whose process group is ``pgid`` (the guest's UML helpers)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) == pgid:
                members.append(int(entry.name))
        except OSError:
            continue
    return members


def distinct_address_spaces(pids):
    """One PID per distinct address space among ``pids`` (kcmp(2) KCMP_VM tells whether two share one)."""
    syscall_number = KCMP_SYSCALL.get(platform.machine())
    if syscall_number is None:
        return list(pids)
    libc = ctypes.CDLL(None, use_errno=True)
    representatives = []
    for pid in pids:
        if not any(libc.syscall(syscall_number, pid, other, KCMP_VM, 0, 0) == 0 for other in representatives):
            representatives.append(pid)
    return representatives


def guest_processes(pgid, expected_umid):
    """The guest's processes: members of its process group that carry its umid (a reused PID does not)."""
    return [pid for pid in group_members(pgid) if is_ours(pid, expected_umid)]


def stop_all(guests, timeout=STOP_TIMEOUT, log=print):
    """Stop guests given as ``{name: (pid, umid)}``: SIGTERM first, SIGKILL to its processes as a last resort."""
    pending = {}
    for name, (pid, expected_umid) in guests.items():
        if pid and is_ours(pid, expected_umid):
            os.kill(pid, signal.SIGTERM)
            pending[name] = (pid, expected_umid)
        elif pid and guest_processes(pid, expected_umid):
            pending[name] = (pid, expected_umid)  # main process gone but helpers of its group remain
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for name, (pid, expected_umid) in list(pending.items()):
            _reap(pid)
            if is_zombie_or_gone(pid) and not guest_processes(pid, expected_umid):
                _reap(pid)  # it may have exited between the first _reap and the check: leave no zombie behind
                del pending[name]
        time.sleep(0.2)
    for name, (pid, expected_umid) in pending.items():
        log(f"guest {name} (pid {pid}) did not stop within {timeout:.0f} s: killing its processes")
        members = guest_processes(pid, expected_umid)
        for member in members:
            try:
                os.kill(member, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _wait_gone(pid, members)


def _wait_gone(pgid, pids, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pgid)
        if all(is_zombie_or_gone(pid) for pid in pids):
            _reap(pgid)
            return
        time.sleep(0.1)
    raise LabError(f"processes {pids} of group {pgid} are still running after SIGKILL")


def _reap(pid):
    """Collect the exit status of a guest this very process started (others are reaped by their parent)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def kill(pid, expected_umid, timeout=10.0):
    """A crash: SIGKILL to the guest's main process, then to the helpers of its group that it leaves orphaned.
    The group is read again until none of its processes is left (a helper missed by one reading, or started while
    the guest died, is killed by the next). Returns the seconds until all of them were gone."""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        _reap(pid)
        # Only processes that still carry the guest's umid: a PID reaped and reused meanwhile is never signalled.
        alive = [m for m in guest_processes(pid, expected_umid) if not is_zombie_or_gone(m)]
        if not alive:
            _reap(pid)
            return time.monotonic() - started
        if time.monotonic() > deadline:
            raise LabError(f"processes {alive} of group {pid} are still running after SIGKILL")
        for member in alive:
            try:
                os.kill(member, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)
