# SPDX-License-Identifier: Apache-2.0
# image_archive: the metadata of image archives (manifest.json, index.json,
# repositories, names as archives spell them) and the streaming tar reader
# that load runs over untrusted archives. The first byte picks the parser.
ud_add_fuzz_target(image_archive SOURCE ${CMAKE_CURRENT_LIST_DIR}/fuzz_image_archive.c
  LIBS ud::image-archive)
foreach(t replay_image_archive fuzz_image_archive)
  if(TARGET ${t})
    target_include_directories(${t} PRIVATE ${PROJECT_SOURCE_DIR}/modules/image-archive/src)
    target_compile_definitions(${t} PRIVATE UD_BUILDING_IMAGE_ARCHIVE=1)
  endif()
endforeach()
