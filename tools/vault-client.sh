#!/bin/sh
# Ansible Vault client script for a real inventory (README, "Secrets and Ansible Vault"):
#   ansible-playbook --vault-id lvs@tools/vault-client.sh -i inventory/example playbooks/site.yml
# prints the password of the vault id asked for (--vault-id ID, default "lvs"), read from
#   $LVS_VAULT_PASSWORD_FILE, or else ~/.config/lvs-cluster/vault-ID.pass
# The file must be owned by the user running ansible and readable by nobody else (mode 0600 or 0400), and must
# not lie inside a git work tree (it would be one "git add" away from being committed).
set -eu
id=lvs
while [ $# -gt 0 ]; do
    case "$1" in
        --vault-id) id="${2:-}"; shift 2 || shift ;;
        --vault-id=*) id="${1#--vault-id=}"; shift ;;
        *) shift ;;
    esac
done
case "$id" in
    ''|*/*|.*) echo "vault-client.sh: invalid vault id '$id'" >&2; exit 2 ;;
esac
file="${LVS_VAULT_PASSWORD_FILE:-${XDG_CONFIG_HOME:-$HOME/.config}/lvs-cluster/vault-$id.pass}"
if [ ! -f "$file" ]; then
    echo "vault-client.sh: no password file $file for vault id '$id' (create it with mode 0600, or set LVS_VAULT_PASSWORD_FILE)" >&2
    exit 1
fi
mode=$(stat -c %a "$file")
owner=$(stat -c %u "$file")
case "$mode" in
    600|400) ;;
    *) echo "vault-client.sh: $file has mode $mode; make it 0600 (chmod 600 '$file')" >&2; exit 1 ;;
esac
if [ "$owner" != "$(id -u)" ]; then
    echo "vault-client.sh: $file is not owned by the user running ansible" >&2
    exit 1
fi
dir=$(dirname "$file")
if git -C "$dir" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    echo "vault-client.sh: $file lies inside a git work tree; keep vault passwords outside any repository" >&2
    exit 1
fi
head -n 1 "$file"
