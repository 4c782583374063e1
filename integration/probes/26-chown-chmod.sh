# SPDX-License-Identifier: Apache-2.0
# Root changing the owner (to itself) and modes of its files, a FIFO, and
# what stat then shows.
touch /tmp/probe-o && chown 0:0 /tmp/probe-o && echo "chown ok"
chmod 4750 /tmp/probe-o && stat -c '%a %u %g' /tmp/probe-o
chmod 600 /tmp/probe-o && stat -c '%a' /tmp/probe-o
mkfifo /tmp/probe-fifo && stat -c '%F %a' /tmp/probe-fifo
rm -f /tmp/probe-o /tmp/probe-fifo
