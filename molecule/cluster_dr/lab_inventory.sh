#!/bin/sh
# Ansible script inventory for the scenario (linked as the inventory's `hosts`): the inventory of the running lab,
# printed by lab_inventory.py next to this file's real path.
here=$(dirname "$(readlink -f "$0")")
exec python3 "$here/lab_inventory.py" "$@"
