# SPDX-License-Identifier: Apache-2.0
"""Lay out a local repository exactly as upstream udocker 1.3 leaves it
(behaviour reference section 2), byte for byte, from the busybox image
that mkimage.py builds:
  repos/busybox/latest              v2: TAG, v2, manifest, relative links
  repos/lab/deep/busybox/1.0        v2, deeper name (more ../), PROTECT
  repos/old/v1img/1.0               v1: ancestry (top first), <id>.layer and
                                    <id>.json links, container.json link
  containers/<uuid>                 ROOT, container.json, imagerepo.name
                                    (no newline), execmode, root.path;
                                    names as relative symlinks; PROTECT
Prints a JSON summary (ids, digests) on stdout.
usage: mkupstream.py --cache DIR --repo DIR
"""
import argparse
import hashlib
import io
import json
import os
import sys
import tarfile
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mkimage  # noqa: E402


def write(path, data, mode=0o644):
    if isinstance(data, str):
        data = data.encode()
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def link_blob(tagdir, topdir, name):
    """Upstream's relative link from a tag directory to layers/<name>."""
    rel = os.path.relpath(os.path.join(topdir, "layers", name), tagdir)
    os.symlink(rel, os.path.join(tagdir, name))


def make_tag(topdir, repo, tag, version):
    repodir = os.path.join(topdir, "repos", repo)
    tagdir = os.path.join(repodir, tag)
    os.makedirs(tagdir)
    write(os.path.join(tagdir, "TAG"), repodir + ":" + tag)  # no newline
    write(os.path.join(tagdir, version), b"")
    return tagdir


def v2_image(topdir, repo, tag, manifest, blobs):
    tagdir = make_tag(topdir, repo, tag, "v2")
    write(os.path.join(tagdir, "manifest"), manifest)
    for d in blobs:
        link_blob(tagdir, topdir, d)
    return tagdir


def tar_of(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for name, data in files:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            ti.mtime = 1700000000
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def v1_image(topdir, repo, tag, base_layer, config):
    """Two v1 layers (ids are random 64-hex, as load produced them)."""
    base_id = hashlib.sha256(b"upstream-v1-base").hexdigest()
    top_id = hashlib.sha256(b"upstream-v1-top").hexdigest()
    layers = os.path.join(topdir, "layers")
    write(os.path.join(layers, base_id + ".layer"), base_layer)
    write(os.path.join(layers, top_id + ".layer"),
          tar_of([("hello-v1.txt", b"from a v1 image\n")]))
    write(os.path.join(layers, base_id + ".json"),
          json.dumps({"id": base_id, "os": "linux", "architecture": "amd64"}))
    top_cfg = dict(config, id=top_id, parent=base_id)
    write(os.path.join(layers, top_id + ".json"), json.dumps(top_cfg))
    tagdir = make_tag(topdir, repo, tag, "v1")
    write(os.path.join(tagdir, "ancestry"), json.dumps([top_id, base_id]))
    for i in (base_id, top_id):
        link_blob(tagdir, topdir, i + ".layer")
        link_blob(tagdir, topdir, i + ".json")
    os.symlink(os.path.relpath(os.path.join(layers, top_id + ".json"), tagdir),
               os.path.join(tagdir, "container.json"))
    return top_id, base_id


def container(topdir, imagerepo, layer_blob, config, name=None, execmode=None, protect=False):
    cid = str(uuid.uuid4())
    cdir = os.path.join(topdir, "containers", cid)
    root = os.path.join(cdir, "ROOT")
    os.makedirs(root)
    with tarfile.open(fileobj=io.BytesIO(layer_blob), mode="r:*") as tf:
        for m in tf.getmembers():
            if m.isdev():
                continue
            tf.extract(m, root, set_attrs=not m.issym())
    write(os.path.join(cdir, "container.json"), config)
    write(os.path.join(cdir, "imagerepo.name"), imagerepo)  # no newline
    if execmode:
        write(os.path.join(cdir, "execmode"), execmode)
        write(os.path.join(cdir, "root.path"), os.path.realpath(root))
    if protect:
        write(os.path.join(cdir, "PROTECT"), b"")
    if name:
        os.symlink(cid, os.path.join(topdir, "containers", name))
    return cid


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", required=True)
    ap.add_argument("--repo", required=True)
    a = ap.parse_args()
    outdir, plan = mkimage.ensure_built("busybox", a.cache)
    man_digest = [m["digest"] for m in plan["manifests"] if m["ref"] == "latest"][0]

    def blob(d):
        with open(os.path.join(outdir, "blobs", d.split(":")[1]), "rb") as f:
            return f.read()

    manifest = blob(man_digest)
    m = json.loads(manifest)
    layer_d = m["layers"][0]["digest"]
    cfg_d = m["config"]["digest"]
    top = a.repo
    for d in ("repos", "layers", "containers", "bin", "lib", "doc"):
        os.makedirs(os.path.join(top, d), exist_ok=True)
    for d in (layer_d, cfg_d):
        write(os.path.join(top, "layers", d), blob(d))
    v2_image(top, "busybox", "latest", manifest, [layer_d, cfg_d])
    deep = v2_image(top, "lab/deep/busybox", "1.0", manifest, [layer_d, cfg_d])
    write(os.path.join(deep, "PROTECT"), b"")
    config = json.loads(blob(cfg_d))
    top_id, base_id = v1_image(top, "old/v1img", "1.0", blob(layer_d), config)
    c1 = container(top, "busybox:latest", blob(layer_d), blob(cfg_d), name="mybox",
                   execmode="P1")
    c2 = container(top, "lab/deep/busybox:1.0", blob(layer_d), blob(cfg_d), protect=True)
    json.dump({"layer": layer_d, "config": cfg_d, "manifest": man_digest, "c1": c1, "c2": c2,
               "v1_top": top_id, "v1_base": base_id}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
