# SPDX-License-Identifier: Apache-2.0
# Root filesystems for the run and engine tests: the busybox image that
# mkimage.py builds, and a Debian bookworm minbase root made once by
# mmdebstrap, cached as a tarball under UD_IT_CACHE and served as a one-layer
# image from the local registry (lib/tarimage.py), and busybox images with
# a chosen image config. Source after common.sh and registry.sh.
# shellcheck shell=bash disable=SC2034

DEBIAN_SUITE=${UD_IT_DEBIAN_SUITE:-bookworm}
# Give up on the archive for this long after a failed build (seconds), so a
# host without the archive does not retry mmdebstrap in every test.
DEBIAN_RETRY_AFTER=${UD_IT_DEBIAN_RETRY_AFTER:-1800}

# rootfs_registry: the plain registry every fixture image is pushed to.
rootfs_registry() {
    [ -n "${PLAIN_URL:-}" ] || start_registry_plain
}

# rootfs_busybox NAME: push, pull and create a busybox container named NAME;
# sets RF_ID (its id) and RF_ROOT (its ROOT).
rootfs_busybox() {
    local name=$1
    rootfs_registry
    if [ -z "${RF_BUSYBOX_PUSHED:-}" ]; then
        image_push busybox "$PLAIN_URL" busybox
        ud pull --registry="$PLAIN_URL" busybox
        [ "$UD_RC" = 0 ] || die "pull busybox failed: $(head -3 "$UD_ERR_FILE")"
        RF_BUSYBOX_PUSHED=1
    fi
    rootfs_create busybox:latest "$name"
}

# rootfs_cfgimage REPO JSON: push and pull REPO:latest, busybox plus users
# alice (1234) and bob (1235), /opt/app, /data, with the image config JSON
# (lib/tarimage.py --busybox).
rootfs_cfgimage() {
    rootfs_registry
    "$PYTHON" "$IT_LIB/tarimage.py" push --busybox --config "$2" --cache "$IT_CACHE" \
        --registry "$PLAIN_URL" --repo "$1" >>"$IT_WORK/logs/push.log" 2>&1 ||
        die "pushing $1 failed: $(tail -3 "$IT_WORK/logs/push.log")"
    ud pull --registry="$PLAIN_URL" "$1"
    [ "$UD_RC" = 0 ] || die "pull $1 failed: $(head -3 "$UD_ERR_FILE")"
}

# rootfs_create IMAGE NAME: create a container; sets RF_ID and RF_ROOT.
rootfs_create() {
    ud create --name="$2" "$1"
    [ "$UD_RC" = 0 ] || die "create $1 failed: $(head -3 "$UD_ERR_FILE")"
    RF_ID=$(cat "$UD_OUT_FILE")
    RF_ROOT=$(container_root "$RF_ID")
}

# debian_tarball: make sure the cached minbase tarball exists; sets
# DEBIAN_TAR, or returns 1 with the reason in DEBIAN_WHY. Built once per
# cache directory (a lock serialises concurrent tests; the others wait).
debian_tarball() {
    DEBIAN_WHY=
    local d=$IT_CACHE/debian
    DEBIAN_TAR=$d/$DEBIAN_SUITE-minbase.tar
    [ -s "$DEBIAN_TAR" ] && return 0
    if [ -n "${UD_IT_NO_DEBIAN:-}" ]; then
        DEBIAN_WHY="UD_IT_NO_DEBIAN is set"
        return 1
    fi
    command -v mmdebstrap >/dev/null || {
        DEBIAN_WHY="mmdebstrap is not installed"
        return 1
    }
    mkdir -p "$d"
    (
        flock 9
        [ -s "$DEBIAN_TAR" ] && exit 0
        if [ -f "$d/FAILED" ]; then
            local age=$(($(date +%s) - $(stat -c %Y "$d/FAILED")))
            [ "$age" -lt "$DEBIAN_RETRY_AFTER" ] && exit 3
        fi
        it_log "building the Debian $DEBIAN_SUITE minbase root (once per cache, ~1-2 min)"
        rm -f "$d/tmp.tar"
        # Fixed time stamps: the tarball (and so the image digest) depends
        # on the packages only.
        if SOURCE_DATE_EPOCH=1700000000 timeout 900 mmdebstrap --variant=minbase --mode=auto \
            --format=tar "$DEBIAN_SUITE" "$d/tmp.tar" >"$d/mmdebstrap.log" 2>&1; then
            mv -f "$d/tmp.tar" "$DEBIAN_TAR"
            rm -f "$d/FAILED"
            exit 0
        fi
        rm -f "$d/tmp.tar"
        grep -E '^E: ' "$d/mmdebstrap.log" | head -1 >"$d/FAILED"
        [ -s "$d/FAILED" ] || tail -1 "$d/mmdebstrap.log" >"$d/FAILED"
        exit 3
    ) 9>"$d/.lock"
    [ -s "$DEBIAN_TAR" ] && return 0
    DEBIAN_WHY="mmdebstrap could not build the $DEBIAN_SUITE root: $(head -c 300 "$d/FAILED" 2>/dev/null)"
    return 1
}

# need_debian: skip the whole test without the Debian root.
need_debian() {
    debian_tarball || skip "$DEBIAN_WHY"
}

# rootfs_debian NAME: the Debian root as image "debian:bookworm" in the
# local registry, pulled, and a container named NAME created from it; sets
# RF_ID and RF_ROOT. Returns 1 (DEBIAN_WHY) when there is no Debian root.
rootfs_debian() {
    local name=$1
    debian_tarball || return 1
    rootfs_registry
    if [ -z "${RF_DEBIAN_PUSHED:-}" ]; then
        "$PYTHON" "$IT_LIB/tarimage.py" push --tar "$DEBIAN_TAR" --cache "$IT_CACHE" \
            --registry "$PLAIN_URL" --repo debian --tag "$DEBIAN_SUITE" \
            >>"$IT_WORK/logs/push.log" 2>&1 ||
            die "pushing the Debian image failed: $(tail -3 "$IT_WORK/logs/push.log")"
        UD_TIMEOUT=300 ud pull --registry="$PLAIN_URL" "debian:$DEBIAN_SUITE"
        [ "$UD_RC" = 0 ] || die "pull debian failed: $(head -3 "$UD_ERR_FILE")"
        RF_DEBIAN_PUSHED=1
    fi
    UD_TIMEOUT=300 rootfs_create "debian:$DEBIAN_SUITE" "$name"
}
