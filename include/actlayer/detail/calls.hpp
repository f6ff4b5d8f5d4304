// actlayer/detail/calls.hpp — the library's argument checking and CUDA error reporting, for the
// header-only entry points (custom activations). Not an API of its own.
#pragma once

#include <cstddef>

#include "actlayer/activation.hpp"
#include "actlayer/detail/cuda_result.hpp"

namespace actlayer::detail {

/// The checks every elementwise call makes: blend finite; each of the `count` inputs and the
/// output non-null when n > 0, aligned to the element, without address or size overflow; the
/// output equal to or disjoint from each input. Records last_error() on failure.
Status check_elementwise_call(const char* function, const void* const* inputs,
                              const char* const* input_names, int count, const void* output,
                              const char* output_name, std::size_t n, std::size_t element_size,
                              Blend blend);

/// success, or cuda_error with "<function>: <call> failed with <error> (<text>) at <file>:<line>".
Status launched(const CudaResult& result, const char* function);

/// The end of every CUDA entry point: the checks' Status when they failed or there are no
/// elements, else the launch's, as a Status. `n` is taken by reference and read here, after the
/// checks ran: a check may set it (shape calls), and the order in which a call's arguments are
/// evaluated is unspecified (with `n > 0` as an argument GCC read n before the check set it).
template <class Launch>
Status checked_launch(const char* function, Status checked, const std::size_t& n, Launch&& launch) {
  if (checked != Status::success || n == 0) return checked;
  return launched(launch(), function);
}

}  // namespace actlayer::detail
