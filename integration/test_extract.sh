#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Layer extraction as an unprivileged user (reference 4.1): whiteouts
# (including root-level ones, with and without ./), opaque directories, files
# replaced by directories and back, hard links within and across layers,
# symlinks, setuid dropped, modes fixed up, nothing under dev/, no device
# nodes, long and odd names, gzip + plain tar + zstd layers.
# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=lib/registry.sh
. "$(dirname "$0")/lib/registry.sh"
it_init "${1:-}"
start_registry_plain
image_push layers "$PLAIN_URL" layers
image_push busybox "$PLAIN_URL" busybox

ud_ok pull --registry="$PLAIN_URL" layers
ud create --name=lay layers
expect_rc 0
ID=$(cat "$UD_OUT_FILE")
R=$(container_root "$ID")
check "ROOT exists" test -d "$R"

u() { as_user "$@"; }  # run a check as the user who owns ROOT

check "root-level whiteout .wh.rootfile applied" test ! -e "$R/rootfile"
check "root-level whiteout ./.wh.rootfile2 applied" test ! -e "$R/rootfile2"
check "whiteout lower/gone.txt" test ! -e "$R/lower/gone.txt"
check "sibling kept" test -f "$R/lower/kept.txt"
check "opaque dir kept" test -d "$R/opq"
check "opaque removed old1" test ! -e "$R/opq/old1"
check "opaque removed sub/" test ! -e "$R/opq/sub"
check "opaque: new entry of the same layer kept" [ "$(cat "$R/opq/new1" 2>/dev/null)" = new ]
check "no .wh. files left" [ -z "$(find "$R" -name '.wh.*' 2>/dev/null)" ]
check "swap1: file -> dir -> file" test -f "$R/swap1" -a ! -L "$R/swap1"
check "swap1 content from layer 3" [ "$(cat "$R/swap1" 2>/dev/null)" = "swap1 file v3" ]
check "swap2: dir -> file" [ -f "$R/swap2" ]
check "swap2 content" [ "$(cat "$R/swap2" 2>/dev/null)" = "swap2 is a file" ]

same_inode() { [ -e "$1" ] && [ -e "$2" ] && [ "$(stat -c %i "$1")" = "$(stat -c %i "$2")" ]; }
check "hard link in one layer: same inode" same_inode "$R/hard/orig" "$R/hard/link"
check "hard link across layers: same inode" same_inode "$R/hard/orig" "$R/hard/xlayer"
check "hard link content" [ "$(cat "$R/hard/link" 2>/dev/null)" = "hard link data" ]

check "absolute symlink kept as is" [ "$(readlink "$R/sym/abs")" = /etc/passwd ]
check "relative symlink kept" [ "$(readlink "$R/sym/rel")" = ../etc/passwd ]
check "dangling symlink kept" [ "$(readlink "$R/sym/dangling")" = does/not/exist ]

no_suid() { [ -f "$1" ] && [ -z "$(find "$1" -perm /6000)" ]; }
check "setuid dropped" no_suid "$R/perm/setuid"
check "setgid dropped" no_suid "$R/perm/setgid"
check "mode-000 file readable by its owner" u test -r "$R/perm/mode000"
check "read-only dir writable by its owner" u test -w "$R/perm/rodir"
check "every directory owner-rwx" [ -z "$(find "$R" -type d ! -perm -u+rwx 2>/dev/null)" ]
check "everything owned by the user" [ -z "$(find "$R" ! -uid "$IT_UID" 2>/dev/null)" ]

check "dev/ itself exists" test -d "$R/dev"
check "nothing under dev/" [ -z "$(ls -A "$R/dev" 2>/dev/null)" ]
check "no device nodes anywhere" [ -z "$(find "$R" \( -type c -o -type b \) 2>/dev/null)" ]

LONG_FILE=$("$PYTHON" -c 'import sys; sys.path.insert(0, sys.argv[1]); import mkimage; print(mkimage.LONG_FILE)' "$IT_LIB")
MID_FILE=$("$PYTHON" -c 'import sys; sys.path.insert(0, sys.argv[1]); import mkimage; print(mkimage.MID_FILE)' "$IT_LIB")
check "path > 255 chars" [ "$(cat "$R/$LONG_FILE" 2>/dev/null)" = long ]
check "path > 100 chars" [ "$(cat "$R/$MID_FILE" 2>/dev/null)" = mid ]
check "long path in a zstd layer" [ -n "$(find "$R/long" -name 'second-*' 2>/dev/null)" ]
check "name with spaces" test -f "$R/odd/name with spaces"
check "UTF-8 name" test -f "$R/odd/$(printf '\xc3\xbcn\xc3\xafc\xc3\xb8d\xc3\xa9-\xe3\x83\x95\xe3\x82\xa1\xe3\x82\xa4\xe3\x83\xab')"
check "name with a newline" test -f "$R/odd/new
line"
check "plain tar layer applied" [ "$(cat "$R/layer2.txt" 2>/dev/null)" = "plain tar layer" ]
check "zstd layer applied" [ "$(cat "$R/zstd.txt" 2>/dev/null)" = "zstd layer" ]

# the user can delete the whole tree
ud rm lay
expect_rc 0
check "rm removed ROOT with read-only dirs and mode-000 files" test ! -e "$REPO/containers/$ID"

# busybox: the applet links work in ROOT (relative links inside the tree)
ud_ok pull --registry="$PLAIN_URL" busybox
ud create busybox
expect_rc 0
R=$(container_root "$(cat "$UD_OUT_FILE")")
check "busybox applet link" [ "$(readlink "$R/bin/sh")" = busybox ]
check "usr/bin applet link resolves inside ROOT" test "$(readlink -f "$R/usr/bin/env")" = "$(readlink -f "$R/bin/busybox")"
check "tmp is a directory" test -d "$R/tmp"
check "busybox runs from ROOT" u "$R/bin/busybox" true
it_done
