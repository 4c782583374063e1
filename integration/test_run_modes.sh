#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Every execution mode on its own (reference 5.0, 5.6): setup --execmode
# for R1, R2 (runc), R3 (crun), P1, P2 and auto, setup printing the mode,
# ps -m, and in each mode over the busybox root and the Debian minbase root:
# the banner character, identity (root inside, files owned by the caller
# outside), exit codes and 128+N, stdin, stdout and stderr apart, a
# directory volume, SIGTERM forwarded, dynamic binaries and dpkg (Debian),
# container_execmode. A mode whose runtime binary or kernel feature is
# missing, or that this build lacks, is skipped with the reason.
# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=lib/registry.sh
. "$(dirname "$0")/lib/registry.sh"
# shellcheck source=lib/rootfs.sh
. "$(dirname "$0")/lib/rootfs.sh"
# shellcheck source=lib/run.sh
. "$(dirname "$0")/lib/run.sh"
it_init "${1:-}"
need_run
rootfs_busybox cm

ROOTS=(cm)
if rootfs_debian cdeb; then
    ROOTS+=(cdeb)
else
    it_log "SKIP the Debian root: $DEBIAN_WHY"
fi
VOL=$IT_U/vol
as_user mkdir -p "$VOL"
printf 'line one\nline two\n' >"$IT_WORK/stdin.txt"
RAN=0

# --- auto and the default -------------------------------------------------------
# A container without an execmode file runs in the automatic choice.
ud setup cm
expect_rc 0
expect_stdout_match '^execmode: (auto|[PR][12])$'
ud run --nobanner cm /bin/sh -c 'echo "$container_execmode"'
if [ "$UD_RC" = 0 ]; then
    check "the automatic mode is a real one" grep -qxE '[PR][123]' "$UD_OUT_FILE"
else
    it_log "note: the automatic choice does not run here: $(head -c 300 "$UD_ERR_FILE")"
fi
ud setup --execmode=auto cm
if [ "$UD_RC" = 0 ]; then
    ud setup cm
    expect_rc 0
    expect_stdout_match '^execmode: (auto|[PR][123])$'
fi

# mode_checks MODE CONTAINER ROOTNAME
mode_checks() {
    local m=$1 c=$2 r=$3 id
    id=$(readlink "$REPO/containers/$c")
    ud setup "$c"
    expect_stdout_line "execmode: $m"
    ud ps -m
    expect_stdout_match "^$id +\. W $m "
    ud run "$c" /bin/sh -c 'echo "mode=$container_execmode"; id -u; id -g'
    expect_rc 0
    expect_stdout_line "mode=$m"
    expect_stdout_contains "$(printf "%78s" "" | tr ' ' "$(banner_char "$m")")"
    expect_stdout_contains "STARTING $id"
    check "$m/$r: root inside" [ "$(tail -2 "$UD_OUT_FILE" | tr '\n' ' ')" = "0 0 " ]
    ud run --nobanner "$c" /bin/sh -c 'exit 42'
    expect_rc 42
    ud_status run --nobanner "$c" /bin/sh -c 'kill -TERM $$'
    expect_status "exit 143"
    UD_STDIN=$IT_WORK/stdin.txt ud run --nobanner "$c" /bin/sh -c 'cat; echo err >&2'
    expect_rc 0
    check "$m/$r: stdin to stdout" [ "$(cat "$UD_OUT_FILE")" = "$(cat "$IT_WORK/stdin.txt")" ]
    expect_stderr_contains err
    ud_missing run --nobanner "$c" /no/such/command
    rm -f "$VOL"/*
    ud run --nobanner -v "$VOL:/vol" "$c" /bin/sh -c 'echo hello >/vol/f; ls -ln /vol/f | awk "{print \$3, \$4}"; echo x >/rootfile'
    expect_rc 0
    # Root emulation: the caller's files are root's inside.
    expect_stdout_line "0 0"
    check "$m/$r: volume file owned by the caller" [ "$(stat -c %u "$VOL/f" 2>/dev/null)" = "$IT_UID" ]
    check "$m/$r: ROOT file owned by the caller" [ "$(stat -c %u "$REPO/containers/$id/ROOT/rootfile" 2>/dev/null)" = "$IT_UID" ]
    rm -f "$REPO/containers/$id/ROOT/rootfile"
    # SIGTERM to udocker reaches the container.
    rm -f "$VOL/ready"
    ud_bg run --nobanner -v "$VOL:/vol" "$c" /bin/sh -c "trap 'exit 7' TERM; touch /vol/ready; sleep 100 & wait"
    if wait_file "$VOL/ready" 30; then
        kill -TERM "$BG_PID"
        bg_wait 20
        check "$m/$r: SIGTERM forwarded (exit 7, got $BG_RC)" [ "$BG_RC" = 7 ]
    else
        kill -9 "$BG_PID"
        bg_wait 5
        fail "$m/$r: the container never started: $(head -c 300 "$IT_WORK/bg.err")"
    fi
    if [ "$r" = cdeb ]; then
        ud run --nobanner "$c" /bin/bash -c 'ls /usr/bin/dpkg; dpkg-query -W -f "\${Package}\n" dash; perl -e "print 6*7, qq(\n)"; readlink -f /proc/self/exe'
        expect_rc 0
        expect_stdout_line /usr/bin/dpkg
        expect_stdout_line dash
        expect_stdout_line 42
        expect_stdout_line /usr/bin/readlink
        ud run --nobanner -w /usr/share "$c" /usr/bin/env bash -c 'pwd; cd doc && ls | grep -c .'
        expect_rc 0
        expect_stdout_line /usr/share
    fi
}

for m in $RUN_MODES_ALL; do
    for r in "${ROOTS[@]}"; do
        if ! mode_usable "$m" "$r"; then
            it_log "SKIP $m on $r: $MODE_WHY"
            continue
        fi
        RAN=$((RAN + 1))
        mode_checks "$m" "$r" "$r"
    done
done

# Switching modes back and forth leaves a container that still runs.
if mode_usable R1 cm && mode_usable P1 cm; then
    for m in R1 P1 R1 P2 R3 P1; do
        mode_usable "$m" cm || continue
        ud run --nobanner cm /bin/cat /etc/hostname
        expect_rc 0
        expect_stdout_line busybox
    done
fi

[ "$RAN" -gt 0 ] || [ "$IT_FAILS" -gt 0 ] || skip "no execution mode runs here"
it_done
