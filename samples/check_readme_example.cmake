# A README example must be a [readme-*] region of a sample, line for line, so that it always
# compiles (the samples are built and run by the tests).
#   cmake -DSOURCE=<sample.cu> -DREADME=<README.md> [-DREGION=readme-raw] -P check_readme_example.cmake
# REGION defaults to "readme" (the markers // [readme-begin] ... // [readme-end]).
if(NOT REGION)
  set(REGION readme)
endif()
file(READ "${SOURCE}" source)
file(READ "${README}" readme)
string(REGEX MATCH "\n( *)// \\[${REGION}-begin\\]\n(.*)\n *// \\[${REGION}-end\\]" found
       "${source}")
if(NOT found)
  message(FATAL_ERROR "${SOURCE} has no [${REGION}-begin] ... [${REGION}-end] region")
endif()
set(indent "${CMAKE_MATCH_1}")
set(region "${CMAKE_MATCH_2}")
# The README shows the region without the indentation of its markers. (Not with a "^" anchor:
# CMake's REGEX REPLACE lets "^" match again after each replacement.)
if(NOT indent STREQUAL "")
  string(REPLACE "\n${indent}" "\n" region "\n${region}")
  string(SUBSTRING "${region}" 1 -1 region)
  string(REGEX REPLACE "^${indent}" "" region "${region}")
endif()
string(FIND "${readme}" "${region}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "README.md does not contain the [${REGION}] region of ${SOURCE} verbatim:\n${region}")
endif()
message(STATUS "README example ${REGION} in sync with ${SOURCE}")
