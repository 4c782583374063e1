#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The built udocker without any image: general options, help, version,
# showconf, repository creation and one-line errors with exit 1.
# Usage: cli_basic.sh /path/to/udocker
set -u
UD=$1
T=$(mktemp -d /tmp/ud-cli-basic.XXXXXX)
trap 'rm -rf "$T"' EXIT
export HOME="$T/home"
mkdir -p "$HOME"
unset UDOCKER_DIR UDOCKER_LOGLEVEL UDOCKER_REPOS UDOCKER_LAYERS UDOCKER_CONTAINERS || true
FAIL=0

ud() { "$UD" --allow-root "$@" >"$T/out" 2>"$T/err"; echo $? >"$T/rc"; }
fail() { echo "FAIL: $*"; echo "--- stdout"; cat "$T/out"; echo "--- stderr"; cat "$T/err"; FAIL=1; }
expect_rc() { [ "$(cat "$T/rc")" = "$1" ] || fail "$2: exit $(cat "$T/rc"), expected $1"; }
expect_out() { grep -qF -- "$1" "$T/out" || fail "$2: stdout lacks '$1'"; }
expect_err() { grep -qF -- "$1" "$T/err" || fail "$2: stderr lacks '$1'"; }
expect_no_err() { [ ! -s "$T/err" ] || fail "$1: unexpected stderr"; }

# Root refusal comes first, even before --help (only checkable as root).
if [ "$(id -u)" = 0 ]; then
    "$UD" --help >"$T/out" 2>"$T/err"; echo $? >"$T/rc"
    expect_rc 1 "root without --allow-root"
    [ "$(cat "$T/err")" = "Error: do not run as root !" ] || fail "root message"
else
    echo "SKIP: root refusal (not running as root)"
fi

ud; expect_rc 0 "no arguments"; expect_out "Syntax:" "no arguments"
ud --help; expect_rc 0 "--help"; expect_out "Commands:" "--help"
ud help; expect_rc 0 "help"; expect_out "Commands:" "help"
ud help ps; expect_rc 0 "help ps"; expect_out "ps: list containers" "help ps"
ud ps --help; expect_rc 0 "ps --help"; expect_out "ps: list containers" "ps --help"
ud create -h; expect_rc 0 "create -h"; expect_out "--name=" "create -h"
[ ! -e "$HOME/.udocker" ] || fail "help must not create the repository"

ud -V; expect_rc 0 "-V"
[ "$(sed -n 1p "$T/out" | cut -d' ' -f1)" = "version:" ] || fail "-V line 1"
[ "$(sed -n 2p "$T/out" | cut -d' ' -f1)" = "tarball:" ] || fail "-V line 2"
[ "$(sed -n 3p "$T/out" | cut -d' ' -f1)" = "tarball_release:" ] || fail "-V line 3"
[ "$(wc -l <"$T/out")" = 3 ] || fail "-V: three lines"
ud version; expect_rc 0 "version"; ud -q version; expect_out "version:" "-q version"
ud version extra; expect_rc 1 "version extra"; expect_err "Error: syntax error at: extra" "version extra"

ud bogus; expect_rc 1 "unknown command"; expect_err "Error: invalid command: bogus" "unknown command"
ud --bogus ps; expect_rc 1 "unknown general option"; expect_err "Error: syntax error at: --bogus" "--bogus"
ud ps --bogus; expect_rc 1 "unknown ps option"; expect_err "Error: syntax error at: --bogus" "ps --bogus"

ud --repo="$T/none" ps; expect_rc 1 "--repo missing"
expect_err "Error: invalid udocker repository: $T/none" "--repo missing"
ud --config="$T/none.conf" ps; expect_rc 1 "--config missing"; expect_err "Error:" "--config missing"

# Bad input is refused before the default repository is created: no
# argument, an invalid --name, empty words, a lone "-".
for args in "clone" "clone --name=x/y c1" "create --name=a/b busybox" "create --name= busybox" \
    "create" "rm" "rmi" "inspect" "verify" "protect" "unprotect" "name" "name c1" "rmname" \
    "create -" "ps extra" "images --long"; do
    # shellcheck disable=SC2086
    ud $args; expect_rc 1 "$args"
    [ "$(wc -l <"$T/err")" = 1 ] || fail "$args: one error line"
    grep -q '^Error: ' "$T/err" || fail "$args: Error: line"
    [ ! -e "$HOME/.udocker" ] || fail "'$args' created the repository"
    rm -rf "$HOME/.udocker"
done
ud clone; expect_err "Error: must specify container id or name" "clone without argument"
ud create --name=a/b busybox; expect_err "Error: invalid container name or wrong format" "create bad name"

# The default repository is created silently on first use.
ud ps; expect_rc 0 "first ps"; expect_out "Info: creating repo: $HOME/.udocker" "first ps"
expect_out "CONTAINER ID" "first ps"
for d in repos layers containers bin lib; do [ -d "$HOME/.udocker/$d" ] || fail "repo dir $d"; done
ud -q images; expect_rc 0 "-q images"; [ ! -s "$T/out" ] || fail "-q images prints nothing"
ud images; expect_out "REPOSITORY" "images header"
ud images -l -p --no-trunc --all; expect_rc 0 "images options"
# -D and -q together work (upstream left -q unconsumed).
ud -D -q ps; expect_rc 0 "-D -q"; expect_out "CONTAINER ID" "-D -q ps header survives -q"
ud -q ps -m -s -p; expect_rc 0 "ps -m -s -p"; expect_out "MOD SIZE PLATFORM" "ps columns"

# UDOCKER_DIR selects another repository, also created silently.
UDOCKER_DIR="$T/r2" ud ps; expect_rc 0 "UDOCKER_DIR"; expect_out "creating repo: $T/r2" "UDOCKER_DIR"
[ -d "$T/r2/containers" ] || fail "UDOCKER_DIR repository"

# showconf: 80 dashes, tab title, key = value, 80 dashes.
ud showconf; expect_rc 0 showconf
DASH=--------------------------------------------------------------------------------
[ "$(sed -n 1p "$T/out")" = "$DASH" ] || fail "showconf first rule"
[ "$(tail -n 1 "$T/out")" = "$DASH" ] || fail "showconf last rule"
[ "$(sed -n 2p "$T/out")" = "$(printf '\tConfiguration options')" ] || fail "showconf title"
expect_out "topdir = $HOME/.udocker" showconf
expect_out "http_insecure = False" showconf
ud --insecure showconf; expect_out "http_insecure = True" "--insecure"
printf '[DEFAULT]\ntimeout = 33\n' >"$T/c.conf"
ud --config="$T/c.conf" showconf; expect_out "timeout = 33" "--config"
printf '[DEFAULT]\ntimeout = soon\n' >"$T/bad.conf"
ud --config="$T/bad.conf" ps; expect_rc 1 "bad config value"; expect_err "bad.conf:2:" "bad config"

# Results that cannot be written are a failure, not a silent success.
if [ -w /dev/full ]; then
    for args in "ps" "images" "version" "--help"; do
        # shellcheck disable=SC2086
        "$UD" --allow-root $args >/dev/full 2>"$T/err"; echo $? >"$T/rc"
        expect_rc 1 "$args >/dev/full"
        expect_err "Error: writing to standard output" "$args >/dev/full"
    done
else
    echo "SKIP: write errors (no /dev/full)"
fi

# mkrepo and --repo.
ud mkrepo "$T/made"; expect_rc 0 mkrepo; expect_no_err mkrepo
ud --repo="$T/made" images; expect_rc 0 "--repo images"
ud --repo "$T/made" ps; expect_rc 0 "--repo DIR form"
ud mkrepo "$T/made"; expect_rc 1 "mkrepo exists"; expect_err "Error: localrepo directory already exists" "mkrepo exists"
ud mkrepo; expect_rc 1 "mkrepo no dir"

# Bad input: one Error line, exit 1, repository unchanged.
before=$(ls -A "$HOME/.udocker/containers" | wc -l)
ud create nosuch:1; expect_rc 1 "create unknown"; expect_err "Error:" "create unknown"
ud create; expect_rc 1 "create nothing"; expect_err "Error: must specify image:tag" "create nothing"
ud create --name=a/b busybox; expect_rc 1 "create bad name"
ud rm nosuch; expect_rc 1 "rm unknown"; expect_err "Error: invalid container id" "rm unknown"
ud rm; expect_rc 1 "rm nothing"
ud rmi nosuch; expect_rc 1 "rmi unknown"
ud inspect nosuch; expect_rc 1 "inspect unknown"; expect_err "Error: image or container not found nosuch" "inspect unknown"
ud inspect -p nosuch; expect_rc 1 "inspect -p unknown"
ud verify nosuch; expect_rc 1 "verify unknown"; expect_err "Error: image verification failure" "verify unknown"
ud name nosuch x; expect_rc 1 "name unknown"; expect_err "Error: invalid container id or name" "name unknown"
ud rmname nosuch; expect_rc 1 "rmname unknown"
ud protect nosuch; expect_rc 1 "protect unknown"; expect_err "Error: protect image failed" "protect unknown"
ud unprotect nosuch; expect_rc 1 "unprotect unknown"
ud clone nosuch; expect_rc 1 "clone unknown"
after=$(ls -A "$HOME/.udocker/containers" | wc -l)
[ "$before" = "$after" ] || fail "bad input changed containers/"

[ $FAIL = 0 ] && echo "PASS"
exit $FAIL
