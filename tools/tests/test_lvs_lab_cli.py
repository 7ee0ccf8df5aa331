"""The command line, run as a subprocess (tools/lvs-lab): errors are a message on stderr, nothing is created.

None of these tests needs root or starts a guest: every command here fails (or does nothing) before the lab
would create anything. Lab names start with ``pytest-`` and LVS_LAB_STATE_DIR is a temporary directory.
"""
import pytest

from lvslab_helpers import (SMALL_TOPOLOGY, lab_env, lab_namespaces, lab_processes, leftovers, run_lab,
                            write_topology)
from lvs_lab import paths

VERBS = ("build", "up", "down", "status", "inventory", "ssh", "exec", "console", "check-topology")


@pytest.fixture
def env(state_root):
    return lab_env(state_root, LVS_LAB_NAME="pytest-check")


@pytest.fixture
def nothing_created(state_root):
    """After the test: no state root, and no namespace or guest of a pytest lab appeared."""
    before = lab_namespaces()
    yield
    assert not state_root.exists(), f"the command created {state_root}"
    appeared = {n for n in lab_namespaces() - before if n.startswith("lvslab-pytest")}
    assert not appeared, f"the command created namespaces {appeared}"
    for name in ("pytest-check", "pytest-bad"):
        assert not lab_processes(name)


@pytest.fixture
def no_lab_left(state_root, env):
    """Safety net for tests that run 'up' with input that must be refused: remove a lab that did start."""
    yield
    if leftovers("pytest-bad", state_root):
        run_lab(["down", "--name", "pytest-bad"], env, timeout=120)
        pytest.fail("'up' with bad input started lab pytest-bad (removed again)")


def assert_error(result, *fragments, code=1):
    assert result.returncode == code, f"exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("lvs-lab: error: "), result.stderr
    for fragment in fragments:
        assert fragment in result.stderr


def outside_address_topology(tmp_path):
    """The default topology with rs1's front address moved outside the allowed ranges."""
    import yaml

    document = yaml.safe_load(paths.DEFAULT_TOPOLOGY.read_text())
    document["hosts"][2]["nics"][1]["addresses"][0] = "192.0.2.5"
    return write_topology(tmp_path / "outside.yml", document)


# --------------------------------------------------------------------------------------------------------
# check-topology


def test_check_topology_default(env, nothing_created):
    result = run_lab(["check-topology", str(paths.DEFAULT_TOPOLOGY)], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (f"{paths.DEFAULT_TOPOLOGY}: 5 networks, 6 hosts, groups directors, real_servers, "
                             "storage: valid\n")
    assert result.stderr == ""


BAD_FILES = {
    "outside-range": (outside_address_topology, ["hosts[2] (rs1).nics[1].addresses[0]", "192.0.2.5", "outside"]),
    "malformed-yaml": (lambda tmp: (tmp / "bad.yml").write_text("hosts: [\n  - {name: rs1\n") and tmp / "bad.yml",
                       ["is not valid YAML", "bad.yml"]),
    "unknown-key": (lambda tmp: write_topology(tmp / "bad.yml", {**SMALL_TOPOLOGY, "colour": "blue"}),
                    ["bad.yml", "unknown key(s) colour"]),
    "duplicate-host": (lambda tmp: write_topology(tmp / "bad.yml", {
        **SMALL_TOPOLOGY, "hosts": [SMALL_TOPOLOGY["hosts"][0], {**SMALL_TOPOLOGY["hosts"][1], "name": "guest1"}]}),
        ["hosts[1] (guest1): duplicate host name"]),
    "missing-file": (lambda tmp: tmp / "absent.yml", ["cannot read topology", "absent.yml", "No such file"]),
}


@pytest.mark.parametrize("make, fragments", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_check_topology_reports_the_offending_item(tmp_path, env, nothing_created, make, fragments):
    path = make(tmp_path)
    result = run_lab(["check-topology", str(path)], env)
    assert_error(result, *fragments)
    assert result.stdout == ""


def test_check_topology_on_a_file_that_is_not_utf8(tmp_path, env, nothing_created):
    """Regression (fixed): a Latin-1 file makes check-topology print a UnicodeDecodeError traceback."""
    path = tmp_path / "latin1.yml"
    path.write_bytes("# r\xe9seau\nsuite: bookworm\n".encode("latin-1"))
    assert_error(run_lab(["check-topology", str(path)], env), "latin1.yml")


def test_check_topology_on_an_unhashable_value(tmp_path, env, nothing_created):
    """Regression (fixed): 'management_network: [mgmt]' makes check-topology print a TypeError traceback."""
    path = write_topology(tmp_path / "list.yml", {**SMALL_TOPOLOGY, "management_network": ["mgmt"]})
    assert_error(run_lab(["check-topology", str(path)], env), "management_network")


# --------------------------------------------------------------------------------------------------------
# up with bad input: refused before anything exists


def test_up_refuses_an_address_outside_the_ranges(tmp_path, env, nothing_created, no_lab_left):
    path = outside_address_topology(tmp_path)
    result = run_lab(["up", "--name", "pytest-bad", "--topology", str(path)], env)
    assert_error(result, "hosts[2] (rs1).nics[1].addresses[0]: 192.0.2.5 is outside the lab's allowed ranges")


def test_up_refuses_a_192_0_2_prefix(tmp_path, env, nothing_created, no_lab_left):
    document = {**SMALL_TOPOLOGY, "networks": [SMALL_TOPOLOGY["networks"][0], {"name": "data", "ipv4": "192.0.2.0/24"}]}
    result = run_lab(["up", "--name", "pytest-bad", "--topology", str(write_topology(tmp_path / "t.yml", document))], env)
    assert_error(result, "networks[1] (data).ipv4: 192.0.2.0/24 is outside")


def test_up_refuses_an_unknown_suite(tmp_path, env, nothing_created, no_lab_left):
    path = write_topology(tmp_path / "small.yml", SMALL_TOPOLOGY)
    result = run_lab(["up", "--name", "pytest-bad", "--topology", str(path), "--suite", "sid"], env)
    assert result.returncode == 2
    assert "argument --suite: invalid choice: 'sid'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("name", ["Bad_Name", "x" * 21, "-x"])
def test_up_refuses_a_bad_lab_name(tmp_path, env, nothing_created, no_lab_left, name):
    path = write_topology(tmp_path / "small.yml", SMALL_TOPOLOGY)
    result = run_lab(["up", f"--name={name}", "--topology", str(path)], env)
    assert_error(result, f"lab name {name!r} is invalid")


def test_up_refuses_a_missing_topology(tmp_path, env, nothing_created, no_lab_left):
    result = run_lab(["up", "--name", "pytest-bad", "--topology", str(tmp_path / "absent.yml")], env)
    assert_error(result, "cannot read topology", "absent.yml")


# --------------------------------------------------------------------------------------------------------
# Other verbs on a lab that does not exist


def test_down_of_a_lab_that_does_not_exist(env, nothing_created):
    result = run_lab(["down", "--name", "pytest-none"], env)
    assert result.returncode == 0, result.stderr
    assert "lab 'pytest-none' is not running; nothing to remove" in result.stdout


def test_down_refuses_a_bad_name(env, nothing_created):
    assert_error(run_lab(["down", "--name", "../etc"], env), "lab name '../etc' is invalid")


@pytest.mark.parametrize("args", [
    ["status", "--name", "pytest-none"],
    ["status", "--name", "pytest-none", "--json"],
    ["inventory", "--name", "pytest-none"],
    ["inventory", "--name", "pytest-none", "--format", "molecule"],
    ["ssh", "--name", "pytest-none", "guest1", "true"],
    ["console", "--name", "pytest-none", "guest1"],
    ["exec", "--name", "pytest-none", "--", "true"],
], ids=lambda a: "-".join(a[:1] + a[3:4]))
def test_verbs_on_a_lab_that_is_not_running(env, nothing_created, args):
    assert_error(run_lab(args, env), "lab 'pytest-none' is not running",
                          "lvs-lab up --name pytest-none")


def test_exec_needs_a_command(env, nothing_created):
    assert_error(run_lab(["exec", "--name", "pytest-none", "--"], env), "exec needs a command")


def test_default_name_comes_from_the_environment(env, nothing_created):
    result = run_lab(["status"], env)  # LVS_LAB_NAME=pytest-check in env
    assert_error(result, "lab 'pytest-check' is not running")


def test_status_all(env, nothing_created):
    result = run_lab(["status", "--all"], env)
    assert result.returncode == 0, result.stderr
    assert "pytest-check" not in result.stdout


def test_help_lists_every_verb(env, nothing_created):
    result = run_lab(["--help"], env)
    assert result.returncode == 0
    for verb in VERBS:
        assert verb in result.stdout


def test_a_verb_is_required(env, nothing_created):
    result = run_lab([], env)
    assert result.returncode == 2
    assert "required" in result.stderr
