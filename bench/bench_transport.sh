#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Image transport round trip of the ~500 MB, 5-layer image: `udocker save`
# to a file then `udocker load` of it into an empty repository, against
# skopeo doing the same round trip between an OCI layout and a
# docker-archive (`skopeo copy oci:SRC docker-archive:FILE`, then
# `skopeo copy docker-archive:FILE oci:DST`). Runs alternate N times after
# one untimed warm-up of each; removing the results is outside the timing.
# skopeo decompresses layers for docker-archive:, so a second baseline keeps
# the bytes as they are, like save and load do: oci:SRC -> oci-archive:FILE
# -> oci:DST (reported, not the goal).
# Usage: bench_transport.sh [UDOCKER_BINARY]   (env: N=3, BENCH_LIMIT=1500 s)
# Goal: median udocker / median skopeo <= 1.2.
set -euo pipefail
. "$(dirname "$0")/common.sh"
bench_init "${1:-}" "${BENCH_LIMIT:-1500}"
N=${N:-3}
SKOPEO=${SKOPEO:-$(command -v skopeo || true)}
[ -n "$SKOPEO" ] || die "skopeo not found (apt install skopeo)"

registry_start
log "pushing bench/img500 to $REG_URL (built and pushed once, then cached)"
registry_push img500
mktemp_dir UDOCKER_DIR
mktemp_dir WORK
SRC_REPO=$UDOCKER_DIR
pull_args "$REG_PORT" bench/img500:1
log "pulling $LOCAL_REF (loopback, untimed)"
ud "${PULL_ARGS[@]}" >"$WORK/pull.log" 2>&1 || { cat "$WORK/pull.log" >&2; die "pull failed"; }
log "skopeo: the same image into an OCI layout (untimed source)"
as_user "$SKOPEO" --insecure-policy copy -q --src-tls-verify=false \
    "docker://127.0.0.1:$REG_PORT/bench/img500:1" "oci:$WORK/src:img" ||
    die "skopeo copy from the registry failed"

ud_trip() {
    UDOCKER_DIR=$SRC_REPO ud save -o "$WORK/ud.tar" "$LOCAL_REF" 2>"$WORK/ud.err" ||
        { cat "$WORK/ud.err" >&2; die "save failed"; }
    UDOCKER_DIR=$WORK/dst ud load -i "$WORK/ud.tar" >"$WORK/ud.out" 2>>"$WORK/ud.err" ||
        { cat "$WORK/ud.err" >&2; die "load failed"; }
}

sk_trip() {
    as_user "$SKOPEO" --insecure-policy copy -q "oci:$WORK/src:img" \
        "docker-archive:$WORK/sk.tar:bench/img500:1" || die "skopeo to docker-archive failed"
    as_user "$SKOPEO" --insecure-policy copy -q "docker-archive:$WORK/sk.tar" \
        "oci:$WORK/skdst:img" || die "skopeo from docker-archive failed"
}

sko_trip() {
    as_user "$SKOPEO" --insecure-policy copy -q "oci:$WORK/src:img" \
        "oci-archive:$WORK/sko.tar:bench/img500:1" || die "skopeo to oci-archive failed"
    as_user "$SKOPEO" --insecure-policy copy -q "oci-archive:$WORK/sko.tar" \
        "oci:$WORK/skodst:img" || die "skopeo from oci-archive failed"
}

clean() {
    chmod -R u+rwX "$WORK/dst" 2>/dev/null || true
    rm -rf "$WORK/dst" "$WORK/skdst" "$WORK/skodst" "$WORK/ud.tar" "$WORK/sk.tar" "$WORK/sko.tar"
    sync # start each timed run with no writeback backlog from the last one
}

time_it() {
    local t0 t1
    t0=$(now_ns)
    "$1"
    t1=$(now_ns)
    ELAPSED=$(calc "($t1 - $t0) / 1e9")
}

log "warm-up (untimed): one round trip of each; digests compared"
clean
ud_trip
loaded=$(grep -v "^Info:" "$WORK/ud.out" | head -1)
UDOCKER_DIR=$SRC_REPO ud inspect "$LOCAL_REF" >/dev/null || die "inspect failed"
want=$(sha256sum <"$SRC_REPO/repos/${LOCAL_REF%:*}/${LOCAL_REF##*:}/manifest" | cut -d' ' -f1)
got=$(sha256sum <"$WORK/dst/repos/${loaded%:*}/${loaded##*:}/manifest" | cut -d' ' -f1)
[ "$want" = "$got" ] || die "save -> load changed the manifest digest ($want -> $got)"
UDOCKER_DIR=$WORK/dst ud verify "$loaded" >/dev/null 2>&1 || die "loaded image does not verify"
ud_size=$(stat -c %s "$WORK/ud.tar")
sk_trip
sk_size=$(stat -c %s "$WORK/sk.tar")
clean
echo "archives: udocker $ud_size bytes, skopeo $sk_size bytes; manifest digest kept: sha256:$want"
: >"$WORK/ud.times"
: >"$WORK/sk.times"
: >"$WORK/sko.times"
for i in $(seq "$N"); do
    time_it ud_trip
    u=$ELAPSED
    clean
    time_it sk_trip
    s=$ELAPSED
    clean
    time_it sko_trip
    o=$ELAPSED
    clean
    echo "$u" >>"$WORK/ud.times"
    echo "$s" >>"$WORK/sk.times"
    echo "$o" >>"$WORK/sko.times"
    log "run $i: udocker save+load ${u}s  skopeo docker-archive ${s}s  skopeo oci-archive ${o}s"
done
um=$(median <"$WORK/ud.times")
sm=$(median <"$WORK/sk.times")
om=$(median <"$WORK/sko.times")
ratio=$(calc "$um / $sm")
ratio_o=$(calc "$um / $om")
echo "image bench/img500:1: 5 layers, $(calc "$(meta uncompressed_bytes img500)/1e6") MB uncompressed, $(calc "$(meta compressed_bytes img500)/1e6") MB gzip"
echo "udocker save+load : median ${um}s of $N ($(tr '\n' ' ' <"$WORK/ud.times"))"
echo "skopeo round trip : median ${sm}s of $N ($(tr '\n' ' ' <"$WORK/sk.times"))"
echo "skopeo oci-archive round trip (same bytes, no conversion): median ${om}s of $N ($(tr '\n' ' ' <"$WORK/sko.times"))"
echo "ratio udocker/skopeo docker-archive = $ratio  (goal <= 1.2)"
echo "ratio udocker/skopeo oci-archive    = $ratio_o"
result bench=transport udocker_s="$um" skopeo_s="$sm" skopeo_oci_s="$om" ratio="$ratio" \
    ratio_oci="$ratio_o" goal=1.2 n="$N"
