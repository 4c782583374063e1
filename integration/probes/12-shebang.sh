# SPDX-License-Identifier: Apache-2.0
# "#!" scripts: absolute interpreter, interpreter with an argument,
# interpreter found by env in PATH, started by absolute and relative path.
printf '#!/bin/sh\necho "0=$0 n=$# 1=$1 2=$2"\n' >/tmp/probe-s1
printf '#!/bin/sh -e\necho "-e script: $0 $*"\nfalse\necho "not reached"\n' >/tmp/probe-s2
printf '#!/usr/bin/env sh\necho "env script: $0 $*"\n' >/tmp/probe-s3
printf '#!/tmp/probe-s1\n' >/tmp/probe-s4
chmod 755 /tmp/probe-s1 /tmp/probe-s2 /tmp/probe-s3 /tmp/probe-s4
/tmp/probe-s1 a "b c"
/tmp/probe-s2 x; echo "rc=$?"
/tmp/probe-s3 y
cd /tmp && ./probe-s1 rel
/tmp/probe-s4 nested; echo "nested rc=$?"
rm -f /tmp/probe-s1 /tmp/probe-s2 /tmp/probe-s3 /tmp/probe-s4
