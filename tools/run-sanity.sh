#!/bin/bash
# ansible-test sanity on the collection exactly as `make collection` built and installed it
# (build/ansible_collections/lvs/cluster), with ansible-test's own pinned tool versions in virtualenvs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
collection="$root/build/ansible_collections/lvs/cluster"
[ -d "$collection" ] || { echo "run 'make collection' first" >&2; exit 1; }
cd "$collection"
exec "$root/.venv/bin/ansible-test" sanity --python 3.11 --venv --color no "$@"
