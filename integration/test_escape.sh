#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Layers that try to write outside ROOT: ../ paths, absolute paths, writes
# through symlinks (absolute, ../.., into a sentinel directory), hard links
# to host files, whiteouts through symlinks, a file replacing a symlink.
# The container is created (bad entries are skipped) and nothing outside
# ROOT changes.
# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=lib/registry.sh
. "$(dirname "$0")/lib/registry.sh"
it_init "${1:-}"
start_registry_plain
image_push evil "$PLAIN_URL" evil

EVIL_TMP="ud-evil-escape-rel ud-evil-escape-abs ud-evil-via-link ud-evil-via-link2 ud-evil-via-uplink ud-evil-target"
for f in $EVIL_TMP ud-evil-victim; do rm -rf "/tmp/$f"; done
on_exit "rm -rf /tmp/ud-evil-*"
# Victims the user could delete if a whiteout escaped.
as_user sh -c 'echo victim > /tmp/ud-evil-victim'
as_user sh -c "echo victim > '$IT_U/sentinel/victim'"

ud_ok pull --registry="$PLAIN_URL" evil
ud images # make sure the repository and its dirs exist before the snapshot
(cd "$IT_U" && find . -path ./repo -prune -o -printf '%y %m %s %n %p\n' | LC_ALL=C sort) >"$IT_WORK/outside.before"
passwd_links=$(stat -c %h /etc/passwd)
before_containers=$(find "$REPO/containers" -mindepth 1 -maxdepth 1 -printf '%f\n' | LC_ALL=C sort)

ud create --name=evil evil
[ -n "${IT_VERBOSE:-}" ] && cat "$UD_OUT_FILE" "$UD_ERR_FILE" >&2
check "create does not crash or hang (rc=$UD_RC)" [ "$UD_RC" -lt 126 ]
ID=$(grep -E '^[a-z0-9]+(-[a-z0-9]+){4}$' "$UD_OUT_FILE" | head -1)
if [ "$UD_RC" = 0 ]; then
    check "create prints the id" test -n "$ID"
    check "the skipped entries are reported" grep -qE '^(Warning|Error): .*(\.\./escape-parent|climbs|outside)' "$UD_ERR_FILE" "$UD_OUT_FILE"
else
    it_log "note: create refused the image (rc=$UD_RC): $(head -3 "$UD_ERR_FILE")"
    check "a refused create prints an Error line" grep -q '^Error: ' "$UD_ERR_FILE"
fi

for f in $EVIL_TMP; do
    check "nothing written to /tmp/$f" test ! -e "/tmp/$f" -a ! -L "/tmp/$f"
done
check "whiteout through a symlink did not delete /tmp/ud-evil-victim" test -f /tmp/ud-evil-victim
check "sentinel victim intact" [ "$(cat "$IT_U/sentinel/victim")" = victim ]
check "sentinel victim not hard-linked" [ "$(stat -c %h "$IT_U/sentinel/victim")" = 1 ]
check "sentinel dir holds only the victim" [ "$(ls -A "$IT_U/sentinel")" = victim ]
(cd "$IT_U" && find . -path ./repo -prune -o -printf '%y %m %s %n %p\n' | LC_ALL=C sort) >"$IT_WORK/outside.after"
check "nothing changed under the user's dir outside the repository" diff "$IT_WORK/outside.before" "$IT_WORK/outside.after"
check "host /etc/passwd gained no link" [ "$(stat -c %h /etc/passwd)" = "$passwd_links" ]

if [ -n "$ID" ] && [ -d "$REPO/containers/$ID" ]; then
    C=$REPO/containers/$ID
    R=$C/ROOT
    check "no ../ write next to ROOT" test ! -e "$C/escape-parent"
    check "no ../ write in containers/" test ! -e "$REPO/containers/escape-parent"
    check "no hard link to ../../outside" test ! -e "$REPO/containers/outside" -a ! -e "$REPO/outside"
    after_containers=$(find "$REPO/containers" -mindepth 1 -maxdepth 1 -printf '%f\n' | grep -v -x -e "$ID" -e evil | LC_ALL=C sort)
    check "containers/ has only the new container and its name" [ "$after_containers" = "$before_containers" ]
    if [ -e "$R/hl_passwd" ]; then
        check "hl_passwd is not the host /etc/passwd" [ "$(stat -c %d:%i "$R/hl_passwd")" != "$(stat -c %d:%i /etc/passwd)" ]
    fi
    check "good entries of layer 1 extracted" [ "$(cat "$R/inside.txt" 2>/dev/null)" = "still inside" ]
    check "layer 2 applied" [ "$(cat "$R/layer2.txt" 2>/dev/null)" = "second layer" ]
    if [ -e "$R/link2" ] || [ -L "$R/link2" ]; then
        check "link2 replaced by a regular file, not written through" test -f "$R/link2" -a ! -L "$R/link2"
    fi
    check "symlinks inside ROOT are kept as links" test -L "$R/link"
    ud rm evil
    expect_rc 0
    check "container removed" test ! -e "$C"
    check "rm did not follow links out of ROOT" test -f /tmp/ud-evil-victim -a -f "$IT_U/sentinel/victim"
fi
check "/tmp still a directory" test -d /tmp
it_done
