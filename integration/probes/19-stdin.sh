# SPDX-License-Identifier: Apache-2.0
# stdin reaches the process.
cat
