#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian packages needed to build udocker and run its tests.
# As root it uses apt-get; otherwise it lists what is missing and stops.
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang clang-format
  libcurl4-openssl-dev libarchive-dev libjansson-dev libcmocka-dev libssl-dev
  libzstd-dev zlib1g-dev
  docker-registry busybox-static apache2-utils openssl zstd python3 curl ca-certificates
  util-linux passwd tar gzip hyperfine
  libseccomp-dev bubblewrap runc crun proot uidmap mmdebstrap skopeo qemu-user-static
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "missing packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
