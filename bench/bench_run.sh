#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2034 # ENG_* are read by integration/lib/engines.sh
# udocker run in mode R1 against bubblewrap on the same container root with
# the same binds (uid 0 in a new user namespace, /proc, /dev, /sys, the
# R-mode system files, the probe directory), timed by hyperfine -N side by
# side: (a) /bin/true, the cost of starting a container; (b) 300 fork+exec
# of /bin/true inside (integration/probes/16-forkexec.sh), the cost of the
# engine on a running process. Runs as an ordinary user (BENCH_USER, or
# udtest when started as root). Root: Debian minbase (built once by
# mmdebstrap, or BENCH_DEBIAN_TAR) unless BENCH_ROOT=busybox.
# Usage: bench_run.sh [UDOCKER_BINARY]   (env: RUNS=30, BENCH_LIMIT=900 s)
# Goals: (a) R1 / bwrap <= 1.3, (b) R1 / bwrap <= 1.1.
set -euo pipefail
export BENCH_REG_SCHEME=${BENCH_REG_SCHEME:-http}
. "$(dirname "$0")/common.sh"
. "$REPO_DIR/integration/lib/engines.sh"
. "$REPO_DIR/integration/lib/benchroot.sh"
br_user
bench_init "${1:-}" "${BENCH_LIMIT:-900}"
RUNS=${RUNS:-30}
ROOTFS=${BENCH_ROOT:-debian}
command -v bwrap >/dev/null || die "bwrap is not installed (apt install bubblewrap)"
command -v hyperfine >/dev/null || die "hyperfine is not installed"

registry_start
br_push "$ROOTFS"
mktemp_dir UDOCKER_DIR
mktemp_dir WORK
br_probes
br_container "$ROOTFS" cr1 R1
ud run --nobanner cr1 /bin/true || die "udocker run in R1 does not work here"

ud_argv
UDRUN="$(br_join "${UD_ARGV[@]}") run --nobanner -v $PROBES:/probes cr1"
ENG_BINDS=("$PROBES:/probes")
ENG_ENV=(PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root)
bwrap_argv "$BR_ROOT" /root
ASU=()
[ -n "${BENCH_USER:-}" ] && ASU=(setpriv --reuid="$BENCH_USER" --regid="$(id -g "$BENCH_USER")" --clear-groups)
BWRAP="$(br_join "${ASU[@]}" "${ENG_ARGV[@]}")"
# The same check as the test suite, so that both run the same work.
[ "$($BWRAP /bin/sh /probes/16-forkexec.sh)" = 300 ] || die "the loop does not run under bwrap"
[ "$($UDRUN /bin/sh /probes/16-forkexec.sh)" = 300 ] || die "the loop does not run under R1"

log "(a) /bin/true, $RUNS runs each"
br_hyperfine "$RUNS" 3 "$WORK/true.json" "r1=$UDRUN /bin/true" "bwrap=$BWRAP /bin/true"
a_r1=${MEAN[r1]} a_bw=${MEAN[bwrap]}
log "(b) 300 fork+exec, $RUNS runs each"
br_hyperfine "$RUNS" 2 "$WORK/loop.json" "r1=$UDRUN /bin/sh /probes/16-forkexec.sh" \
    "bwrap=$BWRAP /bin/sh /probes/16-forkexec.sh"
b_r1=${MEAN[r1]} b_bw=${MEAN[bwrap]}
ra=$(calc "$a_r1 / $a_bw")
rb=$(calc "$b_r1 / $b_bw")
ms() { calc "$1 * 1000"; }
echo "root: $ROOTFS ($BR_ROOT), user: ${BENCH_USER:-$(id -un)}, hyperfine -N --runs $RUNS"
echo "R1:    $UDRUN CMD"
echo "bwrap: $BWRAP CMD"
echo "(a) /bin/true:          R1 $(ms "$a_r1") ms, bwrap $(ms "$a_bw") ms -> ratio $ra (goal <= 1.3)"
echo "(b) 300 fork+exec loop: R1 $(ms "$b_r1") ms, bwrap $(ms "$b_bw") ms -> ratio $rb (goal <= 1.1)"
result bench=run root="$ROOTFS" true_r1_ms="$(ms "$a_r1")" true_bwrap_ms="$(ms "$a_bw")" true_ratio="$ra" \
    loop_r1_ms="$(ms "$b_r1")" loop_bwrap_ms="$(ms "$b_bw")" loop_ratio="$rb"
