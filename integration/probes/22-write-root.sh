# SPDX-License-Identifier: Apache-2.0
# Writing into the container: new files, a rename, a hard link, a
# directory removed, as root sees them.
echo one >/probe-new
mkdir -p /tmp/probe-d/sub
echo two >/tmp/probe-d/sub/f
ln /probe-new /tmp/probe-d/hard
mv /tmp/probe-d/sub/f /tmp/probe-d/g
stat -c '%A %u %g %s %h %n' /probe-new /tmp/probe-d/hard /tmp/probe-d/g
rm -rf /tmp/probe-d /probe-new
[ -e /probe-new ] || echo removed
