# Checks that the repository stands on its own: no source or document refers to the folder of
# design notes and course material that the project started from, outside the repository (its
# content lives in docs/design.md and docs/course.md). Every match is reported as file:line.
#   scanned   include/ cuda/ host/ tests/ samples/ bench/ cmake/ docs/ .ci/ python/, README.md,
#             CMakeLists.txt, CMakePresets.json
#   skipped   tests/data/ (fixtures), docs/images/ and image files
# The patterns are assembled from pieces so that this file does not match itself.
# Run: cmake -DSOURCE_DIR=<repo> -P cmake/check_self_contained.cmake
cmake_minimum_required(VERSION 3.24)
if(NOT SOURCE_DIR)
  message(FATAL_ERROR "usage: cmake -DSOURCE_DIR=<repo> -P ${CMAKE_CURRENT_LIST_FILE}")
endif()

set(patterns "")
string(CONCAT piece ".." "/" "shared")
list(APPEND patterns "${piece}")
string(CONCAT piece "DESIGN" "." "md")
list(APPEND patterns "${piece}")
string(CONCAT piece "seed" "-activation-" "functions")
list(APPEND patterns "${piece}")

set(files "")
foreach(dir include cuda host tests samples bench cmake docs .ci python)
  file(GLOB_RECURSE found LIST_DIRECTORIES false "${SOURCE_DIR}/${dir}/*")
  list(APPEND files ${found})
endforeach()
foreach(top README.md CMakeLists.txt CMakePresets.json)
  if(EXISTS "${SOURCE_DIR}/${top}")
    list(APPEND files "${SOURCE_DIR}/${top}")
  endif()
endforeach()

set(problems "")
set(scanned 0)
foreach(f IN LISTS files)
  file(RELATIVE_PATH rel "${SOURCE_DIR}" "${f}")
  if(rel MATCHES "^(tests/data|docs/images)/" OR rel MATCHES "\\.(svg|png|jpg|jpeg|gif|pdf)$")
    continue()
  endif()
  math(EXPR scanned "${scanned} + 1")
  file(READ "${f}" text)
  foreach(pattern IN LISTS patterns)
    string(LENGTH "${pattern}" pattern_length)
    set(rest "${text}")
    set(line 1)
    string(FIND "${rest}" "${pattern}" at)
    while(NOT at EQUAL -1)
      string(SUBSTRING "${rest}" 0 ${at} before)
      string(REGEX MATCHALL "\n" newlines "${before}")
      list(LENGTH newlines count)
      math(EXPR line "${line} + ${count}")
      string(APPEND problems "\n  ${rel}:${line}: ${pattern}")
      math(EXPR next "${at} + ${pattern_length}")
      string(SUBSTRING "${rest}" ${next} -1 rest)
      string(FIND "${rest}" "${pattern}" at)
    endwhile()
  endforeach()
endforeach()

if(problems)
  message(FATAL_ERROR "references to a folder outside the repository (cite docs/design.md "
                      "or docs/course.md instead):${problems}")
endif()
message(STATUS "self-contained: ok (${scanned} files)")
