# SPDX-License-Identifier: Apache-2.0
# Reference runners beside udocker's own engines, shared by the differential
# suite (test_engines_diff.sh) and the engine benches: bubblewrap and PRoot
# started on a container root with the binds an R or P mode would give it.
# Needs nothing from common.sh, so bench scripts can source it too.
# shellcheck shell=bash disable=SC2034

# The system files every R mode binds (reference 6.3), when the host has them.
eng_sysfiles() {
    local f
    for f in /etc/resolv.conf /etc/host.conf; do
        [ -e "$f" ] && printf '%s\n' "$f"
    done
}

# bwrap_argv ROOT CWD: sets ENG_ARGV, the bwrap command that runs a command
# as uid 0 in a new user namespace with ROOT as /, the R-mode system files,
# /proc, /dev, /sys, and each HOST:CONT of the array ENG_BINDS. With ENG_ENV
# (an array of K=V) set, the environment is exactly ENG_ENV.
bwrap_argv() {
    local root=$1 cwd=$2 f b
    ENG_ARGV=(bwrap --unshare-user --uid 0 --gid 0 --bind "$root" / --proc /proc --dev /dev
        --ro-bind /sys /sys)
    while read -r f; do
        ENG_ARGV+=(--ro-bind "$f" "$f")
    done < <(eng_sysfiles)
    for b in "${ENG_BINDS[@]}"; do
        ENG_ARGV+=(--bind "${b%%:*}" "${b#*:}")
    done
    ENG_ARGV+=(--chdir "$cwd")
    if [ -n "${ENG_ENV+x}" ]; then
        ENG_ARGV+=(--clearenv)
        for b in "${ENG_ENV[@]}"; do
            ENG_ARGV+=(--setenv "${b%%=*}" "${b#*=}")
        done
    fi
}

# proot_argv ROOT CWD: sets ENG_ARGV, the host PRoot command with the P-mode
# default binds (reference 6.3), ENG_BINDS and root emulation (-0); the
# environment is ENG_ENV when set.
proot_argv() {
    local root=$1 cwd=$2 f b
    ENG_ARGV=()
    if [ -n "${ENG_ENV+x}" ]; then
        ENG_ARGV=(env -i "${ENG_ENV[@]}")
    fi
    ENG_ARGV+=(proot -r "$root")
    for f in /dev /proc /sys /lib/modules $(eng_sysfiles); do
        [ -e "$f" ] && ENG_ARGV+=(-b "$f")
    done
    for b in "${ENG_BINDS[@]}"; do
        ENG_ARGV+=(-b "$b")
    done
    ENG_ARGV+=(-w "$cwd" -0)
}

# eng_image_env CONTAINER_JSON: the image Env entries, one per line.
eng_image_env() {
    "${PYTHON:-python3}" -c 'import json,sys
c = json.load(open(sys.argv[1]))
for e in (c.get("config") or {}).get("Env") or []:
    print(e)' "$1"
}
