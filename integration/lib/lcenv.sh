#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Run $UDT_BIN with UDT_HTTP_PROXY, UDT_HTTPS_PROXY, UDT_ALL_PROXY and
# UDT_NO_PROXY exported under their lower-case names (the test runner
# passes only upper-case variables).
for v in http_proxy https_proxy all_proxy no_proxy; do
    V=UDT_$(echo "$v" | tr a-z A-Z)
    if eval "[ -n \"\${$V+x}\" ]"; then
        eval "export $v=\"\${$V}\""
        unset "$V"
    fi
done
bin=$UDT_BIN
unset UDT_BIN
exec "$bin" "$@"
