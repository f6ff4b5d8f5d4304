// actlayer/detail/cuda_result.hpp — the outcome of a sequence of CUDA calls inside actlayer's
// launchers (internal, but public because the header-only custom-activation path uses it).
#pragma once

#include <cuda_runtime_api.h>

namespace actlayer::detail {

/// The outcome of a sequence of CUDA calls: success, or the first call that failed.
struct CudaResult {
  cudaError_t error = cudaSuccess;
  const char* call = "";  ///< the failing call's source text
  const char* file = "";
  int line = 0;
  bool ok() const { return error == cudaSuccess; }
};

#define ACTLAYER_CUDA_RESULT(expr)                                                     \
  do {                                                                                 \
    const cudaError_t actlayer_err_ = (expr);                                          \
    if (actlayer_err_ != cudaSuccess)                                                  \
      return ::actlayer::detail::CudaResult{actlayer_err_, #expr, __FILE__, __LINE__}; \
  } while (0)

}  // namespace actlayer::detail
