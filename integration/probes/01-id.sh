# SPDX-License-Identifier: Apache-2.0
# Identity: the default user of P and R modes is root (uid 0 inside).
id
id -u
id -g
id -un
id -gn
