# SPDX-License-Identifier: Apache-2.0
# runc-rootless: the /etc/subuid and /etc/subgid parser.
ud_add_fuzz_target(subid SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_subid.c LIBS ud::runc-rootless)
