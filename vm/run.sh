#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs a command inside a QEMU guest booted with a Debian kernel of the
# chosen suite, on the host's own root filesystem (read-only 9p under a
# tmpfs overlay), so engines can be checked against other kernels and other
# kernel settings without building a guest image. Software emulation (TCG):
# slow, but it works where KVM does not.
#
# Usage: vm/run.sh [--suite SUITE] [--append "sysctl.x=y ..."] [--mem MB]
#                  [--timeout SECONDS] [--cache DIR] -- COMMAND [ARGS...]
# The command runs as root in the guest, in the current directory, with
# the guest's exit status and output returned. --append adds kernel
# parameters, e.g. "sysctl.user.max_user_namespaces=0".
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
suite=bookworm
append=
mem=2048
timeout=600
cache=${UD_VM_CACHE:-$here/../build/vm-cache}

while [ $# -gt 0 ]; do
    case $1 in
    --suite) suite=$2; shift 2 ;;
    --append) append=$2; shift 2 ;;
    --mem) mem=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --cache) cache=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
[ $# -gt 0 ] || { echo "usage: vm/run.sh [options] -- COMMAND [ARGS...]" >&2; exit 2; }

qemu=$(command -v qemu-system-x86_64) || { echo "run.sh: qemu-system-x86_64 is not installed" >&2; exit 77; }
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "run.sh: $busybox (busybox-static) is not installed" >&2; exit 77; }

mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
kdir=$("$here/kernel.sh" "$suite" "$cache/kernels")
initrd=$kdir/initrd.gz
if [ ! -s "$initrd" ] || [ "$here/guest-init.sh" -nt "$initrd" ] || [ "$here/initramfs.py" -nt "$initrd" ]; then
    python3 "$here/initramfs.py" "$kdir/modules" "$busybox" "$here/guest-init.sh" "$initrd"
fi

out=$(mktemp -d "$cache/run.XXXXXX")
trap 'rm -rf "$out"' EXIT
{
    echo "cd $(printf %q "$PWD") || exit 1"
    printf 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root\n'
    printf '('
    printf ' %q' "$@"
    printf ' ) >%q 2>&1 </dev/null\n' "$out/log"
    printf 'echo $? >%q\n' "$out/rc"
    printf 'sync\necho 1 >/proc/sys/kernel/sysrq\necho o >/proc/sysrq-trigger\nsleep 10\n'
} >"$out/guest.sh"

# -no-reboot with panic=-1: a guest that crashes ends QEMU instead of looping.
set +e
timeout "$timeout" "$qemu" -accel tcg -m "$mem" -smp 2 -nographic -no-reboot \
    -kernel "$kdir/vmlinuz" -initrd "$initrd" \
    -append "console=ttyS0 quiet panic=-1 ud.out=$out $append" \
    -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
    -virtfs "local,path=$out,mount_tag=out,security_model=none" \
    >"$out/console" 2>&1
qrc=$?
set -e
[ -f "$out/log" ] && cat "$out/log"
if [ ! -f "$out/rc" ]; then
    echo "run.sh: the guest did not finish (qemu exit $qrc); console:" >&2
    tail -n 30 "$out/console" >&2
    exit 1
fi
exit "$(cat "$out/rc")"
