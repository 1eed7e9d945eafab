# lab_sources.cmake - where a phase finds the files a student completes.
#
# A phase's lesson files (the code its lab asks the student to write) live
# outside phases/: the reference in solutions/phaseN/, the starter code in
# labs/phaseN/ (generated from the reference by `make labs`). The fixed parts
# (main.c, headers) stay in phases/phaseN/. MSGROUTE_IMPL picks the tree:
#
#   solutions  the reference (the default in the instructor's full tree)
#   labs       the student's code (the default, and the only choice, in a
#              student's tree, which has no solutions/)
#
# MSGROUTE_IMPL_DIR, when set to a directory, overrides both: it holds
# phaseN/ folders of lesson files (the grader's own tests build a solution
# with one function stubbed this way).
#
# Usage, in phases/phaseN/CMakeLists.txt:
#   include(${CMAKE_SOURCE_DIR}/phases/lab_sources.cmake)
#   msgroute_lab_sources(PHASE1_LAB phase1 phase1.c)
#   add_library(phase1_core STATIC ${PHASE1_LAB})
include_guard(GLOBAL)

set(MSGROUTE_IMPL_DIR "" CACHE PATH "A folder of phaseN/ lesson files to build instead of solutions/ or labs/ (the grader's tests)")

if(NOT EXISTS ${CMAKE_SOURCE_DIR}/solutions AND NOT MSGROUTE_IMPL STREQUAL "labs")
  # A student's tree: there is nothing else to build.
  set(MSGROUTE_IMPL "labs" CACHE STRING "Which implementation of the lab files to build: solutions or labs" FORCE)
endif()
if(NOT MSGROUTE_IMPL MATCHES "^(solutions|labs)$")
  message(FATAL_ERROR "MSGROUTE_IMPL must be solutions or labs, not '${MSGROUTE_IMPL}'")
endif()

if(MSGROUTE_IMPL_DIR)
  set(MSGROUTE_LAB_ROOT ${MSGROUTE_IMPL_DIR})
else()
  set(MSGROUTE_LAB_ROOT ${CMAKE_SOURCE_DIR}/${MSGROUTE_IMPL})
endif()
message(STATUS "msgroute: lesson files from ${MSGROUTE_LAB_ROOT}")

# msgroute_lab_sources(OUT_VAR phaseN FILE...): OUT_VAR gets the full paths
# of the phase's lesson files in the chosen tree; a missing file stops the
# configuration with its name rather than failing later in the compiler.
#
# The root is worked out here from the cache variables, not read from
# MSGROUTE_LAB_ROOT: include_guard(GLOBAL) runs this file once, in the first
# phase's directory scope, so a later phase's scope never sees that variable.
function(msgroute_lab_sources out phase)
  if(MSGROUTE_IMPL_DIR)
    set(root ${MSGROUTE_IMPL_DIR})
  else()
    set(root ${CMAKE_SOURCE_DIR}/${MSGROUTE_IMPL})
  endif()
  set(files "")
  foreach(f ${ARGN})
    set(path ${root}/${phase}/${f})
    if(NOT EXISTS ${path})
      message(FATAL_ERROR "${phase}: lesson file ${path} is missing (MSGROUTE_IMPL=${MSGROUTE_IMPL}; run 'make labs' to regenerate labs/)")
    endif()
    list(APPEND files ${path})
  endforeach()
  set(${out} ${files} PARENT_SCOPE)
endfunction()
