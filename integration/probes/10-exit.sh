# SPDX-License-Identifier: Apache-2.0
# A plain exit status goes through unchanged.
echo before
exit 42
