#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Image transport: save (Docker 25+ layout, stdout), load (our archives,
# skopeo docker-archive: and oci-archive:, gzip, multi-image, NEWNAME),
# save -> load identical digests, import (file, stdin, --mv, --platform,
# --tocontainer, --clone), export (-o, -, --clone), tag, rename; and bad
# input: truncated and corrupt archives, path traversal, symlinked blobs,
# manifest.json naming missing files, existing tags, missing and running
# containers, each a one-line error with the repository unchanged.
# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=lib/registry.sh
. "$(dirname "$0")/lib/registry.sh"
it_init "${1:-}"
start_registry_plain
image_push busybox "$PLAIN_URL" busybox
image_push layers "$PLAIN_URL" layers
PULL=(--registry="$PLAIN_URL")
UUID_RE='^[a-z0-9]+(-[a-z0-9]+){4}$'
SKOPEO=$(command -v skopeo || true)
A=$IT_U/arch # archives, owned by the test user
mkdir -p "$A" && chown "$IT_UID" "$A" 2>/dev/null
ud_ok pull "${PULL[@]}" busybox
ud_ok pull "${PULL[@]}" layers:latest

tar_has() { tar -tf "$1" "${@:2}" >/dev/null 2>&1; }
sk() { "$SKOPEO" --insecure-policy copy -q "$@" >>"$IT_WORK/logs/skopeo.log" 2>&1; }
manifest_digest() { sha256sum <"$REPO/repos/$1/$2/manifest" | cut -d' ' -f1; }
# py FILE EXPR: evaluate EXPR over the JSON file as j.
py() { "$PYTHON" -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }

# --- save: the Docker 25+ layout ------------------------------------------
ud_ok save -o "$A/bb.tar" busybox:latest
expect_stdout_empty
tar -tf "$A/bb.tar" >"$IT_WORK/members"
check "oci-layout first" [ "$(head -1 "$IT_WORK/members")" = oci-layout ]
for m in index.json manifest.json repositories; do
    check "archive has $m" grep -qx "$m" "$IT_WORK/members"
done
check "only blobs besides the metadata" [ "$(grep -vc '^blobs/sha256/[0-9a-f]\{64\}$' "$IT_WORK/members")" = 4 ]
tar -xf "$A/bb.tar" -C "$IT_WORK" manifest.json index.json repositories
check "manifest.json RepoTags" [ "$(py "$IT_WORK/manifest.json" 'j[0]["RepoTags"]')" = "['busybox:latest']" ]
check "index.json names the image" [ "$(py "$IT_WORK/index.json" 'j["manifests"][0]["annotations"]["io.containerd.image.name"]')" = docker.io/library/busybox:latest ]
check "index.json digest is the stored manifest" [ "$(py "$IT_WORK/index.json" 'j["manifests"][0]["digest"]')" = "sha256:$(manifest_digest busybox latest)" ]
LAST=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["layers"][-1]["digest"][7:])' "$REPO/repos/busybox/latest/manifest")
check "repositories records the top layer" [ "$(py "$IT_WORK/repositories" 'j["busybox"]["latest"]')" = "$LAST" ]
ud save -o "$A/bb.tar" busybox:latest
expect_error "output file already exists"
ud save -o "$A/none.tar" nosuch:1
expect_error "image not found"
check "failed save leaves no file" [ ! -e "$A/none.tar" ]
check "failed save leaves no temporary" [ -z "$(find "$A" -name '.none.tar*')" ]

# stdout: -o -, and no -o when stdout is not a terminal
"${IT_RUNAS[@]}" env -i HOME="$UHOME" UDOCKER_DIR="$REPO" "$UDBIN" save -o - busybox:latest >"$IT_WORK/o1.tar" 2>"$IT_WORK/o1.err"
check "save -o - exits 0" [ $? = 0 ]
"${IT_RUNAS[@]}" env -i HOME="$UHOME" UDOCKER_DIR="$REPO" "$UDBIN" save busybox:latest >"$IT_WORK/o2.tar" 2>>"$IT_WORK/o1.err"
check "save to stdout gives the same bytes as -o FILE" cmp -s "$IT_WORK/o1.tar" "$A/bb.tar"
check "save without -o writes stdout" cmp -s "$IT_WORK/o2.tar" "$A/bb.tar"

# --- save -> load: identical digests ---------------------------------------
D_BB=$(manifest_digest busybox latest)
D_LY=$(manifest_digest layers latest)
ud_ok save -o "$A/two.tar" busybox:latest layers:latest
ud_ok rmi busybox:latest
ud_ok rmi layers:latest
ud load -i "$A/two.tar"
expect_rc 0
expect_stdout_line busybox:latest
expect_stdout_line layers:latest
check "busybox manifest digest kept" [ "$(manifest_digest busybox latest)" = "$D_BB" ]
check "layers manifest digest kept" [ "$(manifest_digest layers latest)" = "$D_LY" ]
ud_ok verify layers:latest
ID=$(ud create busybox:latest && cat "$UD_OUT_FILE")
check "create works on a loaded image" grep -qE "$UUID_RE" <<<"$ID"
check "loaded image extracts" test -f "$(container_root "$ID")/bin/busybox"

# stdin, "-", NEWNAME, existing tag
UD_STDIN=$A/bb.tar ud load renamed
expect_rc 0
expect_stdout_line renamed:latest
UD_STDIN=$A/bb.tar ud -q load - other/name:v9
expect_stdout_line other/name:v9
ud load -i "$A/bb.tar"
expect_error "load failed"
expect_stdout_contains "Info: repository and tag already exist busybox latest"

# --- skopeo ---------------------------------------------------------------
if [ -n "$SKOPEO" ]; then
    sk docker-archive:"$A/bb.tar" oci-archive:"$A/sk-oci.tar":skopeo/oci:1 &&
        pass "skopeo reads save as docker-archive" || fail "skopeo docker-archive: read"
    sk oci-archive:"$A/bb.tar" docker-archive:"$A/sk-dock.tar":skopeo/dock:2 &&
        pass "skopeo reads save as oci-archive" || fail "skopeo oci-archive: read"
    chmod a+r "$A"/sk-*.tar 2>/dev/null
    ud load -i "$A/sk-oci.tar"
    expect_rc 0
    expect_stdout_line skopeo/oci:1
    ud_ok verify skopeo/oci:1
    ud load -i "$A/sk-dock.tar"
    expect_rc 0
    expect_stdout_line skopeo/dock:2
    ud_ok verify skopeo/dock:2
    ud_ok save -o "$A/sk-back.tar" skopeo/dock:2
    sk docker-archive:"$A/sk-back.tar" dir:"$IT_WORK/skdir" &&
        pass "skopeo reads a save of a skopeo-made image" || fail "skopeo re-read"
    # oci-archive without a name: NEWNAME gives the repository
    sk oci-archive:"$A/bb.tar" oci-archive:"$A/sk-noname.tar" || fail "skopeo oci-archive unnamed"
    chmod a+r "$A"/sk-*.tar 2>/dev/null
    ud load -i "$A/sk-noname.tar" unnamed
    expect_rc 0
    expect_stdout_line unnamed:latest
else
    it_log "skopeo not installed: interop checks skipped"
fi

# gzip-compressed archive (docker load accepts them)
gzip -c "$A/bb.tar" >"$A/bb.tar.gz" && chmod a+r "$A/bb.tar.gz"
ud load -i "$A/bb.tar.gz" gz
expect_rc 0
expect_stdout_line gz:latest

# --- tag, rename ----------------------------------------------------------
ud_ok tag busybox:latest tagged:1
check "tag shares layer files" [ "$(readlink "$REPO/repos/tagged/1/sha256:$LAST")" = "../../../layers/sha256:$LAST" ]
ud tag busybox:latest tagged:1
expect_error "target already exists"
ud tag nosuch:1 xx:1
expect_error "source does not exist"
ud_ok rename tagged:1 moved:2
check "rename: old tag gone" [ ! -e "$REPO/repos/tagged/1" ]
ud_ok verify moved:2
ud_ok protect moved:2
ud rename moved:2 moved:3
expect_error "protected"
check "protected source kept" test -f "$REPO/repos/moved/2/TAG"
ud_ok create --name=cname busybox:latest
ud_ok rename cname cname2
check "container name renamed" [ -L "$REPO/containers/cname2" ]
check "old container name gone" [ ! -e "$REPO/containers/cname" ]

# --- import ---------------------------------------------------------------
ud_ok export -o "$A/root.tar" cname2
expect_stdout_line "Info: exporting to file $A/root.tar"
check "export members start with ./" [ "$(tar -tf "$A/root.tar" | grep -vc '^\./')" = 0 ]
check "export has busybox" tar_has "$A/root.tar" ./bin/busybox
ud import "$A/root.tar" imported:1
expect_rc 0
expect_stdout_match '^Info: added layer [0-9a-f]{64}$'
ud_ok verify imported:1
ud import "$A/root.tar" imported:1
expect_error "importing"
expect_stdout_contains "Info: tag already exists in repo: 1"
UD_STDIN=$A/root.tar ud_ok import --platform=linux/arm64 - imported:arm
ud images -p
expect_stdout_match '^linux/arm64 +\. imported:arm$'
cp "$A/root.tar" "$A/mv.tar"
ud_ok import --mv "$A/mv.tar" imported:mv
check "--mv moved the tarball" [ ! -e "$A/mv.tar" ]
ud -q import --tocontainer --name=tc "$A/root.tar"
expect_rc 0
check "--tocontainer prints only the id" grep -qE "$UUID_RE" "$UD_OUT_FILE"
check "one line" [ "$(stdout_lines)" = 1 ]
TC=$(cat "$UD_OUT_FILE")
check "imported container has busybox" test -f "$(container_root "$TC")/bin/busybox"
check "imagerepo.name IMPORTED:unknown" [ "$(cat "$REPO/containers/$TC/imagerepo.name")" = IMPORTED:unknown ]
ud import "$A/not-there.tar" xx:1
expect_error "importing"

# --- export ---------------------------------------------------------------
"${IT_RUNAS[@]}" env -i HOME="$UHOME" UDOCKER_DIR="$REPO" "$UDBIN" export - cname2 >"$IT_WORK/e1.tar"
check "export - CONTAINER writes stdout" cmp -s "$IT_WORK/e1.tar" "$A/root.tar"
ud_ok export --clone -o "$A/clone.tar" cname2
check "clone export has metadata" tar_has "$A/clone.tar" ./container.json ./imagerepo.name ./ROOT/bin/busybox
ud -q import --clone --name=cl "$A/clone.tar"
expect_rc 0
check "import --clone prints the id" grep -qE "$UUID_RE" "$UD_OUT_FILE"
CL=$(cat "$UD_OUT_FILE")
check "clone has its image name" [ "$(cat "$REPO/containers/$CL/imagerepo.name")" = busybox:latest ]
check "clone has the root" test -f "$(container_root "$CL")/bin/busybox"
check "clone named" [ "$(readlink "$REPO/containers/cl")" = "$CL" ]

# --- bad input: one-line errors, repository unchanged -------------------
repo_snapshot "$IT_WORK/snap.before"
bad_load() {
    local what=$1 file=$2
    ud load -i "$file"
    expect_error "${3:-load failed}"
    check "$what: one stderr line" [ "$(grep -c . "$UD_ERR_FILE")" = 1 ]
    expect_repo_unchanged "$IT_WORK/snap.before"
}
head -c 3000 "$A/bb.tar" >"$A/trunc.tar"
bad_load truncated "$A/trunc.tar" "truncated"
cp "$A/bb.tar" "$A/corrupt.tar"
printf 'XXXX' | dd of="$A/corrupt.tar" bs=1 seek=10 conv=notrunc 2>/dev/null
bad_load "corrupt header" "$A/corrupt.tar" "checksum"
"$PYTHON" - "$A" <<'EOF'
import io, json, sys, tarfile
d = sys.argv[1]
def mk(name, members):
    with tarfile.open(f"{d}/{name}", "w") as t:
        for n, kind, val in members:
            ti = tarfile.TarInfo(n)
            if kind == "f":
                ti.size = len(val); t.addfile(ti, io.BytesIO(val))
            else:
                ti.type = tarfile.SYMTYPE; ti.linkname = val; t.addfile(ti)
mj = json.dumps([{"Config": "c.json", "RepoTags": ["bad:1"], "Layers": ["l/layer.tar"]}]).encode()
mk("traversal.tar", [("../../evil", "f", b"x"), ("manifest.json", "f", mj)])
mk("symlink.tar", [("c.json", "f", b"{}"), ("l/layer.tar", "s", "/etc/passwd"), ("manifest.json", "f", mj)])
mk("missing.tar", [("c.json", "f", b"{}"), ("manifest.json", "f", mj)])
mk("junk.tar", [("hello", "f", b"hi")])
EOF
chmod a+r "$A"/*.tar
bad_load "path traversal" "$A/traversal.tar" "escapes the archive"
bad_load "symlinked blob" "$A/symlink.tar" "points outside"
bad_load "manifest.json names a missing file" "$A/missing.tar" "archive has no member l/layer.tar"
bad_load "not an image archive" "$A/junk.tar" "not an image archive"
head -c 1000 /dev/urandom >"$A/random.tar"
chmod a+r "$A/random.tar"
ud load -i "$A/random.tar"
expect_error "load failed"
expect_repo_unchanged "$IT_WORK/snap.before"
ud load -i "$A/absent.tar"
expect_error "absent.tar"
ud export -o "$A/x.tar" nosuch
expect_error "invalid container id"
check "no file for a missing container" [ ! -e "$A/x.tar" ]
# a running container: a process of the user working inside its ROOT
"${IT_RUNAS[@]}" bash -c 'cd "$1" && exec sleep 30' _ "$(container_root "$ID")" &
RUNPID=$!
on_exit "kill $RUNPID"
sleep 0.3
ud export -o "$A/busy.tar" "$ID"
expect_error "in use by process"
check "no file for a running container" [ ! -e "$A/busy.tar" ]
kill "$RUNPID" 2>/dev/null
wait "$RUNPID" 2>/dev/null
expect_repo_unchanged "$IT_WORK/snap.before"
# a pipe (read once, front to back)
cat "$A/bb.tar" >"$IT_WORK/pipe.tar"
"${IT_RUNAS[@]}" env -i HOME="$UHOME" UDOCKER_DIR="$REPO" "$UDBIN" load piped <"$IT_WORK/pipe.tar" >/dev/null 2>&1
cat "$A/bb.tar" | "${IT_RUNAS[@]}" env -i HOME="$UHOME" UDOCKER_DIR="$REPO" "$UDBIN" load fromapipe >"$IT_WORK/pipe.out" 2>&1
check "load from a pipe" grep -qx fromapipe:latest "$IT_WORK/pipe.out"
ud_ok rmi piped:latest
ud_ok rmi fromapipe:latest
repo_snapshot "$IT_WORK/snap.before"
# interrupted in the middle of the archive: the next command cleans up
mkfifo "$IT_WORK/slow" && chmod a+rw "$IT_WORK/slow"
(head -c 600000 "$A/bb.tar"; sleep 6) >"$IT_WORK/slow" &
SLOW=$!
on_exit "kill $SLOW"
UD_STDIN=$IT_WORK/slow UD_SIGNAL=INT UD_TIMEOUT=2 ud load interrupted
check "interrupted load did not succeed" [ "$UD_RC" != 0 ]
kill "$SLOW" 2>/dev/null
wait "$SLOW" 2>/dev/null
ud_ok images
expect_stdout_lacks interrupted
expect_repo_unchanged "$IT_WORK/snap.before"
# disk full during load: nothing half-stored
UD_FSIZE=200 ud load -i "$A/bb.tar" full
expect_rc nonzero
expect_repo_unchanged "$IT_WORK/snap.before"
it_done
