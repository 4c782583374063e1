#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# dpkg -i of a real package as root inside a Debian container in P1: the
# Debian minbase root of lib/rootfs.sh, the package "hello" fetched on the
# host with apt-get download (as root, before any udocker call; cached),
# given to the container in a volume. dpkg unpacks, chowns to root, runs
# its maintainer scripts; then the program runs and dpkg -s says installed.
# Skipped without the Debian root, without the package (no apt lists, no
# network, a host that is not Debian <suite>), or when P1 cannot run here.
# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=lib/registry.sh
. "$(dirname "$0")/lib/registry.sh"
# shellcheck source=lib/rootfs.sh
. "$(dirname "$0")/lib/rootfs.sh"
# shellcheck source=lib/run.sh
. "$(dirname "$0")/lib/run.sh"
it_init "${1:-}"
need_run
need_debian

# hello_deb: the package, from the host's apt (whose suite must be the
# container's, so its dependencies are met there). Sets HELLO_DEB or
# returns 1 with HELLO_WHY.
hello_deb() {
    local d=$IT_CACHE/debs/$DEBIAN_SUITE
    HELLO_DEB=$(find "$d" -maxdepth 1 -name 'hello_*.deb' 2>/dev/null | head -n1)
    [ -n "$HELLO_DEB" ] && return 0
    command -v apt-get >/dev/null || { HELLO_WHY="apt-get is not installed"; return 1; }
    local codename
    # shellcheck disable=SC1091
    codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
    if [ "$codename" != "$DEBIAN_SUITE" ]; then
        HELLO_WHY="the host is not Debian $DEBIAN_SUITE (${codename:-unknown}): its hello may not install there"
        return 1
    fi
    [ "$(id -u)" = 0 ] || { HELLO_WHY="apt-get download runs as root in this test"; return 1; }
    mkdir -p "$d"
    local out
    # -o APT::Sandbox::User=root: the cache may not be readable by _apt.
    out=$(cd "$d" && timeout 120 apt-get -q -o APT::Sandbox::User=root download hello 2>&1) || {
        HELLO_WHY="apt-get download hello: $(printf '%s\n' "$out" | grep -m1 -E '^E:' || printf '%s' "$out" | tail -n1)"
        return 1
    }
    HELLO_DEB=$(find "$d" -maxdepth 1 -name 'hello_*.deb' | head -n1)
    [ -n "$HELLO_DEB" ] || { HELLO_WHY="apt-get download hello left no .deb"; return 1; }
}
hello_deb || skip "$HELLO_WHY"

PKGS=$IT_U/pkgs
mkdir -p "$PKGS"
cp "$HELLO_DEB" "$PKGS/"
[ "$(id -u)" = 0 ] && chown -R udtest: "$PKGS"
DEB=$(basename "$HELLO_DEB")

rootfs_debian cdpkg || skip "$DEBIAN_WHY"
if ! mode_usable P1 cdpkg; then
    [ "$IT_FAILS" = 0 ] || die "P1 does not run: $MODE_WHY"
    skip "P1: $MODE_WHY"
fi

ud run --nobanner cdpkg /bin/sh -c 'command -v hello || echo absent'
expect_stdout_line absent

UD_TIMEOUT=300 ud run --nobanner -v "$PKGS:/pkgs" cdpkg dpkg -i "/pkgs/$DEB"
expect_rc 0
expect_stdout_match '^Setting up hello '
expect_stderr_lacks 'error'

ud run --nobanner cdpkg hello
expect_rc 0
expect_stdout_line "Hello, world!"

ud run --nobanner cdpkg dpkg -s hello
expect_rc 0
expect_stdout_line "Status: install ok installed"

# What dpkg left is the caller's on the host, and root's inside.
check "the installed program is in ROOT" [ -x "$RF_ROOT/usr/bin/hello" ]
check "owned by the caller on the host" [ "$(stat -c %u "$RF_ROOT/usr/bin/hello" 2>/dev/null)" = "$IT_UID" ]
ud run --nobanner cdpkg /bin/sh -c 'stat -c "%u %g %a" /usr/bin/hello; dpkg -L hello | grep -c /usr/share/doc/hello'
expect_rc 0
expect_stdout_line "0 0 755"

# Removal runs its scripts too.
ud run --nobanner cdpkg dpkg -r hello
expect_rc 0
check "removed from ROOT" [ ! -e "$RF_ROOT/usr/bin/hello" ]

it_done
