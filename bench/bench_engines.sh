#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2034 # ENG_* are read by integration/lib/engines.sh
# The ptrace engine against PRoot and bubblewrap, side by side on the Debian
# minbase root (~8,000 entries under /usr): (c) `find /usr` and 300 fork+exec
# of /bin/true (integration/probes/16-forkexec.sh) under udocker P1, P2, the
# host's PRoot (`proot -r ROOT -b /dev -b /proc -b /sys ... -0 CMD`) and
# bwrap, timed by hyperfine -N; (d) the peak RSS (ud_maxrss) of udocker P1
# and of PRoot while 100 traced processes live at once. Runs as an ordinary
# user (BENCH_USER, or udtest when started as root).
# Usage: bench_engines.sh [UDOCKER_BINARY]
#        (env: RUNS=10, BENCH_LIMIT=1200 s, BENCH_DEBIAN_TAR=FILE)
# Goals: P1 <= 1/5 of PRoot's time on find, <= 1/3 on the exec loop.
set -euo pipefail
export BENCH_REG_SCHEME=${BENCH_REG_SCHEME:-http}
. "$(dirname "$0")/common.sh"
. "$REPO_DIR/integration/lib/engines.sh"
. "$REPO_DIR/integration/lib/benchroot.sh"
br_user
bench_init "${1:-}" "${BENCH_LIMIT:-1200}"
RUNS=${RUNS:-10}
for t in bwrap proot hyperfine; do
    command -v $t >/dev/null || die "$t is not installed"
done

registry_start
br_push debian
mktemp_dir UDOCKER_DIR
mktemp_dir WORK
br_probes
br_container debian cp2 P2
br_container debian cp1 P1
ud run --nobanner cp1 /bin/true || die "udocker run in P1 does not work here"
ud run --nobanner cp2 /bin/true || die "udocker run in P2 does not work here"

ud_argv
UD1="$(br_join "${UD_ARGV[@]}") run --nobanner -v $PROBES:/probes cp1"
UD2="$(br_join "${UD_ARGV[@]}") run --nobanner -v $PROBES:/probes cp2"
ASU=()
[ -n "${BENCH_USER:-}" ] && ASU=(setpriv --reuid="$BENCH_USER" --regid="$(id -g "$BENCH_USER")" --clear-groups)
ENG_BINDS=("$PROBES:/probes")
ENG_ENV=(PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root)
proot_argv "$BR_ROOT" /root
PROOT="$(br_join "${ASU[@]}" "${ENG_ARGV[@]}")"
bwrap_argv "$BR_ROOT" /root
BWRAP="$(br_join "${ASU[@]}" "${ENG_ARGV[@]}")"
declare -A CMDS=([P1]=$UD1 [P2]=$UD2 [proot]=$PROOT [bwrap]=$BWRAP)

# Every runner must do the same work before it is timed.
n_find=
for e in P1 P2 proot bwrap; do
    n=$(${CMDS[$e]} /usr/bin/find /usr 2>/dev/null | wc -l || true)
    [ -n "$n_find" ] || n_find=$n
    [ "$n" = "$n_find" ] || die "$e: find /usr lists $n entries, not $n_find"
    [ "$(${CMDS[$e]} /bin/sh /probes/16-forkexec.sh)" = 300 ] || die "$e: the loop does not run"
done

log "(c) find /usr ($n_find entries), $RUNS runs each"
br_hyperfine "$RUNS" 1 "$WORK/find.json" "P1=$UD1 /usr/bin/find /usr" "P2=$UD2 /usr/bin/find /usr" \
    "proot=$PROOT /usr/bin/find /usr" "bwrap=$BWRAP /usr/bin/find /usr"
declare -A FIND LOOP
for e in P1 P2 proot bwrap; do FIND[$e]=${MEAN[$e]}; done
log "(c) 300 fork+exec, $RUNS runs each"
br_hyperfine "$RUNS" 1 "$WORK/loop.json" "P1=$UD1 /bin/sh /probes/16-forkexec.sh" \
    "P2=$UD2 /bin/sh /probes/16-forkexec.sh" "proot=$PROOT /bin/sh /probes/16-forkexec.sh" \
    "bwrap=$BWRAP /bin/sh /probes/16-forkexec.sh"
for e in P1 P2 proot bwrap; do LOOP[$e]=${MEAN[$e]}; done

# (d) 100 processes alive at once under the tracer. The tracer is the
# process the command line starts (udocker itself in P1, proot): its VmHWM
# is sampled until it exits; ud_maxrss gives the largest process of the
# whole tree for comparison.
HUNDRED='i=0; while [ $i -lt 100 ]; do sleep 3 & i=$((i + 1)); done; wait'
# tracer_hwm CMD...: the peak VmHWM (kB) of the started process.
tracer_hwm() {
    "$@" /bin/sh -c "$HUNDRED" >/dev/null 2>&1 &
    local pid=$! hwm=0 v
    while kill -0 "$pid" 2>/dev/null; do
        v=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
        [ -n "$v" ] && hwm=$v
        sleep 0.1
    done
    wait "$pid" || die "100 processes under $1 ... failed"
    echo "$hwm"
}
# shellcheck disable=SC2086
hwm_p1=$(tracer_hwm $UD1)
# shellcheck disable=SC2086
hwm_pr=$(tracer_hwm $PROOT)
# shellcheck disable=SC2086
"$MAXRSS" -o "$WORK/p1.rss" $UD1 /bin/sh -c "$HUNDRED" || die "P1: 100 processes failed"
# shellcheck disable=SC2086
"$MAXRSS" -o "$WORK/proot.rss" $PROOT /bin/sh -c "$HUNDRED" || die "PRoot: 100 processes failed"
rss_p1=$(calc "$(awk '/maxrss_kb/ {print $2}' "$WORK/p1.rss") / 1024")
rss_pr=$(calc "$(awk '/maxrss_kb/ {print $2}' "$WORK/proot.rss") / 1024")
tr_p1=$(calc "$hwm_p1 / 1024")
tr_pr=$(calc "$hwm_pr / 1024")

ms() { calc "$1 * 1000"; }
f_pr=$(calc "${FIND[P1]} / ${FIND[proot]}")
f_bw=$(calc "${FIND[P1]} / ${FIND[bwrap]}")
l_pr=$(calc "${LOOP[P1]} / ${LOOP[proot]}")
l_bw=$(calc "${LOOP[P1]} / ${LOOP[bwrap]}")
echo "root: Debian minbase ($BR_ROOT), user: ${BENCH_USER:-$(id -un)}, hyperfine -N --runs $RUNS"
echo "P1:    $UD1 CMD"
echo "P2:    $UD2 CMD"
echo "PRoot: $PROOT CMD   (PRoot $(proot --version 2>&1 | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1))"
echo "bwrap: $BWRAP CMD"
printf '%-22s %10s %10s %10s %10s   %-14s %s\n' "" P1_ms P2_ms PRoot_ms bwrap_ms P1/PRoot P1/bwrap
printf '%-22s %10s %10s %10s %10s   %-14s %s\n' "find /usr" "$(ms "${FIND[P1]}")" "$(ms "${FIND[P2]}")" \
    "$(ms "${FIND[proot]}")" "$(ms "${FIND[bwrap]}")" "$f_pr (<=0.2)" "$f_bw"
printf '%-22s %10s %10s %10s %10s   %-14s %s\n' "300 fork+exec" "$(ms "${LOOP[P1]}")" "$(ms "${LOOP[P2]}")" \
    "$(ms "${LOOP[proot]}")" "$(ms "${LOOP[bwrap]}")" "$l_pr (<=0.333)" "$l_bw"
echo "(d) 100 traced processes: tracer VmHWM P1 ${tr_p1} MB, PRoot ${tr_pr} MB;" \
    "largest process of the tree (ud_maxrss) P1 ${rss_p1} MB, PRoot ${rss_pr} MB"
result bench=engines find_p1_ms="$(ms "${FIND[P1]}")" find_p2_ms="$(ms "${FIND[P2]}")" \
    find_proot_ms="$(ms "${FIND[proot]}")" find_bwrap_ms="$(ms "${FIND[bwrap]}")" \
    find_p1_proot="$f_pr" find_p1_bwrap="$f_bw" loop_p1_ms="$(ms "${LOOP[P1]}")" \
    loop_p2_ms="$(ms "${LOOP[P2]}")" loop_proot_ms="$(ms "${LOOP[proot]}")" \
    loop_bwrap_ms="$(ms "${LOOP[bwrap]}")" loop_p1_proot="$l_pr" loop_p1_bwrap="$l_bw" \
    tracer100_p1_mb="$tr_p1" tracer100_proot_mb="$tr_pr" rss100_p1_mb="$rss_p1" \
    rss100_proot_mb="$rss_pr"
