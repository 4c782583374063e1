# SPDX-License-Identifier: Apache-2.0
# One interface target carries the project's warning set; every target links it.
add_library(ud_warnings INTERFACE)
target_compile_options(ud_warnings INTERFACE
  -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
  -Wvla -Wpointer-arith -Wundef -Wno-unused-parameter)
if(UD_WERROR)
  target_compile_options(ud_warnings INTERFACE -Werror)
endif()
if(UD_SANITIZE)
  target_compile_options(ud_warnings INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
    -fno-sanitize-recover=undefined)
  target_link_options(ud_warnings INTERFACE -fsanitize=address,undefined)
endif()
add_library(ud::warnings ALIAS ud_warnings)

# ud_add_module(NAME SOURCES... [DEPS ...]): a static library ud_NAME with its
# public header directory include/ and private define UD_BUILDING_<NAME>.
function(ud_add_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(ud_${name} STATIC ${M_SOURCES})
  add_library(ud::${name} ALIAS ud_${name})
  string(TOUPPER "${name}" upper)
  string(REPLACE "-" "_" upper "${upper}")
  target_compile_definitions(ud_${name} PRIVATE UD_BUILDING_${upper}=1 _GNU_SOURCE)
  target_include_directories(ud_${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
    PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_link_libraries(ud_${name} PUBLIC ${M_DEPS} PRIVATE ud::warnings ${M_PRIVATE_DEPS})
endfunction()
