# SPDX-License-Identifier: Apache-2.0
# oci-manifest fuzz targets: image references and manifest/index/config bodies.
ud_add_fuzz_target(image_ref SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_image_ref.c
  LIBS ud::oci-manifest)
ud_add_fuzz_target(manifest SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_manifest.c
  LIBS ud::oci-manifest)
