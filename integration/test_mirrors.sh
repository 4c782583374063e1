#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Registry access: mirrors tried in order with fallback (closed port, black
# hole, 404, 500) and each dead mirror tried once per pull; per-registry
# mirrors; HTTP and SOCKS proxies (with and without credentials, from
# --httpproxy and from the *_proxy variables, no_proxy); credentials from
# the Docker CLI's config.json (auths, credHelpers, credsStore; helpers that
# hang, crash or are missing); manifest inspect; --platform for seven
# platforms; images -p.
# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=lib/registry.sh
. "$(dirname "$0")/lib/registry.sh"
it_init "${1:-}"
start_registry_plain
UP_URL=$PLAIN_URL
UP_PORT=$PLAIN_PORT
image_push busybox "$UP_URL" library/busybox
image_push busybox "$UP_URL" err500/busybox
image_push busybox "$UP_URL" notfound/busybox
image_push multi "$UP_URL" multi

# The mirror: a second registry holding library/busybox with other content
# (the "layers" image), so the manifest shows which one served the pull.
d=$IT_WORK/fix/mirror
mkdir -p "$d/storage"
MIR_PORT=$(free_port)
registry_config "$d/config.yml" "$MIR_PORT" "$d/storage"
bg_start registry-mirror "$REGISTRY_BIN" serve "$d/config.yml" >/dev/null
MIR_URL=http://127.0.0.1:$MIR_PORT
wait_http "$MIR_URL/v2/" || die "mirror registry did not start"
image_push layers "$MIR_URL" library/busybox
# An empty registry: every manifest is a 404.
d=$IT_WORK/fix/empty
mkdir -p "$d/storage"
EMPTY_PORT=$(free_port)
registry_config "$d/config.yml" "$EMPTY_PORT" "$d/storage"
bg_start registry-empty "$REGISTRY_BIN" serve "$d/config.yml" >/dev/null
EMPTY_URL=http://127.0.0.1:$EMPTY_PORT
wait_http "$EMPTY_URL/v2/" || die "empty registry did not start"
start_badregistry

# netfix.py servers: a black hole, HTTP and SOCKS proxies (open and with
# credentials). Each logs its connections.
netfix() { # NAME MODE [args]: sets the port in ${NAME}_PORT
    local name=$1 mode=$2 port
    shift 2
    port=$(free_port)
    bg_start "netfix-$name" "$PYTHON" "$IT_LIB/netfix.py" "$mode" --port "$port" \
        --log "$IT_WORK/logs/net-$name.log" "$@" >/dev/null
    printf -v "${name}_PORT" '%s' "$port"
    : >"$IT_WORK/logs/net-$name.log"
    local _
    for _ in $(seq 1 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        sleep 0.1
    done
    die "netfix $name did not start"
}
netfix BH blackhole
netfix HP http
netfix HPA http --user pxuser --password 'px:pass'
netfix SP socks
netfix SPA socks --user pxuser --password pxpass
: >"$IT_WORK/logs/net-BH.log" # the readiness probe above connected once
CLOSED=$(closed_port)
BH_URL=http://127.0.0.1:$BH_PORT

# ud passes only upper-case variables: lcenv.sh carries the lower-case
# proxy variables as UDT_<NAME> and exports them under their real names.
cp "$IT_LIB/lcenv.sh" "$IT_WORK/bin/lcenv"
chmod 755 "$IT_WORK/bin/lcenv"
udlc() { UDBIN=$IT_WORK/bin/lcenv ud UDT_BIN="$UDBIN" "$@"; }

# Short timeouts so the black hole costs seconds, not the default 12.
CONF=$IT_U/transport.conf
printf '[DEFAULT]\ntimeout = 2\nctimeout = 2\n' >"$CONF"
chmod 644 "$CONF"
HUB=(UDOCKER_REGISTRY="$UP_URL" UDOCKER_INDEX="$UP_URL")
up_digest() { curl -s -o /dev/null -w '%header{docker-content-digest}' \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' "$1/v2/$2/manifests/latest"; }
pulled_sha() { sha256sum "$REPO/repos/$1/latest/manifest" | cut -d' ' -f1; }
MIR_SHA=$(up_digest "$MIR_URL" library/busybox)
UP_SHA=$(up_digest "$UP_URL" library/busybox)
check "mirror and upstream hold different images" [ "$MIR_SHA" != "$UP_SHA" ]
now() { date +%s.%N; }
elapsed() { "$PYTHON" -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 2))" "$1" "$(now)"; }
lt() { "$PYTHON" -c "import sys; sys.exit(not float(sys.argv[1]) < float(sys.argv[2]))" "$1" "$2"; }

# --- mirrors -----------------------------------------------------------
ud "${HUB[@]}" UDOCKER_REGISTRY_MIRRORS="$MIR_URL" pull busybox
expect_rc 0
check "the mirror served the pull" [ "sha256:$(pulled_sha busybox)" = "$MIR_SHA" ]
ud rmi busybox

# closed port, black hole, 404 mirror, then the good mirror: one black-hole
# connection in all and about one timeout lost.
t0=$(now)
ud "${HUB[@]}" UDOCKER_REGISTRY_MIRRORS="http://127.0.0.1:$CLOSED,$BH_URL,$EMPTY_URL,$MIR_URL" \
    -D --config="$CONF" pull busybox
t=$(elapsed "$t0")
expect_rc 0
check "fell back to the working mirror" [ "sha256:$(pulled_sha busybox)" = "$MIR_SHA" ]
check "the black hole was connected to once ($(grep -c held "$IT_WORK/logs/net-BH.log"))" \
    [ "$(grep -c held "$IT_WORK/logs/net-BH.log")" = 1 ]
check "at most one timeout lost (${t}s, timeout 2s)" lt "$t" 5
expect_stderr_match "mirror http://127.0.0.1:$CLOSED.*(connect|Connection)"
expect_stderr_contains "using mirror $MIR_URL"
ud rmi busybox

# every mirror down or empty: the registry itself
: >"$IT_WORK/logs/net-BH.log"
ud "${HUB[@]}" UDOCKER_REGISTRY_MIRRORS="$BH_URL $EMPTY_URL" --config="$CONF" pull busybox
expect_rc 0
check "upstream served the pull" [ "sha256:$(pulled_sha busybox)" = "$UP_SHA" ]
check "black hole once" [ "$(grep -c held "$IT_WORK/logs/net-BH.log")" = 1 ]

# 500 and 404 mirrors (badregistry selects the fault by name)
ud "${HUB[@]}" UDOCKER_REGISTRY_MIRRORS="$BAD_URL" -D pull err500/busybox
expect_rc 0
expect_stderr_contains "trying the next source"
ud "${HUB[@]}" UDOCKER_REGISTRY_MIRRORS="$BAD_URL" -D pull notfound/busybox
expect_rc 0
expect_stderr_contains "trying the next source"

# a mirror that has the manifest but lost a layer: the layer comes from the
# next source, the rest from the mirror
d=$IT_WORK/fix/partial
mkdir -p "$d/storage"
PART_PORT=$(free_port)
registry_config "$d/config.yml" "$PART_PORT" "$d/storage"
bg_start registry-partial "$REGISTRY_BIN" serve "$d/config.yml" >/dev/null
PART_URL=http://127.0.0.1:$PART_PORT
wait_http "$PART_URL/v2/" || die "partial mirror did not start"
image_push busybox "$PART_URL" library/busybox
LOST=$(curl -s -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' "$PART_URL/v2/library/busybox/manifests/latest" |
    "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["digest"].split(":")[1])')
rm -f "$d/storage/docker/registry/v2/blobs/sha256/${LOST:0:2}/$LOST/data"
check "the mirror lost the layer" [ "$(curl -s -o /dev/null -w '%{http_code}' "$PART_URL/v2/library/busybox/blobs/sha256:$LOST")" != 200 ]
for i in busybox err500/busybox notfound/busybox; do ud rmi "$i"; done
check "the layer is not cached" [ ! -e "$REPO/layers/sha256:$LOST" ]
ud "${HUB[@]}" UDOCKER_REGISTRY_MIRRORS="$PART_URL" -D pull busybox
expect_rc 0
expect_stderr_contains "using mirror $PART_URL"
expect_stderr_contains "fetching the missing blobs from $UP_URL"
check "the image is whole" [ "sha256:$(pulled_sha busybox)" = "$UP_SHA" ]
ud verify busybox
expect_rc 0

# registry_mirrors in udocker.conf, a list; mirrors do not apply to an
# explicit other registry
printf '[DEFAULT]\nregistry_mirrors = ["%s", "%s"]\n' "http://127.0.0.1:$CLOSED" "$MIR_URL" \
    >"$IT_U/mirrors.conf"
chmod 644 "$IT_U/mirrors.conf"
ud "${HUB[@]}" --config="$IT_U/mirrors.conf" pull busybox:latest
expect_rc 0
ud showconf
ud --config="$IT_U/mirrors.conf" showconf
expect_stdout_contains "registry_mirrors = ['http://127.0.0.1:$CLOSED', '$MIR_URL']"

# per-registry mirror: the registry itself is unreachable
ud UDOCKER_REGISTRY_MIRRORS="127.0.0.1:$CLOSED=$MIR_URL" pull "127.0.0.1:$CLOSED/library/busybox"
expect_rc 0
check "per-registry mirror served" \
    [ "sha256:$(pulled_sha "127.0.0.1:$CLOSED/library/busybox")" = "$MIR_SHA" ]

# nothing reachable: one error, nothing left behind
snap=$IT_WORK/snap
repo_snapshot "$snap"
ud UDOCKER_REGISTRY="http://127.0.0.1:$CLOSED" UDOCKER_REGISTRY_MIRRORS="$BH_URL,$EMPTY_URL" \
    --config="$CONF" pull alpine
expect_error
expect_repo_unchanged "$snap"

# --- proxies -----------------------------------------------------------
PULL=(--registry="$UP_URL")
proxied() { # LOGNAME: the proxy log names the upstream registry
    check "went through $1" grep -q "127.0.0.1:$UP_PORT ok" "$IT_WORK/logs/net-$1.log"
}
ud pull "${PULL[@]}" --httpproxy="http://127.0.0.1:$HP_PORT" multi:list
expect_rc 0
proxied HP
for scheme in socks5 socks5h socks4 socks4a; do
    : >"$IT_WORK/logs/net-SP.log"
    ud rmi multi:list
    ud pull "${PULL[@]}" --httpproxy="$scheme://127.0.0.1:$SP_PORT" multi:list
    expect_rc 0
    proxied SP
done
# credentials
repo_snapshot "$snap"
ud pull "${PULL[@]}" --httpproxy="http://127.0.0.1:$HPA_PORT" multi
expect_error
expect_repo_unchanged "$snap"
ud pull "${PULL[@]}" --httpproxy="http://pxuser:px%3Apass@127.0.0.1:$HPA_PORT" multi
expect_rc 0
proxied HPA
ud rmi multi
ud pull "${PULL[@]}" --httpproxy="socks5://127.0.0.1:$SPA_PORT" multi
expect_error
ud pull "${PULL[@]}" --httpproxy="socks5h://pxuser:pxpass@127.0.0.1:$SPA_PORT" multi
expect_rc 0
proxied SPA
ud rmi multi
# an unreachable proxy: one error line, nothing half-pulled
repo_snapshot "$snap"
ud pull "${PULL[@]}" --httpproxy="socks5://127.0.0.1:$CLOSED" multi
expect_error
expect_repo_unchanged "$snap"
# environment: http_proxy, all_proxy, no_proxy
: >"$IT_WORK/logs/net-HP.log"
udlc UDT_HTTP_PROXY="http://127.0.0.1:$HP_PORT" pull "${PULL[@]}" multi
expect_rc 0
proxied HP
ud rmi multi
: >"$IT_WORK/logs/net-SP.log"
udlc UDT_ALL_PROXY="socks5://127.0.0.1:$SP_PORT" pull "${PULL[@]}" multi
expect_rc 0
proxied SP
ud rmi multi
udlc UDT_HTTP_PROXY="http://127.0.0.1:$CLOSED" UDT_NO_PROXY="localhost,127.0.0.1" -D pull "${PULL[@]}" multi
expect_rc 0
expect_stderr_contains "direct (no_proxy)"
ud rmi multi
udlc UDT_HTTP_PROXY="http://127.0.0.1:$CLOSED" NO_PROXY="127.0.0.0/8" pull "${PULL[@]}" multi
expect_rc 0
ud rmi multi
ud HTTP_PROXY="http://127.0.0.1:$CLOSED" pull "${PULL[@]}" multi
expect_rc 0 # upper-case HTTP_PROXY is ignored, as libcurl does
ud rmi multi
udlc UDT_HTTP_PROXY="http://127.0.0.1:$CLOSED" pull "${PULL[@]}" multi
expect_error

# --- Docker CLI credentials -------------------------------------------
start_registry_tls
TLSP=(UDOCKER_CA_BUNDLE="$CA_PEM")
image_push busybox "$TLS_URL" private/busybox --user "$IT_USER" --password "$IT_PASS" --cacert "$CA_PEM"
B64=$(printf '%s:%s' "$IT_USER" "$IT_PASS" | base64 -w0)
DCFG=$UHOME/.docker
mkdir -p "$DCFG"
write_cfg() { printf '%s\n' "$1" >"$DCFG/config.json"; chown -R "$IT_UID" "$DCFG" 2>/dev/null || true; }
ud "${TLSP[@]}" pull "$TLS_HOST/private/busybox"
expect_error "not authorized"
write_cfg "{\"auths\": {\"https://$TLS_HOST\": {\"auth\": \"$B64\"}}}"
ud "${TLSP[@]}" pull "$TLS_HOST/private/busybox"
expect_rc 0
ud rmi "$TLS_HOST/private/busybox"
# DOCKER_CONFIG names another directory; keys without a scheme match too
mkdir -p "$IT_U/dcfg"
printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$TLS_HOST" "$B64" >"$IT_U/dcfg/config.json"
chmod 644 "$IT_U/dcfg/config.json"
write_cfg '{}'
ud "${TLSP[@]}" DOCKER_CONFIG="$IT_U/dcfg" pull "$TLS_HOST/private/busybox"
expect_rc 0
ud rmi "$TLS_HOST/private/busybox"
# the keystore comes first: a wrong login there beats a right config.json
write_cfg "{\"auths\": {\"$TLS_HOST\": {\"auth\": \"$B64\"}}}"
ud login --registry="https://$TLS_HOST" --username=nobody --password=wrong
ud "${TLSP[@]}" pull "$TLS_HOST/private/busybox"
expect_error
ud logout --registry="https://$TLS_HOST"
# credential helpers: docker-credential-test answers from a file
HB=$IT_U/helpers
mkdir -p "$HB"
cat >"$HB/docker-credential-test" <<EOF
#!/bin/sh
read -r server
echo "\$server" >>"$IT_U/helpers/asked"
[ "\$server" = "$TLS_HOST" ] || { echo "credentials not found in native keychain"; exit 1; }
printf '{"ServerURL": "%s", "Username": "%s", "Secret": "%s"}\n' "\$server" "$IT_USER" "$IT_PASS"
EOF
printf '#!/bin/sh\nsleep 30\n' >"$HB/docker-credential-hang"
printf '#!/bin/sh\nkill -SEGV $$\n' >"$HB/docker-credential-crash"
chmod 755 "$HB"/docker-credential-*
chown -R "$IT_UID" "$HB" 2>/dev/null || true
HPATH=PATH="$HB:/usr/local/bin:/usr/bin:/bin"
write_cfg "{\"credHelpers\": {\"$TLS_HOST\": \"test\"}}"
ud "${TLSP[@]}" "$HPATH" pull "$TLS_HOST/private/busybox"
expect_rc 0
check "the helper was asked for the host" grep -qx "$TLS_HOST" "$HB/asked"
ud rmi "$TLS_HOST/private/busybox"
write_cfg "{\"credsStore\": \"test\", \"auths\": {\"$TLS_HOST\": {}}}"
ud "${TLSP[@]}" "$HPATH" pull "$TLS_HOST/private/busybox"
expect_rc 0
ud rmi "$TLS_HOST/private/busybox"
# a hanging helper is killed after the timeout, then the auths entry is used
write_cfg "{\"credsStore\": \"hang\", \"auths\": {\"$TLS_HOST\": {\"auth\": \"$B64\"}}}"
t0=$(now)
ud "${TLSP[@]}" "$HPATH" -D --config="$CONF" pull "$TLS_HOST/private/busybox"
t=$(elapsed "$t0")
expect_rc 0
expect_stderr_contains "docker-credential-hang timed out"
check "the hanging helper cost about the timeout (${t}s)" lt "$t" 10
ud rmi "$TLS_HOST/private/busybox"
for h in crash missing; do
    write_cfg "{\"credsStore\": \"$h\", \"auths\": {\"$TLS_HOST\": {\"auth\": \"$B64\"}}}"
    ud "${TLSP[@]}" "$HPATH" -D pull "$TLS_HOST/private/busybox"
    expect_rc 0
    expect_stderr_contains "credential helper $h"
    ud rmi "$TLS_HOST/private/busybox"
done
# a malformed config.json: one warning line, then anonymous
write_cfg '{"auths": {'
repo_snapshot "$snap"
ud "${TLSP[@]}" pull "$TLS_HOST/private/busybox"
expect_error "not authorized"
expect_stderr_match "^Warning: ignoring .*config.json: docker config: invalid JSON"
expect_repo_unchanged "$snap"
ud pull "${PULL[@]}" multi
expect_rc 0
write_cfg '{}'
# https through an HTTP CONNECT proxy, from https_proxy
: >"$IT_WORK/logs/net-HP.log"
ud login --registry="https://$TLS_HOST" --username="$IT_USER" --password="$IT_PASS"
udlc "${TLSP[@]}" UDT_HTTPS_PROXY="http://127.0.0.1:$HP_PORT" pull "$TLS_HOST/private/busybox"
expect_rc 0
check "CONNECT through the proxy" grep -q "127.0.0.1:$TLS_PORT ok" "$IT_WORK/logs/net-HP.log"

# --- progress on a terminal: bars redrawn at most ~10 times a second --
if command -v script >/dev/null; then
    TTY_OUT=$IT_U/tty.out
    t0=$(now)
    "${IT_RUNAS[@]}" env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$UHOME" UDOCKER_DIR="$REPO" \
        timeout 60 script -qec "$UDBIN pull --registry=$BAD_URL slow" "$TTY_OUT" >/dev/null 2>&1
    rc=$?
    t=$(elapsed "$t0")
    check "pull on a terminal succeeds (rc=$rc)" [ "$rc" = 0 ]
    check "per-layer bars with bytes, rate and ETA" grep -qE 'Downloading \[[=> ]+\] [0-9.]+ [kM]B/[0-9.]+ MB +[0-9.]+ [kM]?B/s +ETA [0-9]+s' "$TTY_OUT"
    check "completion shown" grep -q 'Pull complete' "$TTY_OUT"
    frames=$(grep -ao $'\033\\[[0-9]*A' "$TTY_OUT" | wc -l)
    check "redrawn in place, at most ~10 frames a second ($frames in ${t}s)" \
        lt "$frames" "$("$PYTHON" -c "print(10 * $t + 5)")"
    check "redrawn at all ($frames frames)" [ "$frames" -ge 3 ]
else
    it_log "SKIP terminal progress: script(1) is not installed"
fi
ud pull --registry="$BAD_URL" good
expect_rc 0
expect_stderr_match '^[0-9a-f]{12}: Pull complete \([0-9.]+ [kM]?B in [0-9.]+ s'
expect_stderr_lacks $'\033'
ud -q pull --registry="$BAD_URL" good
expect_rc 0
check "-q: nothing on stderr" [ ! -s "$UD_ERR_FILE" ]

# --- manifest inspect, --platform, images -p --------------------------
ud manifest --registry="$UP_URL" inspect multi
expect_rc 0
expect_stdout_contains '"manifests": ['
expect_stdout_match '^    "schemaVersion": 2$'
ud manifest --registry="$UP_URL" --platform=linux/arm/v7 inspect multi:list
expect_rc 0
expect_stdout_contains '"layers": ['
ud manifest --registry="$UP_URL" inspect nosuch/image
expect_error
expect_stdout_line "{}"
ud manifest --registry="$UP_URL" list multi
expect_error

"$PYTHON" "$IT_LIB/mkmulti.py" --cache "$IT_CACHE" --registry "$UP_URL" --repo wide \
    >>"$IT_WORK/logs/push.log" 2>&1 || die "pushing the wide multi-platform image failed"
for p in linux/arm64/v8 linux/arm/v7 linux/ppc64le linux/s390x linux/386; do
    for ref in wide:latest wide:list; do
        ud pull "${PULL[@]}" --platform="$p" "$ref"
        expect_rc 0
        ud create "$ref"
        expect_rc 0
        id=$(cat "$UD_OUT_FILE")
        check "$ref $p: the right platform's layer" grep -qx "$p" "$(container_root "$id")/platform.txt"
        ud rm "$id"
        ud images -p
        expect_stdout_match "^$p +\. $ref(  \[index: .*\])?\$"
        ud rmi "$ref"
    done
done
ud pull "${PULL[@]}" --platform=linux/mips64 wide
expect_error
it_done
