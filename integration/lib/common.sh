# SPDX-License-Identifier: Apache-2.0
# Sourced by every integration test. Finds the udocker binary, makes a private
# work directory, runs udocker as an unprivileged user (udtest when the suite
# runs as root) and provides assertion helpers. Exit codes: 0 pass, 1 fail,
# 77 skip (CTest SKIP_RETURN_CODE).
# shellcheck shell=bash

set -u
set -o pipefail

IT_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IT_DIR=$(dirname "$IT_LIB")
IT_NAME=$(basename "$0" .sh)
IT_NAME=${IT_NAME#test_}
IT_FAILS=0
IT_CHECKS=0
IT_CLEANUPS=()
PYTHON=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}

it_log() { printf '%s\n' "$*" >&2; }

skip() {
    it_log "SKIP: $IT_NAME: $*"
    exit 77
}

# A hard failure of the test's own machinery (fixture did not start...).
die() {
    it_log "FATAL: $IT_NAME: $*"
    IT_FAILS=$((IT_FAILS + 1))
    exit 1
}

fail() {
    IT_FAILS=$((IT_FAILS + 1))
    it_log "FAIL: $*"
    if [ -n "${UD_LAST_CMD:-}" ]; then
        it_log "  last command: $UD_LAST_CMD (rc=$UD_RC)"
        it_log "  stdout: $(head -c 2000 "$UD_OUT_FILE" | sed 's/^/    | /')"
        it_log "  stderr: $(head -c 2000 "$UD_ERR_FILE" | sed 's/^/    | /')"
    fi
}

pass() {
    IT_CHECKS=$((IT_CHECKS + 1))
    [ -n "${IT_VERBOSE:-}" ] && it_log "ok: $*"
    return 0
}

# check DESCRIPTION COMMAND...: run a shell test, pass or fail.
check() {
    local what=$1
    shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}

# ---------------------------------------------------------------------------
# Setup
# ---------------------------------------------------------------------------

it_find_udocker() {
    local cand=${1:-${UDOCKER:-}}
    [ -n "$cand" ] || die "no udocker binary (pass it as argument or \$UDOCKER)"
    [ -x "$cand" ] || skip "udocker binary not built: $cand"
    UDOCKER_SRC=$(readlink -f "$cand")
}

it_cleanup() {
    local rc=$?
    local i
    for ((i = ${#IT_CLEANUPS[@]} - 1; i >= 0; i--)); do
        eval "${IT_CLEANUPS[$i]}" >/dev/null 2>&1 || true
    done
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
        for f in "$IT_WORK"/logs/*.log; do
            [ -s "$f" ] || continue
            case "$f" in */openssl.log) continue ;; esac
            it_log "----- $f (last 15 lines)"
            tail -n 15 "$f" | cut -c1-400 >&2
        done
    fi
    if [ -n "${IT_KEEP:-}" ] || { [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -n "${IT_KEEP_FAILED:-}" ]; }; then
        it_log "work directory kept: $IT_WORK"
    else
        chmod -R u+rwX "$IT_WORK" 2>/dev/null
        rm -rf "$IT_WORK"
    fi
    exit "$rc"
}

on_exit() { IT_CLEANUPS+=("$*"); }

# it_init [udocker-path]: everything a test needs before its first check.
it_init() {
    if [ -z "${IT_NO_CLI:-}" ]; then it_find_udocker "${1:-}"; fi
    IT_CACHE=${UD_IT_CACHE:-$IT_DIR/.cache}
    mkdir -p "$IT_CACHE"
    IT_WORK=$(mktemp -d /tmp/udit-"$IT_NAME".XXXXXX)
    chmod 755 "$IT_WORK"
    trap it_cleanup EXIT
    trap 'exit 130' INT TERM
    mkdir -p "$IT_WORK/logs" "$IT_WORK/bin" "$IT_WORK/fix"
    if [ -z "${IT_NO_CLI:-}" ]; then
        cp "$UDOCKER_SRC" "$IT_WORK/bin/udocker"
        chmod 755 "$IT_WORK/bin/udocker"
    fi
    UDBIN=$IT_WORK/bin/udocker
    # Everything the unprivileged user owns lives under $IT_WORK/u.
    IT_U=$IT_WORK/u
    mkdir -p "$IT_U/home" "$IT_U/sentinel"
    if [ "$(id -u)" = 0 ]; then
        it_make_user
        chown -R udtest: "$IT_U"
        IT_RUNAS=(setpriv --reuid=udtest --regid=udtest --init-groups --reset-env --)
        IT_UID=$(id -u udtest)
    else
        IT_RUNAS=()
        IT_UID=$(id -u)
    fi
    export IT_UID
    REPO=$IT_U/repo
    UHOME=$IT_U/home
    UD_OUT_FILE=$IT_WORK/last.out
    UD_ERR_FILE=$IT_WORK/last.err
    : >"$UD_OUT_FILE"
    : >"$UD_ERR_FILE"
    UD_LAST_CMD=
    UD_RC=0
}

it_make_user() {
    if ! id udtest >/dev/null 2>&1; then
        # Two tests may race to create the user: serialise with a lock.
        (
            flock 9
            id udtest >/dev/null 2>&1 || useradd -m -s /bin/bash udtest
        ) 9>/tmp/.udtest-useradd.lock || die "cannot create user udtest"
    fi
}

# as_user CMD...: run a command as the unprivileged user (for checks inside
# ROOT that must see the permissions the user sees).
as_user() {
    "${IT_RUNAS[@]}" env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$UHOME" LANG=C.UTF-8 "$@"
}

# ---------------------------------------------------------------------------
# Running udocker
# ---------------------------------------------------------------------------

# ud [VAR=VALUE...] ARGS...: run udocker as the test user with
# UDOCKER_DIR=$REPO and HOME=$UHOME. Leading NAME=VALUE words become extra
# environment. stdout and stderr are kept in the files $UD_OUT_FILE and
# $UD_ERR_FILE, the exit code in UD_RC.
# UD_FSIZE (KiB) applies "ulimit -f" (with SIGXFSZ ignored) to udocker.
# UD_STDIN names a file fed to stdin (default /dev/null). UD_TIMEOUT (seconds,
# default 120) bounds the run: a hang fails the test instead of the suite.
# UD_SIGNAL=INT (with UD_TIMEOUT) interrupts udocker on purpose; UD_RC is then
# udocker's own status.
ud() {
    local envs=(PATH=/usr/local/bin:/usr/bin:/bin HOME="$UHOME" UDOCKER_DIR="$REPO"
        LANG=C.UTF-8 TMPDIR=/tmp)
    while [ $# -gt 0 ] && [[ "$1" =~ ^[A-Z_][A-Z0-9_]*= ]]; do
        envs+=("$1")
        shift
    done
    UD_LAST_CMD="udocker $*"
    local cmd=("$UDBIN" "$@")
    if [ -n "${UD_FSIZE:-}" ]; then
        # ulimit in a shell that then execs udocker; SIGXFSZ ignored so that
        # writes fail with EFBIG as on a full disk.
        cmd=(/bin/bash -c 'trap "" XFSZ; ulimit -f "$0"; exec "$@"' "$UD_FSIZE" "${cmd[@]}")
    fi
    local tmo=(timeout -k 5 "${UD_TIMEOUT:-120}")
    if [ -n "${UD_SIGNAL:-}" ]; then
        # Deliberate interruption: send UD_SIGNAL after UD_TIMEOUT seconds and
        # report udocker's own exit status.
        tmo=(timeout --preserve-status -k 10 -s "$UD_SIGNAL" "${UD_TIMEOUT:-120}")
    fi
    # setsid: no controlling terminal, so a password prompt cannot hang.
    "${IT_RUNAS[@]}" setsid -w "${tmo[@]}" env -i "${envs[@]}" "${cmd[@]}" \
        <"${UD_STDIN:-/dev/null}" >"$UD_OUT_FILE" 2>"$UD_ERR_FILE"
    UD_RC=$?
    [ -n "${IT_VERBOSE:-}" ] && it_log "\$ $UD_LAST_CMD -> $UD_RC"
    if [ -n "${UD_SIGNAL:-}" ]; then
        return 0
    elif [ "$UD_RC" = 124 ] || [ "$UD_RC" = 137 ]; then
        fail "udocker did not finish within ${UD_TIMEOUT:-120} s: $UD_LAST_CMD"
    elif [ "$UD_RC" -ge 126 ]; then
        fail "udocker crashed or was killed (rc=$UD_RC): $UD_LAST_CMD"
    fi
    return 0
}

# ud_ok ARGS...: ud and require exit 0.
ud_ok() {
    ud "$@"
    expect_rc 0
}

expect_rc() {
    local want=$1
    if [ -z "${UD_SIGNAL:-}" ] && { [ "$UD_RC" = 124 ] || [ "$UD_RC" = 137 ]; }; then
        return 0 # the timeout was already reported by ud
    elif [ "$want" = nonzero ]; then
        if [ "$UD_RC" -ne 0 ] && [ "$UD_RC" -lt 124 ]; then pass "rc nonzero"; else
            fail "expected a non-zero exit (no crash), got $UD_RC"; fi
    elif [ "$UD_RC" -eq "$want" ]; then
        pass "rc $want"
    else
        fail "expected exit $want, got $UD_RC"
    fi
}

expect_stdout_line() {
    if grep -qxF -- "$1" "$UD_OUT_FILE"; then pass "stdout line: $1"; else
        fail "stdout lacks the line: $1"; fi
}

expect_stdout_match() {
    if grep -qE -- "$1" "$UD_OUT_FILE"; then pass "stdout matches: $1"; else
        fail "stdout does not match: $1"; fi
}

expect_stdout_contains() {
    if grep -qF -- "$1" "$UD_OUT_FILE"; then pass "stdout contains: $1"; else
        fail "stdout lacks: $1"; fi
}

expect_stdout_lacks() {
    if grep -qF -- "$1" "$UD_OUT_FILE"; then fail "stdout should not contain: $1"; else
        pass "stdout lacks: $1"; fi
}

expect_stdout_empty() {
    if [ -s "$UD_OUT_FILE" ]; then fail "stdout should be empty"; else pass "stdout empty"; fi
}

expect_stderr_contains() {
    if grep -qF -- "$1" "$UD_ERR_FILE"; then pass "stderr contains: $1"; else
        fail "stderr lacks: $1"; fi
}

expect_stderr_lacks() {
    if grep -qF -- "$1" "$UD_ERR_FILE"; then fail "stderr should not contain: $1"; else
        pass "stderr lacks: $1"; fi
}

expect_stderr_match() {
    if grep -qE -- "$1" "$UD_ERR_FILE"; then pass "stderr matches: $1"; else
        fail "stderr does not match: $1"; fi
}

# expect_error [TEXT]: a failed command: non-zero exit, no crash, an "Error: "
# line on stderr (the first one containing TEXT when given), and every Error
# line is a single line (no multi-line dumps, no traces).
expect_error() {
    expect_rc nonzero
    if grep -q '^Error: ' "$UD_ERR_FILE"; then pass "Error: line"; else
        fail "stderr has no 'Error: ' line"; fi
    if [ $# -gt 0 ] && [ -n "$1" ]; then expect_stderr_contains "$1"; fi
    if grep -qiE 'segmentation|assert|abort|backtrace|AddressSanitizer|runtime error' "$UD_ERR_FILE"; then
        fail "stderr shows a crash or sanitizer report"
    fi
}

# stdout_lines: the number of non-empty stdout lines.
stdout_lines() { grep -c . "$UD_OUT_FILE" || true; }

# ---------------------------------------------------------------------------
# Repository snapshots
# ---------------------------------------------------------------------------

# repo_snapshot FILE: type, mode, size (files only), path and link target of
# everything under the repository, sorted; no times.
repo_snapshot() {
    if [ -d "$REPO" ]; then
        (cd "$REPO" && find . \( -type f -printf '%y %m %s %p\n' \) -o \
            \( -type l -printf '%y %p -> %l\n' \) -o \( -printf '%y %m %p\n' \)) | LC_ALL=C sort >"$1"
    else
        echo "(no repository)" >"$1"
    fi
}

expect_repo_unchanged() {
    local before=$1
    local after=$IT_WORK/snap.after
    repo_snapshot "$after"
    if cmp -s "$before" "$after"; then pass "repository unchanged"; else
        fail "repository changed by: $UD_LAST_CMD"
        diff "$before" "$after" | head -20 | sed 's/^/    /' >&2
    fi
}

# ---------------------------------------------------------------------------
# Misc helpers
# ---------------------------------------------------------------------------

free_port() {
    "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# image_push NAME REGISTRY_URL REPO [extra mkimage args]
image_push() {
    local name=$1 url=$2 repo=$3
    shift 3
    "$PYTHON" "$IT_LIB/mkimage.py" push "$name" --cache "$IT_CACHE" --registry "$url" \
        --repo "$repo" "$@" >>"$IT_WORK/logs/push.log" 2>&1 ||
        die "pushing $name to $url/$repo failed (see logs/push.log): $(tail -3 "$IT_WORK/logs/push.log")"
}

# plan_field NAME PYEXPR: evaluate an expression over the build plan (p).
plan_field() {
    "$PYTHON" "$IT_LIB/mkimage.py" info "$1" --cache "$IT_CACHE" |
        "$PYTHON" -c "import json,sys; p=json.load(sys.stdin); print($2)"
}

# no_trailing_nl FILE: true when FILE does not end with a newline.
no_trailing_nl() { [ -s "$1" ] && [ "$(tail -c 1 "$1" | od -An -tx1 | tr -d ' ')" != 0a ]; }

# container_root ID: the container's ROOT path.
container_root() { printf '%s/containers/%s/ROOT' "$REPO" "$1"; }

# it_done: end of test; exit 0 or 1 with a summary.
it_done() {
    if [ "$IT_FAILS" -ne 0 ]; then
        it_log "$IT_NAME: $IT_FAILS failed, $IT_CHECKS passed"
        exit 1
    fi
    it_log "$IT_NAME: all $IT_CHECKS checks passed"
    exit 0
}
