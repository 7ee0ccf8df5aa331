# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_ipvs_keys: one way to write service and destination keys, without pyroute2."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_keys as keys
from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_model as model
from ansible_collections.lvs.cluster.plugins.module_utils import _lvs_model

AF_INET, AF_INET6 = int(socket.AF_INET), int(socket.AF_INET6)


@pytest.mark.parametrize("raw, normalized, key", [
    ({"af": AF_INET, "protocol": 6, "addr": "198.51.100.10", "port": 80},
     {"family": "ipv4", "protocol": "tcp", "address": "198.51.100.10", "port": 80, "fwmark": None},
     "tcp/198.51.100.10:80"),
    ({"af": AF_INET6, "protocol": 17, "addr": "2001:db8::10", "port": 53},
     {"family": "ipv6", "protocol": "udp", "address": "2001:db8::10", "port": 53, "fwmark": None},
     "udp/[2001:db8::10]:53"),
    ({"af": AF_INET, "protocol": 132, "addr": "198.51.100.11", "port": 0},
     {"family": "ipv4", "protocol": "sctp", "address": "198.51.100.11", "port": 0, "fwmark": None},
     "sctp/198.51.100.11:0"),
    ({"af": AF_INET6, "fwmark": 7},
     {"family": "ipv6", "protocol": None, "address": None, "port": None, "fwmark": 7}, "fwmark/ipv6/7"),
])
def test_every_writer_of_a_service_key_agrees(raw, normalized, key):
    assert keys.raw_service_key(raw) == key
    assert model.service_key(normalized) == key
    assert model.parse_service_key(key.upper()) == key
    lvs = dict(normalized, vip=normalized["address"])
    assert _lvs_model.service_key(lvs) == key


@pytest.mark.parametrize("address, port, key", [
    ("198.51.100.21", 80, "198.51.100.21:80"),
    ("2001:db8::21", 8080, "[2001:db8::21]:8080"),
])
def test_destination_keys(address, port, key):
    assert keys.raw_destination_key({"addr": address, "port": port}) == key
    assert model.destination_key({"address": address, "port": port}) == key
    assert _lvs_model.destination_key(address, port) == key


def test_the_filters_model_never_imports_pyroute2():
    """The filter plugins run on the controller, where pyroute2 need not be installed."""
    code = (
        "import sys, builtins\n"
        "real = builtins.__import__\n"
        "def guard(name, *args, **kwargs):\n"
        "    if name.split('.')[0] == 'pyroute2' or name.endswith('_ipvs_netlink'):\n"
        "        raise ImportError('imported ' + name)\n"
        "    return real(name, *args, **kwargs)\n"
        "builtins.__import__ = guard\n"
        "from ansible_collections.lvs.cluster.plugins.module_utils import _lvs_model, _lvs_services, _lvs_views\n"
        "from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_keys\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path for path in sys.path if path))
    done = subprocess.run([sys.executable, "-c", code], env=env, timeout=120, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
