# SPDX-License-Identifier: Apache-2.0
"""Network fixtures for the transport tests, on 127.0.0.1:
  http       an HTTP proxy: CONNECT tunnels and absolute-form requests
             (forwarded to the origin and relayed both ways)
  socks      a SOCKS proxy: SOCKS4/4a and SOCKS5 (CONNECT, IPv4 or name)
  blackhole  accepts connections and never answers (response timeouts)
With --user/--password the proxies demand credentials (HTTP
Proxy-Authorization Basic; SOCKS5 username/password, RFC 1929; SOCKS4
user id "user:password"). Every connection is logged as one line
"<mode> <target> <ok|denied>" on --log, so tests can see what went where.
usage: netfix.py MODE --port P [--user U --password W] [--log FILE]
"""
import argparse
import base64
import select
import socket
import struct
import sys
import threading

ARGS = None
LOG_LOCK = threading.Lock()


def log(line):
    if not ARGS.log:
        return
    with LOG_LOCK:
        with open(ARGS.log, "a") as f:
            f.write(line + "\n")


def relay(a, b):
    socks_ = [a, b]
    try:
        while True:
            r, _, _ = select.select(socks_, [], [], 60)
            if not r:
                return
            for s in r:
                data = s.recv(65536)
                if not data:
                    return
                (b if s is a else a).sendall(data)
    except OSError:
        return
    finally:
        for s in socks_:
            try:
                s.close()
            except OSError:
                pass


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        d = s.recv(n - len(buf))
        if not d:
            raise OSError("short read")
        buf += d
    return buf


def read_head(s):
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        if not d:
            raise OSError("closed")
        buf += d
        if len(buf) > 65536:
            raise OSError("header too long")
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head.decode("latin-1"), rest


def http_authorized(lines):
    if not ARGS.user:
        return True
    want = base64.b64encode(f"{ARGS.user}:{ARGS.password}".encode()).decode()
    for line in lines[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == "proxy-authorization" and v.strip() == "Basic " + want:
            return True
    return False


def handle_http(c):
    head, rest = read_head(c)
    lines = head.split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    if not http_authorized(lines):
        log(f"http {target} denied")
        c.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                  b"Proxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n"
                  b"Connection: close\r\n\r\n")
        c.close()
        return
    if method == "CONNECT":
        host, port = target.rsplit(":", 1)
        up = socket.create_connection((host, int(port)), timeout=10)
        up.settimeout(None)
        log(f"http {target} ok")
        c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        if rest:
            up.sendall(rest)
        relay(c, up)
        return
    # absolute-form: http://host:port/path
    if not target.startswith("http://"):
        c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        c.close()
        return
    hostport = target[7:].split("/", 1)[0]
    host, _, port = hostport.partition(":")
    up = socket.create_connection((host, int(port or 80)), timeout=10)
    up.settimeout(None)
    log(f"http {hostport} ok")
    kept = [l for l in lines[1:] if not l.lower().startswith("proxy-")]
    up.sendall(("\r\n".join([lines[0]] + kept) + "\r\n\r\n").encode("latin-1") + rest)
    relay(c, up)


def socks5(c):
    n = recv_exact(c, 1)[0]
    methods = recv_exact(c, n)
    want = 2 if ARGS.user else 0
    if want not in methods:
        c.sendall(b"\x05\xff")
        log("socks5 - denied")
        return None
    c.sendall(bytes([5, want]))
    if want == 2:
        recv_exact(c, 1)
        user = recv_exact(c, recv_exact(c, 1)[0]).decode()
        pw = recv_exact(c, recv_exact(c, 1)[0]).decode()
        if (user, pw) != (ARGS.user, ARGS.password):
            c.sendall(b"\x01\x01")
            log("socks5 - denied")
            return None
        c.sendall(b"\x01\x00")
    ver, cmd, _, atyp = recv_exact(c, 4)
    if atyp == 1:
        host = socket.inet_ntoa(recv_exact(c, 4))
    elif atyp == 3:
        host = recv_exact(c, recv_exact(c, 1)[0]).decode()
    else:
        c.sendall(b"\x05\x08\x00\x01" + b"\0" * 6)
        return None
    port = struct.unpack(">H", recv_exact(c, 2))[0]
    up = socket.create_connection((host, port), timeout=10)
    up.settimeout(None)
    log(f"socks5 {host}:{port} ok")
    c.sendall(b"\x05\x00\x00\x01" + b"\0" * 6)
    return up


def socks4(c):
    cmd = recv_exact(c, 1)[0]
    port = struct.unpack(">H", recv_exact(c, 2))[0]
    ip = recv_exact(c, 4)
    uid = b""
    while not uid.endswith(b"\0"):
        uid += recv_exact(c, 1)
    uid = uid[:-1].decode()
    host = socket.inet_ntoa(ip)
    if ip[:3] == b"\0\0\0" and ip[3]:
        name = b""
        while not name.endswith(b"\0"):
            name += recv_exact(c, 1)
        host = name[:-1].decode()
    if ARGS.user and uid != f"{ARGS.user}:{ARGS.password}" and uid != ARGS.user:
        c.sendall(b"\x00\x5b" + b"\0" * 6)
        log(f"socks4 {host}:{port} denied")
        return None
    up = socket.create_connection((host, port), timeout=10)
    up.settimeout(None)
    log(f"socks4 {host}:{port} ok")
    c.sendall(b"\x00\x5a" + b"\0" * 6)
    return up


def handle_socks(c):
    v = recv_exact(c, 1)[0]
    up = socks5(c) if v == 5 else socks4(c) if v == 4 else None
    if up is None:
        c.close()
        return
    relay(c, up)


def handle_blackhole(c):
    log("blackhole - held")
    threading.Event().wait(3600)


def serve(handler):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", ARGS.port))
    srv.listen(64)
    while True:
        c, _ = srv.accept()

        def run(c=c):
            try:
                handler(c)
            except Exception as e:  # a broken client must not stop the server
                print(f"connection error: {e}", file=sys.stderr)
                try:
                    c.close()
                except OSError:
                    pass

        threading.Thread(target=run, daemon=True).start()


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["http", "socks", "blackhole"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--log")
    ARGS = ap.parse_args()
    serve({"http": handle_http, "socks": handle_socks, "blackhole": handle_blackhole}[ARGS.mode])


if __name__ == "__main__":
    main()
