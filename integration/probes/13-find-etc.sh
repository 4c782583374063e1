# SPDX-License-Identifier: Apache-2.0
# Directory walking: every name under /etc (getdents through the engine).
find /etc | sort >/tmp/probe-find
cat /tmp/probe-find
md5sum </tmp/probe-find
rm -f /tmp/probe-find
