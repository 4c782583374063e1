# SPDX-License-Identifier: Apache-2.0
# Working directory: the starting one, through a symlinked directory
# (Debian's /bin -> usr/bin), and the physical path.
pwd
cd /usr/bin && pwd && pwd -P
cd /bin && pwd && pwd -P
cd / && pwd
cd /tmp && pwd -P
