# SPDX-License-Identifier: Apache-2.0
"""Bearer-token server for the integration registry (docker distribution
"auth: token" flavour). Issues RS256 JWTs whose header carries the signing
certificate in x5c, so the registry validates them against rootcertbundle.
Policy: anonymous pull for repositories under public/; everything (pull and
push anywhere) for the fixed user; wrong credentials get 401.

usage: tokenserver.py --port P --key key.pem --cert cert.pem --issuer I
                      --user U --password PW [--log FILE]
Python standard library only; signs with the openssl command line.
"""
import argparse
import base64
import json
import os
import subprocess
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def cert_der_b64(pem_path):
    # The x5c header wants standard base64 DER, which is the PEM body.
    with open(pem_path, encoding="ascii") as f:
        lines = f.read().splitlines()
    body = []
    inside = False
    for line in lines:
        if line.startswith("-----BEGIN CERTIFICATE"):
            inside = True
        elif line.startswith("-----END CERTIFICATE"):
            break
        elif inside:
            body.append(line.strip())
    return "".join(body)


class Signer:
    def __init__(self, key, cert, issuer):
        self.key = key
        self.x5c = cert_der_b64(cert)
        self.issuer = issuer

    def token(self, subject, service, access):
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": service,
            "exp": now + 300,
            "nbf": now - 60,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                         b64url(json.dumps(claims, separators=(",", ":")).encode()))
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.key],
                             input=signing_input.encode("ascii"), stdout=subprocess.PIPE,
                             check=True).stdout
        return signing_input + "." + b64url(sig)


def parse_scope(scope):
    # "repository:name/with/slashes:pull,push"; the name may not contain ':'
    # except in a registry-qualified form we do not use.
    parts = scope.split(":")
    if len(parts) < 3:
        return None
    typ = parts[0]
    actions = parts[-1].split(",") if parts[-1] else []
    name = ":".join(parts[1:-1])
    return typ, name, actions


def grant(typ, name, actions, user):
    if typ != "repository":
        return []
    if user is not None:
        return [a for a in actions if a in ("pull", "push", "delete", "*")]
    if name.startswith("public/"):
        return [a for a in actions if a == "pull"]
    return []


class Handler(BaseHTTPRequestHandler):
    server_version = "udtest-token/1"

    def log_message(self, fmt, *args):
        if self.server.logf:
            self.server.logf.write("%s %s\n" % (self.address_string(), fmt % args))
            self.server.logf.flush()

    def reply(self, code, obj, extra=None):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path != "/token":
            self.reply(404, {"error": "not found"})
            return
        q = parse_qs(url.query, keep_blank_values=True)
        user = None
        hdr = self.headers.get("Authorization")
        if hdr:
            scheme, _, cred = hdr.partition(" ")
            try:
                u, _, p = base64.b64decode(cred.strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                u, p = None, None
            if scheme.lower() != "basic" or u != self.server.user or p != self.server.password:
                self.reply(401, {"errors": [{"code": "UNAUTHORIZED",
                                             "message": "invalid credentials"}]},
                           {"WWW-Authenticate": 'Basic realm="token"'})
                return
            user = u
        service = (q.get("service") or [""])[0]
        access = []
        for scope_list in q.get("scope", []):
            # Several scopes may be joined with spaces in one parameter.
            for scope in scope_list.split(" "):
                parsed = parse_scope(scope) if scope else None
                if not parsed:
                    continue
                typ, name, actions = parsed
                granted = grant(typ, name, actions, user)
                access.append({"type": typ, "name": name, "actions": granted})
        self.server.issued += 1
        tok = self.server.signer.token(user or "", service, access)
        self.reply(200, {"token": tok, "access_token": tok, "expires_in": 300,
                         "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--issuer", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--log")
    a = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    srv.signer = Signer(a.key, a.cert, a.issuer)
    srv.user = a.user
    srv.password = a.password
    srv.issued = 0
    srv.logf = open(a.log, "a", encoding="utf-8") if a.log else None
    sys.stdout.write("listening %d\n" % a.port)
    sys.stdout.flush()
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    os._exit(0)


if __name__ == "__main__":
    main()
