#!/bin/bash
# `make test`: everything, in order of cost. Stops at the first failure; a lab that cannot start is a failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$root/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$root/ansible.cfg"

step() { printf '\n=== %s ===\n' "$*"; }

step "lab image (built once, then cached by its recipe hash)"
tools/lvs-lab build

pytest_log=$(mktemp)
trap 'rm -f "$pytest_log"' EXIT
# pytest on the given paths. A skipped test proves nothing: every test must run here (root, the lab image,
# pyroute2, nft are all provided).
run_pytest() {
    python -m pytest -q -p no:cacheprovider -rs "$@" | tee "$pytest_log"
    if grep -qE '[0-9]+ skipped' "$pytest_log"; then
        echo "error: tests were skipped; make every prerequisite available instead" >&2
        exit 1
    fi
}

step "unit tests: the lab tool and the collection's module_utils/modules (pytest)"
run_pytest tools/tests tests/unit

step "ansible-galaxy collection build + install"
make --no-print-directory collection

step "controller tests: the director's nftables rules rendered by the role and loaded into this host's kernel (own netns)"
run_pytest tests/controller

step "ansible-test sanity"
tools/run-sanity.sh

step "ansible-lint"
ansible-lint

step "changelog fragments (antsibull-changelog lint)"
antsibull-changelog lint

step "Molecule scenarios on the lab (each on its own lab, LVS_MOLECULE_JOBS at a time, default 2)"
tools/run-molecule.py
