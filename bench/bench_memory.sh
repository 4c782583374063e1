#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Peak resident memory of `udocker pull` (loopback registry, no proxy: the
# fastest producer, so the most buffering pressure) and `udocker create` of the
# ~500 MB, 5-layer image, measured by ud_maxrss (wait4 rusage).
# Usage: bench_memory.sh [UDOCKER_BINARY]   (env: BENCH_LIMIT=900 s)
# Goal: both under 50 MB: blobs stream through, never held whole.
set -euo pipefail
. "$(dirname "$0")/common.sh"
bench_init "${1:-}" "${BENCH_LIMIT:-900}"
GOAL_MB=50

registry_start
registry_push img500
mktemp_dir UDOCKER_DIR
mktemp_dir WORK
pull_args "$REG_PORT" bench/img500:1
ud_argv
"$MAXRSS" -o "$WORK/pull.rss" "${UD_ARGV[@]}" "${PULL_ARGS[@]}" >"$WORK/pull.log" 2>&1 ||
    { tail -20 "$WORK/pull.log" >&2; die "pull failed"; }
"$MAXRSS" -o "$WORK/create.rss" "${UD_ARGV[@]}" create "$LOCAL_REF" >"$WORK/create.log" 2>&1 ||
    { tail -20 "$WORK/create.log" >&2; die "create failed"; }
pull_mb=$(calc "$(awk '/maxrss_kb/ {print $2}' "$WORK/pull.rss") / 1024")
create_mb=$(calc "$(awk '/maxrss_kb/ {print $2}' "$WORK/create.rss") / 1024")
pull_s=$(awk '/wall_s/ {print $2}' "$WORK/pull.rss")
create_s=$(awk '/wall_s/ {print $2}' "$WORK/create.rss")
echo "pull   bench/img500:1: max RSS ${pull_mb} MB (${pull_s}s) -> ratio $(calc "$pull_mb / $GOAL_MB") (goal < 1)"
echo "create bench/img500:1: max RSS ${create_mb} MB (${create_s}s) -> ratio $(calc "$create_mb / $GOAL_MB") (goal < 1)"
result bench=memory pull_mb="$pull_mb" create_mb="$create_mb" goal_mb="$GOAL_MB"
