#!/bin/bash
# ansible-test sanity on the collection exactly as `make collection` built it (build/dist/*.tar.gz), with
# ansible-test's own pinned tool versions in virtualenvs. The tarball is installed outside this git checkout:
# inside it, ansible-test would list files through git, which ignores build/, and find nothing to test.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tarball=$(ls "$root"/build/dist/lvs-cluster-*.tar.gz 2>/dev/null | head -n 1)
[ -n "$tarball" ] || { echo "run 'make collection' first" >&2; exit 1; }
workdir=$(mktemp -d /tmp/lvs-sanity.XXXXXX)
trap 'rm -rf "$workdir"' EXIT
"$root/.venv/bin/ansible-galaxy" collection install --offline --no-deps --force -p "$workdir" "$tarball" >/dev/null 2>&1
collection="$workdir/ansible_collections/lvs/cluster"

# ansible-test bootstraps pip in its virtualenvs with a get-pip script downloaded from a host this network
# cannot reach, and documents saving the script to its cache instead. Ours bootstraps pip from the
# interpreter's ensurepip and then installs what ansible-test asks for from PyPI. ansible-core 2.19 pins pip 24.2.
cache="$HOME/.ansible/test/cache/get_pip_24_2.py"
if ! cmp -s "$root/tools/ansible_test_get_pip.py" "$cache"; then
    install -D -m 0644 "$root/tools/ansible_test_get_pip.py" "$cache"
fi

cd "$collection"
"$root/.venv/bin/ansible-test" sanity --python 3.11 --venv --color no "$@"
