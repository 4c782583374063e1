#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# CLI start-up: `udocker images` on a repository holding 20 images (20 tags of
# a one-layer image pulled from the loopback registry), timed by hyperfine
# (-N: no shell, 5 warm-up runs), or by a date +%s%N loop when it is absent.
# Usage: bench_startup.sh [UDOCKER_BINARY]   (env: RUNS=100, BENCH_LIMIT=600 s)
# Goal: mean < 10 ms (upstream: ~80 ms of interpreter start alone).
set -euo pipefail
. "$(dirname "$0")/common.sh"
bench_init "${1:-}" "${BENCH_LIMIT:-600}"
RUNS=${RUNS:-100}
GOAL_MS=10

registry_start
registry_push tiny
mktemp_dir UDOCKER_DIR
mktemp_dir WORK
for i in $(seq 20); do
    pull_args "$REG_PORT" "bench/tiny:t$i"
    ud "${PULL_ARGS[@]}" >"$WORK/pull.log" 2>&1 ||
        { cat "$WORK/pull.log" >&2; die "pull of bench/tiny:t$i failed"; }
done
n=$(ud images 2>/dev/null | grep -c 'tiny:t' || true)
[ "$n" = 20 ] || die "udocker images lists $n of the 20 images"

ud_argv
# The floor: the same launcher (env, setpriv) running /bin/true, timed in the
# same run, shows what this machine's process start costs right now.
floor_cmd="${UD_ARGV[*]:0:${#UD_ARGV[@]}-${#UD_GENERAL[@]}-1} /bin/true"
if command -v hyperfine >/dev/null; then
    how="hyperfine -N --warmup 5 --runs $RUNS"
    # hyperfine -N splits the command on spaces: quote nothing, paths are plain.
    hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$WORK/h.json" \
        "${UD_ARGV[*]} images" "$floor_cmd" >"$WORK/hyperfine.txt" 2>&1 ||
        { cat "$WORK/hyperfine.txt" >&2; die "hyperfine failed"; }
    read -r mean sd med min cpu fmean fmed < <("$PY" -c 'import json,sys
r, f = json.load(open(sys.argv[1]))["results"]
print("%.3f %.3f %.3f %.3f %.3f %.3f %.3f" % (r["mean"]*1e3, r["stddev"]*1e3, r["median"]*1e3,
      r["min"]*1e3, (r["user"]+r["system"])*1e3, f["mean"]*1e3, f["median"]*1e3))' "$WORK/h.json")
else
    how="date +%s%N loop of $RUNS runs after 5 warm-up runs"
    for i in $(seq 5); do "${UD_ARGV[@]}" images >/dev/null; done
    t0=$(now_ns)
    for i in $(seq "$RUNS"); do "${UD_ARGV[@]}" images >/dev/null; done
    t1=$(now_ns)
    # shellcheck disable=SC2086
    for i in $(seq "$RUNS"); do $floor_cmd; done
    t2=$(now_ns)
    mean=$(calc "($t1 - $t0) / $RUNS / 1e6")
    fmean=$(calc "($t2 - $t1) / $RUNS / 1e6")
    sd=nan med=nan min=nan cpu=nan fmed=nan
fi
ratio=$(calc "$mean / $GOAL_MS")
echo "command: $how '${UD_ARGV[*]} images' (20 images)"
echo "udocker images: mean ${mean} ms (sd ${sd}, median ${med}, min ${min}; user+sys CPU ${cpu} ms)"
echo "floor '$floor_cmd': mean ${fmean} ms (median ${fmed}) on this machine now"
echo "ratio of the mean to the ${GOAL_MS} ms goal: $ratio (goal < 1)"
result bench=startup mean_ms="$mean" median_ms="$med" floor_ms="$fmean" goal_ms="$GOAL_MS" ratio="$ratio"
