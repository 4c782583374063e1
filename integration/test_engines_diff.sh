#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2034 # ENG_* and UD_LAST_CMD are read by the lib functions
# Differential suite: the probe battery (integration/probes/) runs under
# bubblewrap (the reference: same root, same binds, uid 0 in a new user
# namespace, the environment the reference rules give) and under each
# execution mode of udocker on the same container; every probe must print
# the same, exit the same and leave the same files in the volume. Runs over
# the busybox root and, when mmdebstrap can build it, the Debian minbase
# root. Modes the host or this build cannot run are skipped with the reason.
# DIFF_ENGINES (default "R1 P1 P2") picks the modes; adding "proot" also
# compares the host's PRoot (a check of the harness itself).
# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=lib/registry.sh
. "$(dirname "$0")/lib/registry.sh"
# shellcheck source=lib/rootfs.sh
. "$(dirname "$0")/lib/rootfs.sh"
# shellcheck source=lib/run.sh
. "$(dirname "$0")/lib/run.sh"
# shellcheck source=lib/engines.sh
. "$(dirname "$0")/lib/engines.sh"
it_init "${1:-}"
ENGINES=${DIFF_ENGINES:-R1 P1 P2}
[ "$ENGINES" = proot ] || need_run
command -v bwrap >/dev/null || skip "bwrap (bubblewrap) is not installed: no reference"
as_user bwrap --unshare-user --uid 0 --gid 0 --ro-bind / / true 2>/dev/null ||
    skip "bwrap cannot make a user namespace here: no reference"

# Known divergences, "MODE:probe" (with the root, "MODE:probe@root"), each
# a documented design difference. A listed probe that differs is XFAIL; one
# that matches is reported (XPASS) so that the list shrinks.
XFAIL=()

RUSER=$(as_user id -un)
PROBES=$IT_WORK/probes
cp -r "$IT_DIR/probes" "$PROBES"
chmod -R a+rX "$PROBES"
[ "$(id -u)" = 0 ] && chown -R udtest: "$PROBES"
# Descriptors this shell inherited (from CTest, a terminal) would reach the
# container through every engine alike and hide a leak of udocker's own:
# close them (255 is bash's copy of the script, close-on-exec).
for fd in /proc/$$/fd/*; do
    fd=${fd##*/}
    if [ "$fd" -gt 2 ] && [ "$fd" != 255 ]; then eval "exec $fd>&-"; fi
done
VOL=$IT_U/vol
STDIN=$IT_WORK/stdin
printf 'probe stdin line 1\nprobe stdin line 2\n' >"$STDIN"
OUT=$IT_WORK/out
XFAILS=0
XPASSES=0

is_xfail() {
    local x
    for x in "${XFAIL[@]}"; do
        [ "$x" = "$1:$2" ] || [ "$x" = "$1:$2@$3" ] && return 0
    done
    return 1
}

# expected_env ROOTFS: the environment of the reference run (reference 6.4,
# the root user of P and R modes, no -e, no --env-file).
expected_env() {
    ENG_ENV=()
    while IFS= read -r e; do ENG_ENV+=("$e"); done < <(eng_image_env "$REPO/containers/$CID/container.json")
    local have_path=
    for e in "${ENG_ENV[@]}"; do case $e in PATH=*) have_path=1 ;; esac; done
    [ -n "$have_path" ] || ENG_ENV+=(PATH=/usr/sbin:/sbin:/usr/bin:/bin)
    ENG_ENV+=(HOME=/root USER=root LOGNAME=root USERNAME=root "PS1=${CID:0:8}# " SHLVL=0
        container_ruser="$RUSER" container_root="$CROOT" container_uuid="$CID"
        container_execmode=REF container_names="$1")
}

# normalise FILE: container path, id and mode name replaced.
normalise() {
    sed -i -e "s|$CROOT|<ROOT>|g" -e "s|$CID|<ID>|g" \
        -e 's|^container_execmode=.*|container_execmode=<MODE>|' "$1"
}

# run_probe ENGINE PROBE DEST: one probe, its output, stderr, status and the
# volume as the host sees it, into DEST.
run_probe() {
    local eng=$1 p=$2 dest=$3 rc
    rm -rf "$VOL"
    as_user mkdir "$VOL"
    case $eng in
    bwrap | proot)
        ENG_BINDS=("$PROBES:/probes" "$VOL:/vol")
        ENG_ENV=("${REF_ENV[@]}")
        if [ "$eng" = bwrap ]; then bwrap_argv "$CROOT" /root; else proot_argv "$CROOT" /root; fi
        as_user timeout -k 5 120 "${ENG_ARGV[@]}" /bin/sh "/probes/$p.sh" \
            <"$STDIN" >"$dest" 2>"$dest.err"
        rc=$?
        ;;
    *)
        # UD_SIGNAL: the exit status goes through as it is (128+N from a
        # probe that kills itself is not a crash of udocker); KILL after
        # 120 s ends a hang, reported as exit 137.
        UD_SIGNAL=KILL UD_TIMEOUT=120 UD_STDIN=$STDIN ud run --nobanner -w /root \
            -v "$PROBES:/probes" -v "$VOL:/vol" "$CID" /bin/sh "/probes/$p.sh"
        rc=$UD_RC
        cp "$UD_OUT_FILE" "$dest"
        # udocker's own messages are compared apart (once per mode).
        grep -E '^(Warning|Info): ' "$UD_ERR_FILE" >>"$OUT/$RNAME.$eng.messages"
        grep -vE '^(Warning|Info): ' "$UD_ERR_FILE" >"$dest.err"
        ;;
    esac
    {
        echo "--- stderr"
        cat "$dest.err"
        echo "--- exit $rc"
        if [ -n "$(ls -A "$VOL")" ]; then
            echo "--- volume on the host"
            (cd "$VOL" && find . -mindepth 1 \( -type d -printf '%M %u %g - %P\n' \) -o \
                \( -type l -printf '%M %u %g %P -> %l\n' \) -o -printf '%M %u %g %s %P\n') |
                LC_ALL=C sort
        fi
    } >>"$dest"
    rm -f "$dest.err"
    normalise "$dest"
}

# battery ROOTNAME: every probe under bwrap and each available mode.
battery() {
    local rname=$1 eng p
    RNAME=$rname
    local modes=()
    rm -rf "$VOL"
    as_user mkdir "$VOL"
    for eng in $ENGINES; do
        if [ "$eng" = proot ]; then
            command -v proot >/dev/null && modes+=(proot) || it_log "SKIP proot: not installed"
            continue
        fi
        if ! mode_usable "$eng" "$CID"; then
            it_log "SKIP $eng on $rname: $MODE_WHY"
            continue
        fi
        # Warm-up: mount points an engine creates exist before any probe
        # runs, whichever engine comes first.
        ud run --nobanner -v "$PROBES:/probes" -v "$VOL:/vol" "$CID" /bin/true
        if [ "$UD_RC" != 0 ]; then
            fail "$eng on $rname: run /bin/true exits $UD_RC: $(head -c 300 "$UD_ERR_FILE")"
            continue
        fi
        modes+=("$eng")
    done
    if [ ${#modes[@]} = 0 ]; then
        it_log "no udocker mode to compare on $rname"
        return
    fi
    expected_env "$rname"
    REF_ENV=("${ENG_ENV[@]}")
    ENG_BINDS=("$PROBES:/probes" "$VOL:/vol")
    ENG_ENV=()
    bwrap_argv "$CROOT" /root
    as_user "${ENG_ARGV[@]}" /bin/true || fail "bwrap on $rname: /bin/true fails"
    mkdir -p "$OUT/$rname/bwrap"
    for p in "${PROBE_LIST[@]}"; do
        run_probe bwrap "$p" "$OUT/$rname/bwrap/$p"
    done
    for eng in "${modes[@]}"; do
        [ "$eng" = proot ] || mode_set "$eng" "$CID" || { fail "setup $eng: $MODE_WHY"; continue; }
        mkdir -p "$OUT/$rname/$eng"
        for p in "${PROBE_LIST[@]}"; do
            run_probe "$eng" "$p" "$OUT/$rname/$eng/$p"
            compare "$rname" "$eng" "$p" bwrap
        done
        if [ -s "$OUT/$rname.$eng.messages" ]; then
            it_log "note: $eng on $rname printed: $(sort -u "$OUT/$rname.$eng.messages" | head -3 | tr '\n' '|')"
        fi
    done
    # The two ptrace modes differ only in speed: they must agree exactly.
    if [ -d "$OUT/$rname/P1" ] && [ -d "$OUT/$rname/P2" ]; then
        for p in "${PROBE_LIST[@]}"; do compare "$rname" P2 "$p" P1; done
    fi
}

# compare ROOT ENGINE PROBE REF: ENGINE's output of PROBE against REF's.
compare() {
    local rname=$1 eng=$2 p=$3 ref=$4
    local want=$OUT/$rname/$ref/$p got=$OUT/$rname/$eng/$p
    if cmp -s "$want" "$got"; then
        if [ "$ref" = bwrap ] && is_xfail "$eng" "$p" "$rname"; then
            XPASSES=$((XPASSES + 1))
            it_log "XPASS: $eng:$p@$rname matches $ref now: remove it from XFAIL"
        fi
        pass "$eng $p on $rname"
        return
    fi
    if [ "$ref" = bwrap ] && is_xfail "$eng" "$p" "$rname"; then
        XFAILS=$((XFAILS + 1))
        it_log "XFAIL: $eng:$p@$rname (documented divergence)"
        return
    fi
    UD_LAST_CMD= # the failure is the diff below, not a udocker command
    fail "probe $p on $rname: $eng differs from $ref (- $ref, + $eng):"
    diff -u "$want" "$got" | tail -n +3 | head -40 | sed 's/^/    /' >&2
}

PROBE_LIST=()
for f in "$PROBES"/[0-9]*.sh; do
    PROBE_LIST+=("$(basename "$f" .sh)")
done
[ -n "${DIFF_PROBES:-}" ] && read -r -a PROBE_LIST <<<"$DIFF_PROBES"
mkdir -p "$OUT"

rootfs_busybox cbusy
CID=$RF_ID
CROOT=$(readlink -f "$RF_ROOT")
battery cbusy

if rootfs_debian cdeb; then
    CID=$RF_ID
    CROOT=$(readlink -f "$RF_ROOT")
    battery cdeb
else
    it_log "SKIP the Debian root: $DEBIAN_WHY"
fi

[ "$XFAILS" = 0 ] || it_log "$XFAILS known divergences (XFAIL)"
[ "$XPASSES" = 0 ] || it_log "$XPASSES XFAIL entries now pass (XPASS)"
if [ "$IT_CHECKS" = 0 ] && [ "$IT_FAILS" = 0 ]; then
    skip "no execution mode of this udocker could run here"
fi
it_done
