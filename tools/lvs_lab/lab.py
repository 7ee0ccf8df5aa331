"""Lab life cycle: up, down, status. The state file records every resource before it is created, so
``down`` removes everything after a crash or an interrupted ``up`` too, and is safe to run twice.
"""
import concurrent.futures
import dataclasses
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

from lvs_lab import (diagnose, guestconfig, guests, hostcheck, image, inventory, netns, paths,
                     topology as topology_module, xstate)
from lvs_lab.errors import LabError

SSH_WAIT_TIMEOUT = 300.0


class Interrupted(KeyboardInterrupt):
    """SIGTERM/SIGHUP during ``up``: unwind like Ctrl-C so the half-built lab is removed."""


def _raise_interrupted(signum, _frame):
    raise Interrupted(f"signal {signum}")


def ensure_controller_key():
    key = paths.controller_key()
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "lvs-lab controller", "-f", str(key)],
                       check=True)
    return key


def read_state(name):
    state_file = paths.lab_dir(name) / "state.json"
    try:
        return json.loads(state_file.read_text())
    except FileNotFoundError:
        return None
    except json.JSONDecodeError as exc:
        raise LabError(f"{state_file} is damaged ({exc}); 'lvs-lab down --name {name}' still cleans up") from exc


def write_state(name, state):
    state_file = paths.lab_dir(name) / "state.json"
    temporary = state_file.with_suffix(".tmp")
    temporary.write_text(json.dumps(state, indent=2) + "\n")
    temporary.replace(state_file)


def load_topology(name):
    state = read_state(name)
    if state is None:
        raise LabError(f"lab {name!r} is not running (start it with 'lvs-lab up --name {name}')")
    return topology_module.load(paths.lab_dir(name) / "topology.yml"), state


def in_use(name):
    return paths.lab_dir(name).exists() or netns.exists(paths.namespace_name(name))


def preflight(name, topology_path, suite=None):
    """Every check that can fail before anything is created. Returns the validated topology."""
    topology_module.validate_lab_name(name)
    topology = topology_module.load(topology_path)
    if suite is not None and suite != topology.suite:
        if suite not in topology_module.SUITES:
            raise LabError(f"unknown suite {suite!r}: choose one of {', '.join(topology_module.SUITES)}")
        topology = dataclasses.replace(topology, suite=suite)
    image.uml_kernel_version()  # user-mode-linux installed?
    if os.geteuid() != 0:
        raise LabError("lvs-lab up needs root (network namespaces, taps, bridges)")
    if in_use(name):
        raise LabError(f"lab name {name!r} is already in use: 'lvs-lab down --name {name}' first, or choose another --name")
    topology_module.check_host_routes(topology, netns.host_routes())
    hostcheck.require_tun()
    hostcheck.require_guest_memory(sum(host.memory for host in topology.hosts))
    return topology


def up(name, topology_path, suite=None, timeout=SSH_WAIT_TIMEOUT, log=print):
    started = time.monotonic()
    topology = preflight(name, topology_path, suite)
    base_image = image.build(topology.suite, log=log)
    guest_environment = xstate.guest_environment(log)
    log(hostcheck.xstate_banner(guest_environment))
    key = ensure_controller_key()
    close_control_masters(name)  # left over from an earlier lab of this name that was not taken down

    lab = paths.lab_dir(name)
    lab.parent.mkdir(parents=True, exist_ok=True)
    try:
        lab.mkdir()  # atomic: from here on the name is this run's, and only this run cleans it up
    except FileExistsError:
        raise LabError(f"lab name {name!r} is already in use: 'lvs-lab down --name {name}' first, "
                       "or choose another --name") from None
    previous = {sig: signal.signal(sig, _raise_interrupted) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        shutil.copyfile(topology_path, lab / "topology.yml")
        state = {"name": name, "namespace": paths.namespace_name(name), "phase": "creating",
                 "topology_source": str(Path(topology_path).resolve()), "suite": topology.suite,
                 "image": str(base_image), "guests": {}}
        write_state(name, state)
        _prepare_files(name, topology, lab, key)
        netns.create(paths.namespace_name(name), topology)
        boot_started = time.monotonic()
        for index, host in enumerate(topology.hosts):
            arguments = guests.command_line(name, topology, index, base_image, lab)
            pid = guests.start(paths.namespace_name(name), arguments, lab / "logs" / f"{host.name}.log",
                               guest_environment)
            state["guests"][host.name] = {"pid": pid, "umid": guests.umid(name, host.name)}
            write_state(name, state)
        log(f"started {len(topology.hosts)} guests; waiting for SSH ...")
        ready = wait_for_ssh(name, topology, state, timeout, log)
        boot_seconds = time.monotonic() - boot_started
        state.update(phase="up", boot_seconds=round(boot_seconds, 1), ssh_ready_seconds=ready)
        write_state(name, state)
    except BaseException:
        log(f"lvs-lab up {name} failed; removing what it created ...")
        down(name, log=lambda *_: None)
        raise
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log(f"lab {name!r} is up: {len(topology.hosts)} guests answered SSH {boot_seconds:.1f} s after start "
        f"({time.monotonic() - started:.1f} s in all)")
    log(f"inventory: {paths.inventory_path(name)}")
    return state


def _prepare_files(name, topology, lab, key):
    public_key = Path(f"{key}.pub").read_text()
    (Path.home() / ".ansible" / "cp").mkdir(mode=0o700, parents=True, exist_ok=True)  # see inventory.control_path
    (lab / "logs").mkdir()
    (lab / "uml").mkdir()
    (lab / "disks").mkdir()
    known_hosts = []
    for disk in topology.shared_disks:
        with open(lab / "disks" / f"{disk.name}.img", "wb") as handle:
            handle.truncate(disk.size_mib * 1024 * 1024)  # sparse: costs no space until written
    for index, host in enumerate(topology.hosts):
        guest_dir = lab / "guests" / host.name
        guest_dir.mkdir(parents=True)
        host_key = guest_dir / "ssh_host_ed25519_key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{host.name}", "-f", str(host_key)],
                       check=True)
        host_public = Path(f"{host_key}.pub").read_text()
        files = guestconfig.guest_files(topology, name, index, public_key, host_key.read_bytes(), host_public.encode())
        guestconfig.write_tar(files, guest_dir / "config.tar")
        known_hosts.append(inventory.known_hosts_line(topology.management_address(host), host_public))
    (lab / "known_hosts").write_text("".join(known_hosts))


def _write_access_files(name, topology, key):
    lab = paths.lab_dir(name)
    known_hosts = lab / "known_hosts"
    paths.inventory_path(name).write_text(inventory.render_inventory(topology, name, key, known_hosts))
    (lab / "ssh_config").write_text(inventory.render_ssh_config(topology, name, key, known_hosts))


def wait_for_ssh(name, topology, state, timeout, log, write_access_files=True):
    """Wait until every guest accepts an SSH login with the controller key; returns seconds per guest.
    Writes the inventory and ssh_config first (unless told not to: a restarted guest of a running lab): the
    login check uses them, so it proves they work."""
    namespace = paths.namespace_name(name)
    lab = paths.lab_dir(name)
    if write_access_files:
        _write_access_files(name, topology, paths.controller_key())
    started = time.monotonic()
    deadline = started + timeout

    stop = threading.Event()

    def wait_one(host):
        netns.enter(namespace)  # this worker thread only
        address = str(topology.management_address(host))
        guest = state["guests"][host.name]
        while not stop.is_set():
            console = lab / "logs" / f"{host.name}.log"
            if guests.has_exited(guest["pid"], guest["umid"]):
                raise LabError(diagnose.boot_failure(name, host.name, console, "exited during boot"))
            if time.monotonic() > deadline:
                raise LabError(diagnose.boot_failure(name, host.name, console,
                                                     f"did not answer SSH within {timeout:.0f} s"))
            if _ssh_banner(address) and _ssh_login(lab / "ssh_config", host.name, stop):
                return host.name, round(time.monotonic() - started, 1)
            stop.wait(0.5)
        raise LabError("stopped waiting for SSH")

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=len(topology.hosts))
    try:
        futures = [pool.submit(wait_one, host) for host in topology.hosts]
        concurrent.futures.wait(futures, return_when=concurrent.futures.FIRST_EXCEPTION)
        for future in futures:
            if future.done() and future.exception() is not None:
                raise future.exception()
        results = dict(future.result() for future in futures)
    finally:
        stop.set()  # on an error or Ctrl-C/SIGTERM: the other workers end within a poll interval
        pool.shutdown(wait=True, cancel_futures=True)
    for host_name, seconds in sorted(results.items(), key=lambda item: item[1]):
        log(f"  {host_name}: SSH after {seconds:.1f} s")
    return results


def _ssh_banner(address):
    try:
        with socket.create_connection((address, 22), timeout=2) as connection:
            return connection.recv(64).startswith(b"SSH-")
    except OSError:
        return False


def _ssh_login(ssh_config, host_name, stop, timeout=30.0):
    """One login attempt; gives up early (ending its own ssh child) when ``stop`` is set, so an interrupted
    ``up`` does not wait for a slow login."""
    process = subprocess.Popen(
        ["ssh", "-F", str(ssh_config), "-o", "BatchMode=yes", "-o", "ControlPath=none", host_name, "true"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + timeout
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            return process.wait(timeout=0.2) == 0
        except subprocess.TimeoutExpired:
            continue
    process.kill()
    process.wait()
    return False


def close_control_masters(name):
    """End the SSH connection-sharing masters of lab ``name`` (see inventory.control_path) through ssh's own
    control protocol. A master outliving its lab would hang every new connection to the same address."""
    directory = Path.home() / ".ansible" / "cp"
    ours = re.compile(rf"lvslab-{re.escape(name)}-[0-9a-f]{{40}}")  # %C is a 40-digit hash: lab "a" is not "a-b"
    sockets = [p for p in directory.iterdir() if ours.fullmatch(p.name)] if directory.is_dir() else []
    for socket_path in sorted(sockets):
        try:
            subprocess.run(["ssh", "-o", f"ControlPath={socket_path}", "-O", "exit", "lvs-lab-guest"],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=10, check=False)
        except subprocess.TimeoutExpired:
            pass
        socket_path.unlink(missing_ok=True)  # a socket whose master is gone


def down(name, log=print):
    """Stop the lab's guests by their own PIDs and remove its namespace and files. Safe to repeat."""
    topology_module.validate_lab_name(name)
    lab = paths.lab_dir(name)
    namespace = paths.namespace_name(name)
    if not lab.exists() and not netns.exists(namespace):
        log(f"lab {name!r} is not running; nothing to remove")
        return False
    running = {}
    try:
        state = read_state(name) or {}
    except LabError:
        state = {}
    for host_name, guest in state.get("guests", {}).items():
        running[host_name] = (guest.get("pid"), guest.get("umid"))
    # Guests started but not yet recorded (a crash between start and state write) left their own pid files.
    for pid_file in (lab / "uml").glob("*/pid") if (lab / "uml").exists() else []:
        uml_id = pid_file.parent.name
        try:
            pid = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            continue
        if uml_id not in {u for _, u in running.values()} and guests.is_ours(pid, uml_id):
            running[uml_id] = (pid, uml_id)
    close_control_masters(name)
    guests.stop_all(running, log=log)
    netns.delete(namespace)
    if lab.exists():
        shutil.rmtree(lab)
    log(f"lab {name!r} removed: {len(running)} guests stopped, namespace {namespace} deleted, {lab} removed")
    return True


def list_labs():
    names = set()
    if paths.state_root().exists():
        names.update(p.name for p in paths.state_root().iterdir() if (p / "state.json").exists())
    if netns.NETNS_RUN_DIR.exists():
        names.update(p.name[len(paths.NAMESPACE_PREFIX):] for p in netns.NETNS_RUN_DIR.iterdir()
                     if p.name.startswith(paths.NAMESPACE_PREFIX))
    return sorted(names)


def guest_memory_kib(pid):
    """Host memory a guest uses, in KiB: the proportional set size of each distinct address space in its
    process group (UML's I/O helpers share the main process's address space and are counted once)."""
    total = 0
    for member in guests.distinct_address_spaces(guests.group_members(pid)):
        try:
            for line in Path(f"/proc/{member}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def status(name):
    topology, state = load_topology(name)
    rows = []
    for host in topology.hosts:
        guest = state["guests"].get(host.name, {})
        pid = guest.get("pid")
        alive = bool(pid) and guests.is_ours(pid, guest.get("umid"))
        report = xstate.guest_report(paths.lab_dir(name) / "logs" / f"{host.name}.log")
        rows.append({
            "host": host.name,
            "groups": list(host.groups),
            "address": str(topology.management_address(host)),
            "pid": pid,
            "running": alive,
            "memory_mib": round(guest_memory_kib(pid) / 1024, 1) if alive else 0.0,
            "xstate_shim": report,
        })
    return {"name": name, "phase": state.get("phase"), "namespace": state["namespace"],
            "inventory": str(paths.inventory_path(name)), "guests": rows}


# ---------------------------------------------------------------------------------------------------------
# One guest at a time (the fault drill): a crash, a start with the same disk and taps, a cut network link.

def _guest_entry(name, host_name):
    topology, state = load_topology(name)
    topology.host(host_name)  # raises, naming the hosts, for an unknown one
    guest = state["guests"].get(host_name)
    if guest is None:
        raise LabError(f"lab {name!r} has no record of guest {host_name!r}")
    return topology, state, guest


def kill_guest(name, host_name, log=print):
    """Crash a guest: SIGKILL to its UML main process (by the PID the lab recorded), then to the helpers of its
    process group that SIGKILL leaves orphaned. Its disk, taps and record stay for ``start_guest``."""
    _topology, state, guest = _guest_entry(name, host_name)
    pid, expected_umid = guest.get("pid"), guest.get("umid")
    if not pid or not guests.guest_processes(pid, expected_umid):
        raise LabError(f"guest {host_name} of lab {name!r} is not running (pid {pid}); 'lvs-lab start' starts it")
    seconds = guests.kill(pid, expected_umid)
    log(f"guest {host_name} (pid {pid}) killed; its processes were gone after {seconds:.2f} s")
    return pid


def start_guest(name, host_name, wait=True, timeout=SSH_WAIT_TIMEOUT, log=print):
    """Start a guest that is not running with the command line ``up`` gave it (same copy-on-write disk, same
    taps, same config device), record its new PID, and by default wait until it accepts an SSH login."""
    topology, state, guest = _guest_entry(name, host_name)
    if guest.get("pid") and guests.guest_processes(guest["pid"], guest.get("umid")):
        raise LabError(f"guest {host_name} of lab {name!r} is already running (pid {guest['pid']}); "
                       f"'lvs-lab kill --name {name} {host_name}' first")
    index = [host.name for host in topology.hosts].index(host_name)
    lab_dir = paths.lab_dir(name)
    arguments = guests.command_line(name, topology, index, Path(state["image"]), lab_dir)
    pid = guests.start(paths.namespace_name(name), arguments, lab_dir / "logs" / f"{host_name}.log",
                       xstate.guest_environment(log))
    guest.update(pid=pid, umid=guests.umid(name, host_name))
    write_state(name, state)
    log(f"guest {host_name} started (pid {pid})")
    if wait:
        host = topology.host(host_name)
        single = dataclasses.replace(topology, hosts=[host])
        wait_for_ssh(name, single, state, timeout, log, write_access_files=False)
    return pid


def link(name, host_name, network, action, log=print):
    """Cut (``down``) or heal (``up``) a guest's link to a lab network: its tap in the lab namespace. The guest
    sees no carrier change, as with a failed switch port or cable further along."""
    if action not in ("up", "down"):
        raise LabError(f"link action {action!r}: choose up or down")
    topology, _state, _guest = _guest_entry(name, host_name)
    index = [host.name for host in topology.hosts].index(host_name)
    host = topology.hosts[index]
    networks = [nic.network for nic in host.nics]
    if network not in networks:
        raise LabError(f"guest {host_name} has no link to network {network!r} (its networks: {', '.join(networks)})")
    tap = netns.tap_name(index, networks.index(network))
    netns.run_ip(["-n", paths.namespace_name(name), "link", "set", tap, action])
    log(f"{host_name}'s link to {network} ({tap}) is {action}")
    return tap
