#!/usr/bin/env bash
# One idempotent set-up step for a fresh machine (Debian): system packages, .venv, tools.
# Safe to run again: each part is skipped when it is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  redis-server prometheus wrk
  # Real nodes of the local cluster: container runtime, CNI bridge, Service rules.
  containerd runc containernetworking-plugins iptables conntrack iproute2
  # Images without Docker: a Debian base rootfs and rootful podman/buildah builds.
  mmdebstrap podman buildah uidmap
  # The drift report is checked in a real headless browser.
  chromium
)
PYTHON=${PYTHON:-python3}

say() { printf '\033[1msetup:\033[0m %s\n' "$*" >&2; }

install_system_packages() {
  local missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  say "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  # Debian's maintainer scripts would start redis and prometheus as daemons; the
  # project starts its own on free ports, so keep the default ones from starting.
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  $sudo rm -f /usr/sbin/policy-rc.d
}

install_python_packages() {
  # Reinstall only when the dependency list changed; pip's cache serves the wheels.
  local stamp=.venv/.sextant-installed
  local want
  want=$(sha256sum pyproject.toml | cut -d' ' -f1)
  if [ -x .venv/bin/sextant ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return
  fi
  [ -x .venv/bin/python ] || { say "creating .venv"; "$PYTHON" -m venv .venv; }
  say "installing sextant and its extras into .venv (torch brings CUDA libraries: the first run is long)"
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet -e '.[all]'
  echo "$want" > "$stamp"
}

install_system_packages
install_python_packages
# The local control plane's binaries from Go modules; cached, so only the first run is long.
.venv/bin/sextant cluster build
# The S3-compatible server (versitygw) the s3:// tests run against, from Go modules; cached.
.venv/bin/python -m sextant.devenv.s3 build >/dev/null
# Sextant's images (pause, operator, runtime) as OCI archives for the real nodes; cached.
.venv/bin/sextant images build
say "ready: .venv/bin/sextant $(.venv/bin/sextant --version | awk '{print $NF}')"
