# SPDX-License-Identifier: Apache-2.0
# The credentials the kernel reports for the process itself.
cat /proc/self/status | grep -E '^(Uid|Gid)'
