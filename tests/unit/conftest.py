# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make ``ansible_collections.lvs.cluster`` importable when pytest runs from the git checkout.

``ansible-test units`` runs the tests inside an ``ansible_collections/lvs/cluster`` tree and installs Ansible's
collection loader itself; then this file does nothing. Run from the checkout (``python -m pytest tests/unit``),
the checkout is not in such a tree, so this file builds one in a temporary directory
(``<tmp>/ansible_collections/lvs/cluster`` -> the checkout) and puts it first on ``sys.path``. It does so when
pytest loads it, before the test modules are imported, since they import the collection at their top.
``ansible_collections`` is a namespace package (the ``ansible`` package ships one too), so both portions merge.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NAMESPACE, NAME = "lvs", "cluster"


def _inside_collection_tree(root):
    parts = os.path.normpath(root).split(os.sep)
    return parts[-3:] == ["ansible_collections", NAMESPACE, NAME]


def _link_collection():
    if _inside_collection_tree(COLLECTION_ROOT):
        parent = os.path.dirname(os.path.dirname(os.path.dirname(COLLECTION_ROOT)))
        if parent not in sys.path:
            sys.path.insert(0, parent)
        return None
    tmp = tempfile.mkdtemp(prefix="lvs-cluster-unit-")
    namespace_dir = os.path.join(tmp, "ansible_collections", NAMESPACE)
    os.makedirs(namespace_dir)
    os.symlink(COLLECTION_ROOT, os.path.join(namespace_dir, NAME))
    sys.path.insert(0, tmp)
    # A previous import of the namespace package (the ansible package's portion) caches its __path__: drop it.
    for module_name in [name for name in sys.modules if name == "ansible_collections" or name.startswith(
            "ansible_collections.%s" % NAMESPACE)]:
        del sys.modules[module_name]
    return tmp


_TMP_TREE = _link_collection()


def pytest_unconfigure(config):  # pylint: disable=unused-argument
    """Remove the temporary collection tree (only the symlink and its directories, never the checkout)."""
    if _TMP_TREE is not None:
        os.unlink(os.path.join(_TMP_TREE, "ansible_collections", NAMESPACE, NAME))
        shutil.rmtree(_TMP_TREE, ignore_errors=True)
