# README's API example must be the [readme] region of the sample it cites, line for line, so
# that it always compiles (the sample is built and run by the tests).
#   cmake -DSOURCE=<sample.cu> -DREADME=<README.md> -P check_readme_example.cmake
file(READ "${SOURCE}" source)
file(READ "${README}" readme)
string(REGEX MATCH "// \\[readme-begin\\]\n(.*)  // \\[readme-end\\]" found "${source}")
if(NOT found)
  message(FATAL_ERROR "${SOURCE} has no [readme-begin] ... [readme-end] region")
endif()
set(region "${CMAKE_MATCH_1}")
# The README shows the region without its two-space function indentation. (Not with a "^"
# anchor: CMake's REGEX REPLACE lets "^" match again after each replacement.)
string(REPLACE "\n  " "\n" region "\n${region}")
string(SUBSTRING "${region}" 1 -1 region)
string(FIND "${readme}" "${region}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "README.md does not contain the [readme] region of ${SOURCE} verbatim:\n${region}")
endif()
message(STATUS "README example in sync with ${SOURCE}")
