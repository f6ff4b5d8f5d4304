// host/cuda_status.hpp — turns the CUDA layer's CudaResult into a Status and a last_error()
// message naming the failed call with file:line. Internal.
#pragma once

#include "actlayer/detail/calls.hpp"  // declares launched()
#include "../cuda/launch.hpp"
