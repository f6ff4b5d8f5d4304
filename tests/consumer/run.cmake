# Builds and runs tests/consumer against actlayer, one of two ways:
#   MODE=install           cmake --install BUILD_DIR into WORK/prefix, then find_package
#   MODE=add_subdirectory  the consumer adds SOURCE_DIR itself
# cmake -DMODE=... -DSOURCE_DIR=... -DBUILD_DIR=... -DWORK=... -DCUDA_COMPILER=...
#       -DCUDA_ARCHITECTURES=... [-DGENERATOR=...] [-DLIBRARY=path/to/libactlayer.a] -P run.cmake
#
# Neither mode compiles the library again. install copies BUILD_DIR's. add_subdirectory
# configures the subproject for real (its options, paths, generated version.hpp and the
# actlayer::actlayer target), compiles its actlayer_common object library (the library's own
# compile settings inside another project) and links the consumer, under actlayer::actlayer's
# usage requirements, against LIBRARY (BUILD_DIR's archive of the same sources). Without
# LIBRARY it builds the subproject's whole library (a few minutes on two cores).
file(REMOVE_RECURSE "${WORK}")
set(common -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_COMPILER=${CUDA_COMPILER}
           "-DCMAKE_CUDA_ARCHITECTURES=${CUDA_ARCHITECTURES}")
if(GENERATOR)
  list(APPEND common -G ${GENERATOR})
endif()
set(targets consumer)
if(MODE STREQUAL "install")
  execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK}/prefix
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "cmake --install failed")
  endif()
  list(APPEND common -DCMAKE_PREFIX_PATH=${WORK}/prefix)
else()
  list(APPEND common -DCONSUMER_ADD_SUBDIRECTORY=ON -DACTLAYER_SOURCE_DIR=${SOURCE_DIR})
  if(LIBRARY)
    list(APPEND common -DCONSUMER_PREBUILT_LIBRARY=${LIBRARY})
    list(PREPEND targets actlayer_common)
  endif()
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/consumer -B ${WORK}/build ${common}
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring the consumer failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK}/build -j 2 --target ${targets}
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building the consumer failed")
endif()
execute_process(COMMAND ${WORK}/build/consumer RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the consumer failed (${rc})")
endif()
