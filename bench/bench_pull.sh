#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `udocker pull` of the 5-layer ~170 MB image from a loopback registry reached
# through ud_wanproxy: 40 ms round trip, 100 Mbit/s per TCP connection, 1 Gbit/s
# link. Each of N pulls goes into a fresh UDOCKER_DIR. Baselines in the same
# run: the link's limit (compressed bytes / 1 Gbit/s) and one curl fetching the
# manifest and the blobs in sequence over one connection (what upstream does).
# Usage: bench_pull.sh [UDOCKER_BINARY]
#   env: N=3, DELAY_MS=20 (one way), CONN_MBIT=100, LINK_MBIT=1000,
#        BASELINE=1 (0 skips the curl run), BENCH_LIMIT=1200 s,
#        CONNS=n (UDOCKER_MAX_CONNECTIONS for the pulls; default: udocker's),
#        LOG_DIR=dir (keep each pull's debug log and the proxy's connection log)
# Goal: median pull <= 1.5 x the link limit.
set -euo pipefail
. "$(dirname "$0")/common.sh"
bench_init "${1:-}" "${BENCH_LIMIT:-1200}"
N=${N:-3}
DELAY_MS=${DELAY_MS:-20}
CONN_MBIT=${CONN_MBIT:-100}
LINK_MBIT=${LINK_MBIT:-1000}
if [ -n "${CONNS:-}" ]; then
    export UDOCKER_MAX_CONNECTIONS=$CONNS
fi
if [ -n "${LOG_DIR:-}" ]; then
    mkdir -p "$LOG_DIR"
    LOG_DIR=$(cd "$LOG_DIR" && pwd)
    export UDOCKER_LOGLEVEL=5
fi

registry_start
log "pushing bench/img170 to $REG_URL (built and pushed once, then cached)"
registry_push img170
wanproxy_start "$REG_PORT" --delay-ms "$DELAY_MS" --conn-mbit "$CONN_MBIT" \
    --link-mbit "$LINK_MBIT" -v
mktemp_dir WORK

BYTES=$(meta compressed_bytes img170)
CFG=$(meta config img170)
CFG_BYTES=$(stat -c %s "$CACHE_DIR/images/img170/blobs/${CFG#sha256:}")
BYTES=$((BYTES + CFG_BYTES))
LIMIT=$(calc "$BYTES * 8 / ($LINK_MBIT * 1e6)")

# Warm the registry's files in the page cache (direct, not through the proxy).
for d in $(meta layers img170) "$CFG"; do
    curl -sk -o /dev/null "$REG_URL/v2/bench/img170/blobs/$d"
done

# conns_since LINE: connections the proxy closed after log line LINE
conns_since() {
    tail -n +"$(($1 + 1))" "$PROXY_LOG" | grep -c ' closed after ' || true
}

: >"$WORK/pull.times"
pull_args "$PROXY_PORT" bench/img170:1
for i in $(seq "$N"); do
    mktemp_dir UDOCKER_DIR
    mark=$(wc -l <"$PROXY_LOG")
    t0=$(now_ns)
    ud "${PULL_ARGS[@]}" >"$WORK/pull.$i.log" 2>&1 ||
        { tail -20 "$WORK/pull.$i.log" >&2; die "pull $i failed"; }
    t1=$(now_ns)
    s=$(calc "($t1 - $t0) / 1e9")
    echo "$s" >>"$WORK/pull.times"
    sleep 0.2 # let the proxy log the closed connections
    log "pull $i: ${s}s, $(conns_since "$mark") TCP connections"
    if [ -n "${LOG_DIR:-}" ]; then
        cp "$WORK/pull.$i.log" "$LOG_DIR/pull.$i.log"
        tail -n +"$((mark + 1))" "$PROXY_LOG" >"$LOG_DIR/proxy.$i.log"
    fi
    chmod -R u+rwX "$UDOCKER_DIR" 2>/dev/null || true
    rm -rf "$UDOCKER_DIR"
done
pm=$(median <"$WORK/pull.times")
ratio=$(calc "$pm / $LIMIT")

cs=nan
cratio=nan
if [ "${BASELINE:-1}" != 0 ]; then
    # One curl process, one connection reused: the manifest, then each blob.
    mkdir -p "$WORK/curl"
    base="https://127.0.0.1:$PROXY_PORT/v2/bench/img170"
    [ "$REG_SCHEME" = https ] || base="http://127.0.0.1:$PROXY_PORT/v2/bench/img170"
    args=(-H "Accept: application/vnd.docker.distribution.manifest.v2+json"
        "$base/manifests/1" -o "$WORK/curl/manifest")
    for d in $(meta layers img170) "$CFG"; do
        args+=("$base/blobs/$d" -o "$WORK/curl/${d#sha256:}")
    done
    mark=$(wc -l <"$PROXY_LOG")
    t0=$(now_ns)
    curl -sSk --http1.1 --fail "${args[@]}"
    t1=$(now_ns)
    cs=$(calc "($t1 - $t0) / 1e9")
    cratio=$(calc "$cs / $LIMIT")
    sleep 0.2
    log "curl sequential: ${cs}s, $(conns_since "$mark") TCP connection(s)"
fi

ps_=nan
pratio=nan
if [ "${BASELINE:-1}" != 0 ]; then
    # A simple parallel client for context: 12 curl processes fetching ranges
    # of at most 16 MiB of the blobs (a new connection and TLS session each).
    base="https://127.0.0.1:$PROXY_PORT/v2/bench/img170/blobs"
    [ "$REG_SCHEME" = https ] || base="http://127.0.0.1:$PROXY_PORT/v2/bench/img170/blobs"
    for d in $(meta layers img170) "$CFG"; do
        sz=$(stat -c %s "$CACHE_DIR/images/img170/blobs/${d#sha256:}")
        off=0
        while [ "$off" -lt "$sz" ]; do
            end=$((off + 16777216 - 1))
            [ "$end" -lt "$sz" ] || end=$((sz - 1))
            echo "$base/$d $off $end $WORK/curl/${d#sha256:}.$off"
            off=$((end + 1))
        done
    done >"$WORK/ranges"
    mark=$(wc -l <"$PROXY_LOG")
    t0=$(now_ns)
    # shellcheck disable=SC2016
    xargs -P 12 -L 1 sh -c 'curl -sSk --http1.1 --fail -r "$1-$2" -o "$3" "$0"' <"$WORK/ranges"
    t1=$(now_ns)
    ps_=$(calc "($t1 - $t0) / 1e9")
    pratio=$(calc "$ps_ / $LIMIT")
    sleep 0.2
    log "curl 12 parallel ranges: ${ps_}s, $(conns_since "$mark") TCP connections"
fi

echo "link: ${DELAY_MS} ms each way, ${CONN_MBIT} Mbit/s per connection, ${LINK_MBIT} Mbit/s shared"
echo "image bench/img170:1: $BYTES bytes to fetch (5 gzip layers + config)"
echo "link limit (bytes x 8 / link rate) = ${LIMIT}s"
echo "udocker pull : median ${pm}s of $N ($(tr '\n' ' ' <"$WORK/pull.times")) -> ratio $ratio (goal <= 1.5)"
echo "curl 1 conn  : ${cs}s -> ratio $cratio (upstream-like sequential download)"
echo "curl 12 conns: ${ps_}s -> ratio $pratio (12 processes, ranges <= 16 MiB: a simple parallel client)"
result bench=pull pull_s="$pm" limit_s="$LIMIT" ratio="$ratio" goal=1.5 curl_seq_s="$cs" \
    curl_ratio="$cratio" curl_par_s="$ps_" curl_par_ratio="$pratio" n="$N"
