#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Foreign-architecture images in the P modes through QEMU user mode
# (reference 5.1 "-q qemu-<arch>", 5.7): Debian's arm64 busybox-static,
# fetched once from the Debian archive and cached (also for the unit test
# unit.ptrace-proot.qemu), as a one-layer image with config architecture
# arm64 in the local registry; pull --platform=linux/arm64, create, setup
# --execmode=P1 (and P2), run: uname -m says aarch64, exit codes, a file
# written into ROOT, ls /; without a qemu in PATH a one-line warning before
# the run and the exec fails. Skipped when qemu-aarch64-static is missing,
# the host is not x86_64, or the package cannot be fetched.
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

[ "$(uname -m)" = x86_64 ] || skip "arm64 is foreign only on an x86_64 host (this is $(uname -m))"
QEMU=$(command -v qemu-aarch64-static) || skip "qemu-aarch64-static is not installed (qemu-user-static)"
command -v dpkg-deb >/dev/null || skip "dpkg-deb is not installed"
command -v xz >/dev/null || skip "xz is not installed"

# arm64_fetch: from the Debian archive, for arm64: busybox-static (its
# bin/busybox cached as $IT_CACHE/foreign/busybox-arm64, which the unit test
# unit.ptrace-proot.qemu uses too), libc6 and hello (a dynamic program),
# cached as $IT_CACHE/foreign/PKG_arm64.deb. Pool paths come from the
# suite's Packages index, and each .deb's SHA256 is checked against it.
# Sets FOREIGN, or returns 1 with the reason in FETCH_WHY.
arm64_fetch() {
    local mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
    FOREIGN=$IT_CACHE/foreign
    mkdir -p "$FOREIGN"
    FETCH_WHY=$(
        flock 9
        d=$FOREIGN
        [ -s "$d/busybox-arm64" ] && [ -s "$d/libc6_arm64.deb" ] && [ -s "$d/hello_arm64.deb" ] && exit 0
        tmp=$(mktemp -d "$d/.fetch.XXXXXX") || exit 1
        trap 'rm -rf "$tmp"' EXIT
        curl -fsS --max-time 180 "$mirror/dists/$DEBIAN_SUITE/main/binary-arm64/Packages.xz" |
            xz -d >"$tmp/Packages" 2>/dev/null || {
            echo "cannot fetch $mirror/dists/$DEBIAN_SUITE/main/binary-arm64/Packages.xz"
            exit 1
        }
        for pkg in busybox-static libc6 hello; do
            stanza=$(awk -v RS= -v p="Package: $pkg" 'index($0, p "\n") == 1' "$tmp/Packages")
            file=$(printf '%s\n' "$stanza" | sed -n 's/^Filename: //p' | head -n1)
            sum=$(printf '%s\n' "$stanza" | sed -n 's/^SHA256: //p' | head -n1)
            if [ -z "$file" ] || [ -z "$sum" ]; then
                echo "no $pkg in the arm64 index"
                exit 1
            fi
            curl -fsS --max-time 180 -o "$tmp/$pkg.deb" "$mirror/$file" || { echo "cannot fetch $mirror/$file"; exit 1; }
            echo "$sum  $tmp/$pkg.deb" | sha256sum -c --quiet >/dev/null 2>&1 || { echo "$file: SHA256 mismatch"; exit 1; }
        done
        if ! dpkg-deb -x "$tmp/busybox-static.deb" "$tmp/x" || [ ! -s "$tmp/x/bin/busybox" ]; then
            echo "busybox-static has no bin/busybox"
            exit 1
        fi
        chmod 755 "$tmp/x/bin/busybox"
        mv -f "$tmp/libc6.deb" "$d/libc6_arm64.deb" && mv -f "$tmp/hello.deb" "$d/hello_arm64.deb" &&
            mv "$tmp/x/bin/busybox" "$d/.busybox-arm64.tmp" && mv -f "$d/.busybox-arm64.tmp" "$d/busybox-arm64"
    ) 9>"$FOREIGN/.lock"
    [ -s "$FOREIGN/busybox-arm64" ] && [ -s "$FOREIGN/libc6_arm64.deb" ] && [ -s "$FOREIGN/hello_arm64.deb" ]
}
arm64_fetch || skip "Debian's arm64 packages: $FETCH_WHY"
BB_ARM64=$FOREIGN/busybox-arm64
check "the cached busybox is an aarch64 ELF" [ "$(od -An -tx1 -j18 -N2 "$BB_ARM64" | tr -d ' ')" = b700 ]

# The image: busybox and its applets (listed by the arm64 busybox itself,
# under qemu on the host), passwd, group, config architecture arm64.
"$QEMU" "$BB_ARM64" --list-full >"$IT_WORK/applets" || die "the arm64 busybox does not run under $QEMU"
rootfs_registry
# The dynamic program and the C library it needs: lib/ and usr/bin/ of
# libc6 and hello.
for p in libc6 hello; do dpkg-deb -x "$FOREIGN/${p}_arm64.deb" "$IT_WORK/dyn" || die "dpkg-deb -x ${p}_arm64.deb"; done
"$PYTHON" - "$IT_LIB" "$BB_ARM64" "$IT_WORK/applets" "$IT_CACHE" "$PLAIN_URL" "$IT_WORK/dyn" \
    >>"$IT_WORK/logs/push.log" 2>&1 <<'EOF' || die "pushing the arm64 image failed: $(tail -3 "$IT_WORK/logs/push.log")"
import hashlib, os, sys
sys.path.insert(0, sys.argv[1])
import mkimage
from mkimage import D, F, L

bb, applets, cache, registry, dyn = sys.argv[2:7]
data = open(bb, "rb").read()
key = hashlib.sha256(data)


def dyn_entries():
    out = []
    for top in ("lib", "usr/bin"):
        for dirpath, dirnames, filenames in os.walk(os.path.join(dyn, top)):
            dirnames.sort()
            rel = os.path.relpath(dirpath, dyn)
            out.append(D(rel))
            for f in sorted(filenames):
                full = os.path.join(dirpath, f)
                name = os.path.join(rel, f)
                if os.path.islink(full):
                    out.append(L(name, os.readlink(full)))
                else:
                    body = open(full, "rb").read()
                    key.update(name.encode() + body)
                    out.append(F(name, body, os.stat(full).st_mode & 0o7777))
    return out


def build(b):
    dirs = ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "root", "home", "var", "dev",
            "proc", "sys")
    entries = [D(d) for d in dirs] + [D("tmp", 0o1777), F("bin/busybox", data, 0o755)]
    for a in sorted(set(open(applets).read().split())):
        if a != "bin/busybox" and os.path.dirname(a) in dirs:
            depth = a.count("/")
            entries.append(L(a, "busybox" if a.startswith("bin/") else "../" * depth + "bin/busybox"))
    entries += [F("etc/passwd", mkimage.PASSWD), F("etc/group", mkimage.GROUP),
                F("etc/hostname", "arm64box\n")]
    entries += [e for e in dyn_entries() if e["n"] not in dirs]
    layer = b.layer(entries, "gzip")
    desc = b.image([layer], {"Cmd": ["sh"], "Env": mkimage.ENV_PATH, "WorkingDir": "/"},
                   arch="arm64", variant="v8")
    b.push_manifest(desc, "latest")

dyn_entries()  # the key covers them
name = "busybox-arm64-" + key.hexdigest()[:16]
mkimage.IMAGES[name] = build
mkimage.push(name, cache, registry, "bbarm64", None, None, None, None)
EOF

ud pull --registry="$PLAIN_URL" --platform=linux/arm64 bbarm64
expect_rc 0
rootfs_create bbarm64:latest carm
check "container.json says arm64" grep -q '"architecture": *"arm64"' "$REPO/containers/$RF_ID/container.json"

RAN=0
for m in P1 P2; do
    why=$(host_mode_why "$m")
    if [ -n "$why" ]; then
        it_log "SKIP $m: $why"
        continue
    fi
    if ! mode_set "$m" carm; then
        fail "$MODE_WHY"
        continue
    fi
    RAN=$((RAN + 1))
    ud run --nobanner carm /bin/uname -m
    expect_rc 0
    expect_stdout_line aarch64
    expect_stderr_lacks qemu
    ud run --nobanner carm sh -c 'echo hi; exit 3'
    expect_rc 3
    expect_stdout_line hi
    # shellcheck disable=SC2016 # expanded in the container
    ud run --nobanner carm /bin/sh -c 'echo "$container_execmode"; id -u; uname -m | cat; cat /etc/hostname'
    expect_rc 0
    check "$m: mode, root, arch, hostname file" [ "$(tr '\n' ' ' <"$UD_OUT_FILE")" = "$m 0 aarch64 arm64box " ]
    # A dynamic program: qemu opens its PT_INTERP and libc through the tracer.
    ud run --nobanner carm hello -g 'hi from arm64'
    expect_rc 0
    expect_stdout_line 'hi from arm64'
    ud run --nobanner carm sh -c '/lib/ld-linux-aarch64.so.1 --version | head -n1; hello | cat; readlink /proc/self/exe'
    expect_rc 0
    expect_stdout_match '^ld\.so .*GLIBC'
    expect_stdout_line 'Hello, world!'
    expect_stdout_line /bin/busybox
    ud run --nobanner carm sh -c 'echo made >/made-by-arm64; ls /'
    expect_rc 0
    expect_stdout_line made-by-arm64
    expect_stdout_line bin
    check "$m: file written into ROOT" [ "$(cat "$RF_ROOT/made-by-arm64" 2>/dev/null)" = made ]
    check "$m: owned by the caller" [ "$(stat -c %u "$RF_ROOT/made-by-arm64" 2>/dev/null)" = "$IT_UID" ]
    rm -f "$RF_ROOT/made-by-arm64"
done
[ "$RAN" -gt 0 ] || skip "no P mode runs here"

# Without a qemu in PATH: a warning before the run (reference 5.1), then the
# exec fails like the kernel's (Exec format error, status 126), no crash.
as_user mkdir -p "$IT_U/emptybin"
mode_set P1 carm || true
# shellcheck disable=SC2034 # read by fail() in lib/common.sh
UD_LAST_CMD="udocker run --nobanner carm /bin/uname -m (PATH without qemu)"
"${IT_RUNAS[@]}" timeout -k 5 60 env -i PATH="$IT_U/emptybin" HOME="$UHOME" UDOCKER_DIR="$REPO" \
    LANG=C.UTF-8 TMPDIR=/tmp "$UDBIN" run --nobanner carm /bin/uname -m \
    </dev/null >"$UD_OUT_FILE" 2>"$UD_ERR_FILE"
UD_RC=$?
expect_rc 126
expect_stderr_match '^Warning: .*qemu-aarch64-static'
check "no qemu: one warning line" [ "$(grep -c '^Warning' "$UD_ERR_FILE")" = 1 ]
expect_stderr_contains "Exec format error"
expect_stdout_empty

it_done
