# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""lvs_version_in_range: whether the director role's index source must run pip (pyroute2 in its range or not)."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.filter import lvs_version_in_range as plugin
from ansible_collections.lvs.cluster.plugins.filter.lvs_version_in_range import lvs_version_in_range


def test_the_filter_module_exports_it():
    assert list(plugin.FilterModule().filters()) == ["lvs_version_in_range"]


@pytest.mark.parametrize("version, spec, expected", [
    ("0.9.7", ">=0.9.1", True),
    ("0.9.1", ">=0.9.1", True),
    ("0.9.0", ">=0.9.1", False),
    ("0.7.2", ">=0.9.1", False),
    ("0.9.7", ">=0.9.1,<0.10", True),
    ("0.10.0", ">=0.9.1,<0.10", False),
    ("0.9.7", "==0.9.7", True),
    ("0.9.8", "==0.9.7", False),
    ("0.9.7", "~=0.9.1", True),
    ("1.0", "~=0.9.1", False),
    ("0.9.7", "", True),
    (" 0.9.7\n", " >=0.9.1 ", True),
])
def test_versions_against_ranges(version, spec, expected):
    assert lvs_version_in_range(version, spec) is expected


@pytest.mark.parametrize("version", ["", None, "   ", "not-a-version"])
def test_nothing_installed_is_in_no_range(version):
    assert lvs_version_in_range(version, ">=0.9.1") is False
    assert lvs_version_in_range(version, "") is False


def test_a_bad_range_names_the_variable():
    with pytest.raises(AnsibleFilterError) as caught:
        lvs_version_in_range("0.9.7", "at least 0.9", name="lvs_director_pyroute2_index_version")
    message = str(caught.value)
    assert message.startswith("lvs_director_pyroute2_index_version: 'at least 0.9' is no PEP 440 version specifier")
