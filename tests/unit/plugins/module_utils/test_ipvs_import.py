# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Importing _ipvs_netlink loads only the pyroute2 parts it uses, and leaves pyroute2 whole for other code.

Each case runs in a fresh interpreter (this test process may have imported pyroute2 already), with the
collection importable the way conftest.py makes it importable here.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytest.importorskip("pyroute2")

PRELUDE = """
import json, sys
sys.path[:0] = %r
"""


def run(code):
    script = PRELUDE % [path for path in sys.path if path] + code
    out = subprocess.run([sys.executable, "-c", script], check=True, stdout=subprocess.PIPE).stdout
    return json.loads(out.decode().splitlines()[-1])


def test_import_loads_only_the_netlink_parts():
    result = run("""
from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_netlink as nl
loaded = sorted(name for name in sys.modules if name.startswith("pyroute2"))
print(json.dumps({"has": nl.HAS_PYROUTE2, "version": nl.PYROUTE2_VERSION, "loaded": loaded,
                  "asyncio": "asyncio" in sys.modules, "ssl": "ssl" in sys.modules}))
""")
    from pyroute2.config.version import __version__
    assert result["has"] is True and result["version"] == __version__
    assert "pyroute2.netlink" in result["loaded"]
    # pyroute2's sockets (and the asyncio and ssl they import) only when a request needs them
    assert "pyroute2.netlink.generic" not in result["loaded"] and "pyroute2.netlink.nlsocket" not in result["loaded"]
    assert result["asyncio"] is False and result["ssl"] is False
    # what pyroute2/__init__.py would have pulled in
    for heavy in ("pyroute2.ndb.main", "pyroute2.ipdb", "pyroute2.iproute", "pyroute2.conntrack",
                  "pyroute2.netlink.nl80211", "pyroute2.ipvs"):
        assert heavy not in result["loaded"]
    assert len(result["loaded"]) < 40, result["loaded"]


def test_the_pyroute2_socket_class_is_imported_on_first_use():
    result = run("""
from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_netlink as nl
import pyroute2.netlink.generic as generic
class Stub(object):
    pass
generic.GenericNetlinkSocket = Stub  # the class is looked up when the first socket is made, not at import
first = nl._pyroute2_socket()
print(json.dumps({"stub": isinstance(first, Stub), "cached": type(nl._pyroute2_socket()) is type(first),
                  "async": first.async_class.module_err_level}))
""")
    assert result == {"stub": True, "cached": True, "async": "debug"}


def test_pyroute2_stays_whole_for_other_code():
    result = run("""
from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_netlink as nl
import pyroute2
from pyroute2 import IPRoute, IPVS
import pyroute2.netlink
print(json.dumps({"iproute": IPRoute.__name__, "ipvs": IPVS.__name__, "version": pyroute2.__version__,
                  "same_nla": pyroute2.netlink.nla is nl.nla, "ndb": "pyroute2.ndb.main" in sys.modules}))
""")
    from pyroute2.config.version import __version__
    assert result == {"iproute": "IPRoute", "ipvs": "IPVS", "version": __version__, "same_nla": True, "ndb": True}


def test_pyroute2_imported_first_is_used_as_it_is():
    result = run("""
import pyroute2
from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_netlink as nl
print(json.dumps({"has": nl.HAS_PYROUTE2, "same": sys.modules["pyroute2"] is pyroute2,
                  "getattr": "__getattr__" in vars(pyroute2)}))
""")
    assert result == {"has": True, "same": True, "getattr": False}


def test_missing_pyroute2_is_reported_not_raised():
    result = run("""
import importlib.util
real_find_spec = importlib.util.find_spec
importlib.util.find_spec = lambda name, *args: None if name.split(".")[0] == "pyroute2" else real_find_spec(name, *args)
class Block(object):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "pyroute2":
            raise ImportError("No module named %r" % name)
        return None
sys.meta_path.insert(0, Block())
from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_netlink as nl
print(json.dumps({"has": nl.HAS_PYROUTE2, "error": "pyroute2" in (nl.PYROUTE2_IMPORT_ERROR or ""),
                  "stub": "pyroute2" in sys.modules}))
""")
    assert result == {"has": False, "error": True, "stub": False}
