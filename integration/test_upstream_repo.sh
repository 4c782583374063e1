#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A repository laid out byte for byte as upstream udocker 1.3 leaves it
# (lib/mkupstream.py: v2 and v1 images, relative layer links at two
# depths, containers with names, execmode, imagerepo.name without newline,
# PROTECT markers) works unchanged: images, ps, inspect and verify read it
# without rewriting a byte; create, name, rm and rmi work on it and write
# the same layout; run when the run command exists.
# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"
it_init "${1:-}"
command -v busybox >/dev/null || skip "busybox is not installed (image content)"
mkdir -p "$IT_WORK/fix"
"$PYTHON" "$IT_LIB/mkupstream.py" --cache "$IT_CACHE" --repo "$REPO" >"$IT_WORK/fix/up.json" \
    2>"$IT_WORK/logs/mkupstream.log" || die "mkupstream.py failed: $(tail -3 "$IT_WORK/logs/mkupstream.log")"
[ "$(id -u)" = 0 ] && chown -R udtest: "$REPO"
f() { "$PYTHON" -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$IT_WORK/fix/up.json" "$1"; }
C1=$(f c1)
C2=$(f c2)
LAYER=$(f layer)
V1TOP=$(f v1_top)
V1BASE=$(f v1_base)

# Byte-for-byte snapshot of upstream's layout (repos/, layers/,
# containers/): every entry with its mode, every file's sha256, every
# link's target. Files this implementation keeps beside them in the top
# directory (the repository lock, host capability caches) are not part of it.
layout() {
    (cd "$REPO" && find ./repos ./layers ./containers \( \( -type f -printf '%y %m %p ' -exec sh -c \
        'sha256sum <"$1" | cut -d" " -f1' sh {} \; \) -o \( -type l -printf '%y %p -> %l\n' \) \
        -o \( -printf '%y %m %p\n' \) \)) | LC_ALL=C sort
}
snap=$IT_WORK/snap
layout >"$snap"
expect_layout_unchanged() {
    if layout | cmp -s "$snap" -; then pass "repository unchanged byte for byte"; else
        fail "repository changed by: $UD_LAST_CMD"
        layout | diff "$snap" - | head -20 | sed 's/^/    /' >&2
    fi
}

# --- reading: nothing may change ---------------------------------------
ud images
expect_rc 0
expect_stdout_line "busybox:latest    ."
expect_stdout_line "lab/deep/busybox:1.0    P"
expect_stdout_line "old/v1img:1.0    ."
ud images -l
expect_rc 0
expect_stdout_contains "$REPO/repos/lab/deep/busybox/1.0"
expect_stdout_match "^    /$LAYER \([0-9]+ MB\)$"
expect_stdout_match "^    /$V1TOP.layer \([0-9]+ MB\)$"
ud images -p
expect_rc 0
expect_stdout_match "^linux/[a-z0-9]+.* \. busybox:latest$"
ud ps
expect_rc 0
expect_stdout_match "^$C1 \. W .*mybox.*busybox:latest"
expect_stdout_match "^$C2 P W .*lab/deep/busybox:1.0"
ud ps -m
expect_rc 0
expect_stdout_match "^$C1 \. W P1 "
ud inspect busybox:latest
expect_rc 0
expect_stdout_contains '"Cmd": ['
ud inspect old/v1img:1.0
expect_rc 0
expect_stdout_contains "\"parent\": \"$V1BASE\""
ud inspect mybox
expect_rc 0
expect_stdout_contains '"Cmd": ['
ud inspect -p mybox
expect_rc 0
expect_stdout_line "$REPO/containers/$C1/ROOT"
for img in busybox:latest lab/deep/busybox:1.0 old/v1img:1.0; do
    ud verify "$img"
    expect_rc 0
    expect_stdout_contains "image Ok"
done
expect_layout_unchanged

# --- protection markers are honoured -----------------------------------
ud rm "$C2"
expect_error
ud rmi lab/deep/busybox:1.0
expect_error
expect_layout_unchanged

# --- writing: the same layout -------------------------------------------
ud create --name=fromv1 old/v1img:1.0
expect_rc 0
N1=$(cat "$UD_OUT_FILE")
check "v1 layers applied bottom first" test -f "$(container_root "$N1")/hello-v1.txt"
check "v1 base layer applied" test -x "$(container_root "$N1")/bin/busybox"
check "imagerepo.name without newline" \
    [ "$(cat "$REPO/containers/$N1/imagerepo.name")" = "old/v1img:1.0" ]
check "imagerepo.name has no newline" no_trailing_nl "$REPO/containers/$N1/imagerepo.name"
check "name is a relative symlink to the id" [ "$(readlink "$REPO/containers/fromv1")" = "$N1" ]
ud create busybox:latest
expect_rc 0
N2=$(cat "$UD_OUT_FILE")
ud name "$N2" second
expect_rc 0
ud ps
expect_stdout_match "^$N2 \. W .*second.*busybox:latest"
expect_stdout_match "^$C1 \. W .*mybox.*busybox:latest"
ud rm second
expect_rc 0
ud rm fromv1
expect_rc 0
ud rmi old/v1img:1.0
expect_rc 0
check "v1 layers removed with their image" [ ! -e "$REPO/layers/$V1TOP.layer" ]
check "shared v2 layer kept" test -f "$REPO/layers/$LAYER"

# --- run, once the command exists ---------------------------------------
ud run --help
if [ "$UD_RC" = 0 ] && ! grep -q "invalid command" "$UD_ERR_FILE"; then
    ud run mybox /bin/busybox echo upstream-ok
    expect_rc 0
    expect_stdout_contains upstream-ok
else
    it_log "SKIP run: this build has no run command"
fi
it_done
