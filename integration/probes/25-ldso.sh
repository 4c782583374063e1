# SPDX-License-Identifier: Apache-2.0
# The dynamic loader run as a program (what a ptrace engine must not
# confuse with the interpreter it inserts itself); Debian root only.
for l in /lib64/ld-linux-x86-64.so.2 /lib/ld-linux-aarch64.so.1; do
    [ -e "$l" ] || continue
    "$l" /bin/echo "via $l"
    "$l" /usr/bin/readlink /proc/self/exe
done
echo done
