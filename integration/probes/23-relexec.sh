# SPDX-License-Identifier: Apache-2.0
# Executing by relative path and by a path through a symlinked directory.
cd /usr/bin && ./true && echo "relative ok"
cd / && usr/bin/true && echo "relative from / ok"
/bin/true && echo "through /bin ok"
cd /tmp && ../usr/bin/env true && echo "dotdot ok"
