# SPDX-License-Identifier: Apache-2.0
# pathmap: guest paths resolved over a fixed tree of symlinks and binds;
# results must stay under the root or a bind, and cached answers must equal
# fresh ones. The path map is self-contained: while the module's library is
# not part of the build (or not yet complete), the target compiles the two
# path map sources itself, so the fuzzer never waits on the rest of the engine.
if(TARGET ud::ptrace-proot)
  ud_add_fuzz_target(pathmap SOURCE ${CMAKE_CURRENT_LIST_DIR}/fuzz_pathmap.c
    LIBS ud::ptrace-proot)
else()
  ud_add_fuzz_target(pathmap SOURCE ${CMAKE_CURRENT_LIST_DIR}/fuzz_pathmap.c LIBS ud::base)
endif()
set(_pm_targets replay_pathmap)
if(UD_FUZZ)
  list(APPEND _pm_targets fuzz_pathmap)
endif()
foreach(t ${_pm_targets})
  # The private header of the module and the engine's struct ud_bind.
  target_include_directories(${t} PRIVATE ${PROJECT_SOURCE_DIR}/modules/engine/include)
  if(NOT TARGET ud::ptrace-proot)
    target_sources(${t} PRIVATE ${PROJECT_SOURCE_DIR}/modules/ptrace-proot/src/pathmap.c
      ${PROJECT_SOURCE_DIR}/modules/ptrace-proot/src/pathmap_resolve.c)
    target_compile_definitions(${t} PRIVATE UD_BUILDING_PTRACE_PROOT=1)
  endif()
endforeach()
unset(_pm_targets)

# exec_header: the "#!" line and PT_INTERP parsers of the exec handling
# (modules/ptrace-proot/src/exec_parse.c) over arbitrary file contents.
if(TARGET ud::ptrace-proot)
  ud_add_fuzz_target(exec_header SOURCE ${CMAKE_CURRENT_LIST_DIR}/fuzz_exec_header.c
    LIBS ud::ptrace-proot)
  set(_eh_targets replay_exec_header)
  if(UD_FUZZ)
    list(APPEND _eh_targets fuzz_exec_header)
  endif()
  foreach(t ${_eh_targets})
    target_include_directories(${t} PRIVATE ${PROJECT_SOURCE_DIR}/modules/engine/include)
  endforeach()
  unset(_eh_targets)
endif()
