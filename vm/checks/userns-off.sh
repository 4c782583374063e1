#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# User namespaces forbidden (user.max_user_namespaces=0): R1 must refuse
# with a one-line reason that names user namespaces, and auto must choose
# another engine when one is built.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"

[ "$(cat /proc/sys/user/max_user_namespaces)" = 0 ] || { echo "sysctl not applied"; exit 1; }
ud R1 run --nobanner --location="$root" /bin/true
if [ "$rc" -ne 0 ] && grep -qi "user namespace" "$work/err" && [ "$(wc -l <"$work/err")" -le 2 ]; then
    ok "R1 refused: $(head -n 1 "$work/err")"
else
    bad "R1 with user namespaces forbidden (exit $rc)"
fi
if mode_runs P1; then
    ud auto run --nobanner --location="$root" /bin/sh -c 'echo auto'
    if [ "$rc" -eq 0 ] && grep -qx auto "$work/out"; then
        ok "auto fell back to another engine"
    else
        bad "auto with user namespaces forbidden (exit $rc)"
    fi
else
    ud auto run --nobanner --location="$root" /bin/true
    if [ "$rc" -ne 0 ] && grep -qi "user namespace" "$work/err"; then
        ok "auto reports why nothing works"
    else
        bad "auto with no working engine (exit $rc)"
    fi
fi
finish
