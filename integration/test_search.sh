#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# search: the distribution registry has no search API (clean error);
# search --list-tags lists /v2/<repo>/tags/list, also through bearer auth.
# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=lib/registry.sh
. "$(dirname "$0")/lib/registry.sh"
it_init "${1:-}"
start_registry_plain
start_registry_token
image_push multi "$PLAIN_URL" multi
image_push busybox "$PLAIN_URL" busybox
image_push busybox "$PLAIN_URL" busybox --tag 1.35
image_push busybox "$TOK_URL" public/busybox --user "$IT_USER" --password "$IT_PASS"

ud images
snap=$IT_WORK/snap
repo_snapshot "$snap"

ud search --index="$PLAIN_URL" --registry="$PLAIN_URL" --list-tags multi
expect_rc 0
expect_stdout_line latest
expect_stdout_line list
check "only the two tags" [ "$(stdout_lines)" = 2 ]
ud search --index="$PLAIN_URL" --registry="$PLAIN_URL" --list-tags busybox
expect_rc 0
expect_stdout_line 1.35
expect_stdout_line latest
ud search --index="$TOK_URL" --registry="$TOK_URL" --list-tags public/busybox
expect_rc 0
expect_stdout_line latest
ud search --index="$PLAIN_URL" --registry="$PLAIN_URL" --list-tags nosuchrepo
expect_error

ud search -a --index="$PLAIN_URL" --registry="$PLAIN_URL" busybox
expect_error
ud search -a --index="http://127.0.0.1:$(closed_port)" --registry="http://127.0.0.1:$(closed_port)" busybox
expect_error
expect_repo_unchanged "$snap"
it_done
