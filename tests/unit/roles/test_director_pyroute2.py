# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The director role's pyroute2: a virtual environment of its own, and the IPVS modules run with its python.

- The defaults and the argument spec agree (source ``index`` by default, the venv, the interpreter variable), and
  the interpreter default renders to the venv's python for ``wheel``/``index`` and the system's for the others.
- Every task of the role that runs an ``lvs.cluster.ipvs*`` module sets ``ansible_python_interpreter`` to
  ``lvs_director_ipvs_python``; a task added without it fails here.
- pip's ``--break-system-packages`` appears nowhere in the roles or playbooks.
"""

from __future__ import annotations

import os

import jinja2
import pytest
import yaml

COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLE = os.path.join(COLLECTION_ROOT, "roles", "director")
VENV_PYTHON = "{{ lvs_director_ipvs_python }}"
IPVS_MODULES = {"ipvs", "ipvs_info", "ipvs_service", "ipvs_sync_daemon", "ipvs_timeouts"}
IPVS_ACTIONS = {prefix + name for name in IPVS_MODULES for prefix in ("lvs.cluster.", "")}


def load(*parts):
    with open(os.path.join(ROLE, *parts)) as handle:
        return yaml.safe_load(handle)


def main_spec_options():
    return load("meta", "argument_specs.yml")["argument_specs"]["main"]["options"]


def render_default(name, **variables):
    defaults = load("defaults", "main.yml")
    values = dict(defaults, **variables)
    text = defaults[name]
    # Render until no expression is left (defaults refer to other defaults).
    for _round in range(5):
        if "{{" not in str(text):
            break
        text = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(text).render(values)
    return text.strip()


def test_index_is_the_default_source_in_defaults_and_spec():
    options = main_spec_options()
    assert load("defaults", "main.yml")["lvs_director_pyroute2_source"] == "index"
    assert options["lvs_director_pyroute2_source"]["default"] == "index"
    assert options["lvs_director_pyroute2_source"]["choices"] == ["index", "wheel", "distro", "none"]
    assert load("vars", "main.yml")["__lvs_director_pyroute2_sources"] == ["index", "wheel", "distro", "none"]


@pytest.mark.parametrize("name", ["lvs_director_python_venv", "lvs_director_ipvs_python"])
def test_new_variables_are_in_the_spec_with_the_defaults_value(name):
    options = main_spec_options()
    defaults = load("defaults", "main.yml")
    assert name in options, "%s missing from meta/argument_specs.yml" % name
    assert options[name]["description"]
    assert " ".join(str(options[name]["default"]).split()) == " ".join(str(defaults[name]).split())


def test_the_venv_default():
    assert load("defaults", "main.yml")["lvs_director_python_venv"] == "/opt/lvs-cluster/venv"
    assert main_spec_options()["lvs_director_python_venv"]["type"] == "path"


@pytest.mark.parametrize("source, expected", [
    ("index", "/opt/lvs-cluster/venv/bin/python3"),
    ("wheel", "/opt/lvs-cluster/venv/bin/python3"),
    ("distro", "/usr/bin/python3"),
    ("none", "/usr/bin/python3"),
])
def test_the_interpreter_default_renders(source, expected):
    assert render_default("lvs_director_ipvs_python", lvs_director_pyroute2_source=source) == expected


def test_the_interpreter_follows_another_venv():
    rendered = render_default("lvs_director_ipvs_python", lvs_director_python_venv="/srv/venv",
                              lvs_director_pyroute2_source="wheel")
    assert rendered == "/srv/venv/bin/python3"


def tasks_of(node):
    """Every task dict in a task list, into blocks, rescue and always."""
    for task in node or []:
        yield task
        for key in ("block", "rescue", "always"):
            if key in task:
                yield from tasks_of(task[key])


def role_task_files():
    tasks_dir = os.path.join(ROLE, "tasks")
    return sorted(name for name in os.listdir(tasks_dir) if name.endswith(".yml"))


def ipvs_module_tasks():
    found = []
    for name in role_task_files():
        for task in tasks_of(load("tasks", name)):
            action = IPVS_ACTIONS.intersection(task)
            if action:
                found.append((name, task.get("name"), task))
    return found


def test_the_role_runs_ipvs_modules():
    # The static engine programs the table, drain reads it back: the check below must have something to check.
    files = {name for name, _task_name, _task in ipvs_module_tasks()}
    assert {"static.yml", "drain.yml", "drain_write.yml"} <= files


def test_every_ipvs_module_task_runs_with_the_roles_interpreter():
    missing = ["%s: %s" % (name, task_name) for name, task_name, task in ipvs_module_tasks()
               if (task.get("vars") or {}).get("ansible_python_interpreter") != VENV_PYTHON]
    assert missing == [], "tasks without ansible_python_interpreter: %s" % VENV_PYTHON


def test_no_pip_break_system_packages_in_roles_or_playbooks():
    offenders = []
    for top in ("roles", "playbooks"):
        for directory, _subdirectories, files in os.walk(os.path.join(COLLECTION_ROOT, top)):
            for name in files:
                path = os.path.join(directory, name)
                with open(path, errors="replace") as handle:
                    if "break-system-packages" in handle.read():
                        offenders.append(os.path.relpath(path, COLLECTION_ROOT))
    assert offenders == []


def test_the_wheel_and_index_installs_go_into_the_venv():
    pyroute2 = load("tasks", "pyroute2.yml")
    commands = [task for task in tasks_of(pyroute2) if "ansible.builtin.command" in task]
    pip = [task for task in commands if task["name"].startswith("Install pyroute2 with")]
    assert len(pip) == 1
    assert pip[0]["ansible.builtin.command"]["argv"].startswith("{{ [__lvs_director_venv_pip, 'install'")
    assert load("vars", "main.yml")["__lvs_director_venv_pip"] == "{{ lvs_director_python_venv }}/bin/pip"
    assert not [task for task in tasks_of(pyroute2) if "ansible.builtin.pip" in task]
