# SPDX-License-Identifier: Apache-2.0
# The environment the process receives (the harness writes <MODE> for the
# mode name in container_execmode).
env | sort
