#!/bin/bash
# `make test`: everything. The Molecule scenarios run in the background while the cheaper checks run; the first
# failure stops everything; a lab that cannot start is a failure.
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

# First, alone: the lab tool's tests time real lab start-ups and interrupts, which a busy machine would skew.
step "unit tests: the lab tool and the collection's module_utils/modules (pytest)"
run_pytest tools/tests tests/unit

step "ansible-galaxy collection build + install"
make --no-print-directory collection

# The Molecule scenarios take most of the time and much of it is spent waiting on guests: they start now and run
# while the checks below (no lab, no timing) use the CPU. A failed check stops them (run-molecule.py stops on
# SIGTERM and destroys its labs); their summary is printed at the end.
step "Molecule scenarios on the lab, in the background (each on its own lab, LVS_MOLECULE_JOBS at a time, default 2)"
molecule_out=build/molecule.out
tools/run-molecule.py >"$molecule_out" 2>&1 &
molecule_pid=$!
# shellcheck disable=SC2317  # called from the EXIT trap
stop_molecule() {
    if kill -0 "$molecule_pid" 2>/dev/null; then
        echo "stopping the Molecule scenarios (a check failed or the run was interrupted)" >&2
        kill -TERM "$molecule_pid"
        wait "$molecule_pid" || true
        cat "$molecule_out" >&2
    fi
}
trap 'stop_molecule; rm -f "$pytest_log"' EXIT

step "controller tests: the director's nftables rules rendered by the role and loaded into this host's kernel (own netns)"
run_pytest tests/controller

step "ansible-test sanity"
tools/run-sanity.sh

step "ansible-lint"
ansible-lint

step "changelog fragments (antsibull-changelog lint)"
antsibull-changelog lint

step "Molecule scenarios (started above): their output so far, then as it comes"
tail -n +1 -f --pid="$molecule_pid" "$molecule_out"
status=0
wait "$molecule_pid" || status=$?
trap 'rm -f "$pytest_log"' EXIT
exit "$status"
