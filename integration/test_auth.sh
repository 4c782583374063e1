#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Credentials and TLS: login/logout and the keystore file; a TLS registry with
# the test CA (UDOCKER_CA_BUNDLE, config ca_bundle, --insecure) and htpasswd
# basic auth; a bearer-token registry (anonymous public/, authenticated private/).
# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=lib/registry.sh
. "$(dirname "$0")/lib/registry.sh"
it_init "${1:-}"
start_registry_tls
start_registry_token
for t in latest v2 v3 v4 v5; do
    image_push busybox "$TLS_URL" busybox --tag "$t" --user "$IT_USER" --password "$IT_PASS" --cacert "$CA_PEM"
done
image_push busybox "$TOK_URL" public/busybox --user "$IT_USER" --password "$IT_PASS"
image_push busybox "$TOK_URL" private/busybox --user "$IT_USER" --password "$IT_PASS"
KS=$UHOME/.udocker/keystore
snap=$IT_WORK/snap

ud images # creates the repository
expect_rc 0
repo_snapshot "$snap"

# --- login / logout / keystore ------------------------------------------
# An empty --password= makes udocker prompt (stdin is not a terminal here);
# the prompt's line is ended, so the error starts on a line of its own.
ud login --username=alice --password=
expect_rc 1
expect_stderr_match '^Error: invalid credentials$'
# --password-stdin without --username: no terminal to ask for the name on
printf 'x\n' >"$IT_WORK/somepw"
chmod 644 "$IT_WORK/somepw"
UD_STDIN=$IT_WORK/somepw ud login --password-stdin --registry=https://nouser.example
expect_error "--password-stdin needs --username"
printf '\n' >"$IT_WORK/emptypw"
chmod 644 "$IT_WORK/emptypw"
UD_STDIN=$IT_WORK/emptypw ud login --username=alice --password-stdin
expect_error "invalid credentials"
ud login --username= --password=x
expect_error "invalid credentials"
check "no keystore after failed logins" test ! -e "$KS"
ud login --username=UPPER --password=CAPSLOCK --registry=https://caps.example
expect_rc 0
expect_stdout_contains "Warning: password in uppercase Caps Lock ?"
ud logout --registry=https://caps.example
expect_rc 0

# wrong password first: login succeeds (no server contact), pull fails
ud login --username="$IT_USER" --password=wrong-password --registry="$TLS_URL"
expect_rc 0
check "keystore created" test -f "$KS"
check "keystore mode 0600" [ "$(stat -c %a "$KS")" = 600 ]
check "keystore owned by the user" [ "$(stat -c %u "$KS")" = "$IT_UID" ]
ud UDOCKER_CA_BUNDLE="$CA_PEM" pull "$TLS_HOST/busybox"
expect_error
expect_repo_unchanged "$snap"

# the right password, via --password-stdin
printf '%s\n' "$IT_PASS" >"$IT_WORK/pw"
chmod 644 "$IT_WORK/pw"
UD_STDIN=$IT_WORK/pw ud login --username="$IT_USER" --password-stdin --registry="$TLS_URL"
expect_rc 0
check "keystore format" "$PYTHON" -c '
import base64, json, sys
ks = json.load(open(sys.argv[1]))
e = ks[sys.argv[2]]
assert base64.b64decode(e["auth"]).decode() == sys.argv[3], e
assert e.get("email", "") == ""
' "$KS" "$TLS_URL" "$IT_USER:$IT_PASS"
check "keystore mode still 0600" [ "$(stat -c %a "$KS")" = 600 ]
check "keystore not in UDOCKER_DIR" test ! -e "$REPO/keystore"

# --- TLS trust ------------------------------------------------------------
ud pull "$TLS_HOST/busybox:v2"
expect_error
expect_repo_unchanged "$snap"
ud UDOCKER_CA_BUNDLE="$CA_PEM" pull "$TLS_HOST/busybox"
expect_rc 0
ud images
expect_stdout_line "$TLS_HOST/busybox:latest    ."
check "image dir named as typed" test -f "$REPO/repos/$TLS_HOST/busybox/latest/TAG"
ud --insecure pull "$TLS_HOST/busybox:v2"
expect_rc 0
printf '[DEFAULT]\nca_bundle = %s\n' "$CA_PEM" >"$IT_WORK/fix/ud.conf"
chmod 644 "$IT_WORK/fix/ud.conf"
ud --config="$IT_WORK/fix/ud.conf" pull "$TLS_HOST/busybox:v3"
expect_rc 0
ud UDOCKER_CA_BUNDLE="$CA_PEM" pull --registry="$TLS_URL" busybox:v4
expect_rc 0
ud images
expect_stdout_line "busybox:v4    ."
ud create "$TLS_HOST/busybox:v3"
expect_rc 0
check "create from a host:port image" test -f "$REPO/containers/$(cat "$UD_OUT_FILE")/ROOT/bin/busybox"

# logout: entry removed, pull fails again
ud logout --registry="$TLS_URL"
expect_rc 0
check "entry removed" "$PYTHON" -c 'import json,sys; assert sys.argv[2] not in json.load(open(sys.argv[1]))' "$KS" "$TLS_URL"
repo_snapshot "$snap"
ud UDOCKER_CA_BUNDLE="$CA_PEM" pull "$TLS_HOST/busybox:v5"
expect_error
expect_repo_unchanged "$snap"
ud logout --registry="$TLS_URL"
expect_error "deleting credentials"

# --- bearer tokens ----------------------------------------------------------
ud pull --registry="$TOK_URL" public/busybox
expect_rc 0
check "anonymous public pull" test -f "$REPO/repos/public/busybox/latest/TAG"
check "token server was used" grep -q 'GET /token' "$IT_WORK/logs/tokenserver-access.log"
repo_snapshot "$snap"
ud pull --registry="$TOK_URL" private/busybox
expect_error
expect_repo_unchanged "$snap"
ud login --username="$IT_USER" --password=bad --registry="$TOK_URL"
expect_rc 0
ud pull --registry="$TOK_URL" private/busybox
expect_error
expect_repo_unchanged "$snap"
ud login --username="$IT_USER" --password="$IT_PASS" --registry="$TOK_URL"
expect_rc 0
ud pull --registry="$TOK_URL" private/busybox
expect_rc 0
check "authenticated private pull" test -f "$REPO/repos/private/busybox/latest/TAG"
ud pull --registry="$TOK_URL" public/busybox
expect_rc 0

# logout -a: the whole keystore goes
ud logout -a
expect_rc 0
check "keystore removed" test ! -e "$KS"
ud logout -a
expect_error "deleting credentials"
it_done
