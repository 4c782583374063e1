#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Mirror fallback cost: pull bench/img170 (5 layers, 169 MB) from a loopback
# registry configured as Docker Hub, directly and through a mirror list
# whose first mirror is a black hole (accepts connections, never answers),
# then through two dead mirrors (black hole, closed port). Timeouts are 2 s
# (timeout, ctimeout in the repository's udocker.conf).
# Usage: bench_mirror.sh [UDOCKER_BINARY]   (env: RUNS=3, IMAGE=img170, BENCH_LIMIT=600 s)
# Goal: at most one timeout lost in total (not one per layer), and exactly
# one connection made to the black hole per pull.
set -euo pipefail
. "$(dirname "$0")/common.sh"
bench_init "${1:-}" "${BENCH_LIMIT:-600}"
RUNS=${RUNS:-3}
IMAGE=${IMAGE:-img170}
TIMEOUT_S=2
REG_SCHEME=http # the mirror logic, not TLS, is measured here

registry_start
registry_push "$IMAGE"
mktemp_dir UDOCKER_DIR
mktemp_dir WORK
printf '[DEFAULT]\ntimeout = %s\nctimeout = %s\n' "$TIMEOUT_S" "$TIMEOUT_S" >"$UDOCKER_DIR/udocker.conf"

# The black hole: accepts every connection and never answers; one line
# per connection in its log.
BH_PORT=$(free_port)
"$PY" -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64)
held = []
while True:
    c, _ = s.accept(); held.append(c)
    with open(sys.argv[2], "a") as f: f.write("conn\n")
' "$BH_PORT" "$WORK/bh.log" &
BENCH_PIDS+=($!)
: >"$WORK/bh.log"
for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$BH_PORT") 2>/dev/null && break
    sleep 0.1
done
sleep 0.2
: >"$WORK/bh.log" # the readiness probe connected once
CLOSED=$(free_port)

# one_pull MIRRORS: seconds for one cold pull (layers removed first).
one_pull() {
    local mirrors=$1 t0 t1
    rm -rf "$UDOCKER_DIR/repos" "$UDOCKER_DIR/layers"
    ud_argv
    t0=$(now_ns)
    env UDOCKER_REGISTRY="$REG_URL" UDOCKER_REGISTRY_MIRRORS="$mirrors" \
        "${UD_ARGV[@]}" pull "bench/$IMAGE:1" >"$WORK/pull.log" 2>&1 ||
        { cat "$WORK/pull.log" >&2; die "pull through mirrors '$mirrors' failed"; }
    t1=$(now_ns)
    calc "($t1 - $t0) / 1e9"
}

declare -A MED
for case in direct blackhole twodead; do
    case $case in
    direct) mirrors="" ;;
    blackhole) mirrors="http://127.0.0.1:$BH_PORT" ;;
    twodead) mirrors="http://127.0.0.1:$BH_PORT,http://127.0.0.1:$CLOSED" ;;
    esac
    times=()
    : >"$WORK/bh.log"
    for _ in $(seq "$RUNS"); do
        times+=("$(one_pull "$mirrors")")
    done
    conns=$(grep -c conn "$WORK/bh.log" || true)
    MED[$case]=$(printf "%s\n" "${times[@]}" | median)
    log "$case: ${times[*]} s (median ${MED[$case]} s), black-hole connections: $conns in $RUNS pulls"
    [ "$case" = direct ] || [ "$conns" = "$RUNS" ] ||
        die "$case: $conns black-hole connections in $RUNS pulls (want one per pull)"
done
lost=$(calc "${MED[blackhole]} - ${MED[direct]}")
lost2=$(calc "${MED[twodead]} - ${MED[direct]}")
verdict=$(awk -v l="$lost" -v l2="$lost2" -v t="$TIMEOUT_S" \
    'BEGIN { print (l <= t + 0.5 && l2 <= t + 0.5) ? "met" : "missed" }')
result "mirror image=$IMAGE runs=$RUNS timeout=${TIMEOUT_S}s direct=${MED[direct]}s" \
    "blackhole_first=${MED[blackhole]}s lost=${lost}s two_dead=${MED[twodead]}s lost=${lost2}s" \
    "goal=at-most-one-timeout($TIMEOUT_S s) $verdict"
