# SPDX-License-Identifier: Apache-2.0
# Registry fixtures on 127.0.0.1: the distribution registry (docker-registry)
# in three flavours (plain HTTP; TLS + htpasswd basic auth; bearer tokens from
# lib/tokenserver.py), plus lib/badregistry.py. Each start_* function sets
# variables describing the server; everything is stopped by the EXIT trap and
# the logs stay in $IT_WORK/logs (printed when a test fails).
# shellcheck shell=bash

REGISTRY_BIN=${REGISTRY_BIN:-$(command -v docker-registry || command -v registry || true)}
IT_USER=alice
IT_PASS='s3cret-Pass'

need_registry() {
    [ -n "$REGISTRY_BIN" ] || skip "docker-registry (distribution) is not installed"
    command -v curl >/dev/null || skip "curl is not installed"
}

# wait_http URL [curl args]: poll until the URL answers 200 or 401.
wait_http() {
    local url=$1 code _
    shift
    for _ in $(seq 1 100); do
        code=$(curl -s -o /dev/null -w '%{http_code}' "$@" "$url" 2>/dev/null)
        case "$code" in 200 | 401) return 0 ;; esac
        sleep 0.1
    done
    return 1
}

# bg_start NAME CMD...: start a background server, log to logs/NAME.log.
bg_start() {
    local name=$1
    shift
    "$@" >>"$IT_WORK/logs/$name.log" 2>&1 &
    local pid=$!
    on_exit "stop_pid $pid"
    echo "$pid"
}

# stop_pid PID: TERM, then KILL if it is still there after 2 s.
stop_pid() {
    local pid=$1 _
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 20); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}

# make_ca: a CA and a server certificate for 127.0.0.1 and localhost.
make_ca() {
    local d=$IT_WORK/fix/tls
    [ -f "$d/ca.pem" ] && return 0
    mkdir -p "$d"
    (
        cd "$d" || exit 1
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=udocker test CA" \
            -keyout ca.key -out ca.pem \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" &&
            openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
                -keyout server.key -out server.csr &&
            printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" \
                "basicConstraints=CA:FALSE" "keyUsage=digitalSignature,keyEncipherment" \
                "extendedKeyUsage=serverAuth" >server.ext &&
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
                -days 2 -extfile server.ext -out server.pem
    ) >>"$IT_WORK/logs/openssl.log" 2>&1 || die "openssl: cannot make the test CA"
    chmod 644 "$d"/*.pem
    CA_PEM=$d/ca.pem
}

# registry_config FILE PORT STORAGE [extra yaml...]
registry_config() {
    local file=$1 port=$2 storage=$3
    shift 3
    {
        cat <<EOF
version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $storage
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
  secret: udocker-integration-secret
EOF
        local l
        for l in "$@"; do printf '%s\n' "$l"; done
    } >"$file"
}

# start_registry_plain: sets PLAIN_PORT, PLAIN_URL (http://127.0.0.1:port).
start_registry_plain() {
    need_registry
    local d=$IT_WORK/fix/plain
    mkdir -p "$d/storage"
    PLAIN_PORT=$(free_port)
    registry_config "$d/config.yml" "$PLAIN_PORT" "$d/storage"
    bg_start registry-plain "$REGISTRY_BIN" serve "$d/config.yml" >/dev/null
    PLAIN_URL=http://127.0.0.1:$PLAIN_PORT
    wait_http "$PLAIN_URL/v2/" || die "plain registry did not start"
}

# start_registry_tls: TLS with the test CA plus htpasswd basic auth.
# Sets TLS_PORT, TLS_URL (https://127.0.0.1:port), TLS_HOST (127.0.0.1:port), CA_PEM.
start_registry_tls() {
    need_registry
    command -v htpasswd >/dev/null || skip "htpasswd (apache2-utils) is not installed"
    make_ca
    CA_PEM=$IT_WORK/fix/tls/ca.pem
    local d=$IT_WORK/fix/tlsreg
    mkdir -p "$d/storage"
    htpasswd -Bbn "$IT_USER" "$IT_PASS" >"$d/htpasswd" 2>/dev/null || die "htpasswd failed"
    TLS_PORT=$(free_port)
    registry_config "$d/config.yml" "$TLS_PORT" "$d/storage" \
        "  tls:" \
        "    certificate: $IT_WORK/fix/tls/server.pem" \
        "    key: $IT_WORK/fix/tls/server.key" \
        "auth:" \
        "  htpasswd:" \
        "    realm: udocker-test" \
        "    path: $d/htpasswd"
    bg_start registry-tls "$REGISTRY_BIN" serve "$d/config.yml" >/dev/null
    TLS_HOST=127.0.0.1:$TLS_PORT
    TLS_URL=https://$TLS_HOST
    wait_http "$TLS_URL/v2/" --cacert "$CA_PEM" || die "TLS registry did not start"
}

# start_registry_token: plain HTTP registry with bearer-token auth.
# Sets TOK_PORT, TOK_URL, TOKSRV_URL.
start_registry_token() {
    need_registry
    command -v openssl >/dev/null || skip "openssl is not installed"
    local d=$IT_WORK/fix/token
    mkdir -p "$d/storage"
    (
        cd "$d" || exit 1
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=udocker test token signer" \
            -keyout sign.key -out sign.pem \
            -addext "keyUsage=critical,digitalSignature" 
    ) >>"$IT_WORK/logs/openssl.log" 2>&1 || die "openssl: cannot make the token key"
    local tport
    tport=$(free_port)
    TOKSRV_URL=http://127.0.0.1:$tport
    bg_start tokenserver "$PYTHON" "$IT_LIB/tokenserver.py" --port "$tport" \
        --key "$d/sign.key" --cert "$d/sign.pem" --issuer udocker-test-issuer \
        --user "$IT_USER" --password "$IT_PASS" --log "$IT_WORK/logs/tokenserver-access.log" >/dev/null
    TOK_PORT=$(free_port)
    registry_config "$d/config.yml" "$TOK_PORT" "$d/storage" \
        "auth:" \
        "  token:" \
        "    realm: $TOKSRV_URL/token" \
        "    service: udocker-test-registry" \
        "    issuer: udocker-test-issuer" \
        "    rootcertbundle: $d/sign.pem"
    bg_start registry-token "$REGISTRY_BIN" serve "$d/config.yml" >/dev/null
    TOK_URL=http://127.0.0.1:$TOK_PORT
    wait_http "$TOKSRV_URL/token" || die "token server did not start"
    wait_http "$TOK_URL/v2/" || die "token registry did not start"
}

# start_badregistry: the misbehaving stub. Sets BAD_URL.
start_badregistry() {
    local port
    port=$(free_port)
    bg_start badregistry "$PYTHON" "$IT_LIB/badregistry.py" --port "$port" >/dev/null
    BAD_URL=http://127.0.0.1:$port
    wait_http "$BAD_URL/v2/" || die "stub registry did not start"
}

# closed_port: a port nothing listens on.
closed_port() { free_port; }
