#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Builds the bench images without network (layers are tarballs of host
# directories and seeded pseudo-random data), caches them in bench/.cache/images
# and pushes them to a registry through the v2 HTTP API. Python stdlib only.
#
#   mkimage.py build [--cache DIR]                 build img500, img170, tiny
#   mkimage.py push  --registry URL [--cache DIR]  push (skips blobs present)
#   mkimage.py info  NAME [--cache DIR]            print the image's facts
"""Images:
  bench/img500:1  ~500 MB uncompressed, 5 gzip layers from /usr (+ whiteouts)
  bench/img170:1  5 gzip layers of ~170 MB compressed (random + text mixed)
  bench/tiny:t1..t20  one small layer, twenty tags (start-up bench)
"""
import argparse
import gzip
import hashlib
import http.client
import json
import os
import random
import shutil
import ssl
import stat as S
import subprocess
import sys
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
MT_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MT_CONFIG = "application/vnd.docker.container.image.v1+json"
MT_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
MB = 1000 * 1000


def walk_capped(root, cap):
    """Paths (relative to /) under root in sorted walk order, files up to cap bytes."""
    out, total = [], 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        out.append(os.path.relpath(dirpath, "/"))
        for name in sorted(filenames):
            p = os.path.join(dirpath, name)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            if S.S_ISLNK(st.st_mode):
                out.append(os.path.relpath(p, "/"))
            elif S.S_ISREG(st.st_mode) and os.access(p, os.R_OK):
                if total + st.st_size > cap:
                    continue
                total += st.st_size
                out.append(os.path.relpath(p, "/"))
        if total >= cap * 0.98:
            break
    return out, total


def tar_gz(dest, base, paths):
    """GNU tar of paths (relative to base) into dest, gzip -6; atomic."""
    lst = dest + ".list"
    with open(lst, "wb") as f:
        for p in paths:
            f.write(p.encode() + b"\0")
    tmp = dest + ".tmp"
    subprocess.run(["tar", "-C", base, "--null", "--no-recursion", "-T", lst,
                    "--sort=name", "--owner=0", "--group=0", "--numeric-owner",
                    "-czf", tmp], check=True, stderr=subprocess.DEVNULL)
    os.unlink(lst)
    os.replace(tmp, dest)


def stage_random(stage, tag, n_random, text_cap, seed):
    """A directory with seeded pseudo-random files and copied text files."""
    rng = random.Random(seed)
    d = os.path.join(stage, "opt", tag)
    os.makedirs(d, exist_ok=True)
    left, i = n_random, 0
    while left > 0:
        sz = min(left, rng.randint(1, 8) * MB)
        with open(os.path.join(d, "blob%03d.bin" % i), "wb") as f:
            f.write(rng.randbytes(sz))
        left -= sz
        i += 1
    paths, _ = walk_capped("/usr/share/doc", text_cap)
    return [os.path.relpath(d, stage)] + \
        [os.path.join(os.path.relpath(d, stage), n) for n in sorted(os.listdir(d))], paths


def build_img500(work):
    specs = [(["/usr/bin"], 120 * MB), (["/usr/share"], 140 * MB),
             (["/usr/lib/x86_64-linux-gnu"], 130 * MB),
             (["/usr/lib/python3.11", "/usr/lib/python3"], 100 * MB)]
    layers = []
    for i, (roots, cap) in enumerate(specs):
        dest = os.path.join(work, "layer%d.tar.gz" % i)
        if not os.path.exists(dest):
            paths, total = [], 0
            for root in roots:
                p, t = walk_capped(root, cap - total)
                paths += p
                total += t
            print("  layer %d: %s, %.0f MB of files" % (i, " ".join(roots), total / MB),
                  flush=True)
            tar_gz(dest, "/", paths)
        layers.append(dest)
    # Last layer: whiteouts of earlier files, an opaque directory, new text.
    dest = os.path.join(work, "layer4.tar.gz")
    if not os.path.exists(dest):
        stage = os.path.join(work, "stage4")
        subprocess.run(["rm", "-rf", stage], check=True)
        paths, _ = walk_capped("/usr/share", 140 * MB)
        files = [p for p in paths if os.path.isfile("/" + p) and not os.path.islink("/" + p)]
        rel = []
        for p in files[::max(1, len(files) // 20)][:20]:
            wh = os.path.join(os.path.dirname(p), ".wh." + os.path.basename(p))
            os.makedirs(os.path.join(stage, os.path.dirname(p)), exist_ok=True)
            open(os.path.join(stage, wh), "w").close()
            rel.append(wh)
        opq_dir = os.path.dirname(files[len(files) // 2])
        os.makedirs(os.path.join(stage, opq_dir), exist_ok=True)
        open(os.path.join(stage, opq_dir, ".wh..wh..opq"), "w").close()
        rel.append(os.path.join(opq_dir, ".wh..wh..opq"))
        rng = random.Random(500)
        os.makedirs(os.path.join(stage, "etc/bench"), exist_ok=True)
        words = [w for w in open("/usr/share/common-licenses/GPL-3").read().split()]
        for j in range(200):
            p = "etc/bench/conf%03d.txt" % j
            with open(os.path.join(stage, p), "w") as f:
                f.write(" ".join(rng.choice(words) for _ in range(2000)))
            rel.append(p)
        dirs = sorted({os.path.dirname(p) for p in rel})
        alld = set()
        for d in dirs:
            while d:
                alld.add(d)
                d = os.path.dirname(d)
        tar_gz(dest, stage, sorted(alld) + rel)
        subprocess.run(["rm", "-rf", stage], check=True)
    layers.append(dest)
    return layers


def build_img170(work):
    # Uneven sizes, as real images have: one big layer and small ones. Random
    # data does not compress; text adds ~1/4 of its size.
    targets = [80, 45, 25, 12, 8]
    layers = []
    for i, t in enumerate(targets):
        dest = os.path.join(work, "layer%d.tar.gz" % i)
        if not os.path.exists(dest):
            stage = os.path.join(work, "stage%d" % i)
            subprocess.run(["rm", "-rf", stage], check=True)
            rnd, text = stage_random(stage, "l%d" % i, int(t * 0.66 * MB), int(t * 0.5 * MB),
                                     170 + i)
            # Text paths are absolute-relative (under /), random ones under stage:
            # link the text tree into the stage so one tar covers both.
            for p in text:
                src, dst = "/" + p, os.path.join(stage, p)
                if os.path.isdir(src) and not os.path.islink(src):
                    os.makedirs(dst, exist_ok=True)
                elif os.path.islink(src):
                    os.symlink(os.readlink(src), dst)
                else:
                    try:
                        os.link(src, dst)
                    except OSError:
                        shutil.copy2(src, dst)
            alld = set()
            for p in rnd + text:
                d = os.path.dirname(p)
                while d:
                    alld.add(d)
                    d = os.path.dirname(d)
            tar_gz(dest, stage, sorted(alld) + [p for p in rnd + text if p not in alld])
            subprocess.run(["rm", "-rf", stage], check=True)
        layers.append(dest)
    return layers


def build_tiny(work):
    dest = os.path.join(work, "layer0.tar.gz")
    if not os.path.exists(dest):
        stage = os.path.join(work, "stage")
        os.makedirs(os.path.join(stage, "etc"), exist_ok=True)
        with open(os.path.join(stage, "etc/hello.txt"), "w") as f:
            f.write("hello from the udocker start-up bench\n")
        tar_gz(dest, stage, ["etc", "etc/hello.txt"])
        subprocess.run(["rm", "-rf", stage], check=True)
    return [dest]


def sha256_file(path, gunzip=False):
    h = hashlib.sha256()
    opener = gzip.open if gunzip else open
    with opener(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def finish(work, name, tags, layers):
    """Write blobs/<hex>, config and manifest; return the meta record."""
    blobs = os.path.join(work, "blobs")
    os.makedirs(blobs, exist_ok=True)
    descs, diff_ids, usize = [], [], 0
    for lp in layers:
        hexd = sha256_file(lp)
        diff_ids.append("sha256:" + sha256_file(lp, gunzip=True))
        with gzip.open(lp, "rb") as f:
            while True:
                b = f.read(1 << 20)
                if not b:
                    break
                usize += len(b)
        bp = os.path.join(blobs, hexd)
        if not os.path.exists(bp):
            os.link(lp, bp)
        descs.append({"mediaType": MT_LAYER, "size": os.path.getsize(lp),
                      "digest": "sha256:" + hexd})
    config = {"architecture": "amd64", "os": "linux",
              "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                         "Cmd": ["/bin/sh"], "WorkingDir": "/"},
              "rootfs": {"type": "layers", "diff_ids": diff_ids},
              "history": [{"created_by": "bench layer %d" % i} for i in range(len(layers))]}
    cb = json.dumps(config, sort_keys=True).encode()
    chex = hashlib.sha256(cb).hexdigest()
    with open(os.path.join(blobs, chex), "wb") as f:
        f.write(cb)
    manifest = {"schemaVersion": 2, "mediaType": MT_MANIFEST,
                "config": {"mediaType": MT_CONFIG, "size": len(cb), "digest": "sha256:" + chex},
                "layers": descs}
    mb = json.dumps(manifest, indent=3).encode()
    with open(os.path.join(work, "manifest.json"), "wb") as f:
        f.write(mb)
    meta = {"name": name, "tags": tags, "layers": [d["digest"] for d in descs],
            "config": "sha256:" + chex, "compressed_bytes": sum(d["size"] for d in descs),
            "uncompressed_bytes": usize}
    with open(os.path.join(work, "meta.json.tmp"), "w") as f:
        json.dump(meta, f, indent=1)
    os.replace(os.path.join(work, "meta.json.tmp"), os.path.join(work, "meta.json"))
    return meta


IMAGES = {"img500": (build_img500, ["1"]), "img170": (build_img170, ["1"]),
          "tiny": (build_tiny, ["t%d" % i for i in range(1, 21)])}


def cmd_build(cache, names):
    for short in names:
        work = os.path.join(cache, "images", short)
        if os.path.exists(os.path.join(work, "meta.json")):
            continue
        os.makedirs(work, exist_ok=True)
        print("building bench/%s in %s" % (short, work), flush=True)
        builder, tags = IMAGES[short]
        meta = finish(work, "bench/" + short, tags, builder(work))
        print("  %d layers, %.1f MB compressed, %.1f MB uncompressed" % (
            len(meta["layers"]), meta["compressed_bytes"] / MB, meta["uncompressed_bytes"] / MB))


class Registry:
    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        self.https = u.scheme == "https"
        self.netloc = u.netloc

    def conn(self):
        if self.https:
            ctx = ssl._create_unverified_context()
            return http.client.HTTPSConnection(self.netloc, context=ctx, timeout=120)
        return http.client.HTTPConnection(self.netloc, timeout=120)

    def req(self, method, path, body=None, headers=None):
        c = self.conn()
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data

    def push_blob(self, repo, digest, path):
        st, _, _ = self.req("HEAD", "/v2/%s/blobs/%s" % (repo, digest))
        if st == 200:
            return
        st, h, _ = self.req("POST", "/v2/%s/blobs/uploads/" % repo)
        if st != 202:
            raise SystemExit("upload start %s: HTTP %d" % (repo, st))
        loc = urllib.parse.urlsplit(h["location"])
        q = loc.query + ("&" if loc.query else "") + "digest=" + digest
        with open(path, "rb") as f:
            st, _, body = self.req("PUT", loc.path + "?" + q, body=f, headers={
                "Content-Type": "application/octet-stream",
                "Content-Length": str(os.path.getsize(path))})
        if st != 201:
            raise SystemExit("upload %s: HTTP %d %s" % (digest, st, body[:200]))


def cmd_push(cache, url, names):
    reg = Registry(url)
    for short in names:
        work = os.path.join(cache, "images", short)
        meta = json.load(open(os.path.join(work, "meta.json")))
        repo = meta["name"]
        for d in meta["layers"] + [meta["config"]]:
            reg.push_blob(repo, d, os.path.join(work, "blobs", d.split(":")[1]))
        mb = open(os.path.join(work, "manifest.json"), "rb").read()
        for tag in meta["tags"]:
            st, _, body = reg.req("PUT", "/v2/%s/manifests/%s" % (repo, tag), body=mb,
                                  headers={"Content-Type": MT_MANIFEST})
            if st != 201:
                raise SystemExit("manifest %s:%s: HTTP %d %s" % (repo, tag, st, body[:200]))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmd", choices=["build", "push", "info"])
    ap.add_argument("names", nargs="*", default=[])
    ap.add_argument("--cache", default=os.path.join(HERE, ".cache"))
    ap.add_argument("--registry")
    a = ap.parse_intermixed_args()
    names = a.names or list(IMAGES)
    for n in names:
        if n not in IMAGES:
            sys.exit("unknown image %s (have: %s)" % (n, " ".join(IMAGES)))
    if a.cmd == "build":
        cmd_build(a.cache, names)
    elif a.cmd == "push":
        if not a.registry:
            sys.exit("push needs --registry URL")
        cmd_build(a.cache, names)
        cmd_push(a.cache, a.registry, names)
    else:
        for n in names:
            print(open(os.path.join(a.cache, "images", n, "meta.json")).read())


if __name__ == "__main__":
    main()
