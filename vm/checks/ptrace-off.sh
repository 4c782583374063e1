#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# ptrace forbidden (kernel.yama.ptrace_scope=3): P1 and P2 must refuse with
# a reason that names ptrace, and auto must still run the command (R1).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"

[ "$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null)" = 3 ] || { echo "yama ptrace_scope=3 not applied"; exit 77; }
for mode in P1 P2; do
    ud "$mode" run --nobanner --location="$root" /bin/true
    if mode_missing; then
        echo "skip: $mode is not built"
        continue
    fi
    if [ "$rc" -ne 0 ] && grep -qi "ptrace" "$work/err"; then
        ok "$mode refused: $(head -n 1 "$work/err")"
    else
        bad "$mode with ptrace forbidden (exit $rc)"
    fi
done
ud auto run --nobanner --location="$root" /bin/sh -c 'echo auto'
if [ "$rc" -eq 0 ] && grep -qx auto "$work/out"; then
    ok "auto chose an engine that works"
else
    bad "auto with ptrace forbidden (exit $rc)"
fi
finish
