#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Local image and container commands on pulled images: images [-l] [-p],
# on-disk layout, inspect [-p], create [--name], ps [-m] [-s], name, rmname,
# protect/unprotect, rm, rmi (shared layers kept), clone, verify.
# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=lib/registry.sh
. "$(dirname "$0")/lib/registry.sh"
it_init "${1:-}"
start_registry_plain
image_push busybox "$PLAIN_URL" busybox
image_push busybox "$PLAIN_URL" busybox --tag v2
image_push layers "$PLAIN_URL" layers
PULL=(--registry="$PLAIN_URL")
UUID_RE='^[a-z0-9]+(-[a-z0-9]+){4}$'

ud_ok pull "${PULL[@]}" busybox
ud_ok pull "${PULL[@]}" busybox:v2
ud_ok pull "${PULL[@]}" layers:latest

# --- images -------------------------------------------------------------
ud images
expect_rc 0
expect_stdout_line REPOSITORY
expect_stdout_line "busybox:latest    ."
expect_stdout_line "busybox:v2    ."
expect_stdout_line "layers:latest    ."
ud -q images
expect_stdout_line "busybox:latest    ."
check "-q images prints just the 3 images" [ "$(stdout_lines)" = 3 ]

ARCH=$("$PYTHON" -c 'import sys; sys.path.insert(0, sys.argv[1]); import mkimage; print(mkimage.host_arch())' "$IT_LIB")
ud images -p
expect_rc 0
expect_stdout_line "$(printf '%-18s . %s' "linux/$ARCH" busybox:latest)"

ud images -l
expect_rc 0
expect_stdout_contains "$REPO/repos/busybox/latest"
expect_stdout_match '^    /sha256:[0-9a-f]{64} \([0-9]+ MB\)$'

# --- layout (reference 2.2) -------------------------------------------------
T=$REPO/repos/busybox/latest
check "TAG file" [ "$(cat "$T/TAG" 2>/dev/null)" = "$REPO/repos/busybox:latest" ]
check "TAG has no newline" no_trailing_nl "$T/TAG"
check "v2 marker" test -f "$T/v2"
check "manifest saved" "$PYTHON" -c 'import json,sys; m=json.load(open(sys.argv[1])); assert m["schemaVersion"]==2' "$T/manifest"
MAN_DIGEST=$(plan_field busybox '[m["digest"] for m in p["manifests"] if m["ref"]=="latest"][0]')
BLOBS=$("$PYTHON" -c 'import json,sys; m=json.load(open(sys.argv[1])); print(" ".join([l["digest"] for l in m["layers"]]+[m["config"]["digest"]]))' "$T/manifest")
for b in $BLOBS; do
    check "link $b is relative into layers/" [ "$(readlink "$T/$b")" = "../../../layers/$b" ]
    check "layer file $b exists" test -f "$REPO/layers/$b"
done
check "manifest is the pushed one" [ "sha256:$(sha256sum <"$T/manifest" | cut -d' ' -f1)" = "$MAN_DIGEST" ]

# --- inspect (image) ----------------------------------------------------
ud inspect busybox:latest
expect_rc 0
CFG=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["config"]["digest"])' "$T/manifest")
"$PYTHON" -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])), sort_keys=True, indent=4, separators=(",", ": ")))' \
    "$REPO/layers/$CFG" >"$IT_WORK/inspect.want"
check "inspect prints the config as sorted 4-space JSON" diff "$IT_WORK/inspect.want" "$UD_OUT_FILE"
ud inspect -p busybox:latest
expect_error "image or container not found"

# --- create, ps ---------------------------------------------------------
ud create busybox:latest
expect_rc 0
ID1=$(cat "$UD_OUT_FILE")
check "create prints only an id ($ID1)" grep -qE "$UUID_RE" <<<"$ID1"
check "one stdout line" [ "$(stdout_lines)" = 1 ]
ud -q create --name=c1 busybox
expect_rc 0
ID2=$(cat "$UD_OUT_FILE")
check "-q create prints the id" grep -qE "$UUID_RE" <<<"$ID2"
C2=$REPO/containers/$ID2
check "ROOT exists" test -d "$C2/ROOT"
check "ROOT has busybox" test -f "$C2/ROOT/bin/busybox"
check "container.json" "$PYTHON" -c 'import json,sys; json.load(open(sys.argv[1]))' "$C2/container.json"
check "imagerepo.name" [ "$(cat "$C2/imagerepo.name")" = busybox:latest ]
check "imagerepo.name has no newline" no_trailing_nl "$C2/imagerepo.name"
check "name link is relative to the id" [ "$(readlink "$REPO/containers/c1")" = "$ID2" ]
snap=$IT_WORK/snap1
repo_snapshot "$snap"
ud create --name=c1 busybox
expect_error "container name already exists"
ud create --name=c1 nosuchimage:latest
expect_rc nonzero

ud ps
expect_rc 0
expect_stdout_match '^CONTAINER ID +P M +NAMES +IMAGE'
expect_stdout_match "^$ID1 \. W .*busybox:latest"
expect_stdout_match "^$ID2 \. W .*c1.*busybox:latest"
check "ps lists directories only (2 rows + header)" [ "$(stdout_lines)" = 3 ]
ud -q ps
check "-q ps still prints header and rows" [ "$(stdout_lines)" = 3 ]
ud ps -m
expect_rc 0
expect_stdout_match '^CONTAINER ID +P M MOD '
ud ps -s
expect_rc 0
expect_stdout_match '^CONTAINER ID +P M SIZE '
expect_stdout_match "^$ID2 \. W +[0-9]+ "
ud ps -m -s
expect_rc 0
expect_stdout_match 'MOD SIZE'

# --- inspect (container) --------------------------------------------------
ud inspect c1
expect_rc 0
check "inspect container prints its container.json" "$PYTHON" -c '
import json,sys
a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); assert a==b' "$UD_OUT_FILE" "$C2/container.json"
ud inspect -p c1
expect_rc 0
expect_stdout_line "$REPO/containers/$ID2/ROOT"
ud inspect -p "$ID2"
expect_stdout_line "$REPO/containers/$ID2/ROOT"
ud inspect nosuch-container
expect_error

# --- name / rmname ------------------------------------------------------
ud name "$ID1" n1
expect_rc 0
check "name link n1" [ "$(readlink "$REPO/containers/n1")" = "$ID1" ]
repo_snapshot "$snap"
for bad in "bad.name" "bad/name" "bad name" "bad[x]" n1 c1; do
    ud name "$ID1" "$bad"
    expect_error
done
ud name no-such-id n9
expect_error
expect_repo_unchanged "$snap"
ud rmname n1
expect_rc 0
check "rmname removed the link" test ! -e "$REPO/containers/n1"
check "rmname kept the container" test -d "$REPO/containers/$ID1"
ud rmname n1
expect_error

# --- clone --------------------------------------------------------------
ud clone --name=cl c1
expect_rc 0
IDC=$(cat "$UD_OUT_FILE")
check "clone prints a new id" grep -qE "$UUID_RE" <<<"$IDC"
check "clone differs from source" [ "$IDC" != "$ID2" ]
check "clone has ROOT" test -f "$REPO/containers/$IDC/ROOT/bin/busybox"
check "clone name" [ "$(readlink "$REPO/containers/cl")" = "$IDC" ]
ud clone --name=cl c1
expect_error "container name already exists"

# --- protect / unprotect, rm --------------------------------------------
ud protect c1
expect_rc 0
check "PROTECT file" test -f "$C2/PROTECT"
repo_snapshot "$snap"
ud rm c1
expect_error "container is protected"
expect_repo_unchanged "$snap"
ud unprotect c1
expect_rc 0
check "PROTECT removed" test ! -e "$C2/PROTECT"
ud rm c1 no-such-container "$IDC"
expect_rc 1
expect_stderr_contains "invalid container id"
check "rm removed c1" test ! -e "$C2"
check "rm removed c1's name" test ! -L "$REPO/containers/c1"
check "rm continued after a bad id" test ! -e "$REPO/containers/$IDC"
check "cl name gone" test ! -L "$REPO/containers/cl"
ud rm "$ID1"
expect_rc 0
check "containers/ empty" [ -z "$(ls -A "$REPO/containers")" ]

# --- protect images, rmi ------------------------------------------------
ud protect busybox:latest
expect_rc 0
check "tag PROTECT" test -f "$T/PROTECT"
ud images
expect_stdout_line "busybox:latest    P"
repo_snapshot "$snap"
ud rmi busybox:latest
expect_error "image repository is protected"
expect_repo_unchanged "$snap"
ud unprotect busybox:latest
expect_rc 0
ud rmi busybox:v2
expect_rc 0
check "rmi removed the tag" test ! -e "$REPO/repos/busybox/v2"
for b in $BLOBS; do
    check "shared layer $b kept" test -f "$REPO/layers/$b"
done
ud rmi busybox:latest
expect_rc 0
for b in $BLOBS; do
    check "unshared layer $b deleted" test ! -e "$REPO/layers/$b"
done
check "empty repository dir removed" test ! -e "$REPO/repos/busybox"
check "layers image untouched" test -f "$REPO/repos/layers/latest/TAG"
ud rmi busybox:latest
expect_error
ud rmi -f nosuch:tag
expect_rc nonzero

# --- verify -------------------------------------------------------------
ud verify layers:latest
expect_rc 0
expect_stdout_contains "image Ok"
L0=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["layers"][0]["digest"])' "$REPO/repos/layers/latest/manifest")
chmod u+w "$REPO/layers/$L0" 2>/dev/null
printf 'X' >>"$REPO/layers/$L0"
ud verify layers:latest
expect_error "image verification failure"
ud verify nosuch:tag
expect_error
it_done
