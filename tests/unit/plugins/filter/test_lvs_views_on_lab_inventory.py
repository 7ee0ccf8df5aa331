# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's generated inventory plus ``-i inventory/lab`` resolves through Ansible itself.

The inventory is rendered by ``tools/lvs_lab`` (``render_inventory``, default topology) exactly as ``lvs-lab up``
writes it, then ``ansible-playbook -i <it> -i inventory/lab`` runs the three filters on every host (no
connection: ``debug`` runs on the controller). The views must equal those the pure tests expect from the
hand-written mirror of the lab (lvs_lab_data), which this file also checks against the real rendering.
Skipped where tools/ is absent (the built collection does not ship it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

import ansible_collections.lvs.cluster as collection_package
from ansible_collections.lvs.cluster.tests.unit.plugins.filter.lvs_lab_data import (
    COLLECTION_ROOT,
    LAB_GROUPS,
    LAB_INTERFACES,
    LAB_INVENTORY,
)
from ansible_collections.lvs.cluster.tests.unit.plugins.filter.test_lvs_filters import views

TOOLS = os.path.join(COLLECTION_ROOT, "tools")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")

VIEW_PLAY = """
- name: Every host's view of the lab cluster
  hosts: all
  gather_facts: false
  tasks:
    - name: View
      ansible.builtin.debug:
        msg: >-
          {{ lvs_virtual_services | lvs.cluster.lvs_services(hostvars, groups)
             | lvs.cluster.lvs_director_view(hostvars, groups, inventory_hostname)
             if inventory_hostname in groups['directors'] else
             lvs_virtual_services | lvs.cluster.lvs_services(hostvars, groups)
             | lvs.cluster.lvs_real_server_view(hostvars, groups, inventory_hostname) }}
"""


@pytest.fixture(scope="module")
def lab_inventory_text():
    assert os.path.isdir(os.path.join(TOOLS, "lvs_lab")), "run these tests from the repository (tools/lvs_lab)"
    if TOOLS not in sys.path:
        sys.path.insert(0, TOOLS)
    from lvs_lab import inventory, paths, topology  # pylint: disable=import-error

    default = topology.load(paths.DEFAULT_TOPOLOGY)
    return inventory.render_inventory(default, "pytest-model", "/state/id_ed25519", "/state/known_hosts")


def test_mirror_matches_the_rendered_inventory(lab_inventory_text):
    document = yaml.safe_load(lab_inventory_text)["all"]
    rendered = dict(
        (host, [(i["name"], i["network"], i["addresses"]) for i in values["lvs_lab_interfaces"]])
        for host, values in document["hosts"].items()
    )
    assert rendered == LAB_INTERFACES
    assert dict((group, list(members["hosts"])) for group, members in document["children"].items()) == LAB_GROUPS


def run_playbook(tmp_path, inventory_text, extra=()):
    assert os.path.exists(ANSIBLE_PLAYBOOK), "ansible-playbook must be next to this Python (the project's .venv)"
    (tmp_path / "inventory.yml").write_text(inventory_text)
    (tmp_path / "play.yml").write_text(VIEW_PLAY)
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    tree = os.path.dirname(os.path.dirname(os.path.dirname(list(collection_package.__path__)[0])))
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=tree,
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        ANSIBLE_HOME=str(tmp_path / "home"),
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"),
        ANSIBLE_NOCOLOR="1",
    )
    command = [ANSIBLE_PLAYBOOK, "-i", str(tmp_path / "inventory.yml"), "-i", LAB_INVENTORY,
               str(tmp_path / "play.yml")] + list(extra)
    process = subprocess.run(command, cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             universal_newlines=True, timeout=300, check=False)
    assert "WARNING" not in process.stderr, process.stderr
    return process.returncode, json.loads(process.stdout), process.stderr


def test_lab_inventory_resolves_through_ansible(tmp_path, lab_inventory_text):
    returncode, output, stderr = run_playbook(tmp_path, lab_inventory_text)
    assert returncode == 0, (output, stderr)
    results = output["plays"][0]["tasks"][0]["hosts"]
    assert sorted(results) == sorted(LAB_INTERFACES)
    expected = views()
    for host, result in results.items():
        assert result["msg"] == expected[host], host
    assert results["rs3"]["msg"]["tun"]["vips"][0]["cidr"] == "198.51.100.101/32"
    assert results["director2"]["msg"]["vrrp_instances"][0]["state"] == "BACKUP"


def test_lab_inventory_error_names_the_item_through_ansible(tmp_path, lab_inventory_text):
    bad = {"lvs_virtual_services": [{"name": "web", "vip": "198.51.100.100", "port": 80, "forwarding": "nat",
                                     "real_servers": [{"host": "rs3"}]}]}
    returncode, output, stderr = run_playbook(tmp_path, lab_inventory_text, ["-e", json.dumps(bad)])
    assert returncode != 0
    results = output["plays"][0]["tasks"][0]["hosts"]
    assert results["rs1"]["failed"] is True
    assert ("lvs_virtual_services[0] (web).real_servers[0].host: host rs3 has no IPv4 address on an inside network "
            "with a NAT gateway (lvs_nat_gateways: 198.18.1.0/24)") in results["rs1"]["msg"], (results, stderr)
