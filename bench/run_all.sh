#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs the four benches (create, pull, startup, memory) one after the other,
# each bounded in time, and prints their ratios side by side.
# Usage: run_all.sh [UDOCKER_BINARY]   (default: build/apps/udocker/udocker)
# Full output: bench/results/run-<date>.log; result lines: results/latest.txt.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
UD=${1:-$here/../build/apps/udocker/udocker}
results=${BENCH_RESULTS:-$here/results}
mkdir -p "$results"
logf=$results/run-$(date +%Y%m%d-%H%M%S).log
declare -A RES STATUS
for b in create pull startup memory; do
    echo "=== bench_$b.sh $UD" | tee -a "$logf"
    out=$(timeout --kill-after=30 "${BENCH_TIMEOUT:-1500}" "$here/bench_$b.sh" "$UD" 2>&1 |
        tee -a "$logf" /dev/stderr)
    STATUS[$b]=$?
    RES[$b]=$(printf '%s\n' "$out" | sed -n 's/^RESULT //p' | tail -1)
done

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
    printf '%-8s %-34s %-30s %-8s %s\n' bench measured baseline ratio goal
    if [ -n "${RES[create]:-}" ]; then
        printf '%-8s %-34s %-30s %-8s %s\n' create "udocker create $(field create create_s)s" \
            "GNU tar $(field create tar_s)s" "$(field create ratio)" "<= 1.1"
    else
        printf '%-8s %s\n' create "FAILED (status ${STATUS[create]})"
    fi
    if [ -n "${RES[pull]:-}" ]; then
        printf '%-8s %-34s %-30s %-8s %s\n' pull "udocker pull $(field pull pull_s)s" \
            "link limit $(field pull limit_s)s" "$(field pull ratio)" "<= 1.5"
        printf '%-8s %-34s %-30s %-8s %s\n' "" "(curl 1 conn $(field pull curl_seq_s)s)" \
            "link limit $(field pull limit_s)s" "$(field pull curl_ratio)" "(upstream-like)"
        printf '%-8s %-34s %-30s %-8s %s\n' "" "(curl 12 ranged $(field pull curl_par_s)s)" \
            "link limit $(field pull limit_s)s" "$(field pull curl_par_ratio)" "(simple parallel)"
    else
        printf '%-8s %s\n' pull "FAILED (status ${STATUS[pull]})"
    fi
    if [ -n "${RES[startup]:-}" ]; then
        printf '%-8s %-34s %-30s %-8s %s\n' startup "udocker images $(field startup mean_ms) ms" \
            "goal 10 ms" "$(field startup ratio)" "< 1"
    else
        printf '%-8s %s\n' startup "FAILED (status ${STATUS[startup]})"
    fi
    if [ -n "${RES[memory]:-}" ]; then
        printf '%-8s %-34s %-30s %-8s %s\n' memory "pull max RSS $(field memory pull_mb) MB" \
            "goal 50 MB" "$(calc_ratio "$(field memory pull_mb)")" "< 1"
        printf '%-8s %-34s %-30s %-8s %s\n' "" "create max RSS $(field memory create_mb) MB" \
            "goal 50 MB" "$(calc_ratio "$(field memory create_mb)")" "< 1"
    else
        printf '%-8s %s\n' memory "FAILED (status ${STATUS[memory]})"
    fi
} | tee -a "$logf"
echo "log: $logf"
