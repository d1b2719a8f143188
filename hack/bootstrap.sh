#!/usr/bin/env bash
# Installs what `make test`, `make bench` and `make demo` need on a fresh Debian machine:
# the OS packages, then a virtualenv (outside the repo, keyed by the requirements' hash) with
# the pinned Python dependencies and the agent installed in editable mode.
# Usage: hack/bootstrap.sh VENV_DIR
set -euo pipefail
venv=${1:?usage: bootstrap.sh VENV_DIR}
repo=$(cd "$(dirname "$0")/.." && pwd)

apt_packages=(iproute2 util-linux procps kmod openssl gcc libc6-dev libseccomp-dev pkg-config
              busybox-static python3-venv python3-dev git tar)
missing=()
for p in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "bootstrap: installing OS packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# A virtualenv cannot be moved (its scripts name their interpreter by path), so it is built
# in place and marked complete last; an interrupted build is thrown away next time.
if [[ ! -e $venv/.complete ]]; then
    echo "bootstrap: creating virtualenv $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --upgrade pip
    "$venv/bin/pip" install -q -r "$repo/requirements/dev.txt"
    touch "$venv/.complete"
fi
# Editable install every time: cheap, and it regenerates the gRPC stubs from proto/.
"$venv/bin/pip" install -q --no-deps --no-build-isolation -e "$repo/agent"
