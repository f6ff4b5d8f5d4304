# Runs a command and checks its exit code and what it prints.
#   cmake -DCOMMAND="exe;arg;..." [-DEXIT_CODE=N] [-DSTDOUT="regex;..."] [-DSTDERR="regex;..."]
#         [-DNOT_STDOUT="regex;..."] [-DSTDOUT_EMPTY=ON] [-DSTDERR_EMPTY=ON] [-DSTDERR_LINES=N]
#         -P check_run.cmake
# EXIT_CODE defaults to 0. Every regex of STDOUT (STDERR) must match stdout (stderr), none of
# NOT_STDOUT may match stdout.
# (A regex in a list must not hold an unmatched "[": CMake would not split the list there.)
if(NOT DEFINED EXIT_CODE)
  set(EXIT_CODE 0)
endif()
set(problems "")

function(require_all what text regexes)
  foreach(re IN LISTS regexes)
    if(NOT text MATCHES "${re}")
      set(problems "${problems}\n  ${what} does not match '${re}'" PARENT_SCOPE)
    endif()
  endforeach()
endfunction()

execute_process(COMMAND ${COMMAND} OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
message("-- stdout:\n${out}-- stderr:\n${err}-- exit code: ${rc}")
if(NOT rc EQUAL EXIT_CODE)
  string(APPEND problems "\n  exit code ${rc}, not ${EXIT_CODE}")
endif()
require_all(stdout "${out}" "${STDOUT}")
require_all(stderr "${err}" "${STDERR}")
foreach(re IN LISTS NOT_STDOUT)
  if(out MATCHES "${re}")
    string(APPEND problems "\n  stdout matches '${re}'")
  endif()
endforeach()
if(STDOUT_EMPTY AND NOT out STREQUAL "")
  string(APPEND problems "\n  stdout is not empty")
endif()
if(STDERR_EMPTY AND NOT err STREQUAL "")
  string(APPEND problems "\n  stderr is not empty")
endif()
if(DEFINED STDERR_LINES)
  string(REGEX MATCHALL "\n" newlines "${err}")
  list(LENGTH newlines lines)
  if(NOT lines EQUAL STDERR_LINES)
    string(APPEND problems "\n  stderr has ${lines} lines, not ${STDERR_LINES}")
  endif()
endif()

if(problems)
  message(FATAL_ERROR "${COMMAND}:${problems}")
endif()
