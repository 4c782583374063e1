# SPDX-License-Identifier: Apache-2.0
# A process killed by a signal: the status is 128+N (143 for SIGTERM).
echo before
kill -TERM $$
echo "not reached"
