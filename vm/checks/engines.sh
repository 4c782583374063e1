#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Default kernel settings: the engines' unit tests, then a command in each
# execution mode through the real CLI as an unprivileged user.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"

uname -r
if ctest --test-dir "$build" -L unit -R '^unit\.(engine|runc-rootless|ptrace-proot)\.' \
    --output-on-failure >"$work/ctest" 2>&1; then
    ok "engine unit tests"
else
    cat "$work/ctest"
    fails=$((fails + 1))
fi

for mode in R1 P1 P2 auto; do
    ud "$mode" run --nobanner --location="$root" /bin/sh -c 'id -u; echo in; exit 5'
    if [ "$rc" -ne 5 ] && mode_missing; then
        echo "skip: $mode is not built"
        continue
    fi
    if [ "$rc" -eq 5 ] && grep -qx in "$work/out" && grep -qx 0 "$work/out"; then
        ok "$mode runs as root inside and returns the status"
    else
        bad "$mode: expected 'in' and exit 5, got $rc"
    fi
done
finish
