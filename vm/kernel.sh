#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fetches the default amd64 kernel of a Debian suite (bullseye, bookworm,
# trixie, sid) from the Debian archive and unpacks its vmlinuz and modules.
# Usage: vm/kernel.sh SUITE DESTDIR   (prints DESTDIR/<release> on success)
# The result is cached: a second call for the same suite does nothing.
set -euo pipefail

suite=${1:?usage: kernel.sh SUITE DESTDIR}
dest=${2:?usage: kernel.sh SUITE DESTDIR}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
arch=amd64

mkdir -p "$dest"
if [ -s "$dest/$suite.release" ]; then
    release=$(cat "$dest/$suite.release")
    if [ -f "$dest/$release/vmlinuz" ]; then
        echo "$dest/$release"
        exit 0
    fi
fi

tmp=$(mktemp -d "$dest/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# The metapackage linux-image-<arch> depends on the versioned image package;
# its Filename in the same index is the .deb to fetch.
curl -fsS "$mirror/dists/$suite/main/binary-$arch/Packages.xz" | xz -d >"$tmp/Packages"
stanza() { awk -v RS= -v p="Package: $1" 'index($0, p "\n") == 1' "$tmp/Packages"; }
image=$(stanza "linux-image-$arch" | sed -n 's/^Depends: \(linux-image-[^ ,]*\).*/\1/p' | head -n1)
[ -n "$image" ] || { echo "kernel.sh: no linux-image-$arch in $suite" >&2; exit 1; }
file=$(stanza "$image" | sed -n 's/^Filename: //p' | head -n1)
[ -n "$file" ] || { echo "kernel.sh: no package $image in $suite" >&2; exit 1; }

curl -fsS -o "$tmp/kernel.deb" "$mirror/$file"
dpkg-deb -x "$tmp/kernel.deb" "$tmp/x"
vmlinuz=$(ls "$tmp"/x/boot/vmlinuz-* | head -n1)
release=${vmlinuz##*/vmlinuz-}
rm -rf "${dest:?}/$release"
mkdir -p "$dest/$release"
mv "$vmlinuz" "$dest/$release/vmlinuz"
mv "$tmp/x/lib/modules/$release" "$dest/$release/modules" 2>/dev/null ||
    mv "$tmp/x/usr/lib/modules/$release" "$dest/$release/modules"
printf '%s\n' "$release" >"$dest/$suite.release"
echo "$dest/$release"
