# SPDX-License-Identifier: Apache-2.0
# /proc/self/exe and path resolution of the executables themselves.
readlink /proc/self/exe
ls -l /proc/self/exe | sed 's/.* -> //'
readlink -f /bin/sh
command -v sh
