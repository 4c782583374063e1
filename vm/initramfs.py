#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Builds the small initramfs that vm/run.sh boots: busybox, the kernel
modules needed to mount the host's root over virtio-9p (with their
dependencies, read from each module's .modinfo section, decompressed when
the suite ships .ko.xz or .ko.zst) and vm/guest-init.sh as /init.

Usage: initramfs.py MODULES_DIR BUSYBOX INIT_SCRIPT OUTPUT.cpio.gz
"""
import gzip
import lzma
import os
import subprocess
import sys

WANTED = ["virtio_pci", "virtio_console", "9pnet_virtio", "9p", "overlay"]


def read_module(path):
    data = open(path, "rb").read()
    if path.endswith(".xz"):
        return lzma.decompress(data)
    if path.endswith(".zst"):
        return subprocess.run(["zstd", "-dc", path], check=True,
                              capture_output=True).stdout
    return data


def modinfo_depends(blob):
    key = b"\0depends="
    at = blob.find(key)
    if at < 0:
        return []
    end = blob.index(b"\0", at + len(key))
    value = blob[at + len(key):end].decode()
    return [d for d in value.split(",") if d]


def index_modules(moddir):
    found = {}
    for root, _dirs, files in os.walk(os.path.join(moddir, "kernel")):
        for f in files:
            for ext in (".ko", ".ko.xz", ".ko.zst"):
                if f.endswith(ext):
                    name = f[: -len(ext)].replace("-", "_")
                    found[name] = os.path.join(root, f)
    return found


def resolve(moddir, wanted):
    """Modules in load order (dependencies first); builtin ones skipped."""
    index = index_modules(moddir)
    order, seen = [], set()

    def visit(name):
        name = name.replace("-", "_")
        if name in seen:
            return
        seen.add(name)
        if name not in index:  # built into the kernel
            return
        blob = read_module(index[name])
        for dep in modinfo_depends(blob):
            visit(dep)
        order.append((name, blob))

    for w in wanted:
        visit(w)
    return order


class Cpio:
    """Writer of the "newc" format the kernel unpacks."""

    def __init__(self):
        self.out = bytearray()
        self.ino = 1

    def _entry(self, name, mode, data=b"", nlink=1):
        name_b = name.encode() + b"\0"
        hdr = "070701" + "".join("%08x" % v for v in (
            self.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0,
            len(name_b), 0))
        self.ino += 1
        self.out += hdr.encode() + name_b
        self.out += b"\0" * (-len(self.out) % 4)
        self.out += data
        self.out += b"\0" * (-len(self.out) % 4)

    def dir(self, name):
        self._entry(name, 0o040755, nlink=2)

    def file(self, name, data, mode=0o100644):
        self._entry(name, mode, data)

    def symlink(self, name, target):
        self._entry(name, 0o120777, target.encode())

    def finish(self):
        self._entry("TRAILER!!!", 0)
        return bytes(self.out)


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    moddir, busybox, init, output = sys.argv[1:]
    c = Cpio()
    for d in ("bin", "sbin", "dev", "proc", "sys", "mnt", "newroot",
              "modules", "tmp", "run"):
        c.dir(d)
    c.file("bin/busybox", open(busybox, "rb").read(), 0o100755)
    for applet in ("sh", "mount", "umount", "insmod", "mkdir", "cat", "echo",
                   "poweroff", "switch_root", "sleep", "ls", "chroot"):
        c.symlink("bin/" + applet, "busybox")
    c.file("init", open(init, "rb").read(), 0o100755)
    order = resolve(moddir, WANTED)
    names = []
    for i, (name, blob) in enumerate(order):
        fname = "%02d-%s.ko" % (i, name)
        c.file("modules/" + fname, blob)
        names.append(fname)
    c.file("modules/order", ("\n".join(names) + "\n").encode())
    with open(output + ".tmp", "wb") as f:
        f.write(gzip.compress(c.finish(), 6))
    os.replace(output + ".tmp", output)


if __name__ == "__main__":
    main()
