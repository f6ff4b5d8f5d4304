# Checks the one-way layering of docs/design.md §1 on the sources' #include lines:
#   include/actlayer  includes only actlayer/ headers (and system ones)
#   cuda/             includes only cuda/ and actlayer/ headers: nothing of host/
#   cpu/              includes only cpu/ and actlayer/ headers and the plain-C++ plans of cuda/
#                     (channel_plan.hpp, rrelu_plan.hpp, channel_math.hpp, gated_math.hpp):
#                     nothing of host/, no kernel
#   host/reference/   must not include ops.cuh or anything of cuda/ or cpu/ (the reference is
#                     written independently of the kernels' math)
#   host/             reaches into cuda/ through launch.hpp only and into cpu/ through
#                     kernels.hpp and threads.hpp (host/common reads the ops' traits from ops.cuh;
#                     the reference, above, never does)
# Run: cmake -DSOURCE_DIR=<repo> -P cmake/check_layering.cmake
set(problems "")

function(check_dir dir allowed_regex what)
  file(GLOB_RECURSE files "${SOURCE_DIR}/${dir}/*.hpp" "${SOURCE_DIR}/${dir}/*.cuh"
                          "${SOURCE_DIR}/${dir}/*.cpp" "${SOURCE_DIR}/${dir}/*.cu")
  foreach(f IN LISTS files)
    file(STRINGS "${f}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*\"")
    foreach(line IN LISTS lines)
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*\"([^\"]+)\".*" "\\1" inc "${line}")
      if(NOT inc MATCHES "${allowed_regex}")
        file(RELATIVE_PATH rel "${SOURCE_DIR}" "${f}")
        set(problems "${problems}\n  ${rel}: #include \"${inc}\" (${what})" PARENT_SCOPE)
      endif()
    endforeach()
  endforeach()
endfunction()

check_dir(include/actlayer "^actlayer/" "public headers include only actlayer/ headers")
check_dir(cuda "^(actlayer/([a-z_]+/)?[a-z_]+\\.(hpp|cuh)|[a-z_]+\\.(hpp|cuh))$" "cuda/ must not depend on host/")
check_dir(cpu "^(actlayer/([a-z_]+/)?[a-z_]+\\.(hpp|cuh)|[a-z_]+\\.hpp|\\.\\./cuda/((channel|rrelu)_plan|(channel|gated)_math)\\.hpp)$"
          "cpu/ reaches cuda/ for its plain-C++ plans only, and never host/")
check_dir(host/reference "^(actlayer/(activation|element|reference|detail/instantiate)\\.hpp|common/(validate|checks)\\.hpp|round\\.hpp|philox\\.hpp|elementwise\\.hpp)$"
          "the reference must not include ops.cuh or cuda/")
check_dir(host "^(actlayer/([a-z_]+/)?[a-z_]+\\.hpp|actlayer/ops\\.cuh|common/[a-z_]+\\.hpp|reference/[a-z_]+\\.hpp|[a-z_]+\\.hpp|\\.\\./cuda/launch\\.hpp|\\.\\./cpu/(kernels|threads)\\.hpp)$"
          "host/ reaches cuda/ through launch.hpp only, cpu/ through kernels.hpp and threads.hpp")

if(problems)
  message(FATAL_ERROR "layering violations:${problems}")
endif()
message(STATUS "layering: ok")
