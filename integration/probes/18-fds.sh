# SPDX-License-Identifier: Apache-2.0
# Open file descriptors: nothing of udocker's leaks into the container
# (0, 1, 2 and the one ls opens to read the directory).
ls /proc/self/fd | sort -n
