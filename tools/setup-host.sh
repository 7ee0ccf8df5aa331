#!/bin/sh
# Install the Debian packages the lab and the tests need on the controller (Debian 12). Idempotent: runs
# apt-get only when something is missing.
set -eu
# gcc and libc6-dev build the lab's xstate shim (tools/lvs_lab/native), preloaded into every UML guest.
# ansible-test sanity runs ShellCheck (package shellcheck); tools/run-sanity.sh fails when it is missing.
packages="user-mode-linux mmdebstrap e2fsprogs iproute2 procps openssh-client python3 python3-venv
          ca-certificates make git nftables gcc libc6-dev shellcheck"
missing=""
for package in $packages; do
    status=$(dpkg-query -W -f '${db:Status-Status}' "$package" 2>/dev/null || true)
    [ "$status" = installed ] || missing="$missing $package"
done
if [ -z "$missing" ]; then
    echo "host packages: all present"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages:$missing -- run 'make setup' as root" >&2
    exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
