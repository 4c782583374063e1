# SPDX-License-Identifier: Apache-2.0
# The basic devices work.
echo discard >/dev/null && echo "null ok"
head -c 4 /dev/zero | od -An -tx1
head -c 16 /dev/urandom | wc -c
for d in null zero full random urandom tty; do [ -c /dev/$d ] && echo "/dev/$d is a character device"; done
