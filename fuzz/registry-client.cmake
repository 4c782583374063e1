# SPDX-License-Identifier: Apache-2.0
# registry-client fuzz targets.
ud_add_fuzz_target(www_authenticate
  SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_www_authenticate.c
  LIBS ud::registry-client)
ud_add_fuzz_target(docker_config
  SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_docker_config.c
  LIBS ud::registry-client)
