# SPDX-License-Identifier: Apache-2.0
# Containers for the engine benches (bench/bench_run.sh, bench_engines.sh):
# the busybox and Debian minbase images of the integration fixtures pushed
# to the bench registry (bench/common.sh: registry_start), pulled, created
# and set to a mode, plus the probe scripts in a directory the bench user
# can read. Source after bench/common.sh and integration/lib/engines.sh.
# shellcheck shell=bash disable=SC2034

BR_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# br_user: benches of engines run as an ordinary user. As root, use
# BENCH_USER or else the test suite's user "udtest" (created if missing).
# Call before bench_init.
br_user() {
    if [ "$(id -u)" = 0 ] && [ -z "${BENCH_USER:-}" ]; then
        id udtest >/dev/null 2>&1 || useradd -m -s /bin/bash udtest || die "cannot create user udtest"
        BENCH_USER=udtest
    fi
}

# br_probes: PROBES, a readable copy of integration/probes.
br_probes() {
    mktemp_dir PROBES
    cp -r "$BR_LIB/../probes/." "$PROBES/"
    chmod -R a+rX "$PROBES"
    [ -n "${BENCH_USER:-}" ] && chown -R "$BENCH_USER" "$PROBES"
}

# br_debian_tar: DEBIAN_TAR, the minbase tarball: BENCH_DEBIAN_TAR if set,
# else built once by mmdebstrap into the bench cache.
br_debian_tar() {
    if [ -n "${BENCH_DEBIAN_TAR:-}" ]; then
        DEBIAN_TAR=$BENCH_DEBIAN_TAR
        [ -s "$DEBIAN_TAR" ] || die "BENCH_DEBIAN_TAR: no such file: $DEBIAN_TAR"
        return 0
    fi
    IT_CACHE=$CACHE_DIR/rootfs
    it_log() { log "$*"; }
    # shellcheck source=rootfs.sh
    . "$BR_LIB/rootfs.sh"
    debian_tarball || die "no Debian root: $DEBIAN_WHY"
}

# br_push busybox|debian: build (cached) and push to the bench registry as
# udbench/busybox:latest or udbench/debian:latest.
br_push() {
    local log=$CACHE_DIR/push-$1.log
    case $1 in
    busybox)
        "$PY" "$BR_LIB/mkimage.py" push busybox --cache "$CACHE_DIR/it" --registry "$REG_URL" \
            --repo udbench/busybox >"$log" 2>&1 || die "push busybox failed: $(tail -3 "$log")"
        ;;
    debian)
        br_debian_tar
        "$PY" "$BR_LIB/tarimage.py" push --tar "$DEBIAN_TAR" --cache "$CACHE_DIR/it" \
            --registry "$REG_URL" --repo udbench/debian >"$log" 2>&1 ||
            die "push debian failed: $(tail -3 "$log")"
        ;;
    esac
}

# br_container busybox|debian NAME [MODE]: pull (once), create NAME, and set
# MODE; sets BR_ROOT (realpath of its ROOT). Needs UDOCKER_DIR.
br_container() {
    local img=$1 name=$2 mode=${3:-} out
    if [ ! -d "$UDOCKER_DIR/repos/udbench/$img" ]; then
        ud pull --registry="$REG_URL" "udbench/$img" >"$CACHE_DIR/pull-$img.log" 2>&1 ||
            die "pull udbench/$img failed: $(tail -3 "$CACHE_DIR/pull-$img.log")"
    fi
    out=$(ud create --name="$name" "udbench/$img" 2>&1) || die "create $name failed: $out"
    if [ -n "$mode" ]; then
        out=$(ud setup --execmode="$mode" "$name" 2>&1) || die "setup --execmode=$mode failed: $out"
    fi
    BR_ROOT=$(readlink -f "$UDOCKER_DIR/containers/$name/ROOT")
}

# br_hyperfine RUNS WARMUP JSON NAME=CMD...: hyperfine -N over the commands
# (names given with -n); the means in seconds land in MEAN[NAME].
declare -A MEAN SD
br_hyperfine() {
    local runs=$1 warm=$2 json=$3
    shift 3
    local args=() names=() nc
    for nc in "$@"; do
        names+=("${nc%%=*}")
        args+=(-n "${nc%%=*}" "${nc#*=}")
    done
    hyperfine -N --warmup "$warm" --runs "$runs" --export-json "$json" "${args[@]}" \
        >"$json.txt" 2>&1 || { cat "$json.txt" >&2; die "hyperfine failed"; }
    local n m s
    while read -r n m s; do
        MEAN[$n]=$m
        SD[$n]=$s
    done < <("$PY" -c 'import json,sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(r["command"], "%.6f" % r["mean"], "%.6f" % r["stddev"])' "$json")
}

# br_join ARRAY...: one string, words separated by spaces (hyperfine -N
# splits on spaces; the paths used have none).
br_join() {
    local IFS=' '
    echo "$*"
}
