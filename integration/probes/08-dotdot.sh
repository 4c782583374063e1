# SPDX-License-Identifier: Apache-2.0
# ".." at the root stays at the root: the container's files, never the host's.
cd / && cd .. && pwd && pwd -P
cd /../../.. && pwd -P
ls /.. | sort | md5sum
ls / | sort | md5sum
head -n 1 /../../etc/os-release
readlink -f /../../etc/..
cd /usr && cd ../../../usr/bin && pwd -P
