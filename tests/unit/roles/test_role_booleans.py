# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every boolean variable of the roles is read as a boolean, whatever form it arrives in.

Values given on the command line (``-e lvs_director_firewall=false``) or in an INI inventory arrive as strings.
Role argument validation (``meta/argument_specs.yml``, ``type: bool``) accepts such strings but does not convert
them (ansible-core 2.19): the role still sees the string ``"false"``, which Jinja's ``{% if %}`` takes as true
and which ansible-core refuses as a conditional result. So every read of such a variable must go through the
``bool`` filter.

This test finds the roles' boolean variables (``type: bool`` in any argument spec, and every default that is a
YAML boolean), parses every Jinja expression of the roles and playbooks (templates, templated strings, and the bare
expressions of ``when``, ``that``, ``changed_when``, ``failed_when``, ``until``) with Jinja's own parser, and
requires each reference to one of them to be the operand of ``| bool`` (through ``| default(...)`` at most).
"""

from __future__ import annotations

import os
import re
import warnings

import jinja2
from jinja2 import nodes
import pytest
import yaml

COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLES = os.path.join(COLLECTION_ROOT, "roles")

# Keys whose string values Ansible evaluates as bare Jinja expressions.
CONDITIONAL_KEYS = {"when", "that", "changed_when", "failed_when", "until", "break_when"}
BOOL_FILTERS = {"bool", "ansible.builtin.bool"}
PASS_THROUGH_FILTERS = {"default", "d", "ansible.builtin.default", "ansible.builtin.d"}

ENVIRONMENT = jinja2.Environment(extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"])


class _Loader(yaml.SafeLoader):
    """Loads Ansible YAML, ignoring its tags (!vault, !unsafe) instead of failing on them."""


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


def boolean_variables(roles_dir=ROLES):
    """{variable: [where it is declared boolean]} over every role's argument specs and defaults."""
    found = {}
    for role in sorted(os.listdir(roles_dir)):
        specs = os.path.join(roles_dir, role, "meta", "argument_specs.yml")
        if os.path.isfile(specs):
            with open(specs) as handle:
                document = yaml.load(handle, Loader=_Loader) or {}
            for entry, spec in (document.get("argument_specs") or {}).items():
                for name, option in (spec.get("options") or {}).items():
                    if option.get("type") == "bool":
                        found.setdefault(name, []).append("%s argument spec %s" % (role, entry))
                    for sub, suboption in (option.get("options") or {}).items():
                        # A boolean inside a dict is read as var.sub: this test does not follow those yet.
                        assert suboption.get("type") != "bool", (
                            "%s: %s.%s is a nested bool; extend test_role_booleans.py to check it" % (role, name, sub))
        defaults = os.path.join(roles_dir, role, "defaults", "main.yml")
        if os.path.isfile(defaults):
            with open(defaults) as handle:
                values = yaml.load(handle, Loader=_Loader) or {}
            for name, value in values.items():
                if isinstance(value, bool):
                    found.setdefault(name, []).append("%s defaults" % role)
    return found


def _expressions(value, key=None):
    """(source, kind) of every Jinja text in a loaded YAML document: 'expression' for bare conditionals,
    'template' for templated strings."""
    if isinstance(value, dict):
        for child_key, child in value.items():
            yield from _expressions(child, child_key)
    elif isinstance(value, list):
        for child in value:
            yield from _expressions(child, key)
    elif isinstance(value, str):
        if key in CONDITIONAL_KEYS and "{{" not in value and "{%" not in value:
            yield value, "expression"
        elif "{{" in value or "{%" in value:
            yield value, "template"


def jinja_sources(paths):
    """(path, source, kind) for every template file and every Jinja text in the YAML files."""
    for path in paths:
        with open(path) as handle:
            text = handle.read()
        if path.endswith(".j2"):
            yield path, text, "template"
        elif path.endswith((".yml", ".yaml")):
            for document in yaml.load_all(text, Loader=_Loader):
                for source, kind in _expressions(document):
                    yield path, source, kind


def _with_parents(node, parent=None):
    yield node, parent
    for child in node.iter_child_nodes():
        yield from _with_parents(child, node)


def unconverted_references(source, kind, names):
    """([(variable, description)] of every reference to one of names that is not converted by ``| bool``, [variable of every reference])."""
    with warnings.catch_warnings():
        # Jinja warns about backslash escapes in string literals (regular expressions in the roles); not ours.
        warnings.simplefilter("ignore", DeprecationWarning)
        template = ENVIRONMENT.parse("{{ (%s) }}" % source if kind == "expression" else source)
    parents = {}
    references = []
    for node, parent in _with_parents(template):
        parents[id(node)] = parent
        if isinstance(node, nodes.Name) and node.name in names:
            references.append((node.name, node))
        elif isinstance(node, nodes.Getattr) and node.attr in names:        # hostvars[host].name, vars.name
            references.append((node.attr, node))
        elif isinstance(node, nodes.Const) and node.value in names:         # vars['name'], lookup('vars', 'name')
            references.append((node.value, parent if isinstance(parent, (nodes.Getitem, nodes.Call)) else node))
    bad = []
    for name, node in references:
        current = node
        while True:
            parent = parents.get(id(current))
            if isinstance(parent, nodes.Filter) and parent.node is current:
                if parent.name in BOOL_FILTERS:
                    break
                if parent.name in PASS_THROUGH_FILTERS:
                    current = parent
                    continue
            bad.append((name, "%s is used without | bool (line %s of the text)" % (name, node.lineno)))
            break
    return bad, [name for name, _node in references]


def role_and_playbook_files(root=COLLECTION_ROOT):
    paths = []
    for base in ("roles", "playbooks"):
        for directory, _subdirectories, files in os.walk(os.path.join(root, base)):
            for name in sorted(files):
                if name == "argument_specs.yml" or not name.endswith((".yml", ".yaml", ".j2")):
                    continue
                paths.append(os.path.join(directory, name))
    return sorted(paths)


def check_tree(root):
    """({variable: number of references found}, [violations]) for the roles and playbooks under root."""
    names = boolean_variables(os.path.join(root, "roles"))
    counts = dict.fromkeys(names, 0)
    violations = []
    for path, source, kind in jinja_sources(role_and_playbook_files(root)):
        bad, referenced = unconverted_references(source, kind, names)
        for name, message in bad:
            excerpt = "" if path.endswith(".j2") else source
            violations.append("%s: %s %s" % (os.path.relpath(path, root), message, excerpt.strip()[:200]))
        for name in referenced:
            counts[name] += 1
    return counts, violations


# --- the checker itself can fail ---------------------------------------------------------------------------------

@pytest.mark.parametrize("source, kind", [
    ("{% if flag %}on{% endif %}", "template"),
    ("{% if other and not flag %}on{% endif %}", "template"),
    ("flag", "expression"),
    ("not flag or x | length > 0", "expression"),
    ("{{ ['input'] if flag else [] }}", "template"),
    ("flag | default(false)", "expression"),
    ("hostvars[h].flag", "expression"),
    ("hostvars[h]['flag'] | string", "expression"),
    ("lookup('ansible.builtin.vars', 'flag')", "expression"),
    ("(flag | bool) and flag", "expression"),
])
def test_an_unconverted_use_is_found(source, kind):
    bad, references = unconverted_references(source, kind, {"flag"})
    assert references
    assert bad, source


@pytest.mark.parametrize("source, kind", [
    ("{% if flag | bool %}on{% endif %}", "template"),
    ("{% if other and not flag | bool %}on{% endif %}", "template"),
    ("flag | ansible.builtin.bool", "expression"),
    ("not flag | bool or x | length > 0", "expression"),
    ("{{ ['input'] if flag | bool else [] }}", "template"),
    ("flag | default(false) | bool", "expression"),
    ("hostvars[h].flag | bool", "expression"),
    ("lookup('ansible.builtin.vars', 'flag') | bool", "expression"),
    ("{# flag #}{{ flagged }} flag is text here", "template"),
])
def test_a_converted_use_passes(source, kind):
    bad, _references = unconverted_references(source, kind, {"flag"})
    assert not bad, bad


# --- the roles ---------------------------------------------------------------------------------------------------

def test_the_boolean_variables_are_found():
    names = boolean_variables()
    # The ones known today: the test must not pass because it found nothing.
    assert {"lvs_director_firewall", "lvs_director_sync_daemon", "lvs_gfs2_fencing_external",
            "lvs_gfs2_lab_without_fencing", "lvs_web_ipv6"} <= set(names), names


def test_defaults_and_argument_specs_agree():
    """A default that is a boolean is declared type: bool, so argument validation refuses non-booleans."""
    for name, where in boolean_variables().items():
        assert any("argument spec" in place for place in where), (name, where)
        assert any("defaults" in place for place in where), (name, where)


def test_every_use_of_a_boolean_variable_goes_through_bool():
    counts, violations = check_tree(COLLECTION_ROOT)
    assert not violations, "\n".join(violations)
    unused = [name for name, number in counts.items() if number == 0]
    assert not unused, "declared boolean but never read (or read in a way this test does not see): %s" % unused


def test_no_plugin_reads_a_role_boolean():
    """The filters read hostvars; if one ever reads a role's boolean, it must convert it too (and be tested)."""
    names = boolean_variables()
    pattern = re.compile(r"\b(%s)\b" % "|".join(sorted(names)))
    for directory, _subdirectories, files in os.walk(os.path.join(COLLECTION_ROOT, "plugins")):
        for name in files:
            if name.endswith(".py"):
                with open(os.path.join(directory, name)) as handle:
                    assert not pattern.search(handle.read()), os.path.join(directory, name)
