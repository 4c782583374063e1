#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Writes the seed corpus of the tar_layer fuzz target (small plain, gzip
# and zstd layers with whiteouts, escape attempts, odd names and types).
# Usage: gen_fuzz_seeds.py fuzz/corpus/tar_layer
import gzip
import io
import os
import subprocess
import sys
import tarfile


def member(tf, name, kind="file", data=b"", target="", mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.mtime = 1000000000
    ti.mode = mode
    if kind == "file":
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
        return
    ti.type = {"dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE, "hard": tarfile.LNKTYPE,
               "fifo": tarfile.FIFOTYPE, "chr": tarfile.CHRTYPE, "blk": tarfile.BLKTYPE}[kind]
    ti.linkname = target
    tf.addfile(ti)


def build(members, fmt=tarfile.PAX_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for m in members:
            member(tf, *m)
    return buf.getvalue()


SEEDS = {
    "basic": [("etc", "dir", b"", "", 0o755), ("etc/hosts", "file", b"127.0.0.1 localhost\n"),
              ("etc/link", "sym", b"", "/etc/hosts"), ("etc/hard", "hard", b"", "etc/hosts"),
              ("run/fifo", "fifo"), ("bin/tool", "file", b"#!/bin/sh\n", "", 0o4755),
              ("zero", "file", b"z", "", 0)],
    "whiteouts": [("a/b/c", "file", b"c"), (".wh.foo", "file"), ("./.wh.bar", "file"),
                  ("a/.wh.b", "file"), ("a/b/new", "file", b"n"), ("d/.wh..wh..opq", "file"),
                  ("d/kept", "file", b"k"), (".wh..wh.plnk/1.2", "file", b"x")],
    "escapes": [("../outside/x", "file", b"pwn"), ("/abs/file", "file", b"in"),
                ("a", "sym", b"", "/"), ("a/x", "file", b"x"), ("up", "sym", b"", ".."),
                ("up/outside/secret", "file", b"pwn"), ("h1", "hard", b"", "../outside/secret"),
                ("h2", "hard", b"", "up/outside/secret"), ("up/.wh.outside", "file"),
                ("l", "sym", b"", "../../../../"), ("l/.wh..wh..opq", "file")],
    "replace": [("p", "file", b"f"), ("p", "dir"), ("p/in", "file", b"i"), ("p", "file", b"g"),
                ("q", "dir"), ("q", "sym", b"", "p"), ("q", "hard", b"", "p")],
    "devices": [("dev", "dir"), ("dev/null", "chr"), ("dev/x", "file", b"x"), ("lib/c", "chr"),
                ("lib/b", "blk"), ("etc/udev/devices/y", "file", b"y")],
    "names": [("d" * 150 + "/" + "f" * 120, "file", b"long"), ("with space", "file", b"s"),
              ("new\nline", "file", b"n"), ("caf\u00e9", "file", b"u"), ("-dash", "file", b"d"),
              ("loop1", "sym", b"", "loop2"), ("loop2", "sym", b"", "loop1"),
              ("loop1/z", "file", b"z")],
}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, members in SEEDS.items():
        tar = build(members)
        open(os.path.join(out, name + ".tar"), "wb").write(tar)
        open(os.path.join(out, name + ".tar.gz"), "wb").write(gzip.compress(tar, 9, mtime=0))
    gnu = build(SEEDS["names"], tarfile.GNU_FORMAT)
    open(os.path.join(out, "names-gnu.tar"), "wb").write(gnu)
    zst = subprocess.run(["zstd", "-q", "-19", "-c"], input=build(SEEDS["whiteouts"]),
                         stdout=subprocess.PIPE, check=True).stdout
    open(os.path.join(out, "whiteouts.tar.zst"), "wb").write(zst)
    open(os.path.join(out, "empty"), "wb").write(b"")
    open(os.path.join(out, "garbage"), "wb").write(b"not a tar archive at all\n" * 4)
    trunc = gzip.compress(build(SEEDS["basic"]), 9, mtime=0)
    open(os.path.join(out, "truncated.tar.gz"), "wb").write(trunc[: len(trunc) // 2])


if __name__ == "__main__":
    main()
