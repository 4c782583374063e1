# SPDX-License-Identifier: Apache-2.0
# Helpers to register cmocka unit tests and fuzz targets with CTest.

# ud_add_unit_test(MODULE TOPIC SOURCES... LIBS ...): tests/<module>/test_<topic>.c
function(ud_add_unit_test module topic)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
  set(target test_${module}_${topic})
  string(REPLACE "-" "_" target "${target}")
  add_executable(${target} ${T_SOURCES})
  target_compile_definitions(${target} PRIVATE _GNU_SOURCE)
  target_link_libraries(${target} PRIVATE ${T_LIBS} PkgConfig::CMOCKA ud::warnings)
  add_test(NAME unit.${module}.${topic} COMMAND ${target})
  set_tests_properties(unit.${module}.${topic} PROPERTIES LABELS unit TIMEOUT 120)
endfunction()

# ud_add_fuzz_target(NAME SOURCE LIBS ...): fuzz/fuzz_<name>.c. Always built
# with a replay main so fuzz/corpus/<name>/ runs as a CTest regression; with
# UD_FUZZ=ON a second binary links -fsanitize=fuzzer.
function(ud_add_fuzz_target name)
  cmake_parse_arguments(F "" "" "SOURCE;LIBS" ${ARGN})
  add_executable(replay_${name} ${F_SOURCE} ${PROJECT_SOURCE_DIR}/fuzz/replay_main.c)
  target_compile_definitions(replay_${name} PRIVATE _GNU_SOURCE)
  target_link_libraries(replay_${name} PRIVATE ${F_LIBS} ud::warnings)
  add_test(NAME fuzz.${name} COMMAND replay_${name} ${PROJECT_SOURCE_DIR}/fuzz/corpus/${name})
  set_tests_properties(fuzz.${name} PROPERTIES LABELS fuzz TIMEOUT 300)
  if(UD_FUZZ)
    add_executable(fuzz_${name} ${F_SOURCE})
    target_compile_definitions(fuzz_${name} PRIVATE _GNU_SOURCE)
    target_compile_options(fuzz_${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(fuzz_${name} PRIVATE ${F_LIBS})
  endif()
endfunction()
