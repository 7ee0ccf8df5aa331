"""Life-cycle logic (up/down/status, stopping guests) without root and without real guests.

Stand-in "guests" are small Python processes carrying a ``umid=lvslab-pytest-unit-...`` argument, started in
sessions of their own (as real guests are), so stopping them can only ever affect them. The namespace
functions are replaced by recorders: these tests never create or delete a namespace.
"""
import json
import signal
import subprocess
import sys
import time

import pytest

from lvs_lab import guests, lab, netns, paths
from lvs_lab.errors import LabError, TopologyError
from lvslab_helpers import SMALL_TOPOLOGY, write_topology

NAME = "pytest-unit"


@pytest.fixture
def state(monkeypatch, tmp_path):
    root = tmp_path / "state"
    monkeypatch.setenv("LVS_LAB_STATE_DIR", str(root))
    return root


@pytest.fixture
def no_namespaces(monkeypatch):
    """Replace every namespace operation by a recorder (the lab name must not be in use on this machine)."""
    if netns.exists(paths.namespace_name(NAME)):
        pytest.fail(f"namespace {paths.namespace_name(NAME)} exists on this machine: a leftover of an aborted run?")
    calls = []
    monkeypatch.setattr(netns, "exists", lambda namespace: False)
    monkeypatch.setattr(netns, "delete", lambda namespace: calls.append(("delete", namespace)))
    monkeypatch.setattr(netns, "create", lambda namespace, topology: calls.append(("create", namespace)))
    return calls


def alive(process):
    """True while the stand-in runs (stop_all may reap it itself: Popen.poll() cannot tell how it ended)."""
    return not guests.is_zombie_or_gone(process.pid)


@pytest.fixture
def stand_ins():
    """Start fake guests: processes whose command line holds ``umid=UMID``, each in a session of its own."""
    started = []

    def start(umid, ignore_sigterm=False):
        code = "import signal, time\n"
        if ignore_sigterm:
            code += "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        code += "print('ready', flush=True)\ntime.sleep(120)\n"
        process = subprocess.Popen([sys.executable, "-c", code, f"umid={umid}"], stdout=subprocess.PIPE,
                                   start_new_session=True)
        assert process.stdout.readline() == b"ready\n"
        started.append(process)
        return process

    yield start
    for process in started:  # only processes this fixture started, by their own PID
        if process.poll() is None:
            process.kill()
        process.wait()


def test_is_ours(stand_ins):
    process = stand_ins("lvslab-pytest-unit-g1")
    assert guests.is_ours(process.pid, "lvslab-pytest-unit-g1")
    assert not guests.is_ours(process.pid, "lvslab-pytest-unit-g")  # whole words only
    assert not guests.is_ours(process.pid, "lvslab-pytest-unit-g2")
    assert not guests.is_ours(999999999, "lvslab-pytest-unit-g1")


def test_has_exited_asks_waitpid_for_our_own_guests(stand_ins):
    """A guest this process started is alive until waitpid says otherwise, whatever its command line shows at
    that moment (UML re-executes itself at start, when /proc/PID/cmdline briefly lacks the umid)."""
    process = stand_ins("lvslab-pytest-unit-g1")
    assert not guests.has_exited(process.pid, "a-umid-its-command-line-does-not-carry")
    process.kill()
    deadline = time.monotonic() + 10
    while not guests.has_exited(process.pid, "lvslab-pytest-unit-g1"):
        assert time.monotonic() < deadline, "the killed stand-in was never seen to exit"
        time.sleep(0.05)


def test_has_exited_falls_back_to_the_command_line_for_other_processes():
    """PID 1 is not our child: only its command line can tell, and it does not carry a guest's umid."""
    assert guests.has_exited(1, "lvslab-pytest-unit-g1")


def test_stop_all_sends_sigterm_and_waits(stand_ins):
    process = stand_ins("lvslab-pytest-unit-g1")
    messages = []
    guests.stop_all({"g1": (process.pid, "lvslab-pytest-unit-g1")}, timeout=10, log=messages.append)
    assert not alive(process)
    assert guests.group_members(process.pid) == []
    assert messages == [], "a guest that honours SIGTERM is not killed"


def test_stop_all_kills_the_group_of_a_guest_that_ignores_sigterm(stand_ins):
    process = stand_ins("lvslab-pytest-unit-g1", ignore_sigterm=True)
    messages = []
    started = time.monotonic()
    guests.stop_all({"g1": (process.pid, "lvslab-pytest-unit-g1")}, timeout=1, log=messages.append)
    assert not alive(process)
    assert time.monotonic() - started < 10
    assert any("did not stop within" in m for m in messages)


def test_stop_all_leaves_a_reused_pid_alone(stand_ins):
    """Regression (fixed): a recorded PID now used by an unrelated process (PID reuse: a stale state file after a reboot or a
    crash) is not sent SIGTERM, because is_ours() checks the command line; but the fallback branch of
    stop_all() ("main process gone but helpers of its group remain") counts ANY process of the process group
    PID, so when the new owner of the PID leads its own process group (shells, daemons, anything started with
    setsid) stop_all() waits out the timeout and then SIGKILLs that unrelated group."""
    process = stand_ins("lvslab-pytest-unit-other")
    messages = []
    guests.stop_all({"g1": (process.pid, "lvslab-pytest-unit-g1")}, timeout=1, log=messages.append)
    assert alive(process), f"stop_all killed an unrelated process group: {messages}"
    assert messages == []


def test_down_of_a_lab_that_does_not_exist(state, no_namespaces):
    messages = []
    assert lab.down(NAME, log=messages.append) is False
    assert messages == [f"lab {NAME!r} is not running; nothing to remove"]
    assert not state.exists()
    assert no_namespaces == []


def test_down_refuses_a_bad_name(state):
    with pytest.raises(TopologyError, match="lab name"):
        lab.down("../..")


def test_down_stops_recorded_and_unrecorded_guests(state, no_namespaces, stand_ins):
    """A crash between starting a guest and recording it: down finds it by its UML pid file."""
    recorded = stand_ins(f"lvslab-{NAME}-g1")
    unrecorded = stand_ins(f"lvslab-{NAME}-g2")
    lab_dir = paths.lab_dir(NAME)
    (lab_dir / "uml" / f"lvslab-{NAME}-g2").mkdir(parents=True)
    (lab_dir / "uml" / f"lvslab-{NAME}-g2" / "pid").write_text(f"{unrecorded.pid}\n")
    (lab_dir / "state.json").write_text(json.dumps({
        "name": NAME, "namespace": paths.namespace_name(NAME), "phase": "creating",
        "guests": {"g1": {"pid": recorded.pid, "umid": f"lvslab-{NAME}-g1"}}}))
    assert lab.down(NAME, log=lambda *_: None) is True
    assert not alive(recorded) and not alive(unrecorded)
    assert not lab_dir.exists()
    assert no_namespaces == [("delete", paths.namespace_name(NAME))]
    assert lab.down(NAME, log=lambda *_: None) is False  # twice is fine


def test_down_with_a_damaged_state_file(state, no_namespaces):
    lab_dir = paths.lab_dir(NAME)
    lab_dir.mkdir(parents=True)
    (lab_dir / "state.json").write_text("{not json")
    with pytest.raises(LabError, match=f"damaged.*lvs-lab down --name {NAME}"):
        lab.read_state(NAME)
    assert lab.down(NAME, log=lambda *_: None) is True
    assert not lab_dir.exists()


def test_status_of_a_lab_that_does_not_exist(state):
    with pytest.raises(LabError, match=f"lab '{NAME}' is not running .*lvs-lab up --name {NAME}"):
        lab.status(NAME)


def test_list_labs_lists_labs_with_a_state_file(state):
    (state / "pytest-a").mkdir(parents=True)
    (state / "pytest-a" / "state.json").write_text("{}")
    (state / "pytest-b").mkdir()  # no state file: not a lab
    labs = lab.list_labs()
    assert "pytest-a" in labs and "pytest-b" not in labs


# --------------------------------------------------------------------------------------------------------
# up: what it removes when it fails


@pytest.fixture
def up_without_root(monkeypatch, state, tmp_path):
    """lab.up with the root-only steps replaced: the checks pass, the image exists, no guest really starts."""
    from lvs_lab import topology

    monkeypatch.setattr(lab, "preflight", lambda name, path, suite=None: topology.load(path))
    monkeypatch.setattr(lab.image, "build", lambda suite, log=print: tmp_path / "base.img")
    return write_topology(tmp_path / "small.yml", SMALL_TOPOLOGY)


def test_up_removes_what_it_created_when_a_step_fails(monkeypatch, up_without_root, no_namespaces):
    def fail(namespace, topology):
        assert (paths.lab_dir(NAME) / "state.json").exists(), "the state file is written before the namespace"
        raise LabError("ip netns add failed (simulated)")

    monkeypatch.setattr(netns, "create", fail)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)}
    with pytest.raises(LabError, match="simulated"):
        lab.up(NAME, up_without_root, log=lambda *_: None)
    assert not paths.lab_dir(NAME).exists()
    assert no_namespaces == [("delete", paths.namespace_name(NAME))]
    assert paths.controller_key().exists()  # the controller key outlives the lab
    assert {sig: signal.getsignal(sig) for sig in handlers} == handlers, "signal handlers are restored"


def test_up_never_removes_a_lab_it_did_not_create(monkeypatch, up_without_root, no_namespaces):
    """Regression (race, fixed): two 'up --name X' at once both pass preflight; the second one's lab.mkdir() raises
    FileExistsError inside the try block, whose cleanup then runs down(X): it stops the first lab's guests,
    deletes its namespace and removes its directory."""
    from lvs_lab import topology

    other = paths.lab_dir(NAME)

    def preflight_then_the_other_up_wins(name, path, suite=None):
        parsed = topology.load(path)
        other.mkdir(parents=True)  # the concurrent 'up' of the same name gets there first
        (other / "state.json").write_text(json.dumps({"name": NAME, "namespace": paths.namespace_name(NAME),
                                                      "phase": "up", "guests": {}}))
        (other / "inventory.yml").write_text("theirs\n")
        return parsed

    monkeypatch.setattr(lab, "preflight", preflight_then_the_other_up_wins)
    stopped = []
    monkeypatch.setattr(guests, "stop_all", lambda running, **_: stopped.append(running))
    try:
        lab.up(NAME, up_without_root, log=lambda *_: None)
    except BaseException as exc:  # noqa: BLE001
        raised = exc
    else:
        raised = None
    assert (other / "inventory.yml").exists(), f"up removed the other lab's directory (it raised {raised!r})"
    assert no_namespaces == [], f"up touched the other lab's namespace: {no_namespaces}"
    assert stopped == [], "up tried to stop the other lab's guests"
    assert isinstance(raised, LabError) and "already in use" in str(raised), repr(raised)


def test_close_control_masters_only_touches_this_labs_sockets(tmp_path, monkeypatch):
    """Stale SSH masters of a lab are ended and their sockets removed; a lab whose name extends it is left alone."""
    from lvs_lab import lab as lab_module

    monkeypatch.setenv("HOME", str(tmp_path))
    cp = tmp_path / ".ansible" / "cp"
    cp.mkdir(parents=True)
    digest = "e" * 40
    mine = cp / f"lvslab-mol-{digest}"
    other = cp / f"lvslab-mol-ipvs-{digest}"
    unrelated = cp / "0123456789abcdef"
    for path in (mine, other, unrelated):
        path.write_text("")
    lab_module.close_control_masters("mol")
    assert not mine.exists()
    assert other.exists() and unrelated.exists()


def test_close_control_masters_without_a_control_directory(tmp_path, monkeypatch):
    from lvs_lab import lab as lab_module

    monkeypatch.setenv("HOME", str(tmp_path))
    lab_module.close_control_masters("mol")  # nothing to do, no error
    assert not (tmp_path / ".ansible").exists()
