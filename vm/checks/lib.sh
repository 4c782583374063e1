# SPDX-License-Identifier: Apache-2.0
# Sourced by the guest checks: a busybox root, an unprivileged user and a
# way to run the built udocker as that user with a chosen execution mode.
# shellcheck shell=bash
set -uo pipefail

build=$(cd "${1:?usage: CHECK BUILD_DIR}" && pwd)
udocker=$build/apps/udocker/udocker
[ -x "$udocker" ] || { echo "no udocker in $build"; exit 77; }
fails=0

work=$(mktemp -d /tmp/vmcheck.XXXXXX)
chmod 0755 "$work"
root=$work/root
mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$work/home"
cp /bin/busybox "$root/bin/busybox"
for a in sh id echo cat true ls sleep; do ln -s busybox "$root/bin/$a"; done
echo "root:x:0:0:root:/:/bin/sh" >"$root/etc/passwd"
echo "root:x:0:" >"$root/etc/group"
chown -R 65534:65534 "$work"

# ud MODE ARGS...: udocker as uid 65534 with MODE as the default mode;
# stdout in $work/out, stderr in $work/err, the status in $rc.
ud() {
    local mode=$1
    shift
    setpriv --reuid 65534 --regid 65534 --clear-groups \
        env -i PATH=/usr/bin:/bin HOME="$work/home" UDOCKER_DIR="$work/home/.udocker" \
        UDOCKER_DEFAULT_EXECUTION_MODE="$mode" "$udocker" "$@" \
        >"$work/out" 2>"$work/err"
    rc=$?
}

ok() { echo "ok: $*"; }
bad() {
    echo "FAIL: $*"
    echo "  stdout: $(head -c 600 "$work/out")"
    echo "  stderr: $(head -c 600 "$work/err")"
    fails=$((fails + 1))
}

# The mode is built in and this kernel can run it.
mode_runs() {
    ud "$1" run --nobanner --location="$root" /bin/true
    [ "$rc" -eq 0 ]
}

# The mode is not compiled into this udocker.
mode_missing() {
    grep -qi "not available" "$work/err"
}

finish() {
    rm -rf "$work"
    [ "$fails" -eq 0 ] || exit 1
    exit 0
}
