#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The fixtures on their own (no udocker): every registry flavour starts, every
# image pushes, and curl fetches manifests and blobs through each auth flavour.
IT_NO_CLI=1
# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=lib/registry.sh
. "$(dirname "$0")/lib/registry.sh"
it_init "${1:-}"

MT_ACCEPT='Accept: application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json'

start_registry_plain
start_registry_tls
start_registry_token
start_badregistry

for img in busybox layers evil multi big; do
    image_push "$img" "$PLAIN_URL" "$img"
done
image_push busybox "$TLS_URL" busybox --user "$IT_USER" --password "$IT_PASS" --cacert "$CA_PEM"
image_push busybox "$TOK_URL" public/busybox --user "$IT_USER" --password "$IT_PASS"
image_push busybox "$TOK_URL" private/busybox --user "$IT_USER" --password "$IT_PASS"

# plain: manifest + every blob with matching digests
code=$(curl -s -o "$IT_WORK/m.json" -w '%{http_code}' -H "$MT_ACCEPT" "$PLAIN_URL/v2/layers/manifests/latest")
check "plain manifest 200" [ "$code" = 200 ]
for d in $("$PYTHON" -c 'import json,sys; m=json.load(open(sys.argv[1])); print(" ".join([m["config"]["digest"]]+[l["digest"] for l in m["layers"]]))' "$IT_WORK/m.json"); do
    got=sha256:$(curl -s "$PLAIN_URL/v2/layers/blobs/$d" | sha256sum | cut -d' ' -f1)
    check "plain blob $d" [ "$got" = "$d" ]
done
ct=$(curl -s -o /dev/null -w '%{content_type}' -H "$MT_ACCEPT" "$PLAIN_URL/v2/multi/manifests/latest")
check "multi is an OCI index ($ct)" [ "$ct" = application/vnd.oci.image.index.v1+json ]
ct=$(curl -s -o /dev/null -w '%{content_type}' -H "$MT_ACCEPT" "$PLAIN_URL/v2/multi/manifests/list")
check "multi:list is a manifest list ($ct)" [ "$ct" = application/vnd.docker.distribution.manifest.list.v2+json ]
tags=$(curl -s "$PLAIN_URL/v2/multi/tags/list")
check "tags/list ($tags)" grep -q '"list"' <<<"$tags"

# TLS + basic: 401 without, 200 with credentials; wrong CA fails
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA_PEM" -H "$MT_ACCEPT" "$TLS_URL/v2/busybox/manifests/latest")
check "tls anonymous 401 ($code)" [ "$code" = 401 ]
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA_PEM" -u "$IT_USER:$IT_PASS" -H "$MT_ACCEPT" "$TLS_URL/v2/busybox/manifests/latest")
check "tls basic 200 ($code)" [ "$code" = 200 ]
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA_PEM" -u "$IT_USER:wrong" "$TLS_URL/v2/busybox/manifests/latest")
check "tls wrong password 401 ($code)" [ "$code" = 401 ]
check "tls untrusted without CA" bash -c "! curl -s -o /dev/null '$TLS_URL/v2/'"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA_PEM" "https://localhost:$TLS_PORT/v2/")
check "tls localhost SAN ($code)" [ "$code" = 401 ]

# token: anonymous public pull, anonymous private refused, authenticated private
tok() { curl -s "$@" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["token"])'; }
chal=$(curl -s -D - -o /dev/null "$TOK_URL/v2/public/busybox/manifests/latest" | tr -d '\r' | grep -i '^www-authenticate:')
check "token challenge ($chal)" grep -q 'Bearer realm=' <<<"$chal"
t=$(tok "$TOKSRV_URL/token?service=udocker-test-registry&scope=repository:public/busybox:pull")
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $t" -H "$MT_ACCEPT" "$TOK_URL/v2/public/busybox/manifests/latest")
check "token anonymous public 200 ($code)" [ "$code" = 200 ]
t=$(tok "$TOKSRV_URL/token?service=udocker-test-registry&scope=repository:private/busybox:pull")
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $t" -H "$MT_ACCEPT" "$TOK_URL/v2/private/busybox/manifests/latest")
check "token anonymous private 401 ($code)" [ "$code" = 401 ]
t=$(tok -u "$IT_USER:$IT_PASS" "$TOKSRV_URL/token?service=udocker-test-registry&scope=repository:private/busybox:pull")
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $t" -H "$MT_ACCEPT" "$TOK_URL/v2/private/busybox/manifests/latest")
check "token authenticated private 200 ($code)" [ "$code" = 200 ]
code=$(curl -s -o /dev/null -w '%{http_code}' -u "$IT_USER:nope" "$TOKSRV_URL/token?service=x&scope=repository:private/busybox:pull")
check "token server wrong password 401 ($code)" [ "$code" = 401 ]

# stub registry
code=$(curl -s -o /dev/null -w '%{http_code}' "$BAD_URL/v2/err500/manifests/latest")
check "stub 500 ($code)" [ "$code" = 500 ]
code=$(curl -s -o /dev/null -w '%{http_code}' "$BAD_URL/v2/good/manifests/latest")
check "stub good ($code)" [ "$code" = 200 ]
check "stub truncated blob fails" bash -c "! curl -sf -o /dev/null $BAD_URL/v2/truncated/blobs/\$(curl -s $BAD_URL/v2/truncated/manifests/latest | $PYTHON -c 'import json,sys; print(json.load(sys.stdin)[\"layers\"][0][\"digest\"])')"
it_done
