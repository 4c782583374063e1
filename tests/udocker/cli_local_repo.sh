#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The built udocker against a repository assembled by hand in upstream's
# layout (no registry): images, verify, create with whiteouts, names, ps,
# inspect, protect, clone, rm, rmi, and a corrupt layer.
# Usage: cli_local_repo.sh /path/to/udocker
set -u
UD=$1
T=$(mktemp -d /tmp/ud-cli-repo.XXXXXX)
trap 'chmod -R u+rwx "$T" 2>/dev/null; rm -rf "$T"' EXIT
export HOME="$T/home"
mkdir -p "$HOME"
unset UDOCKER_LOGLEVEL UDOCKER_REPOS UDOCKER_LAYERS UDOCKER_CONTAINERS || true
R="$T/repo"
export UDOCKER_DIR="$R"
FAIL=0

ud() { "$UD" --allow-root "$@" >"$T/out" 2>"$T/err"; echo $? >"$T/rc"; }
fail() { echo "FAIL: $*"; echo "--- stdout"; cat "$T/out"; echo "--- stderr"; cat "$T/err"; FAIL=1; }
expect_rc() { [ "$(cat "$T/rc")" = "$1" ] || fail "$2: exit $(cat "$T/rc"), expected $1"; }
expect_out() { grep -qF -- "$1" "$T/out" || fail "$2: stdout lacks '$1'"; }
expect_err() { grep -qF -- "$1" "$T/err" || fail "$2: stderr lacks '$1'"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
ncont() { find "$R/containers" -mindepth 1 -maxdepth 1 -type d | wc -l; }

ud mkrepo "$R"; expect_rc 0 mkrepo

# put_blob FILE -> prints sha256:<hex> and stores it in layers/.
put_blob() { h=$(sha "$1"); cp "$1" "$R/layers/sha256:$h"; echo "sha256:$h"; }

# make_image NAME TAG CONFIGFILE LAYERFILE... : a v2 schema2 tag directory.
make_image() {
    name=$1; tag=$2; cfg=$3; shift 3
    dir="$R/repos/$name/$tag"
    mkdir -p "$dir"
    up=$(echo "repos/$name/$tag" | sed 's|[^/]*|..|g')
    cd=$(put_blob "$cfg")
    layers=""
    for l in "$@"; do
        d=$(put_blob "$l")
        s=$(stat -c %s "$l")
        [ -n "$layers" ] && layers="$layers,"
        layers="$layers{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"size\":$s,\"digest\":\"$d\"}"
        ln -s "$up/layers/$d" "$dir/$d"
    done
    ln -s "$up/layers/$cd" "$dir/$cd"
    printf '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":%s,"digest":"%s"},"layers":[%s]}' \
        "$(stat -c %s "$cfg")" "$cd" "$layers" >"$dir/manifest"
    : >"$dir/v2"
    printf '%s' "$R/repos/$name:$tag" >"$dir/TAG"
}

# Two layers: the second removes etc/hostname through a whiteout.
mkdir -p "$T/l1/bin" "$T/l1/etc" "$T/l1/tmp" "$T/l2/etc"
echo '#!/bin/sh' >"$T/l1/bin/sh"; chmod 755 "$T/l1/bin/sh"
echo box >"$T/l1/etc/hostname"; echo keep >"$T/l1/etc/keep"
: >"$T/l2/etc/.wh.hostname"; echo new >"$T/l2/etc/new"
tar -C "$T/l1" -czf "$T/layer1.tgz" bin etc tmp
tar -C "$T/l2" -czf "$T/layer2.tgz" etc
printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/sh"],"Env":["A=1"]}}' >"$T/config.json"
make_image busybox latest "$T/config.json" "$T/layer1.tgz" "$T/layer2.tgz"
make_image quay.io/org/img 1.0 "$T/config.json" "$T/layer1.tgz"

ud images; expect_rc 0 images
expect_out "busybox:latest    ." images; expect_out "quay.io/org/img:1.0    ." images
ud images -p; expect_out "linux/amd64        . busybox:latest" "images -p"
ud images -l; expect_out " $R/repos/busybox/latest" "images -l dir"
expect_out "    /$(put_blob "$T/layer1.tgz") (1 MB)" "images -l blob rounded up"

ud verify busybox:latest; expect_rc 0 verify
expect_out "Info: verifying: busybox:latest" verify; expect_out "Info: image Ok" verify
expect_out "Info: layer ok: " verify

# create prints only the id on stdout, even with -q.
ud -q create --name=c1 busybox; expect_rc 0 create
ID=$(cat "$T/out")
echo "$ID" | grep -Eq '^[a-z0-9]+-[a-z0-9]+-[a-z0-9]+-[a-z0-9]+-[a-z0-9]+$' || fail "create id '$ID'"
[ "$(wc -l <"$T/out")" = 1 ] || fail "create prints one line"
C="$R/containers/$ID"
[ -x "$C/ROOT/bin/sh" ] || fail "ROOT/bin/sh"
[ -f "$C/ROOT/etc/keep" ] && [ -f "$C/ROOT/etc/new" ] || fail "layer files"
[ ! -e "$C/ROOT/etc/hostname" ] || fail "whiteout not applied"
[ ! -e "$C/ROOT/etc/.wh.hostname" ] || fail "whiteout file extracted"
[ "$(cat "$C/imagerepo.name")" = "busybox:latest" ] || fail "imagerepo.name"
[ "$(readlink "$R/containers/c1")" = "$ID" ] || fail "name link"
cmp -s "$C/container.json" "$T/config.json" || fail "container.json"

n=$(ncont)
ud create --name=c1 busybox; expect_rc 1 "name taken"; expect_err "Error: container name already exists" "name taken"
ud create --name="bad name" busybox; expect_rc 1 "bad name"; expect_err "Error: invalid container name" "bad name"
ud create --name="$ID" busybox; expect_rc 1 "name is an id"
[ "$(ncont)" = "$n" ] || fail "refused creates left containers"
ud create --force --name=c1 busybox; expect_rc 0 "create --force"
ID2=$(cat "$T/out")
[ "$(readlink "$R/containers/c1")" = "$ID2" ] || fail "--force moves the name"
ud create quay.io/org/img:1.0; expect_rc 0 "create nested repo"

ud ps; expect_rc 0 ps
expect_out "CONTAINER ID" ps
grep -q "^$ID2 \. W \['c1'\] *busybox:latest" "$T/out" || fail "ps row with name"
grep -q "^$ID \. W  *busybox:latest" "$T/out" || fail "ps row without name"
ud ps -m -s -p; expect_rc 0 "ps -m -s -p"; expect_out "linux/amd64" "ps -p"

ud inspect c1; expect_rc 0 inspect
expect_out '    "architecture": "amd64",' "inspect 4-space sorted"
[ "$(sed -n 2p "$T/out")" = '    "architecture": "amd64",' ] || fail "inspect sorted keys"
ud inspect -p c1; [ "$(cat "$T/out")" = "$R/containers/$ID2/ROOT" ] || fail "inspect -p"
ud inspect busybox:latest; expect_rc 0 "inspect image"; expect_out '"Cmd": [' "inspect image"
ud inspect -p busybox:latest; expect_rc 1 "inspect -p image"

ud name "$ID" c2; expect_rc 0 name
ud name "$ID" c2; expect_rc 1 "name exists"
ud name "$ID" "x.y"; expect_rc 1 "name with dot"
ud rmname c2; expect_rc 0 rmname; expect_out "Info: container name: c2 removed." rmname
ud -q rmname c2; expect_rc 1 "rmname again"

ud protect c1; expect_rc 0 protect; [ -f "$R/containers/$ID2/PROTECT" ] || fail "PROTECT"
ud ps; grep -q "^$ID2 P W" "$T/out" || fail "ps shows P"
ud rm c1 nosuch "$ID"; expect_rc 1 "rm mixed"
expect_err "Error: container is protected" "rm protected"; expect_err "Error: invalid container id" "rm unknown"
[ -d "$R/containers/$ID2" ] || fail "protected container deleted"
[ ! -e "$C" ] || fail "rm continues after errors"
ud unprotect c1; expect_rc 0 unprotect

ud clone --name=c3 c1; expect_rc 0 clone
ID3=$(cat "$T/out")
[ "$ID3" != "$ID2" ] && [ -x "$R/containers/$ID3/ROOT/bin/sh" ] || fail "clone content"
[ "$(readlink "$R/containers/c3")" = "$ID3" ] || fail "clone name"

ud protect busybox:latest; expect_rc 0 "protect image"
ud images; expect_out "busybox:latest    P" "images P"
ud rmi busybox:latest; expect_rc 1 "rmi protected"; expect_err "Error: image repository is protected" "rmi protected"
ud unprotect busybox:latest; expect_rc 0 "unprotect image"
ud rmi busybox:latest; expect_rc 0 rmi; expect_out "Info: deleting image: busybox:latest" rmi
[ ! -e "$R/repos/busybox" ] || fail "rmi leaves the repo dir"
# layer1 and the config are still used by quay.io/org/img; layer2 is gone.
[ -e "$R/layers/$(put_blob "$T/layer1.tgz")" ] || fail "shared layer deleted"
[ ! -e "$R/layers/sha256:$(sha "$T/layer2.tgz")" ] || fail "unshared layer kept"
ud images; expect_out "quay.io/org/img:1.0" "images after rmi"

# A truncated layer: verify fails, create fails and leaves no container.
head -c 100 "$T/layer2.tgz" >"$T/bad.tgz"
make_image broken 1 "$T/config.json" "$T/layer1.tgz" "$T/bad.tgz"
ud verify broken:1; expect_rc 1 "verify broken"; expect_err "Error: image verification failure" "verify broken"
n=$(ncont)
ud create --name=cb broken:1; expect_rc 1 "create broken"; expect_err "Error:" "create broken"
[ "$(ncont)" = "$n" ] || fail "failed create left a container"
[ ! -e "$R/containers/cb" ] || fail "failed create left a name"
[ -z "$(ls -A "$R/containers" | grep -v -e '^c1$' -e '^c3$' -e '^[a-z0-9-]*$')" ] || fail "temporary leftovers"

# A file-size limit (as on a full disk): the write fails, create exits 1
# and leaves nothing behind (SIGXFSZ must not kill it half-way).
mkdir -p "$T/l3/data"
head -c 200000 /dev/zero >"$T/l3/data/big"
tar -C "$T/l3" -czf "$T/layer3.tgz" data
make_image big 1 "$T/config.json" "$T/layer1.tgz" "$T/layer3.tgz"
n=$(ncont)
(ulimit -f 16; ud create --name=cbig big:1); expect_rc 1 "create over the size limit"
expect_err "Error:" "create over the size limit"
[ "$(ncont)" = "$n" ] || fail "size-limited create left a container"
[ ! -e "$R/containers/cbig" ] || fail "size-limited create left a name"

ud rm -f c1 c3; expect_rc 0 "rm -f"
[ ! -e "$R/containers/c1" ] && [ ! -e "$R/containers/c3" ] || fail "rm removes names"

[ $FAIL = 0 ] && echo "PASS"
exit $FAIL
