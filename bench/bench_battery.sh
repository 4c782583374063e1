#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2034 # ENG_* are read by integration/lib/engines.sh
# The whole probe battery of the differential suite (integration/probes/)
# timed under udocker P1, the host's PRoot and bwrap on the Debian minbase
# root, with the binds and working directory the suite uses: each probe N
# times, the engines alternating (in a rotating order) round after round,
# median wall time per engine. Goal: P1 no slower than PRoot on any probe.
# Runs as an ordinary user (BENCH_USER, or udtest when started as root).
# Usage: bench_battery.sh [UDOCKER_BINARY]
#        (env: N=5, BENCH_LIMIT=2400 s, BENCH_DEBIAN_TAR=FILE,
#         BENCH_PROBES="16-forkexec 17-find-usr" to time only some probes,
#         PROBE_TIMEOUT=120 s per run, BENCH_STATS=0 to skip the -D runs)
set -euo pipefail
export BENCH_REG_SCHEME=${BENCH_REG_SCHEME:-http}
. "$(dirname "$0")/common.sh"
. "$REPO_DIR/integration/lib/engines.sh"
. "$REPO_DIR/integration/lib/benchroot.sh"
br_user
bench_init "${1:-}" "${BENCH_LIMIT:-2400}"
N=${N:-5}
PROBE_TIMEOUT=${PROBE_TIMEOUT:-120}
for t in bwrap proot timeout; do
    command -v $t >/dev/null || die "$t is not installed"
done
[ -n "${EPOCHREALTIME:-}" ] || die "bash 5 is needed (EPOCHREALTIME)"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

registry_start
br_push debian
mktemp_dir UDOCKER_DIR
mktemp_dir WORK
br_probes
br_container debian cp1 P1
ud run --nobanner cp1 /bin/true || die "udocker run in P1 does not work here"
VOL=$WORK/vol
STDIN=$WORK/stdin
printf 'probe stdin line 1\nprobe stdin line 2\n' >"$STDIN"
chmod a+r "$STDIN"

# The three runners, as argv arrays: the suite's binds (/probes, /vol),
# working directory /root; PRoot and bwrap get PATH and HOME only.
ud_argv
P1_ARGV=("${UD_ARGV[@]}" run --nobanner -w /root -v "$PROBES:/probes" -v "$VOL:/vol" cp1)
ASU=()
[ -n "${BENCH_USER:-}" ] && ASU=(setpriv --reuid="$BENCH_USER" --regid="$(id -g "$BENCH_USER")" --clear-groups)
ENG_BINDS=("$PROBES:/probes" "$VOL:/vol")
ENG_ENV=(PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root)
proot_argv "$BR_ROOT" /root
PROOT_ARGV=("${ASU[@]}" "${ENG_ARGV[@]}")
bwrap_argv "$BR_ROOT" /root
BWRAP_ARGV=("${ASU[@]}" "${ENG_ARGV[@]}")
ENGINES=(P1 proot bwrap)

# fresh_vol: an empty /vol owned by the bench user (outside the timing).
fresh_vol() {
    chmod -R u+rwX "$VOL" 2>/dev/null || true
    rm -rf "$VOL"
    as_user mkdir "$VOL"
}

# run_probe ENGINE PROBE OUT: one run, its wall time in microseconds in
# T_US and its exit status in RC; stdout in OUT, stderr in OUT.err.
run_probe() {
    local eng=$1 p=$2 out=$3 t0 t1
    local -a argv
    case $eng in
    P1) argv=("${P1_ARGV[@]}") ;;
    proot) argv=("${PROOT_ARGV[@]}") ;;
    bwrap) argv=("${BWRAP_ARGV[@]}") ;;
    esac
    fresh_vol
    t0=$EPOCHREALTIME
    RC=0
    timeout -k 5 "$PROBE_TIMEOUT" "${argv[@]}" /bin/sh "/probes/$p.sh" <"$STDIN" >"$out" 2>"$out.err" ||
        RC=$?
    t1=$EPOCHREALTIME
    T_US=$((${t1/./} - ${t0/./}))
}

PROBE_LIST=()
for f in "$PROBES"/[0-9]*.sh; do
    PROBE_LIST+=("$(basename "$f" .sh)")
done
[ -n "${BENCH_PROBES:-}" ] && read -r -a PROBE_LIST <<<"$BENCH_PROBES"

# Warm-up: each probe once under each engine, untimed. A probe that times
# out under a runner is left out; one whose exit status differs between
# the runners is timed but marked, since the work done may differ.
declare -A NOTE
TIMED=()
SKIPPED=()
for p in "${PROBE_LIST[@]}"; do
    [ -f "$PROBES/$p.sh" ] || die "no such probe: $p"
    declare -A rc=() lines=()
    why=
    for e in "${ENGINES[@]}"; do
        run_probe "$e" "$p" "$WORK/warm.$e.$p"
        rc[$e]=$RC
        lines[$e]=$(wc -l <"$WORK/warm.$e.$p")
        if [ "$RC" = 124 ] || [ "$RC" = 137 ]; then
            why="$e: no end within ${PROBE_TIMEOUT}s"
        fi
    done
    if [ -n "$why" ]; then
        SKIPPED+=("$p ($why)")
        log "skip $p: $why"
        continue
    fi
    TIMED+=("$p")
    if [ "${rc[P1]}" != "${rc[bwrap]}" ] || [ "${rc[proot]}" != "${rc[bwrap]}" ]; then
        NOTE[$p]="exit P1 ${rc[P1]}, PRoot ${rc[proot]}, bwrap ${rc[bwrap]}"
    elif [ "${lines[P1]}" != "${lines[bwrap]}" ] || [ "${lines[proot]}" != "${lines[bwrap]}" ]; then
        NOTE[$p]="output lines P1 ${lines[P1]}, PRoot ${lines[proot]}, bwrap ${lines[bwrap]}"
    fi
    [ -z "${NOTE[$p]:-}" ] || log "note $p: ${NOTE[$p]}"
    unset rc lines
done
[ ${#TIMED[@]} -gt 0 ] || die "no probe could be timed"

# The timed runs: per probe, N rounds; round r starts with engine r mod 3.
declare -A MED MIN
log "timing ${#TIMED[@]} probes, $N rounds each, engines alternating"
for p in "${TIMED[@]}"; do
    for e in "${ENGINES[@]}"; do : >"$WORK/t.$e.$p"; done
    for ((r = 0; r < N; r++)); do
        for ((k = 0; k < 3; k++)); do
            e=${ENGINES[$(((r + k) % 3))]}
            run_probe "$e" "$p" "$WORK/run.out"
            echo "$T_US" >>"$WORK/t.$e.$p"
        done
    done
    for e in "${ENGINES[@]}"; do
        MED[$e.$p]=$(median <"$WORK/t.$e.$p" | awk '{printf "%.1f", $1 / 1000}')
        MIN[$e.$p]=$(sort -n "$WORK/t.$e.$p" | head -1 | awk '{printf "%.1f", $1 / 1000}')
    done
    log "$p: P1 ${MED[P1.$p]} ms, PRoot ${MED[proot.$p]} ms, bwrap ${MED[bwrap.$p]} ms"
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# The table.
echo "root: Debian minbase ($BR_ROOT), user: ${BENCH_USER:-$(id -un)}, N=$N rounds, median wall ms"
echo "P1:    $(br_join "${P1_ARGV[@]}") /bin/sh /probes/PROBE.sh"
echo "PRoot: $(br_join "${PROOT_ARGV[@]}") ...   (PRoot $(proot --version 2>&1 | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1))"
echo "bwrap: $(br_join "${BWRAP_ARGV[@]}") ..."
echo "load average: $load_start at the start, $load_end at the end ($(nproc) CPUs)"
fmt='%-16s %10s %10s %10s %9s %9s   %s\n'
# shellcheck disable=SC2059
printf "$fmt" probe P1_ms PRoot_ms bwrap_ms P1/PRoot P1/bwrap "(P1/PRoot of the minima)"
worst=0
worst_p=
slower=()
sum_p1=0 sum_pr=0 sum_bw=0
for p in "${TIMED[@]}"; do
    rp=$(calc "${MED[P1.$p]} / ${MED[proot.$p]}")
    rb=$(calc "${MED[P1.$p]} / ${MED[bwrap.$p]}")
    rm_=$(calc "${MIN[P1.$p]} / ${MIN[proot.$p]}")
    # shellcheck disable=SC2059
    printf "$fmt" "$p" "${MED[P1.$p]}" "${MED[proot.$p]}" "${MED[bwrap.$p]}" "$rp" "$rb" \
        "($rm_)${NOTE[$p]:+ * ${NOTE[$p]}}"
    if awk "BEGIN {exit !($rp > $worst)}"; then
        worst=$rp
        worst_p=$p
    fi
    awk "BEGIN {exit !($rp > 1)}" && slower+=("$p")
    sum_p1=$(awk "BEGIN {printf \"%.1f\", $sum_p1 + ${MED[P1.$p]}}")
    sum_pr=$(awk "BEGIN {printf \"%.1f\", $sum_pr + ${MED[proot.$p]}}")
    sum_bw=$(awk "BEGIN {printf \"%.1f\", $sum_bw + ${MED[bwrap.$p]}}")
done
# shellcheck disable=SC2059
printf "$fmt" "(sum)" "$sum_p1" "$sum_pr" "$sum_bw" "$(calc "$sum_p1 / $sum_pr")" \
    "$(calc "$sum_p1 / $sum_bw")" ""
for s in "${SKIPPED[@]}"; do echo "skipped: $s"; done
echo "worst P1/PRoot: $worst ($worst_p)"
if [ ${#slower[@]} = 0 ]; then
    verdict=PASS
    echo "PASS: P1 no slower than PRoot on every probe (${#TIMED[@]} probes)"
else
    verdict=FAIL
    echo "FAIL: P1 slower than PRoot on ${#slower[@]} of ${#TIMED[@]} probes: ${slower[*]}"
fi

# Where P1 lost: the engine's own count of stops and notifications for one
# run of each such probe (udocker -D prints it at the end of the run).
if [ "${BENCH_STATS:-1}" != 0 ]; then
    for p in "${slower[@]}"; do
        fresh_vol
        st=$("${UD_ARGV[@]}" -D run --nobanner -w /root -v "$PROBES:/probes" -v "$VOL:/vol" cp1 \
            /bin/sh "/probes/$p.sh" <"$STDIN" 2>&1 >/dev/null | grep -E 'P1: [0-9]+ stops' | tail -1 || true)
        echo "stats $p: ${st:-(no stats line)}"
    done
fi
result bench=battery n="$N" probes="${#TIMED[@]}" skipped="${#SKIPPED[@]}" \
    worst_p1_proot="$worst" worst_probe="$worst_p" sum_p1_ms="$sum_p1" sum_proot_ms="$sum_pr" \
    sum_bwrap_ms="$sum_bw" sum_p1_proot="$(calc "$sum_p1 / $sum_pr")" verdict="$verdict" \
    load="${load_start// /,}"
