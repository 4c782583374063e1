#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# udocker run volumes (reference 6.1, 6.3): directory volumes read and
# written both ways (owner on the host is the caller), file volumes, -v H
# and -v H: (same path inside), targets missing in the container, several
# volumes, --novol, --nosysdirs, the default system files; the errors: a
# missing or relative host path, a relative container path or "/" (one
# line, exit 2, nothing run); a container symlink cannot send a volume's
# mount point outside ROOT. Mode as in test_run.sh.
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
rootfs_busybox cv
CROOT=$RF_ROOT
pick_run_mode cv
run_sh() { ud run --nobanner "$@"; }
mkd() { as_user mkdir -p "$@"; }

H=$IT_U/host
mkd "$H/data/sub" "$H/same" "$H/other"
as_user sh -c "echo host-file >'$H/data/hostfile'; echo single >'$H/single.txt'; echo same >'$H/same/s'"

# --- a directory volume, both ways ------------------------------------------------
run_sh -v "$H/data:/data" cv /bin/sh -c 'cat /data/hostfile; echo made-inside >/data/inside; mkdir /data/newdir; ls /data'
expect_rc 0
expect_stdout_line host-file
expect_stdout_line sub
check "file written inside is on the host" [ "$(cat "$H/data/inside" 2>/dev/null)" = made-inside ]
check "it belongs to the caller" [ "$(stat -c %u "$H/data/inside" 2>/dev/null)" = "$IT_UID" ]
check "directory made inside is on the host" test -d "$H/data/newdir"
check "nothing written into ROOT/data" [ ! -e "$CROOT/data/inside" ]
run_sh -v "$H/data:/data" cv /bin/sh -c 'rm /data/inside && rmdir /data/newdir'
expect_rc 0
check "removal inside reaches the host" [ ! -e "$H/data/inside" ]
# A target inside an existing container directory, and a deep missing one.
run_sh -v "$H/data:/tmp/vol" -v "$H/other:/new/deep/dir" cv /bin/sh -c 'cat /tmp/vol/hostfile; touch /new/deep/dir/x'
expect_rc 0
expect_stdout_line host-file
check "deep missing target works" test -f "$H/other/x"

# --- -v H alone, H: ----------------------------------------------------------------
run_sh -v "$H/same" cv /bin/cat "$H/same/s"
expect_rc 0
expect_stdout_line same
run_sh -v "$H/same:" cv /bin/cat "$H/same/s"
expect_rc 0
expect_stdout_line same
run_sh --volume="$H/same:/s2" cv /bin/cat /s2/s
expect_stdout_line same

# --- file volumes ---------------------------------------------------------------------
run_sh -v "$H/single.txt:/etc/single.txt" cv /bin/cat /etc/single.txt
expect_rc 0
expect_stdout_line single
run_sh -v "$H/single.txt:/etc/hostname" cv /bin/cat /etc/hostname
expect_rc 0
expect_stdout_line single
check "the container's own file is kept" [ "$(cat "$CROOT/etc/hostname")" = busybox ]

# --- --novol ----------------------------------------------------------------------------
run_sh -v "$H/other:/novoltest" --novol="$H/other" cv /bin/sh -c 'ls /novoltest 2>/dev/null || echo absent'
expect_rc 0
expect_stdout_line absent
run_sh -v "$H/other:/novoltest" --novol="$H/other:/novoltest" cv /bin/sh -c 'ls /novoltest 2>/dev/null || echo absent'
expect_stdout_line absent
run_sh -v "$H/data:/data" --novol=/not/a/volume cv /bin/cat /data/hostfile
expect_rc 0
expect_stdout_line host-file
expect_stderr_contains "--novol /not/a/volume not in volumes list"

# --- system files -----------------------------------------------------------------------
run_sh cv /bin/sh -c 'cat /etc/resolv.conf; ls /proc/self/status /dev/null'
expect_rc 0
check "resolv.conf is the host's" diff -q /etc/resolv.conf <(head -n "$(wc -l </etc/resolv.conf)" "$UD_OUT_FILE")
expect_stdout_line /proc/self/status
expect_stdout_line /dev/null

# --- errors: one line, exit 2, the command never runs -----------------------------------
for v in "$IT_U/nonexistent:/x" "relative/dir:/x" "$H/data:relative" "$H/data:/" "/:/"; do
    run_sh -v "$v" -v "$H:/h" cv /bin/touch /h/ran
    expect_rc 2
    expect_error "volume"
    check "-v $v: one line on stderr" [ "$(grep -c . "$UD_ERR_FILE")" = 1 ]
    check "-v $v: nothing ran" [ ! -e "$H/ran" ]
done
run_sh -v "$IT_U/nonexistent:/x" cv /bin/true
expect_error "invalid host volume path"
run_sh -v "$H/data:/" cv /bin/true
expect_error "invalid container volume path"

# --- a volume cannot be mounted outside ROOT through a container symlink ------------------
as_user ln -s /tmp "$CROOT/evil"
as_user ln -s ../../../../../../../tmp "$CROOT/evilrel"
rm -rf /tmp/ud-run-vol-escape /tmp/ud-run-vol-escape2
run_sh -v "$H/data:/evil/ud-run-vol-escape" cv /bin/sh -c 'ls /evil/ud-run-vol-escape/hostfile'
check "no mount point made in the host /tmp (absolute link)" [ ! -e /tmp/ud-run-vol-escape ]
run_sh -v "$H/data:/evilrel/ud-run-vol-escape2" cv /bin/true
check "no mount point made in the host /tmp (relative link)" [ ! -e /tmp/ud-run-vol-escape2 ]
run_sh -v "$H/data:/../../../../tmp/ud-run-vol-escape" cv /bin/cat /tmp/ud-run-vol-escape/hostfile
check "no mount point made in the host /tmp (dot-dot)" [ ! -e /tmp/ud-run-vol-escape ]
expect_stdout_line host-file
rm -f "$CROOT/evil" "$CROOT/evilrel"

# --- several volumes, same host directory twice -------------------------------------------
run_sh -v "$H/data:/a" -v "$H/data:/b" -v "$H/same:/a/sub" cv /bin/sh -c 'echo x >/a/t; cat /b/t; cat /a/sub/s'
expect_rc 0
expect_stdout_line x
expect_stdout_line same
check "nested volume did not write into the outer one" [ ! -e "$H/data/sub/s" ]
rm -f "$H/data/t"

it_done
