# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible script inventory: the inventory `lvs-lab up` wrote for lab $LVS_MOLECULE_LAB, as JSON.

Molecule links it into the scenario's inventory so each host gets its `lvs_lab_interfaces` (what the data model
reads through inventory/lab/group_vars/all/lvs_lab.yml). Before `create` and after `destroy` the lab is not
running: the inventory is then empty, so Molecule's own steps still work.
"""

import json
import os
import subprocess
import sys

EMPTY = {"_meta": {"hostvars": {}}}


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--host":
        print("{}")
        return 0
    lab = os.environ.get("LVS_MOLECULE_LAB")
    project = os.environ.get("MOLECULE_PROJECT_DIRECTORY")
    if not lab or not project:
        print(json.dumps(EMPTY))
        return 0
    result = subprocess.run(
        [os.path.join(project, "tools", "lvs-lab"), "inventory", "--name", lab, "--format", "path"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, universal_newlines=True, check=False,
    )
    path = result.stdout.strip()
    if result.returncode != 0 or not os.path.isfile(path):
        print(json.dumps(EMPTY))
        return 0
    import yaml  # pylint: disable=import-outside-toplevel  # Ansible's own dependency

    document = yaml.safe_load(open(path))["all"]
    hostvars = dict((name, dict(values or {})) for name, values in (document.get("hosts") or {}).items())
    inventory = {"_meta": {"hostvars": hostvars}, "all": {"hosts": sorted(hostvars), "vars": {}}}
    for group, members in (document.get("children") or {}).items():
        inventory[group] = {"hosts": sorted((members or {}).get("hosts") or {})}
    print(json.dumps(inventory))
    return 0


if __name__ == "__main__":
    sys.exit(main())
