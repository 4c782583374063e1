# SPDX-License-Identifier: Apache-2.0
# Shared functions for the bench scripts (sourced, not run): locating the built
# tools, a loopback registry with the bench images, the WAN proxy, timing,
# medians, and cleanup of every process a bench starts.
# shellcheck shell=bash disable=SC2034

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
CACHE_DIR=${BENCH_CACHE:-$BENCH_DIR/.cache}
RESULTS_DIR=${BENCH_RESULTS:-$BENCH_DIR/results}
PY=${PYTHON:-python3}
REGISTRY_BIN=${REGISTRY_BIN:-docker-registry}
# https (self-signed, pulled with --insecure, as the issue states) or http.
REG_SCHEME=${BENCH_REG_SCHEME:-https}

BENCH_PIDS=()
BENCH_TMPS=()

die() {
    echo "bench: $*" >&2
    exit 1
}

log() {
    echo "[$(date +%H:%M:%S)] $*" >&2
}

bench_cleanup() {
    local p
    set +e # a killed child's status must not stop the cleanup (errexit)
    for p in "${BENCH_PIDS[@]}"; do
        kill "$p" 2>/dev/null
    done
    for p in "${BENCH_PIDS[@]}"; do
        wait "$p" 2>/dev/null
    done
    BENCH_PIDS=()
    for p in "${BENCH_TMPS[@]}"; do
        [ -n "$p" ] && [ -d "$p" ] && { chmod -R u+rwX "$p" 2>/dev/null; rm -rf "$p"; }
    done
    BENCH_TMPS=()
}

# bench_init UDOCKER_PATH LIMIT_SECONDS: sets UD, the tool paths, the cleanup
# trap and a watchdog that ends the bench after LIMIT_SECONDS.
bench_init() {
    UD=${1:-$REPO_DIR/build/apps/udocker/udocker}
    [ -x "$UD" ] || die "udocker binary not found or not executable: $UD"
    UD=$(cd "$(dirname "$UD")" && pwd)/$(basename "$UD")
    local limit=${2:-900}
    trap bench_cleanup EXIT
    trap 'bench_cleanup; exit 130' INT TERM
    local me=$$
    # The watchdog kills its sleep when stopped, so no orphan keeps a pipe open.
    (
        trap 'kill $s 2>/dev/null; exit 0' TERM
        sleep "$limit" >/dev/null 2>&1 </dev/null &
        s=$!
        wait $s && { echo "bench: time limit ${limit}s reached" >&2; kill -TERM "$me"; }
    ) &
    BENCH_PIDS+=($!)
    mkdir -p "$RESULTS_DIR" "$CACHE_DIR"
    find_tools
    UD_GENERAL=()
    if [ "$(id -u)" = 0 ] && [ -z "${BENCH_USER:-}" ]; then
        UD_GENERAL+=(--allow-root)
    fi
}

# Built tools next to the udocker build (BUILD/bench/...), else compiled here.
find_tools() {
    local build
    build=$(cd "$(dirname "$UD")/../.." && pwd)
    local t
    for t in ud_wanproxy ud_maxrss; do
        local v=""
        if [ -x "$build/bench/$t" ]; then
            v=$build/bench/$t
        else
            local src=wanproxy.c
            [ "$t" = ud_maxrss ] && src=maxrss.c
            mkdir -p "$CACHE_DIR/bin"
            if [ ! -x "$CACHE_DIR/bin/$t" ] || [ "$BENCH_DIR/$src" -nt "$CACHE_DIR/bin/$t" ]; then
                ${CC:-cc} -O2 -o "$CACHE_DIR/bin/$t" "$BENCH_DIR/$src" || die "cannot build $t"
            fi
            v=$CACHE_DIR/bin/$t
        fi
        case $t in
        ud_wanproxy) WANPROXY=${WANPROXY:-$v} ;;
        ud_maxrss) MAXRSS=${MAXRSS:-$v} ;;
        esac
    done
}

# mktemp_dir VAR: a fresh directory removed at exit, its path put in VAR (not
# a command substitution, so that the cleanup list survives).
mktemp_dir() {
    local d
    d=$(mktemp -d "${TMPDIR:-/tmp}/udbench.XXXXXX") || die "mktemp"
    BENCH_TMPS+=("$d")
    if [ -n "${BENCH_USER:-}" ]; then
        chown "$BENCH_USER" "$d"
    fi
    printf -v "$1" %s "$d"
}

free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

now_ns() {
    date +%s%N
}

# median of the numbers on stdin
median() {
    sort -g | awk '{a[NR]=$1} END {if (NR==0) {print "nan"; exit}
        if (NR%2) print a[(NR+1)/2]; else printf "%.6f\n", (a[NR/2]+a[NR/2+1])/2}'
}

# calc EXPR: floating-point arithmetic
calc() {
    awk "BEGIN {printf \"%.3f\", $*}"
}

# ud_argv: sets UD_ARGV, the argv prefix that runs udocker on UDOCKER_DIR
# (as BENCH_USER when set) with the bench's general options; an executable
# argv, so that ud_maxrss and hyperfine can run it too.
ud_argv() {
    UD_ARGV=()
    if [ -n "${BENCH_USER:-}" ]; then
        UD_ARGV+=(setpriv --reuid="$BENCH_USER" --regid="$(id -g "$BENCH_USER")" --clear-groups)
    fi
    UD_ARGV+=(env HOME="$UDOCKER_DIR" UDOCKER_DIR="$UDOCKER_DIR" "$UD" "${UD_GENERAL[@]}")
}

# ud ARGS...: run udocker on UDOCKER_DIR.
ud() {
    ud_argv
    "${UD_ARGV[@]}" "$@"
}

# as_user CMD...: run a non-udocker command with the same identity as ud.
as_user() {
    if [ -n "${BENCH_USER:-}" ]; then
        setpriv --reuid="$BENCH_USER" --regid="$(id -g "$BENCH_USER")" --clear-groups "$@"
    else
        "$@"
    fi
}

# registry_start: a docker-registry on 127.0.0.1 whose storage persists in
# the cache (pushes are skipped once done); sets REG_PORT and REG_URL.
registry_start() {
    command -v "$REGISTRY_BIN" >/dev/null || die "docker-registry not found (apt install docker-registry)"
    local dir
    mktemp_dir dir
    REG_PORT=$(free_port)
    local tls=""
    if [ "$REG_SCHEME" = https ]; then
        mkdir -p "$CACHE_DIR/tls"
        if [ ! -s "$CACHE_DIR/tls/cert.pem" ]; then
            openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=127.0.0.1 \
                -addext subjectAltName=IP:127.0.0.1 -keyout "$CACHE_DIR/tls/key.pem" \
                -out "$CACHE_DIR/tls/cert.pem" >/dev/null 2>&1 || die "openssl req failed"
        fi
        tls="  tls:
    certificate: $CACHE_DIR/tls/cert.pem
    key: $CACHE_DIR/tls/key.pem"
    fi
    mkdir -p "$CACHE_DIR/registry"
    cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $CACHE_DIR/registry
  cache:
    blobdescriptor: inmemory
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$REG_PORT
  secret: udocker-bench
$tls
EOF
    "$REGISTRY_BIN" serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
    BENCH_PIDS+=($!)
    REG_URL=$REG_SCHEME://127.0.0.1:$REG_PORT
    local i
    for i in $(seq 100); do
        curl -sk -o /dev/null "$REG_URL/v2/" && return 0
        sleep 0.1
    done
    cat "$dir/registry.log" >&2
    die "registry did not start"
}

# registry_push NAME...: build (cached) and push the bench images.
registry_push() {
    "$PY" "$BENCH_DIR/mkimage.py" push --registry "$REG_URL" "$@" || die "mkimage push failed"
}

# meta FIELD IMAGE: a field of the image's meta.json (compressed_bytes, ...)
meta() {
    "$PY" -c 'import json,sys; m=json.load(open(sys.argv[1])); v=m[sys.argv[2]]
print(" ".join(v) if isinstance(v, list) else v)' "$CACHE_DIR/images/$2/meta.json" "$1"
}

# wanproxy_start TARGET_PORT [extra args]: sets PROXY_PORT and PROXY_LOG.
wanproxy_start() {
    local target=$1
    shift
    local out
    mktemp_dir out
    out=$out/proxy.out
    PROXY_LOG=$out.err
    "$WANPROXY" --listen 127.0.0.1:0 --target "127.0.0.1:$target" --max-seconds 1800 "$@" \
        >"$out" 2>"$out.err" &
    BENCH_PIDS+=($!)
    local i
    for i in $(seq 50); do
        PROXY_PORT=$(sed -n 's/^listening 127.0.0.1:\([0-9]*\)$/\1/p' "$out")
        [ -n "$PROXY_PORT" ] && return 0
        sleep 0.1
    done
    die "wanproxy did not start: $(cat "$out.err")"
}

# result NAME KEY=VALUE...: one line appended to results/latest.txt
result() {
    local line="$*"
    echo "RESULT $line"
    echo "$(date +%FT%T) $line" >>"$RESULTS_DIR/latest.txt"
}

# pull_args PORT NAME:TAG: sets PULL_ARGS (udocker arguments) and LOCAL_REF
# (the name the image gets in the local repository).
pull_args() {
    if [ "$REG_SCHEME" = https ]; then
        PULL_ARGS=(--insecure pull "127.0.0.1:$1/$2")
        LOCAL_REF=127.0.0.1:$1/$2
    else
        PULL_ARGS=(--insecure pull "--registry=http://127.0.0.1:$1" "$2")
        LOCAL_REF=$2
    fi
}
