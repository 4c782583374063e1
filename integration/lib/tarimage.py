# SPDX-License-Identifier: Apache-2.0
"""Turns a root filesystem tarball (the cached Debian minbase root) into a
one-layer Docker image and pushes it to a registry, reusing mkimage.py's
builder and pusher. The gzip layer and the plan are cached beside the
tarball and rebuilt when the tarball changes (size and mtime).

usage:
  tarimage.py push --tar FILE --cache DIR --registry URL --repo REPO [--tag T]
                   [--cmd CMD] [--workdir DIR]
  tarimage.py push --busybox --config JSON --cache DIR --registry URL --repo REPO
                   [--tag T]
The second form makes the run-test images: the busybox layer of mkimage.py,
a second layer with a user "alice" (uid 1234, home /home/alice), /opt/app
and /data, and the image config given as JSON (Env, Entrypoint, Cmd,
WorkingDir, User...).
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mkimage  # noqa: E402


def gzip_layer(tar_path, outdir):
    """Compress tar_path into outdir/blobs/<sha256>; returns (desc, diff_id)."""
    blobs = os.path.join(outdir, "blobs")
    os.makedirs(blobs, exist_ok=True)
    tmp = os.path.join(blobs, ".layer.tmp")
    raw_h = hashlib.sha256()
    gz_h = hashlib.sha256()
    size = 0
    with open(tar_path, "rb") as src:
        for chunk in iter(lambda: src.read(1 << 20), b""):
            raw_h.update(chunk)
    # gzip -1 -n: fast, and no name or time in the header, so the digest
    # depends on the tarball only.
    with open(tar_path, "rb") as src, open(tmp, "wb") as dst:
        subprocess.run(["gzip", "-1", "-n", "-c"], stdin=src, stdout=dst, check=True)
    with open(tmp, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            gz_h.update(chunk)
            size += len(chunk)
    digest = "sha256:" + gz_h.hexdigest()
    os.replace(tmp, os.path.join(blobs, gz_h.hexdigest()))
    desc = {"mediaType": mkimage.MT_D_LAYER, "digest": digest, "size": size}
    return desc, "sha256:" + raw_h.hexdigest()


def builder_for(tar_path, cmd, workdir):
    def build(b):
        desc, diff_id = gzip_layer(tar_path, b.outdir)
        b.blobs[desc["digest"]] = desc["size"]
        cfg = {"Cmd": cmd, "Env": mkimage.ENV_PATH}
        if workdir:
            cfg["WorkingDir"] = workdir
        man = b.image([(desc, diff_id)], cfg)
        b.push_manifest(man, "latest")
    return build


PASSWD_EXTRA = (mkimage.PASSWD +
                "alice:x:1234:1234:Alice Test:/home/alice:/bin/sh\n"
                "bob:x:1235:1235:Bob:/home/bob:/bin/sh\n")
GROUP_EXTRA = mkimage.GROUP + "alice:x:1234:\nbob:x:1235:\nstaff:x:50:alice\n"


def busybox_config_builder(cfg):
    def build(b):
        base = b.layer(mkimage.busybox_entries(), "gzip")
        F, D = mkimage.F, mkimage.D
        extra = b.layer([D("etc"), F("etc/passwd", PASSWD_EXTRA), F("etc/group", GROUP_EXTRA),
                         D("home"), D("home/alice"), F("home/alice/.profile", "# alice\n"),
                         D("home/bob"), D("opt"), D("opt/app"),
                         F("opt/app/hello.sh", "#!/bin/sh\necho \"hello $*\"\n", 0o755),
                         F("opt/app/noexec.sh", "#!/bin/sh\necho no\n", 0o644),
                         D("data"), F("data/image.txt", "from the image\n")], "gzip")
        full = {"Env": mkimage.ENV_PATH}
        full.update(cfg)
        man = b.image([base, extra], full)
        b.push_manifest(man, "latest")
    return build


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("action", choices=["push", "build"])
    ap.add_argument("--tar")
    ap.add_argument("--busybox", action="store_true")
    ap.add_argument("--config", default="{}")
    ap.add_argument("--cache", required=True)
    ap.add_argument("--registry")
    ap.add_argument("--repo")
    ap.add_argument("--tag")
    ap.add_argument("--cmd", default="bash")
    ap.add_argument("--workdir")
    a = ap.parse_args()
    if a.busybox:
        cfg = json.loads(a.config)
        key = hashlib.sha256(json.dumps(cfg, sort_keys=True).encode() + mkimage.BUILD_VERSION.encode())
        name = "bbcfg-" + key.hexdigest()[:16]
        mkimage.IMAGES[name] = busybox_config_builder(cfg)
    elif a.tar:
        name = tar_image(a)
    else:
        ap.error("give --tar FILE or --busybox")
    if a.action == "build":
        mkimage.ensure_built(name, a.cache)
        return
    if not a.registry or not a.repo:
        ap.error("push needs --registry and --repo")
    mkimage.push(name, a.cache, a.registry, a.repo, a.tag, None, None, None)


def tar_image(a):
    st = os.stat(a.tar)
    # The cache entry name follows the tarball, so a rebuilt root gets a
    # fresh image and the old one is never pushed by mistake.
    key = hashlib.sha256(("%s %d %d %s %s" % (os.path.abspath(a.tar), st.st_size,
                                              int(st.st_mtime), a.cmd, a.workdir)).encode())
    name = "tarimage-" + key.hexdigest()[:16]
    mkimage.IMAGES[name] = builder_for(a.tar, a.cmd.split(), a.workdir)
    return name


if __name__ == "__main__":
    main()
