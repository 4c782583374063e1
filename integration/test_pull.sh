#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# pull from a plain HTTP registry: reference forms, progress lines, cache,
# digest pulls, multi-platform indexes and manifest lists (--platform),
# OCI media types (zstd, uncompressed), a multi-MB image, --insecure with TLS.
# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=lib/registry.sh
. "$(dirname "$0")/lib/registry.sh"
it_init "${1:-}"
start_registry_plain
for i in busybox layers multi big; do image_push "$i" "$PLAIN_URL" "$i"; done
image_push busybox "$PLAIN_URL" lib/nested/busybox
PULL=(--registry="$PLAIN_URL")
ARCH=$("$PYTHON" -c 'import sys; sys.path.insert(0, sys.argv[1]); import mkimage; print(mkimage.host_arch())' "$IT_LIB")

# plain pull: one "Info: downloading layer" per blob, config included
ud pull "${PULL[@]}" busybox
expect_rc 0
n=$(grep -c '^Info: downloading layer sha256:[0-9a-f]\{64\}$' "$UD_OUT_FILE")
check "a progress line per blob (layer + config): $n" [ "$n" -ge 2 ]
check "tag present" test -f "$REPO/repos/busybox/latest/TAG"
ud images
expect_stdout_line "busybox:latest    ."

# re-pull: cached, still 0, nothing changes
snap=$IT_WORK/snap
repo_snapshot "$snap"
ud pull "${PULL[@]}" busybox:latest
expect_rc 0
expect_repo_unchanged "$snap"
ud -q pull "${PULL[@]}" busybox
expect_rc 0
expect_stdout_lacks "Info:"

# deeper repository names: relative links get more ../
ud pull "${PULL[@]}" lib/nested/busybox
expect_rc 0
T=$REPO/repos/lib/nested/busybox/latest
L=$(find "$T" -maxdepth 1 -name 'sha256:*' -printf '%f\n' | head -1)
check "nested link depth ($L)" [ "$(readlink "$T/$L")" = "../../../../../layers/$L" ]
check "nested blob shared with busybox" test -f "$REPO/layers/$L"

# digest pull: stored as a sha256:... tag directory
DIG=$(plan_field busybox '[m["digest"] for m in p["manifests"] if m["ref"]=="latest"][0]')
ud pull "${PULL[@]}" "busybox@$DIG"
expect_rc 0
check "digest tag dir" test -f "$REPO/repos/busybox/$DIG/TAG"
ud create "busybox@$DIG"
expect_rc 0
check "create from a digest reference" test -f "$REPO/containers/$(cat "$UD_OUT_FILE")/ROOT/bin/busybox"
repo_snapshot "$snap"
ud pull "${PULL[@]}" "busybox@sha256:$(printf '%064d' 0)"
expect_error
expect_repo_unchanged "$snap"

# OCI image with gzip, plain tar and zstd layers
ud pull "${PULL[@]}" layers
expect_rc 0
check "OCI manifest saved" grep -q 'application/vnd.oci.image.manifest.v1+json' "$REPO/repos/layers/latest/manifest"
ud verify layers
expect_rc 0

# multi-platform: OCI index and Docker manifest list
platform_of() { # IMAGE [pull options...] -> prints /platform.txt of a new container
    local img=$1
    shift
    ud pull "${PULL[@]}" "$@" "$img"
    [ "$UD_RC" = 0 ] || { echo "pull-failed"; return; }
    ud create "$img"
    [ "$UD_RC" = 0 ] || { echo "create-failed"; return; }
    cat "$REPO/containers/$(cat "$UD_OUT_FILE")/ROOT/platform.txt" 2>/dev/null || echo missing
}
for tag in latest list; do
    case "$ARCH" in
    amd64) want=linux/amd64 ;;
    arm64) want=linux/arm64/v8 ;;
    *) want= ;;
    esac
    if [ -n "$want" ]; then
        got=$(platform_of "multi:$tag")
        check "multi:$tag default platform is the host's ($got)" [ "$got" = "$want" ]
    fi
    got=$(platform_of "multi:$tag" --platform=linux/arm64)
    check "multi:$tag --platform=linux/arm64 ($got)" [ "$got" = linux/arm64/v8 ]
    got=$(platform_of "multi:$tag" --platform=linux/arm/v7)
    check "multi:$tag --platform=linux/arm/v7 ($got)" [ "$got" = linux/arm/v7 ]
    got=$(platform_of "multi:$tag" --platform=LINUX/ARM/V6)
    check "multi:$tag platform matching is case-insensitive ($got)" [ "$got" = linux/arm/v6 ]
    ud images -p
    expect_stdout_match "^linux/arm/v6 +\. multi:$tag(  \[index: .*\])?\$"
    repo_snapshot "$snap"
    ud pull "${PULL[@]}" --platform=linux/s390x "multi:$tag"
    expect_error "platform"
    expect_repo_unchanged "$snap"
done
check "manifest saved is the platform manifest, not the index" \
    "$PYTHON" -c 'import json,sys; m=json.load(open(sys.argv[1])); assert "layers" in m' "$REPO/repos/multi/latest/manifest"
ud pull "${PULL[@]}" --platform=unknown/unknown multi:latest
expect_error

# ---- multi-platform images keep their index: images -p lists its platforms ----
# multi:latest (OCI index with an attestation entry) and multi:list (Docker
# manifest list) were last pulled for linux/arm/v6 above.
IDX="linux/amd64 linux/arm64/v8 linux/arm/v6 linux/arm/v7"
ud images -p
expect_rc 0
expect_stdout_line "linux/arm/v6       . multi:latest  [index: $IDX]"
expect_stdout_line "linux/arm/v6       . multi:list  [index: $IDX]"
expect_stdout_match "^[a-z0-9/]+ +\. busybox:latest\$" # no index: upstream's row
expect_stdout_lacks "unknown/unknown]"                   # attestation skipped
ud images
expect_stdout_line "multi:latest    ."
expect_stdout_lacks "index"
for tag in latest list; do
    check "multi:$tag keeps its index as a regular file" \
        "$PYTHON" -c 'import json,os,sys; p=sys.argv[1]; assert os.path.isfile(p) and not os.path.islink(p); assert len(json.load(open(p))["manifests"]) >= 4' "$REPO/repos/multi/$tag/index"
    ud verify "multi:$tag"
    expect_rc 0
    expect_stdout_contains "image Ok"
    expect_stderr_lacks "Warning"
done
check "busybox (no index) has no index file" [ ! -e "$REPO/repos/busybox/latest/index" ]
check "digest pull of a manifest has no index file" [ ! -e "$REPO/repos/busybox/$DIG/index" ]
# a re-pull that goes through the index again rewrites the same file
ud pull "${PULL[@]}" --platform=linux/arm64 multi:latest
expect_rc 0
ud images -p
expect_stdout_line "linux/arm64/v8     . multi:latest  [index: $IDX]"
# a platform manifest pulled by its digest went through no index: no index file
PDIG=$("$PYTHON" -c 'import json,sys; print([m["digest"] for m in json.load(open(sys.argv[1]))["manifests"] if m.get("platform",{}).get("architecture")=="amd64"][0])' "$REPO/repos/multi/latest/index")
ud pull "${PULL[@]}" "multi@$PDIG"
expect_rc 0
check "platform digest pull keeps no index" [ ! -e "$REPO/repos/multi/$PDIG/index" ]
ud images -p
expect_stdout_match "^linux/amd64 +\. multi:$PDIG\$"

# a few MB in several layers
ud pull "${PULL[@]}" big
expect_rc 0
ud verify big
expect_rc 0
expect_stdout_contains "image Ok"
ud create big
expect_rc 0
B=$REPO/containers/$(cat "$UD_OUT_FILE")/ROOT/data
check "big layers extracted" [ "$(ls "$B" 2>/dev/null | wc -l)" = 4 ]
# two pulls of the same image at once into one repository
ud_ok rmi big
pids=()
for i in 1 2; do
    (
        UD_OUT_FILE=$IT_WORK/conc$i.out UD_ERR_FILE=$IT_WORK/conc$i.err
        ud pull "${PULL[@]}" big
        echo "$UD_RC" >"$IT_WORK/conc$i.rc"
    ) &
    pids+=($!)
done
wait "${pids[@]}" # not a bare wait: the registry is a child too
for i in 1 2; do
    check "concurrent pull $i succeeded ($(cat "$IT_WORK/conc$i.rc"): $(head -c 300 "$IT_WORK/conc$i.err"))" \
        [ "$(cat "$IT_WORK/conc$i.rc")" = 0 ]
done
# whatever happened, the repository stays usable
ud pull "${PULL[@]}" big
expect_rc 0
ud verify big
expect_rc 0
expect_stdout_contains "image Ok"
check "no temporary files left in layers/" [ -z "$(find "$REPO/layers" -name '*.partial' -o -name '*.tmp')" ]
it_done
