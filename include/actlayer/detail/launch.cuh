// actlayer/detail/launch.cuh — one kernel launch, its own error reported exactly.
#pragma once

#include <utility>

#include <cuda_runtime.h>

#include "actlayer/detail/cuda_result.hpp"

namespace actlayer::detail {

/// kernel<<<grid, block, 0, stream>>>(args...), returning the launch's own error.
/// cudaLaunchKernelEx returns it directly: an error left pending by other code on this thread
/// (a failed cudaMalloc, say) is neither reported as ours nor cleared, and our failure is not
/// left for the caller's next cudaGetLastError to find twice.
template <class... Params, class... Args>
CudaResult launch_checked(void (*kernel)(Params...), dim3 grid, dim3 block, cudaStream_t stream,
                          Args&&... args) {
  cudaLaunchConfig_t config{};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = 0;
  config.stream = stream;
  ACTLAYER_CUDA_RESULT(cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...));
  return {};
}

}  // namespace actlayer::detail
