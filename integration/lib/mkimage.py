# SPDX-License-Identifier: Apache-2.0
"""Builds the integration-test images without any network and pushes them to
a registry through the distribution HTTP API (blob uploads, then manifests),
authenticating with Basic or Bearer as the registry asks.

usage:
  mkimage.py build NAME --cache DIR
  mkimage.py push NAME --cache DIR --registry URL --repo REPO [--tag T]
             [--user U --password PW] [--cacert FILE]
  mkimage.py info NAME --cache DIR      (prints the build plan JSON)

Images: busybox, layers, evil, multi, big (see docs/testing.md). Built blobs
are cached in DIR/<NAME>/ (a lock makes parallel builds safe).
Python standard library only (zstd layers use the zstd command).
"""
import argparse
import base64
import fcntl
import gzip
import hashlib
import io
import json
import os
import platform
import random
import shutil
import ssl
import subprocess
import sys
import tarfile
import urllib.error
import urllib.parse
import urllib.request

BUILD_VERSION = "4"  # bump when an image definition changes
MTIME = 1700000000

MT_D_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MT_D_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MT_D_CONFIG = "application/vnd.docker.container.image.v1+json"
MT_D_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
MT_O_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_O_INDEX = "application/vnd.oci.image.index.v1+json"
MT_O_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_O_TAR = "application/vnd.oci.image.layer.v1.tar"
MT_O_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MT_O_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"

ARCH_MAP = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le",
            "s390x": "s390x", "i686": "386", "riscv64": "riscv64"}


def host_arch():
    m = platform.machine()
    return ARCH_MAP.get(m, m)


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------
# Tar layers: an entry is a dict {t: f|d|l|h|c|b|p, n: name, ...}
# --------------------------------------------------------------------------

def F(name, data=b"", mode=0o644):
    return {"t": "f", "n": name, "data": data if isinstance(data, bytes) else data.encode(),
            "mode": mode}


def D(name, mode=0o755):
    return {"t": "d", "n": name, "mode": mode}


def L(name, target):
    return {"t": "l", "n": name, "link": target}


def H(name, target):
    return {"t": "h", "n": name, "link": target}


def C(name, major=1, minor=3):
    return {"t": "c", "n": name, "major": major, "minor": minor}


def tar_bytes(entries, fmt=tarfile.PAX_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt, encoding="utf-8") as tf:
        for e in entries:
            ti = tarfile.TarInfo(e["n"])
            ti.mtime = MTIME
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = "root"
            data = None
            t = e["t"]
            if t == "f":
                ti.type = tarfile.REGTYPE
                data = e["data"]
                ti.size = len(data)
                ti.mode = e["mode"]
            elif t == "d":
                ti.type = tarfile.DIRTYPE
                ti.mode = e["mode"]
            elif t == "l":
                ti.type = tarfile.SYMTYPE
                ti.linkname = e["link"]
                ti.mode = 0o777
            elif t == "h":
                ti.type = tarfile.LNKTYPE
                ti.linkname = e["link"]
                ti.mode = 0o644
            elif t == "c":
                ti.type = tarfile.CHRTYPE
                ti.devmajor, ti.devminor = e["major"], e["minor"]
                ti.mode = 0o666
            elif t == "p":
                ti.type = tarfile.FIFOTYPE
                ti.mode = 0o644
            tf.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def compress(raw, how):
    if how == "gzip":
        out = io.BytesIO()
        with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, compresslevel=6) as g:
            g.write(raw)
        return out.getvalue()
    if how == "zstd":
        return subprocess.run(["zstd", "-q", "-c", "-3"], input=raw, stdout=subprocess.PIPE,
                              check=True).stdout
    return raw


class Builder:
    """Collects blobs and the manifests to push, in push order."""

    def __init__(self, outdir):
        self.outdir = outdir
        self.blobs = {}
        self.manifests = []  # {"ref": tag or digest, "digest", "media_type", "size"}
        os.makedirs(os.path.join(outdir, "blobs"), exist_ok=True)

    def blob(self, data):
        d = sha256(data)
        path = os.path.join(self.outdir, "blobs", d.split(":")[1])
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.write(data)
        self.blobs[d] = len(data)
        return d, len(data)

    def layer(self, entries, how="gzip", oci=False, fmt=tarfile.PAX_FORMAT):
        raw = tar_bytes(entries, fmt)
        data = compress(raw, how)
        d, size = self.blob(data)
        if oci:
            mt = {"gzip": MT_O_GZIP, "zstd": MT_O_ZSTD, "none": MT_O_TAR}[how]
        else:
            mt = MT_D_LAYER
        return {"mediaType": mt, "digest": d, "size": size}, sha256(raw)

    def image(self, layers, cfg, oci=False, arch=None, variant=None, os_="linux"):
        descs = [l[0] for l in layers]
        config = {
            "architecture": arch or host_arch(),
            "os": os_,
            "config": cfg,
            "rootfs": {"type": "layers", "diff_ids": [l[1] for l in layers]},
            "history": [{"created": "2023-11-14T22:13:20Z", "created_by": "mkimage.py"}
                        for _ in layers],
            "created": "2023-11-14T22:13:20Z",
        }
        if variant:
            config["variant"] = variant
        cdata = json.dumps(config, sort_keys=True, indent=2).encode()
        cd, csize = self.blob(cdata)
        man = {
            "schemaVersion": 2,
            "mediaType": MT_O_MANIFEST if oci else MT_D_MANIFEST,
            "config": {"mediaType": MT_O_CONFIG if oci else MT_D_CONFIG, "digest": cd,
                       "size": csize},
            "layers": descs,
        }
        return self.manifest_blob(man)

    def manifest_blob(self, man):
        data = json.dumps(man, indent=3).encode()
        d, size = self.blob(data)
        return {"mediaType": man["mediaType"], "digest": d, "size": size}

    def push_manifest(self, desc, ref):
        self.manifests.append({"ref": ref or desc["digest"], "digest": desc["digest"],
                               "media_type": desc["mediaType"], "size": desc["size"]})

    def finish(self):
        plan = {"version": BUILD_VERSION, "blobs": self.blobs, "manifests": self.manifests}
        with open(os.path.join(self.outdir, "plan.json"), "w", encoding="utf-8") as f:
            json.dump(plan, f, indent=1, sort_keys=True)


# --------------------------------------------------------------------------
# Image definitions
# --------------------------------------------------------------------------

ENV_PATH = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
GROUP = "root:x:0:\nnogroup:x:65534:\n"


def busybox_entries():
    bb = shutil.which("busybox") or "/bin/busybox"
    with open(bb, "rb") as f:
        data = f.read()
    applets = subprocess.run([bb, "--list-full"], stdout=subprocess.PIPE, check=True,
                             text=True).stdout.split()
    dirs = set(["bin", "sbin", "usr", "usr/bin", "usr/sbin"])
    entries = [D(d) for d in ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "root",
                              "home", "var", "dev", "proc", "sys")]
    entries.append(D("tmp", 0o1777))
    entries.append(F("bin/busybox", data, 0o755))
    for a in sorted(applets):
        if a == "bin/busybox" or os.path.dirname(a) not in dirs:
            continue
        depth = a.count("/")
        entries.append(L(a, "busybox" if a.startswith("bin/") else "../" * depth + "bin/busybox"))
    entries += [F("etc/passwd", PASSWD), F("etc/group", GROUP),
                F("etc/hostname", "busybox\n"), F("etc/os-release", 'NAME="BusyBox"\nID=busybox\n')]
    return entries


def build_busybox(b):
    layer = b.layer(busybox_entries(), "gzip")
    desc = b.image([layer], {"Cmd": ["sh"], "Env": ENV_PATH, "WorkingDir": "/"})
    b.push_manifest(desc, "latest")


LONG_DIR = "long/" + "/".join(["d%02d-abcdefghijklmnopqrstuvwxyz" % i for i in range(9)])
LONG_FILE = LONG_DIR + "/file-with-a-long-name-" + "x" * 40 + ".txt"  # > 255 chars
MID_FILE = "mid/" + "m" * 60 + "/" + "n" * 50 + ".txt"  # > 100 chars


def build_layers(b):
    assert len(LONG_FILE) > 255 and 100 < len(MID_FILE) < 255
    l1 = [D("etc"), F("etc/passwd", PASSWD), F("etc/group", GROUP),
          F("rootfile", "root file\n"), F("rootfile2", "root file 2\n"),
          D("lower"), F("lower/gone.txt", "gone\n"), F("lower/kept.txt", "kept\n"),
          D("opq"), F("opq/old1", "old\n"), D("opq/sub"), F("opq/sub/old2", "old2\n"),
          F("swap1", "swap1 file v1\n"), D("swap2"), F("swap2/inner", "in swap2\n"),
          D("hard"), F("hard/orig", "hard link data\n"), H("hard/link", "hard/orig"),
          D("sym"), L("sym/abs", "/etc/passwd"), L("sym/rel", "../etc/passwd"),
          L("sym/dangling", "does/not/exist"),
          D("perm"), F("perm/setuid", "#!/bin/sh\n", 0o4755), F("perm/setgid", "x\n", 0o2755),
          F("perm/mode000", "secret\n", 0o000), D("perm/rodir", 0o555),
          F("perm/rodir/file", "in ro dir\n", 0o444),
          D("dev"), C("dev/null", 1, 3), F("dev/regular", "no\n"), D("dev/sub"),
          D("devnode"), C("devnode/mychar", 1, 5),
          F(MID_FILE, "mid\n"), F(LONG_FILE, "long\n"),
          D("odd"), F("odd/name with spaces", "spaces\n"),
          F("odd/\u00fcn\u00efc\u00f8d\u00e9-\u30d5\u30a1\u30a4\u30eb", "utf8\n"),
          F("odd/new\nline", "newline\n")]
    l2 = [F(".wh.rootfile"), F("./.wh.rootfile2"),
          F("lower/.wh.gone.txt"),
          D("opq"), F("opq/.wh..wh..opq"), F("opq/new1", "new\n"),
          D("swap1"), F("swap1/inner", "swap1 is a dir\n"),
          F("swap2", "swap2 is a file\n"),
          H("hard/xlayer", "hard/orig"),
          F("layer2.txt", "plain tar layer\n")]
    l3 = [F("swap1", "swap1 file v3\n"), F("zstd.txt", "zstd layer\n"),
          F(LONG_DIR + "/second-" + "y" * 30, "long 2\n")]
    layers = [b.layer(l1, "gzip", oci=True, fmt=tarfile.GNU_FORMAT),
              b.layer(l2, "none", oci=True, fmt=tarfile.USTAR_FORMAT),
              b.layer(l3, "zstd", oci=True, fmt=tarfile.PAX_FORMAT)]
    desc = b.image(layers, {"Cmd": ["sh"], "Env": ENV_PATH}, oci=True)
    b.push_manifest(desc, "latest")


ESCAPE_NAMES = ["ud-evil-escape-rel", "ud-evil-escape-abs", "ud-evil-via-link",
                "ud-evil-via-link2", "ud-evil-via-uplink", "ud-evil-target"]


def build_evil(b):
    up = "../" * 12
    l1 = [D("etc"), F("etc/passwd", PASSWD),
          F("../escape-parent", "escaped\n"),
          F("../../../../sentinel/escape-rel", "escaped\n"),
          F(up + "tmp/ud-evil-escape-rel", "escaped\n"),
          F("/tmp/ud-evil-escape-abs", "escaped\n"),
          L("link", "/tmp"),
          F("link/ud-evil-via-link", "escaped\n"),
          L("uplink", up.rstrip("/")),
          F("uplink/tmp/ud-evil-via-uplink", "escaped\n"),
          L("sentlink", "../../../../sentinel"),
          F("sentlink/escape-via-symlink", "escaped\n"),
          H("hl_passwd", "/etc/passwd"),
          H("hl_outside", "../../outside"),
          H("hl_sentinel", "../../../../sentinel/victim"),
          L("link2", "/tmp/ud-evil-target"),
          F("inside.txt", "still inside\n")]
    l2 = [F("link/ud-evil-via-link2", "escaped\n"),
          F("link/.wh.ud-evil-victim"),
          F("sentlink/.wh.victim"),
          F("link2", "replaced the symlink\n"),
          F("layer2.txt", "second layer\n")]
    layers = [b.layer(l1, "gzip"), b.layer(l2, "gzip")]
    desc = b.image(layers, {"Cmd": ["sh"], "Env": ENV_PATH})
    b.push_manifest(desc, "latest")


MULTI_PLATFORMS = [("linux", "amd64", None), ("linux", "arm64", "v8"), ("linux", "arm", "v6"),
                   ("linux", "arm", "v7")]


def build_multi(b):
    for oci, tag in ((True, "latest"), (False, "list")):
        entries = []
        for os_, arch, var in MULTI_PLATFORMS:
            plat = "/".join(p for p in (os_, arch, var) if p)
            layer = b.layer([D("etc"), F("etc/passwd", PASSWD),
                             F("platform.txt", plat + "\n")], "gzip", oci=oci)
            desc = b.image([layer], {"Cmd": ["sh"], "Env": ENV_PATH}, oci=oci, arch=arch,
                           variant=var, os_=os_)
            b.push_manifest(desc, None)
            p = {"os": os_, "architecture": arch}
            if var:
                p["variant"] = var
            entries.append(dict(desc, platform=p))
        if oci:
            # An attestation manifest as BuildKit writes it: platform unknown.
            att_layer = b.blob(b'{"_type":"https://in-toto.io/Statement/v0.1"}')
            att_cfg = b.blob(b"{}")
            att = b.manifest_blob({
                "schemaVersion": 2, "mediaType": MT_O_MANIFEST,
                "config": {"mediaType": MT_O_CONFIG, "digest": att_cfg[0], "size": att_cfg[1]},
                "layers": [{"mediaType": "application/vnd.in-toto+json",
                            "digest": att_layer[0], "size": att_layer[1]}]})
            b.push_manifest(att, None)
            entries.insert(1, dict(att, platform={"os": "unknown", "architecture": "unknown"},
                                   annotations={"vnd.docker.reference.type": "attestation-manifest",
                                                "vnd.docker.reference.digest":
                                                    entries[0]["digest"]}))
        index = {"schemaVersion": 2, "mediaType": MT_O_INDEX if oci else MT_D_LIST,
                 "manifests": entries}
        desc = b.manifest_blob(index)
        b.push_manifest(desc, tag)


def build_big(b):
    rnd = random.Random(20240409)
    layers = [b.layer([D("etc"), F("etc/passwd", PASSWD)], "gzip")]
    for i in range(4):
        data = rnd.randbytes(1536 * 1024)
        layers.append(b.layer([D("data"), F("data/blob%d.bin" % i, data)], "gzip"))
    desc = b.image(layers, {"Cmd": ["sh"], "Env": ENV_PATH})
    b.push_manifest(desc, "latest")


IMAGES = {"busybox": build_busybox, "layers": build_layers, "evil": build_evil,
          "multi": build_multi, "big": build_big}


def ensure_built(name, cache):
    os.makedirs(cache, exist_ok=True)
    outdir = os.path.join(cache, name)
    with open(os.path.join(cache, ".lock-" + name), "w") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        plan_path = os.path.join(outdir, "plan.json")
        try:
            with open(plan_path, encoding="utf-8") as f:
                plan = json.load(f)
            if plan.get("version") == BUILD_VERSION:
                return outdir, plan
        except (OSError, ValueError):
            pass
        shutil.rmtree(outdir, ignore_errors=True)
        b = Builder(outdir)
        IMAGES[name](b)
        b.finish()
        with open(plan_path, encoding="utf-8") as f:
            return outdir, json.load(f)


# --------------------------------------------------------------------------
# Registry client for pushing
# --------------------------------------------------------------------------

class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class Pusher:
    def __init__(self, registry, repo, user=None, password=None, cacert=None):
        self.registry = registry.rstrip("/")
        self.repo = repo
        self.basic = None
        if user is not None:
            self.basic = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        ctx = ssl.create_default_context(cafile=cacert) if cacert else None
        self.opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=ctx),
                                                  NoRedirect())
        self.auth = None

    def _once(self, method, url, data, headers):
        h = dict(headers)
        if self.auth:
            h["Authorization"] = self.auth
        req = urllib.request.Request(url, data=data, method=method, headers=h)
        try:
            with self.opener.open(req, timeout=30) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def _authenticate(self, challenge):
        scheme, _, params = challenge.partition(" ")
        if scheme.lower() == "basic":
            if not self.basic:
                raise SystemExit("mkimage: registry wants Basic auth; give --user")
            self.auth = "Basic " + self.basic
            return
        kv = {}
        for part in params.split(","):
            k, _, v = part.strip().partition("=")
            kv[k.strip().lower()] = v.strip().strip('"')
        q = {"service": kv.get("service", ""),
             "scope": "repository:%s:pull,push" % self.repo}
        url = kv["realm"] + "?" + urllib.parse.urlencode(q)
        h = {"Authorization": "Basic " + self.basic} if self.basic else {}
        st, _, body = self._once_noauth("GET", url, h)
        if st != 200:
            raise SystemExit("mkimage: token server answered %d: %s" % (st, body[:200]))
        self.auth = "Bearer " + json.loads(body)["token"]

    def _once_noauth(self, method, url, headers):
        req = urllib.request.Request(url, method=method, headers=headers)
        try:
            with self.opener.open(req, timeout=30) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def request(self, method, url, data=None, headers=None):
        st, hd, body = self._once(method, url, data, headers or {})
        if st == 401 and hd.get("WWW-Authenticate"):
            self._authenticate(hd["WWW-Authenticate"])
            st, hd, body = self._once(method, url, data, headers or {})
        return st, hd, body

    def blob(self, digest, data):
        base = "%s/v2/%s/blobs/" % (self.registry, self.repo)
        st, _, _ = self.request("HEAD", base + digest)
        if st == 200:
            return
        st, hd, body = self.request("POST", base + "uploads/", b"",
                                    {"Content-Length": "0"})
        if st != 202:
            raise SystemExit("mkimage: upload start %d: %s" % (st, body[:300]))
        loc = urllib.parse.urljoin(self.registry + "/", hd["Location"])
        loc += ("&" if "?" in loc else "?") + "digest=" + urllib.parse.quote(digest)
        st, _, body = self.request("PUT", loc, data,
                                   {"Content-Type": "application/octet-stream",
                                    "Content-Length": str(len(data))})
        if st != 201:
            raise SystemExit("mkimage: blob PUT %s %d: %s" % (digest, st, body[:300]))

    def manifest(self, ref, media_type, data):
        url = "%s/v2/%s/manifests/%s" % (self.registry, self.repo, ref)
        st, _, body = self.request("PUT", url, data, {"Content-Type": media_type})
        if st != 201:
            raise SystemExit("mkimage: manifest PUT %s %d: %s" % (ref, st, body[:400]))


def push(name, cache, registry, repo, tag, user, password, cacert):
    outdir, plan = ensure_built(name, cache)
    p = Pusher(registry, repo, user, password, cacert)
    manifest_digests = {m["digest"] for m in plan["manifests"]}
    for d in sorted(plan["blobs"]):
        if d in manifest_digests:
            continue
        with open(os.path.join(outdir, "blobs", d.split(":")[1]), "rb") as f:
            p.blob(d, f.read())
    for m in plan["manifests"]:
        with open(os.path.join(outdir, "blobs", m["digest"].split(":")[1]), "rb") as f:
            data = f.read()
        ref = m["ref"]
        if tag and not ref.startswith("sha256:"):
            ref = tag if ref == "latest" else ref
        p.manifest(ref, m["media_type"], data)
        print("%s %s %s" % (ref, m["digest"], m["media_type"]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("action", choices=["build", "push", "info"])
    ap.add_argument("name", choices=sorted(IMAGES))
    ap.add_argument("--cache", required=True)
    ap.add_argument("--registry")
    ap.add_argument("--repo")
    ap.add_argument("--tag")
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--cacert")
    a = ap.parse_args()
    if a.action == "build":
        ensure_built(a.name, a.cache)
    elif a.action == "info":
        outdir, plan = ensure_built(a.name, a.cache)
        plan["dir"] = outdir
        json.dump(plan, sys.stdout, indent=1, sort_keys=True)
        sys.stdout.write("\n")
    else:
        if not a.registry or not a.repo:
            ap.error("push needs --registry and --repo")
        push(a.name, a.cache, a.registry, a.repo, a.tag, a.user, a.password, a.cacert)


if __name__ == "__main__":
    main()
