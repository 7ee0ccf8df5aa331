#!/bin/bash
# `make demo`: build the lab image (cached), boot the lab, converge the cluster with playbooks/site.yml from the
# one data model (inventory/lab), and show traffic through the VIP. Leaves the lab running.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
name="${1:-default}"
cd "$root"
export PATH="$root/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$root/ansible.cfg"
lab="$root/tools/lvs-lab"
vip=198.51.100.100

if "$lab" status --name "$name" >/dev/null 2>&1; then
    echo "lab $name is already running"
else
    "$lab" up --name "$name"
fi
inventory=$("$lab" inventory --name "$name")
echo
"$lab" status --name "$name"


echo
echo "=== converging the cluster: ansible-playbook -i <lab> -i inventory/lab playbooks/site.yml ==="
make --no-print-directory collection >/dev/null
ansible-playbook -i "$inventory" -i inventory/lab playbooks/site.yml | tail -n 12

echo
echo "=== the IPVS table on the director holding $vip ==="
# A freshly (re)started keepalived spends a few advert intervals as BACKUP before one director claims the VIP.
master=""
for _ in $(seq 30); do
    for director in director1 director2; do
        if "$lab" ssh --name "$name" "$director" ip -br addr | grep -q " $vip/"; then
            master=$director
            break 2
        fi
    done
    sleep 1
done
if [ -z "$master" ]; then
    echo "error: no director holds $vip after 30 s; look at: $lab ssh --name $name director1 journalctl -u keepalived" >&2
    exit 1
fi
echo "$master is the VRRP master"
"$lab" ssh --name "$name" "$master" ipvsadm -Ln

echo
echo "=== 6 requests from the client side (the lab namespace) to http://$vip/ ==="
for _ in 1 2 3 4 5 6; do
    printf '  %s\n' "$("$lab" exec --name "$name" -- curl -s --max-time 5 "http://$vip/")"
done

echo
echo "=== the cluster report: ansible-playbook ... playbooks/report.yml (make report) ==="
report_dir="${LVS_REPORT_DIR:-$HOME/.cache/lvs-cluster/report}"
report_log=$(mktemp)
if ! ansible-playbook -i "$inventory" -i inventory/lab playbooks/report.yml -e lvs_report_dir="$report_dir" \
        >"$report_log" 2>&1; then
    tail -n 40 "$report_log" >&2
    rm -f "$report_log"
    exit 1
fi
rm -f "$report_log"
cat "$report_dir/report.txt"
echo "table, JSON and SVG picture: $report_dir/report.txt, report.json, topology.svg"

echo
echo "The lab stays up. Try:"
echo "  ansible all -i $inventory -m ping"
echo "  $lab ssh --name $name director1 ipvsadm -Ln --stats"
echo "  $lab exec --name $name -- curl -s http://$vip/"
echo "  make drift LAB_NAME=$name      # the cluster against the inventory (read-only)"
echo "Stop it with: make lab-down LAB_NAME=$name"
