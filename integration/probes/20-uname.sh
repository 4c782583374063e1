# SPDX-License-Identifier: Apache-2.0
# Kernel name, release, machine and node name as the process sees them.
uname -s
uname -r
uname -m
uname -n
