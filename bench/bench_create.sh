#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `udocker create` of the ~500 MB, 5-layer image against GNU tar extracting the
# same layer blobs in sequence. Runs alternate (create, tar) N times after one
# untimed warm-up of each; removal of the result is outside the timing.
# Usage: bench_create.sh [UDOCKER_BINARY]   (env: N=3, BENCH_LIMIT=1200 s)
# Goal: median create / median tar <= 1.1.
set -euo pipefail
. "$(dirname "$0")/common.sh"
bench_init "${1:-}" "${BENCH_LIMIT:-1200}"
N=${N:-3}

registry_start
log "pushing bench/img500 to $REG_URL (built and pushed once, then cached)"
registry_push img500
mktemp_dir UDOCKER_DIR
mktemp_dir WORK
pull_args "$REG_PORT" bench/img500:1
log "pulling $LOCAL_REF into $UDOCKER_DIR (loopback, untimed)"
ud "${PULL_ARGS[@]}" >"$WORK/pull.log" 2>&1 || { cat "$WORK/pull.log" >&2; die "pull failed"; }

# The same files create reads: the repository's layers (page cache shared).
LAYERS=()
for d in $(meta layers img500); do
    f=$UDOCKER_DIR/layers/$d
    [ -f "$f" ] || f=$CACHE_DIR/images/img500/blobs/${d#sha256:}
    LAYERS+=("$f")
done

tar_run() {
    local dest=$WORK/tarroot f
    as_user mkdir "$dest"
    for f in "${LAYERS[@]}"; do
        if [ "$(head -c2 "$f" | od -An -tx1 | tr -d ' ')" = 1f8b ]; then
            as_user tar -xzf "$f" -C "$dest" --no-same-owner --no-same-permissions
        else
            as_user tar -xf "$f" -C "$dest" --no-same-owner --no-same-permissions
        fi
    done
}

tar_clean() {
    chmod -R u+rwX "$WORK/tarroot" 2>/dev/null || true
    rm -rf "$WORK/tarroot"
    sync # start each timed run with no writeback backlog from the last one
}

create_run() {
    ud create "$LOCAL_REF" >"$WORK/create.out" 2>"$WORK/create.err" ||
        { cat "$WORK/create.err" >&2; die "create failed"; }
    CID=$(grep -Eo '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}' \
        "$WORK/create.out" | tail -1 || true)
    [ -n "$CID" ] || CID=$(tail -1 "$WORK/create.out")
    if [ -s "$WORK/create.err" ]; then
        log "create stderr: $(head -3 "$WORK/create.err")"
    fi
}

create_clean() {
    ud rm "$CID" >/dev/null 2>&1 || true
    if [ -n "$CID" ] && [ -d "$UDOCKER_DIR/containers/$CID" ]; then
        chmod -R u+rwX "$UDOCKER_DIR/containers/$CID" 2>/dev/null || true
        rm -rf "$UDOCKER_DIR/containers/$CID"
    fi
    sync
}

# time_it FN: sets ELAPSED to the seconds the function took (in this shell,
# so that the function's variables survive)
time_it() {
    local t0 t1
    t0=$(now_ns)
    "$1"
    t1=$(now_ns)
    ELAPSED=$(calc "($t1 - $t0) / 1e9")
}

# tree_size DIR: "entries bytes" of a tree (apparent sizes)
tree_size() {
    find "$1" -printf '%s\n' | awk '{n++; b+=$1} END {printf "%d %d\n", n, b}'
}

log "warm-up (untimed): one create, one tar; both trees compared"
create_run
root=$UDOCKER_DIR/containers/$CID/ROOT
[ -d "$root" ] || die "create made no $root (output: $(head -c 300 "$WORK/create.out"))"
read -r cn cbytes < <(tree_size "$root")
create_clean
tar_run
read -r tn tbytes < <(tree_size "$WORK/tarroot")
tar_clean
echo "trees: create $cn entries, $cbytes bytes; tar $tn entries, $tbytes bytes"
# tar keeps the whiteout markers as files and the files they hide; create
# applies them, so create's tree is slightly smaller, never much.
if [ "$cn" -lt $((tn * 98 / 100)) ] || [ "$cbytes" -lt $((tbytes * 98 / 100)) ]; then
    die "create's tree is much smaller than tar's: extraction incomplete?"
fi
: >"$WORK/create.times"
: >"$WORK/tar.times"
for i in $(seq "$N"); do
    time_it create_run
    c=$ELAPSED
    create_clean
    time_it tar_run
    t=$ELAPSED
    tar_clean
    echo "$c" >>"$WORK/create.times"
    echo "$t" >>"$WORK/tar.times"
    log "run $i: create ${c}s  tar ${t}s"
done
cm=$(median <"$WORK/create.times")
tm=$(median <"$WORK/tar.times")
ratio=$(calc "$cm / $tm")
ub=$(meta uncompressed_bytes img500)
cb=$(meta compressed_bytes img500)
echo "image bench/img500:1: 5 layers, $(calc "$ub/1e6") MB uncompressed, $(calc "$cb/1e6") MB gzip"
echo "create: median ${cm}s of $N ($(tr '\n' ' ' <"$WORK/create.times"))"
echo "tar   : median ${tm}s of $N ($(tr '\n' ' ' <"$WORK/tar.times"))"
echo "ratio create/tar = $ratio  (goal <= 1.1)"
result bench=create create_s="$cm" tar_s="$tm" ratio="$ratio" goal=1.1 n="$N"
