#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Command line basics: help, CMD --help, version, -D/-q, --repo, UDOCKER_DIR,
# UDOCKER_LOGLEVEL, mkrepo, syntax errors, and the refusal to run as root.
# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"
it_init "${1:-}"

COMMANDS="help version pull images create ps rm rmi inspect name rmname mkrepo verify
protect unprotect clone login logout search"

# help: no arguments, help, -h, --help
for a in "" help -h --help; do
    ud $a
    expect_rc 0
    check "help ($a) mentions pull" grep -q pull "$UD_OUT_FILE"
    check "help ($a) mentions create" grep -q create "$UD_OUT_FILE"
done
for c in $COMMANDS; do
    ud "$c" --help
    expect_rc 0
    check "$c --help prints a help block" test -s "$UD_OUT_FILE"
done

# version, -V, --version: three lines
ud version
expect_rc 0
expect_stdout_match '^version: [0-9]+\.[0-9]+'
expect_stdout_match '^tarball: ?'
expect_stdout_match '^tarball_release: '
cp "$UD_OUT_FILE" "$IT_WORK/version.out"
for a in -V --version "-D version" "--debug version" "-q version" "--quiet version"; do
    ud $a
    expect_rc 0
    check "'$a' prints the same version text" cmp -s "$UD_OUT_FILE" "$IT_WORK/version.out"
done

# The default repository is created on first use (UDOCKER_DIR).
check "repository absent before first use" test ! -e "$REPO"
ud images
expect_rc 0
for d in repos layers containers bin lib; do
    check "UDOCKER_DIR has $d/" test -d "$REPO/$d"
done
expect_stdout_line REPOSITORY
check "homedir is \$HOME/.udocker, not UDOCKER_DIR" test ! -e "$REPO/keystore"

# -q and UDOCKER_LOGLEVEL hide the header (INF level)
ud -q images
expect_rc 0
expect_stdout_lacks REPOSITORY
ud UDOCKER_LOGLEVEL=1 images
expect_rc 0
expect_stdout_lacks REPOSITORY
ud UDOCKER_LOGLEVEL=3 images
expect_stdout_line REPOSITORY
ud -D images
expect_rc 0
expect_stdout_line REPOSITORY

# mkrepo and --repo
R2=$IT_U/second-repo
ud mkrepo "$R2"
expect_rc 0
for d in repos layers containers bin lib; do
    check "mkrepo made $d/" test -d "$R2/$d"
done
snap=$IT_WORK/snap.mkrepo
repo_snapshot "$snap"
ud mkrepo "$R2"
expect_error "localrepo directory already exists"
ud "--repo=$R2" images
expect_rc 0
ud --repo "$R2" ps
expect_rc 0
expect_repo_unchanged "$snap"
ud "--repo=$IT_U/home" images
expect_error "invalid udocker repository"
check "an invalid --repo is not created" test ! -e "$IT_U/home/repos"

# syntax errors and unknown commands
ud images --no-such-option
expect_error "syntax error at: --no-such-option"
ud rmname
expect_rc nonzero
ud no-such-command
expect_rc nonzero
ud ps extra-word
expect_error "syntax error"

# root refusal (only when the suite runs as root)
if [ "$(id -u)" = 0 ]; then
    RR=$IT_WORK/rootrepo
    for a in version images --help; do
        env -i PATH=/usr/bin:/bin HOME="$IT_WORK" UDOCKER_DIR="$RR" "$UDBIN" $a \
            >"$UD_OUT_FILE" 2>"$UD_ERR_FILE" </dev/null
        UD_RC=$?
        UD_LAST_CMD="(as root) udocker $a"
        expect_rc 1
        expect_stderr_contains "Error: do not run as root !"
    done
    check "root refusal creates nothing" test ! -e "$RR"
    env -i PATH=/usr/bin:/bin HOME="$IT_WORK" UDOCKER_DIR="$RR" "$UDBIN" --allow-root version \
        >"$UD_OUT_FILE" 2>"$UD_ERR_FILE" </dev/null
    UD_RC=$?
    UD_LAST_CMD="(as root) udocker --allow-root version"
    expect_rc 0
    expect_stdout_match '^version: '
else
    it_log "note: not root, root-refusal checks not run"
fi
it_done
