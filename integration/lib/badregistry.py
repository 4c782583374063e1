# SPDX-License-Identifier: Apache-2.0
"""A misbehaving v2 registry for the error-path tests. The repository name
selects the fault:
  err500/*      every request answers 500
  garbage       manifest 200 with a schema2 Content-Type and a non-JSON body
  badjson       manifest is JSON but not a manifest (a list)
  baddigest     valid manifest; the layer blob's bytes do not match its digest
  truncated     valid manifest; the layer blob announces more bytes than it
                sends, then the connection closes
  notfound      manifest 404 with a registry error body
  slow          a valid image whose 2 MiB layer trickles out at about
                1 MiB/s, honouring Range (for interrupt-and-resume tests)
  good          a valid single-layer image (control case)
usage: badregistry.py --port P
"""
import argparse
import gzip
import hashlib
import io
import json
import random
import re
import sys
import time
import tarfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MT_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


def make_layer():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, data in (("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"),
                           ("hello.txt", b"hello\n" * 2000)):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = 1700000000
            tf.addfile(ti, io.BytesIO(data))
    raw = buf.getvalue()
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as g:
        g.write(raw)
    return raw, out.getvalue()


def digest(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def make_slow_layer():
    rnd = random.Random(7)
    data = rnd.randbytes(2 * 1024 * 1024)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, d in (("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"), ("slow.bin", data)):
            ti = tarfile.TarInfo(name)
            ti.size = len(d)
            ti.mtime = 1700000000
            tf.addfile(ti, io.BytesIO(d))
    raw = buf.getvalue()
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, compresslevel=1) as g:
        g.write(raw)
    return raw, out.getvalue()


def make_manifest(raw, layer, config_extra):
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "config": {"Cmd": ["sh"], "Labels": config_extra},
                         "rootfs": {"type": "layers", "diff_ids": [digest(raw)]}}).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": MT_MANIFEST,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "digest": digest(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "digest": digest(layer), "size": len(layer)}]}).encode()
    return config, manifest


RAW, LAYER = make_layer()
SLOW_RAW, SLOW_LAYER = make_slow_layer()
SLOW_CONFIG, SLOW_MANIFEST = make_manifest(SLOW_RAW, SLOW_LAYER, {"slow": "yes"})
CONFIG = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
                     "rootfs": {"type": "layers", "diff_ids": [digest(RAW)]}}).encode()
MANIFEST = json.dumps({
    "schemaVersion": 2, "mediaType": MT_MANIFEST,
    "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
               "digest": digest(CONFIG), "size": len(CONFIG)},
    "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "digest": digest(LAYER), "size": len(LAYER)}]}).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("%s\n" % (fmt % args))

    def send(self, code, body=b"", ctype="application/json", length=None, extra=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        path = self.path.split("?")[0]
        if path in ("/v2", "/v2/"):
            return self.send(200, b"{}")
        parts = path.split("/")
        # /v2/<repo>/manifests/<ref> or /v2/<repo>/blobs/<digest>
        if len(parts) < 5 or parts[1] != "v2":
            return self.send(404, b'{"errors":[{"code":"NOT_FOUND"}]}')
        repo, kind, ref = parts[2], parts[-2], parts[-1]
        if repo == "err500":
            return self.send(500, b'{"errors":[{"code":"UNKNOWN","message":"boom"}]}')
        if repo == "notfound":
            return self.send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
        if repo == "slow":
            return self.slow(kind, ref)
        if kind == "manifests":
            if repo == "garbage":
                return self.send(200, b"<html>this is not json{{{", MT_MANIFEST)
            if repo == "badjson":
                return self.send(200, b"[1, 2, 3]", MT_MANIFEST)
            return self.send(200, MANIFEST, MT_MANIFEST,
                             extra={"Docker-Content-Digest": digest(MANIFEST)})
        if kind == "blobs":
            if ref == digest(CONFIG):
                return self.send(200, CONFIG, "application/octet-stream")
            if ref == digest(LAYER):
                if repo == "baddigest":
                    bad = bytearray(LAYER)
                    bad[len(bad) // 2] ^= 0xFF
                    return self.send(200, bytes(bad), "application/octet-stream")
                if repo == "truncated":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(len(LAYER) + 4096))
                    self.end_headers()
                    self.wfile.write(LAYER[: len(LAYER) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return None
                return self.send(200, LAYER, "application/octet-stream")
        return self.send(404, b'{"errors":[{"code":"BLOB_UNKNOWN"}]}')


    def slow(self, kind, ref):
        if kind == "manifests":
            return self.send(200, SLOW_MANIFEST, MT_MANIFEST)
        if ref == digest(SLOW_CONFIG):
            return self.send(200, SLOW_CONFIG, "application/octet-stream")
        if ref != digest(SLOW_LAYER):
            return self.send(404, b'{"errors":[{"code":"BLOB_UNKNOWN"}]}')
        start, end = 0, len(SLOW_LAYER) - 1
        m = re.match(r"bytes=(\d+)-(\d*)$", self.headers.get("Range", ""))
        code = 200
        if m:
            start = int(m.group(1))
            end = int(m.group(2)) if m.group(2) else end
            code = 206
            sys.stderr.write("range %d-%d\n" % (start, end))
        body = SLOW_LAYER[start:end + 1]
        self.send_response(code)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        if code == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, len(SLOW_LAYER)))
        self.end_headers()
        if self.command == "HEAD":
            return None
        try:
            for off in range(0, len(body), 64 * 1024):
                self.wfile.write(body[off:off + 64 * 1024])
                self.wfile.flush()
                time.sleep(0.06)
        except (BrokenPipeError, ConnectionResetError):
            sys.stderr.write("client went away\n")
            self.close_connection = True
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    a = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    srv.serve_forever()


if __name__ == "__main__":
    main()
