#!/bin/sh
# Ansible Vault client script for the throw-away lab's own secrets (vault id "lab"): the Molecule scenarios run
# ansible with --vault-id lab@tools/lab-vault-client.sh (ANSIBLE_VAULT_IDENTITY_LIST in molecule.yml), so their
# vault-encrypted lab secrets are read with no input. The password is public on purpose: it protects nothing but
# proves that the roles work with secrets that come out of a vault. Never use the "lab" id for real secrets.
set -eu
id=lab
while [ $# -gt 0 ]; do
    case "$1" in
        --vault-id) id="${2:-}"; shift 2 || shift ;;
        --vault-id=*) id="${1#--vault-id=}"; shift ;;
        *) shift ;;
    esac
done
if [ "$id" != lab ]; then
    echo "lab-vault-client.sh: only the lab vault id 'lab' is known here, not '$id'" >&2
    exit 2
fi
echo "lvs-lab-vault-not-secret"
