#!/bin/bash
# make drill: the fault drill (issue 12) on a default lab of its own: up, playbooks/site.yml, the drill's events
# (DRILL_EVENTS: "all", the default, "ci", or names from `tools/lvs-drill --list` separated by commas), site.yml
# again (changed=0 on every host), down. The lab is removed however the drill ends.
set -euo pipefail
cd "$(dirname "$0")/.."
name=${DRILL_LAB:-drill}
events=${DRILL_EVENTS:-all}
started=$(date +%s)
tools/lvs-lab up --name "$name"
trap 'tools/lvs-lab down --name "$name"' EXIT
ansible-playbook -i "$(tools/lvs-lab inventory --name "$name")" -i inventory/lab playbooks/site.yml
echo "drill lab $name converged in $(( $(date +%s) - started )) s"
tools/lvs-drill --name "$name" --events "$events" --site-yml
echo "make drill finished in $(( $(date +%s) - started )) s"
