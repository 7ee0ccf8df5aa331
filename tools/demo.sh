#!/bin/bash
# `make demo`: build the lab image (cached), boot the lab and show it. Until the cluster roles land this shows
# the lab itself: every guest reachable with Ansible, each running a real 6.1 kernel with IPVS.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
name="${1:-default}"
cd "$root"
export PATH="$root/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$root/ansible.cfg"
lab="$root/tools/lvs-lab"

if "$lab" status --name "$name" >/dev/null 2>&1; then
    echo "lab $name is already running"
else
    "$lab" up --name "$name"
fi
inventory=$("$lab" inventory --name "$name")
echo
"$lab" status --name "$name"
echo
ansible-playbook -i "$inventory" playbooks/lab_info.yml
echo
echo "The lab stays up. Try:"
echo "  ansible all -i $inventory -m ping"
echo "  $lab ssh --name $name director1"
echo "  $lab exec --name $name -- ip -br addr"
echo "Stop it with: make lab-down LAB_NAME=$name"
