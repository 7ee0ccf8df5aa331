"""kill / start / link of one guest (the fault drill's verbs), without root and without real guests.

Stand-in guests are small Python processes carrying a ``umid=lvslab-pytest-one-...`` word in their own sessions
(as real guests are), so killing them can only ever affect them; starting a guest and setting a tap's state are
replaced by recorders: these tests start no UML kernel and touch no namespace.
"""
import json
import subprocess
import sys

import pytest

from lvs_lab import guests, lab, netns, paths, xstate
from lvs_lab.errors import LabError
from lvslab_helpers import SMALL_TOPOLOGY, write_topology

NAME = "pytest-one"


@pytest.fixture
def stand_ins():
    started = []

    def start(umid):
        # a guest with one helper in its process group, as UML's I/O helpers are
        code = ("import subprocess, sys, time\n"
                f"helper = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)', 'umid={umid}'])\n"
                "print(helper.pid, flush=True)\ntime.sleep(120)\n")
        process = subprocess.Popen([sys.executable, "-c", code, f"umid={umid}"], stdout=subprocess.PIPE,
                                   start_new_session=True)
        helper = int(process.stdout.readline())
        started.append(process)
        return process, helper

    yield start
    for process in started:  # only what this fixture started, by its own PID
        if process.poll() is None:
            guests.kill(process.pid, f"lvslab-{NAME}-guest1")
        process.wait()


@pytest.fixture
def running_lab(monkeypatch, tmp_path):
    """A lab record of the two-guest topology, guest1 a stand-in; returns a function (guest pid) -> state."""
    monkeypatch.setenv("LVS_LAB_STATE_DIR", str(tmp_path / "state"))
    lab_dir = paths.lab_dir(NAME)
    lab_dir.mkdir(parents=True)
    write_topology(lab_dir / "topology.yml", SMALL_TOPOLOGY)

    def record(pid1, pid2=None):
        state = {"name": NAME, "namespace": paths.namespace_name(NAME), "phase": "up", "image": "/base.img",
                 "guests": {"guest1": {"pid": pid1, "umid": f"lvslab-{NAME}-guest1"},
                            "guest2": {"pid": pid2, "umid": f"lvslab-{NAME}-guest2"}}}
        lab.write_state(NAME, state)
        return state
    return record


def test_kill_ends_the_guest_and_its_helpers_and_keeps_its_record(running_lab, stand_ins):
    process, helper = stand_ins(f"lvslab-{NAME}-guest1")
    running_lab(process.pid)
    assert lab.kill_guest(NAME, "guest1", log=lambda *_: None) == process.pid
    assert guests.is_zombie_or_gone(process.pid) or process.poll() is not None
    # Gone, a zombie, or (reaped by init and its PID taken since) no longer a process of this guest.
    assert guests.is_zombie_or_gone(helper) or not guests.is_ours(helper, f"lvslab-{NAME}-guest1")
    assert lab.read_state(NAME)["guests"]["guest1"]["pid"] == process.pid
    with pytest.raises(LabError, match="guest guest1 of lab 'pytest-one' is not running .*'lvs-lab start'"):
        lab.kill_guest(NAME, "guest1", log=lambda *_: None)


def test_kill_and_start_refuse_unknown_guests(running_lab):
    running_lab(None)
    with pytest.raises(LabError, match="guest9.*guest1, guest2"):
        lab.kill_guest(NAME, "guest9")
    with pytest.raises(LabError, match="guest9.*guest1, guest2"):
        lab.start_guest(NAME, "guest9")


def test_start_refuses_a_running_guest(running_lab, stand_ins):
    process, _helper = stand_ins(f"lvslab-{NAME}-guest1")
    running_lab(process.pid)
    with pytest.raises(LabError, match=f"already running \\(pid {process.pid}\\).*lvs-lab kill --name {NAME} guest1"):
        lab.start_guest(NAME, "guest1", wait=False)


def test_start_reuses_ups_command_line_and_records_the_new_pid(running_lab, monkeypatch):
    running_lab(None, None)
    started = []
    monkeypatch.setattr(xstate, "guest_environment", lambda log: {"LD_PRELOAD": "shim.so"})
    monkeypatch.setattr(guests, "start", lambda namespace, arguments, log_path, environment:
                        started.append((namespace, arguments, log_path, environment)) or 4242)
    assert lab.start_guest(NAME, "guest2", wait=False, log=lambda *_: None) == 4242
    namespace, arguments, log_path, environment = started[0]
    topology, state = lab.load_topology(NAME)
    assert namespace == paths.namespace_name(NAME)
    assert arguments == guests.command_line(NAME, topology, 1, "/base.img", paths.lab_dir(NAME))
    assert f"ubd0={paths.lab_dir(NAME) / 'guests' / 'guest2' / 'root.cow'},/base.img" in arguments
    assert {word.split(",")[1] for word in arguments if word.startswith("eth")} == {"tap2n0", "tap2n1"}
    assert log_path == paths.lab_dir(NAME) / "logs" / "guest2.log"
    assert environment == {"LD_PRELOAD": "shim.so"}
    assert state["guests"]["guest2"] == {"pid": 4242, "umid": f"lvslab-{NAME}-guest2"}
    assert json.loads((paths.lab_dir(NAME) / "state.json").read_text())["guests"]["guest1"]["pid"] is None


def test_link_sets_the_guests_tap_in_the_lab_namespace(running_lab, monkeypatch):
    running_lab(None)
    calls = []
    monkeypatch.setattr(netns, "run_ip", lambda args, input_text=None: calls.append(args) or "")
    assert lab.link(NAME, "guest2", "data", "down", log=lambda *_: None) == "tap2n1"
    assert lab.link(NAME, "guest1", "mgmt", "up", log=lambda *_: None) == "tap1n0"
    assert calls == [["-n", paths.namespace_name(NAME), "link", "set", "tap2n1", "down"],
                     ["-n", paths.namespace_name(NAME), "link", "set", "tap1n0", "up"]]


def test_link_refuses_a_network_the_guest_is_not_on_and_a_bad_action(running_lab, monkeypatch):
    running_lab(None)
    monkeypatch.setattr(netns, "run_ip", lambda args, input_text=None: pytest.fail("ip must not run"))
    with pytest.raises(LabError, match="guest guest1 has no link to network 'front' \\(its networks: mgmt, data\\)"):
        lab.link(NAME, "guest1", "front", "down")
    with pytest.raises(LabError, match="link action 'sideways': choose up or down"):
        lab.link(NAME, "guest1", "data", "sideways")


def test_verbs_of_a_lab_that_is_not_running(monkeypatch, tmp_path):
    monkeypatch.setenv("LVS_LAB_STATE_DIR", str(tmp_path / "state"))
    for call in (lambda: lab.kill_guest(NAME, "guest1"), lambda: lab.start_guest(NAME, "guest1"),
                 lambda: lab.link(NAME, "guest1", "data", "down")):
        with pytest.raises(LabError, match=f"lab '{NAME}' is not running"):
            call()
