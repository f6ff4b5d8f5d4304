// host/cuda_status.hpp — turns the CUDA layer's CudaResult into a Status and a last_error()
// message naming the failed call with file:line. Internal.
#pragma once

#include "actlayer/activation.hpp"
#include "../cuda/launch.hpp"

namespace actlayer::detail {

/// success, or cuda_error with "<function>: <call> failed with <error> (<text>) at <file>:<line>".
Status launched(const cuda_impl::CudaResult& result, const char* function);

}  // namespace actlayer::detail
