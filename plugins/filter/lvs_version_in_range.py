# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: lvs_version_in_range
short_description: Whether an installed version satisfies a pip version range
version_added: 0.1.0
author:
  - lvs.cluster maintainers (!UNKNOWN)
description:
  - Takes a version string (for example what C(importlib.metadata.version) printed on a host; empty when
    nothing is installed) and a PEP 440 version specifier such as C(>=0.9.1,<0.10), as pip reads it, and returns
    whether the version is in that range. An empty version is in no range; an empty range admits every version.
  - The director role runs pip for its C(index) pyroute2 source only when the installed version is not in
    C(lvs_director_pyroute2_index_version), so a second run changes nothing.
  - A specifier that is not valid PEP 440 fails with an error that names it.
positional: _input, spec
options:
  _input:
    description: The installed version, or an empty string when there is none.
    type: str
    required: true
  spec:
    description: The version specifier (range), as in a pip requirement after the package name.
    type: str
    required: true
  name:
    description: What the specifier is called in the error message (the variable it came from).
    type: str
    default: version range
"""

EXAMPLES = r"""
- name: Whether pip must run
  ansible.builtin.set_fact:
    __install: "{{ not (installed_version | lvs.cluster.lvs_version_in_range('>=0.9.1,<0.10')) }}"
"""

RETURN = r"""
_value:
  description: V(true) when the version is in the range.
  type: bool
"""

from ansible.errors import AnsibleFilterError

try:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version
except ImportError:  # pragma: no cover - ansible-core depends on packaging
    SpecifierSet = None


def lvs_version_in_range(version, spec, name="version range"):
    """'0.9.7', '>=0.9.1,<0.10' -> True (see DOCUMENTATION)."""
    if SpecifierSet is None:  # pragma: no cover
        raise AnsibleFilterError("lvs.cluster.lvs_version_in_range needs the Python library packaging on the controller")
    try:
        specifiers = SpecifierSet(str(spec or "").strip())
    except InvalidSpecifier:
        raise AnsibleFilterError(
            "%s: %r is no PEP 440 version specifier (for example '>=0.9.1' or '>=0.9.1,<0.10')" % (name, spec)
        ) from None
    text = str(version or "").strip()
    if not text:
        return False
    try:
        parsed = Version(text)
    except InvalidVersion:
        return False
    return specifiers.contains(parsed, prereleases=True)


class FilterModule(object):
    """lvs.cluster.lvs_version_in_range"""

    def filters(self):
        return {"lvs_version_in_range": lvs_version_in_range}
