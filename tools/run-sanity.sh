#!/bin/bash
# ansible-test sanity on the collection exactly as `make collection` built it (build/dist/*.tar.gz), with
# ansible-test's own pinned tool versions in virtualenvs. The tarball is installed outside this git checkout:
# inside it, ansible-test would list files through git, which ignores build/, and find nothing to test.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tarballs=("$root"/build/dist/lvs-cluster-*.tar.gz)
[ -f "${tarballs[0]}" ] || { echo "run 'make collection' first" >&2; exit 1; }
tarball=${tarballs[0]}
# ansible-test skips its shellcheck test, silently, when the command is missing: require it instead.
command -v shellcheck >/dev/null || { echo "shellcheck is missing: run 'make setup' (tools/setup-host.sh)" >&2; exit 1; }
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
status=0
"$root/.venv/bin/ansible-test" sanity --python 3.11 --venv --color no --junit "$@" || status=$?

# A skipped sanity test checked nothing, so it may not pass for one that ran. ansible-test reports a test that has
# nothing to check in this collection ("No tests applicable.") like one skipped for a missing tool or Python: accept
# the first only where the collection really holds no file of the kind the test checks, and refuse every other skip.
"$root/.venv/bin/python" - "$collection" <<'PYTHON' || status=1
import fnmatch
import glob
import os
import re
import sys
import xml.etree.ElementTree as ElementTree

collection = sys.argv[1]
# Sanity tests that only look at files of these names (ansible-test's filter_targets, or narrower).
KINDS = {"pslint": ("*.ps1", "*.psm1", "*.psd1"), "shellcheck": ("*.sh",), "empty-init": ("__init__.py",)}
present = set()
for directory, _subdirectories, files in os.walk(collection):
    if os.path.relpath(directory, collection).split(os.sep)[:2] != ["tests", "output"]:
        present.update(files)
results = sorted(glob.glob(os.path.join(collection, "tests/output/junit/*.xml")))
if not results:
    sys.exit("error: ansible-test wrote no results (tests/output/junit)")
refused = []
for path in results:
    for case in ElementTree.parse(path).iter("testcase"):
        skipped = case.find("skipped")
        if skipped is None:
            continue
        test = re.sub(r"-python-[0-9.]+$", "", case.get("name"))
        reason = skipped.get("message") or skipped.text or ""
        if reason == "No tests applicable." and test in KINDS and not [
                name for name in present for pattern in KINDS[test] if fnmatch.fnmatch(name, pattern)]:
            print("sanity test %s: not applicable (the collection has no %s file)" % (test, " ".join(KINDS[test])))
            continue
        refused.append("%s (%s)" % (test, reason))
if refused:
    sys.exit("error: ansible-test skipped sanity tests: %s" % "; ".join(refused))
PYTHON
exit "$status"
