# SPDX-License-Identifier: Apache-2.0
# tar_layer: apply arbitrary bytes as a layer (twice, so whiteouts meet a
# lower layer) into a fresh root; abort if anything appears outside it.
ud_add_fuzz_target(tar_layer SOURCE ${CMAKE_CURRENT_LIST_DIR}/fuzz_tar_layer.c LIBS ud::tarextract)
