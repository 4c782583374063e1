# SPDX-License-Identifier: Apache-2.0
# Helpers of the run tests: which execution modes this host and this build
# can run (a mode that cannot run is skipped with its reason, never hidden),
# udocker started in the background (signals), and the exact wait status of
# a run (exit code versus death by a signal). Source after common.sh.
# shellcheck shell=bash disable=SC2034

RUN_MODES_ALL="R1 R2 R3 P1 P2"

# need_run: skip when this udocker has no run or setup command yet.
need_run() {
    local c
    for c in run setup; do
        ud "$c" --help
        if grep -q 'invalid command' "$UD_ERR_FILE"; then
            skip "this udocker has no $c command"
        fi
    done
}

# host_mode_why MODE: why the host itself (not udocker) cannot run MODE, ""
# when it can: user namespaces unavailable, a runtime binary missing, ptrace
# forbidden.
host_mode_why() {
    case $1 in
    R*)
        if ! as_user unshare -Urm true 2>/dev/null; then
            echo "user namespaces are not available to an unprivileged user"
            return
        fi
        case $1 in
        R2) runtime_why runc ;;
        R3) runtime_why crun ;;
        esac
        ;;
    P*)
        local scope
        scope=$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo 0)
        [ "$scope" -ge 3 ] && echo "ptrace is disabled (kernel.yama.ptrace_scope=3)"
        ;;
    esac
}

# runtime_why runc|crun: "" when the OCI runtime can run a rootless
# container here (a static busybox "true" in a bundle of its own, no udocker
# involved), else why not: not installed, or its own error (crun cannot
# run on a host with hybrid cgroups v1+v2, for one). Cached per test.
runtime_why() {
    local f=$IT_WORK/runtime-why.$1
    [ -f "$f" ] || runtime_probe "$1" >"$f"
    cat "$f"
}

runtime_probe() {
    local rt=$1 bb d out
    command -v "$rt" >/dev/null || { echo "$rt is not installed"; return; }
    bb=$(command -v busybox) || { echo "no static busybox to probe $rt with"; return; }
    d=$IT_WORK/probe-$rt
    rm -rf "$d"
    mkdir -p "$d/rootfs/bin"
    cp "$bb" "$d/rootfs/bin/busybox"
    [ "$(id -u)" = 0 ] && chown -R udtest: "$d"
    out=$(cd "$d" && as_user "$rt" spec --rootless 2>&1 &&
        "$PYTHON" -c 'import json
c = json.load(open("config.json"))
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/busybox", "true"]
json.dump(c, open("config.json", "w"))' &&
        as_user timeout 30 "$rt" --root "$d/state" run --bundle "$d" "udit-probe-$$" 2>&1 </dev/null) ||
        echo "$rt cannot run a container here: $(printf '%s' "$out" | grep -m1 . | cut -c1-200)"
}

# mode_set MODE CONTAINER: setup --execmode; 0 when set, else 1 with the
# reason in MODE_WHY.
mode_set() {
    MODE_WHY=
    ud setup --execmode="$1" "$2"
    [ "$UD_RC" = 0 ] && return 0
    MODE_WHY="setup --execmode=$1: $(grep -m1 . "$UD_ERR_FILE" | cut -c1-200)"
    return 1
}

# mode_usable MODE CONTAINER: 0 when MODE can be set and runs /bin/true.
# 1 (skip, reason in MODE_WHY) when the host lacks what the mode needs or
# this build has no such engine. A mode the host supports that is built
# but does not run is a failure (recorded here), and returns 1 too.
mode_usable() {
    local m=$1 c=$2
    MODE_WHY=$(host_mode_why "$m")
    [ -z "$MODE_WHY" ] || return 1
    if ! mode_set "$m" "$c"; then
        # An engine missing from this build is a skip; anything else is a bug.
        if grep -qiE 'not available in this build|no engine|not (built|implemented) ' "$UD_ERR_FILE"; then
            return 1
        fi
        fail "$MODE_WHY"
        return 1
    fi
    ud run --nobanner "$c" /bin/true
    if [ "$UD_RC" != 0 ]; then
        fail "$m: run /bin/true in $c exits $UD_RC"
        MODE_WHY="$m does not run (see the failure above)"
        return 1
    fi
    return 0
}

# pick_run_mode CONTAINER: the mode the generic run tests use: UD_IT_RUN_MODE
# if set, else the first of R1 P1 that runs here; sets RUN_MODE (the
# container is left in it), or skips the test.
pick_run_mode() {
    local m whys=()
    for m in ${UD_IT_RUN_MODE:-R1 P1}; do
        if mode_usable "$m" "$1"; then
            RUN_MODE=$m
            it_log "run tests use mode $RUN_MODE"
            return 0
        fi
        whys+=("$m: $MODE_WHY")
    done
    [ "$IT_FAILS" = 0 ] || die "no mode runs: ${whys[*]}"
    skip "no execution mode runs here: ${whys[*]}"
}

# banner_char MODE: the banner character of the mode's family.
banner_char() {
    case $1 in R*) echo '%' ;; P*) echo '*' ;; F*) echo '#' ;; S*) echo / ;; esac
}

# ---------------------------------------------------------------------------
# Exact status and background runs
# ---------------------------------------------------------------------------

# ud_status ARGS...: like ud, but UD_RC is "exit N" or "signal N" for how
# udocker itself ended (ud cannot tell exit 143 from death by SIGTERM), and
# a status >= 126 is not a failure by itself. Stdin from UD_STDIN.
ud_status() {
    UD_LAST_CMD="udocker $*"
    "${IT_RUNAS[@]}" env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$UHOME" \
        UDOCKER_DIR="$REPO" LANG=C.UTF-8 TMPDIR=/tmp \
        "$PYTHON" -c 'import subprocess, sys
try:
    r = subprocess.run(sys.argv[1:], timeout=120).returncode
except subprocess.TimeoutExpired:
    print("timeout"); sys.exit(0)
print("signal %d" % -r if r < 0 else "exit %d" % r)' "$UDBIN" "$@" \
        <"${UD_STDIN:-/dev/null}" >"$UD_OUT_FILE.st" 2>"$UD_ERR_FILE"
    UD_RC=$(tail -n 1 "$UD_OUT_FILE.st")
    head -n -1 "$UD_OUT_FILE.st" >"$UD_OUT_FILE"
    [ -n "${IT_VERBOSE:-}" ] && it_log "\$ $UD_LAST_CMD -> $UD_RC"
    return 0
}

# expect_status "exit N"|"signal N": for ud_status.
expect_status() {
    if [ "$UD_RC" = "$1" ]; then pass "status $1"; else
        fail "expected udocker to end with '$1', got '$UD_RC'"; fi
}

# ud_missing ARGS...: a run whose command cannot be found: exit 127 (not a
# signal), one "Error: command not found..." line, nothing on stdout.
ud_missing() {
    ud_status "$@"
    expect_status "exit 127"
    if grep -q '^Error: command not found' "$UD_ERR_FILE"; then pass "command not found error"; else
        fail "stderr lacks 'Error: command not found'"; fi
    check "one Error line" [ "$(grep -c '^Error' "$UD_ERR_FILE")" = 1 ]
    expect_stdout_empty
}

# ud_bg ARGS...: start udocker in the background as the test user (no
# wrapper process between this shell and udocker: setpriv and env exec);
# sets BG_PID; output in $IT_WORK/bg.out and bg.err.
ud_bg() {
    UD_LAST_CMD="udocker $* (background)"
    "${IT_RUNAS[@]}" env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$UHOME" \
        UDOCKER_DIR="$REPO" LANG=C.UTF-8 TMPDIR=/tmp "$UDBIN" "$@" \
        </dev/null >"$IT_WORK/bg.out" 2>"$IT_WORK/bg.err" &
    BG_PID=$!
    on_exit "kill -9 $BG_PID"
}

# bg_wait SECONDS: wait for BG_PID; BG_RC is its status (128+N after a
# signal), or "timeout" (then it is killed).
bg_wait() {
    local i
    for ((i = 0; i < $1 * 10; i++)); do
        kill -0 "$BG_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$BG_PID" 2>/dev/null; then
        kill -9 "$BG_PID" 2>/dev/null
        wait "$BG_PID" 2>/dev/null
        BG_RC=timeout
        return
    fi
    wait "$BG_PID"
    BG_RC=$?
}

# wait_file PATH SECONDS: poll until PATH exists.
wait_file() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        [ -e "$1" ] && return 0
        sleep 0.1
    done
    return 1
}
