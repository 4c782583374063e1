#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Bad input and failing registries: each gives an "Error: " line, a non-zero
# exit, no crash, and leaves the repository exactly as it was. Covers unknown
# images and tags, malformed references, an unreachable registry, a registry
# answering 500, garbage or non-manifest JSON, a blob whose digest does not
# match, a truncated blob, and a full disk (RLIMIT_FSIZE).
# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=lib/registry.sh
. "$(dirname "$0")/lib/registry.sh"
it_init "${1:-}"
start_registry_plain
start_badregistry
image_push busybox "$PLAIN_URL" busybox
image_push big "$PLAIN_URL" big
PULL=(--registry="$PLAIN_URL")
snap=$IT_WORK/snap

# a repository with one image and one container, so "unchanged" means something
ud_ok pull "${PULL[@]}" busybox
ud_ok create --name=keep busybox
repo_snapshot "$snap"

# unknown image / tag
ud pull "${PULL[@]}" nosuchimage
expect_error
expect_repo_unchanged "$snap"
ud pull "${PULL[@]}" busybox:nosuchtag
expect_error
expect_repo_unchanged "$snap"
ud create nosuchimage:latest
expect_error
expect_repo_unchanged "$snap"
ud create busybox:nosuchtag
expect_error
expect_repo_unchanged "$snap"
ud rmi nosuchimage:latest
expect_error
expect_repo_unchanged "$snap"

# malformed references
for ref in "bad ref!" "BUSY\$BOX" "x@@y" "/leading" "busybox@sha256:zzzz" "busybox@sha256:" "a..b:c:d" "busybox:bad tag"; do
    ud pull "${PULL[@]}" "$ref"
    expect_error
    expect_repo_unchanged "$snap"
    ud create "$ref"
    expect_error
    expect_repo_unchanged "$snap"
done
ud pull "${PULL[@]}" "bad ref!"
expect_stderr_contains "Error: must specify image:tag or repository/image:tag"
ud pull
expect_error
expect_repo_unchanged "$snap"

# unreachable registry (closed port): fails fast
start=$(date +%s)
ud pull --registry="http://127.0.0.1:$(closed_port)" busybox
expect_error
expect_repo_unchanged "$snap"
check "unreachable registry fails within 30 s" [ $(($(date +%s) - start)) -lt 30 ]
ud pull --registry="http://127.0.0.1:$(closed_port)" fresh/image
expect_error
expect_repo_unchanged "$snap"

# misbehaving registry
ud pull --registry="$BAD_URL" good
expect_rc 0
ud_ok rmi good
repo_snapshot "$snap"
for repo in err500 notfound garbage badjson baddigest truncated; do
    UD_TIMEOUT=30 ud pull --registry="$BAD_URL" "$repo"
    expect_error
    expect_repo_unchanged "$snap"
    check "$repo: no tag left" test ! -e "$REPO/repos/$repo"
done
ud pull --registry="$BAD_URL" good
expect_rc 0
ud_ok create good
repo_snapshot "$snap"

# interrupted pull (SIGINT mid-download): clean exit, no tag; the next pull
# completes (resuming the partial blob with a Range request). One connection,
# so the slow layer is still downloading when the signal comes (split over
# the default pool it would finish in under a second).
repo_snapshot "$snap"
UD_SIGNAL=INT UD_TIMEOUT=1 ud UDOCKER_MAX_CONNECTIONS=1 pull --registry="$BAD_URL" slow
check "interrupted pull exits non-zero without a crash (rc=$UD_RC)" test "$UD_RC" -ne 0 -a "$UD_RC" -lt 124
check "interrupted pull: no tag" test ! -e "$REPO/repos/slow"
check "interrupted pull: no stray files besides resumable partials" \
    [ -z "$(diff "$snap" <(repo_snapshot /dev/stdout) | grep '^>' | grep -v 'layers/sha256:[0-9a-f]*\.partial')" ]
check "interrupted pull keeps the partial blob" \
    [ -n "$(find "$REPO/layers" -name 'sha256:*.partial' -size +0)" ]
ud pull --registry="$BAD_URL" slow
expect_rc 0
ud_ok verify slow
check "the second pull resumed the partial blob with a Range request" \
    grep -q '^range [1-9]' "$IT_WORK/logs/badregistry.log"
check "no partial files after the complete pull" [ -z "$(find "$REPO" -name '*.partial*')" ]
ud_ok rmi slow
repo_snapshot "$snap"

# full disk: RLIMIT_FSIZE below the size of one layer
UD_FSIZE=512 ud pull "${PULL[@]}" big
expect_error
expect_repo_unchanged "$snap"
check "big: no tag left" test ! -e "$REPO/repos/big"
check "no partial files left" [ -z "$(find "$REPO" -name '*.partial' -o -name '*.tmp' -o -name '*.part')" ]
# and once there is room again, the same pull works
ud pull "${PULL[@]}" big
expect_rc 0
ud_ok verify big
repo_snapshot "$snap"
UD_FSIZE=1024 ud create --name=full big
check "create on a full disk does not crash (rc=$UD_RC)" [ "$UD_RC" -lt 126 ]
if [ "$UD_RC" != 0 ]; then
    expect_error
    expect_repo_unchanged "$snap"
else
    check "create on a full disk reports the failure" grep -qE '^(Error|Warning): ' "$UD_ERR_FILE" "$UD_OUT_FILE"
fi
it_done
