# SPDX-License-Identifier: Apache-2.0
# The /proc/self links a process reads about itself: cwd, root, exe of a
# child, its command line.
cd /usr/share && readlink /proc/self/cwd
cd /tmp && ls -ld /proc/self/cwd | sed 's/.* -> //'
readlink /proc/self/root
cd /usr/bin && readlink -f /proc/self/cwd/..
cat /proc/self/cmdline | tr '\0' ' '; echo
