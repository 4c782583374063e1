#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs the benches (create, pull, startup, memory, then the engine benches
# run, engines and battery) one after the other, each bounded in time, and prints
# their ratios side by side, the log's path last.
# Usage: run_all.sh [UDOCKER_BINARY]   (default: build/apps/udocker/udocker)
# Full output: bench/results/run-<date>.log; result lines: results/latest.txt.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
UD=${1:-$here/../build/apps/udocker/udocker}
results=${BENCH_RESULTS:-$here/results}
mkdir -p "$results"
logf=$results/run-$(date +%Y%m%d-%H%M%S).log
declare -A RES STATUS

# run_bench NAME: bench_NAME.sh, bounded in time; its RESULT line and status.
run_bench() {
    local out
    echo "=== bench_$1.sh $UD" | tee -a "$logf"
    out=$(timeout --kill-after=30 "${BENCH_TIMEOUT:-1500}" "$here/bench_$1.sh" "$UD" 2>&1 |
        tee -a "$logf" /dev/stderr)
    STATUS[$1]=$?
    RES[$1]=$(printf '%s\n' "$out" | sed -n 's/^RESULT //p' | tail -1)
}

for b in create pull startup memory run engines battery; do
    run_bench "$b"
done

# row BENCH MEASURED BASELINE RATIO GOAL: one line of a summary table.
row() {
    printf '%-8s %-34s %-30s %-8s %s\n' "$@"
}

# failed BENCH: the line of a bench that gave no RESULT.
failed() {
    printf '%-8s %s\n' "$1" "FAILED (status ${STATUS[$1]})"
}

calc_ratio() {
    awk "BEGIN {printf \"%.3f\", $1 / 50}"
}

# field NAME KEY: a value from a bench's RESULT line
field() {
    printf '%s\n' "${RES[$1]:-}" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

{
    echo
    echo "Summary ($(date +%F\ %T), $UD)"
    row bench measured baseline ratio goal
    if [ -n "${RES[create]:-}" ]; then
        row create "udocker create $(field create create_s)s" \
            "GNU tar $(field create tar_s)s" "$(field create ratio)" "<= 1.1"
    else
        failed create
    fi
    if [ -n "${RES[pull]:-}" ]; then
        row pull "udocker pull $(field pull pull_s)s" \
            "link limit $(field pull limit_s)s" "$(field pull ratio)" "<= 1.5"
        row "" "(curl 1 conn $(field pull curl_seq_s)s)" \
            "link limit $(field pull limit_s)s" "$(field pull curl_ratio)" "(upstream-like)"
        row "" "(curl 12 ranged $(field pull curl_par_s)s)" \
            "link limit $(field pull limit_s)s" "$(field pull curl_par_ratio)" "(simple parallel)"
    else
        failed pull
    fi
    if [ -n "${RES[startup]:-}" ]; then
        row startup "udocker images $(field startup mean_ms) ms" \
            "goal 10 ms" "$(field startup ratio)" "< 1"
    else
        failed startup
    fi
    if [ -n "${RES[memory]:-}" ]; then
        row memory "pull max RSS $(field memory pull_mb) MB" \
            "goal 50 MB" "$(calc_ratio "$(field memory pull_mb)")" "< 1"
        row "" "create max RSS $(field memory create_mb) MB" \
            "goal 50 MB" "$(calc_ratio "$(field memory create_mb)")" "< 1"
    else
        failed memory
    fi
} | tee -a "$logf"
{
    echo
    echo "Engines ($(date +%F\ %T), $UD)"
    row bench measured baseline ratio goal
    if [ -n "${RES[run]:-}" ]; then
        row run "R1 run /bin/true $(field run true_r1_ms) ms" \
            "bwrap $(field run true_bwrap_ms) ms" "$(field run true_ratio)" "<= 1.3"
        row "" "R1 300 fork+exec $(field run loop_r1_ms) ms" \
            "bwrap $(field run loop_bwrap_ms) ms" "$(field run loop_ratio)" "<= 1.1"
    else
        failed run
    fi
    if [ -n "${RES[engines]:-}" ]; then
        row engines "P1 find /usr $(field engines find_p1_ms) ms" \
            "PRoot $(field engines find_proot_ms) ms" "$(field engines find_p1_proot)" "<= 0.2"
        row "" "P1 find /usr $(field engines find_p1_ms) ms" \
            "bwrap $(field engines find_bwrap_ms) ms" "$(field engines find_p1_bwrap)" "(context)"
        row "" "P1 300 fork+exec $(field engines loop_p1_ms) ms" \
            "PRoot $(field engines loop_proot_ms) ms" "$(field engines loop_p1_proot)" "<= 0.333"
        row "" "P1 300 fork+exec $(field engines loop_p1_ms) ms" \
            "bwrap $(field engines loop_bwrap_ms) ms" "$(field engines loop_p1_bwrap)" "(context)"
        row "" "P1 tracer, 100 procs $(field engines tracer100_p1_mb) MB" \
            "PRoot $(field engines tracer100_proot_mb) MB" "" "(context)"
    else
        failed engines
    fi
    if [ -n "${RES[battery]:-}" ]; then
        row battery "P1 $(field battery probes) probes $(field battery sum_p1_ms) ms" \
            "PRoot $(field battery sum_proot_ms) ms" "$(field battery sum_p1_proot)" "(sum)"
        row "" "worst probe $(field battery worst_probe)" "PRoot" \
            "$(field battery worst_p1_proot)" "<= 1 ($(field battery verdict))"
    else
        failed battery
    fi
} | tee -a "$logf"
echo "log: $logf"
