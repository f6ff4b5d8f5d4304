// The raw CUDA entry points of actlayer/cuda.hpp: check the arguments, then launch.
#include <cstring>
#include <string>

#include "actlayer/cuda.hpp"
#include "actlayer/detail/instantiate.hpp"
#include "common/checks.hpp"
#include "common/validate.hpp"
#include "actlayer/detail/calls.hpp"
#include "../cuda/launch.hpp"

namespace actlayer {
namespace detail {

Status launched(const CudaResult& result, const char* function) {
  if (result.ok()) return Status::success;
  // The file relative to the source tree: actlayer/detail/elementwise.cuh, cuda/prelu.cuh.
  std::string file = result.file;
  for (const char* root : {"/include/", "/cuda/", "/host/"}) {
    const std::size_t at = file.rfind(root);
    if (at != std::string::npos) {
      file = file.substr(at + (std::string(root) == "/include/" ? std::strlen(root) : 1));
      break;
    }
  }
  return fail(Status::cuda_error,
              format("%s: %s failed with %s (%s) at %s:%d", function, result.call,
                     cudaGetErrorName(result.error), cudaGetErrorString(result.error), file.c_str(),
                     result.line));
}

}  // namespace detail

using namespace detail;  // the checks

template <class T, class>
Status forward(const Activation& act, const T* x, T* y, std::size_t n, cudaStream_t stream,
               Blend blend) {
  const char* const fn = "actlayer::forward";
  return checked_launch(fn, check_forward(fn, Memory::device, act, x, y, n, blend), n,
                        [&] { return cuda_impl::launch_forward(act, x, y, n, stream, blend); });
}

template <class T, class>
Status backward(const Activation& act, const T* x, const T* dy, T* dx, std::size_t n,
                cudaStream_t stream, Blend blend) {
  const char* const fn = "actlayer::backward";
  return checked_launch(
      fn, check_backward(fn, Memory::device, Pass::backward, act, x, dy, dx, n, blend), n,
      [&] { return cuda_impl::launch_backward(act, x, dy, dx, n, stream, blend); });
}

template <class T, class>
Status backward_from_output(const Activation& act, const T* y, const T* dy, T* dx, std::size_t n,
                            cudaStream_t stream, Blend blend) {
  const char* const fn = "actlayer::backward_from_output";
  return checked_launch(
      fn, check_backward(fn, Memory::device, Pass::backward_from_output, act, y, dy, dx, n, blend),
      n, [&] { return cuda_impl::launch_backward_from_output(act, y, dy, dx, n, stream, blend); });
}

template <class T, class>
Status rrelu_forward_save_noise(const Activation& act, const T* x, T* y, float* noise,
                                std::size_t n, cudaStream_t stream, Blend blend) {
  const char* const fn = "actlayer::rrelu_forward_save_noise";
  return checked_launch(
      fn, check_save_noise(fn, Memory::device, act, x, y, noise, n, blend), n,
      [&] { return cuda_impl::launch_rrelu_forward(act, x, y, noise, n, stream, blend); });
}

template <class T, class>
Status rrelu_backward_saved_noise(const float* noise, const T* dy, T* dx, std::size_t n,
                                  cudaStream_t stream, Blend blend) {
  const char* const fn = "actlayer::rrelu_backward_saved_noise";
  return checked_launch(fn, check_saved_noise_backward(fn, noise, dy, dx, n, blend), n, [&] {
    return cuda_impl::launch_rrelu_backward_saved(noise, dy, dx, n, stream, blend);
  });
}

template <class T, class>
Status forward_with_mask(const Activation& act, const T* x, T* y, std::uint32_t* mask,
                         std::size_t n, cudaStream_t stream, Blend blend) {
  const char* const fn = "actlayer::forward_with_mask";
  return checked_launch(fn, check_forward_with_mask(fn, act, x, y, mask, n, blend), n, [&] {
    return cuda_impl::launch_forward_with_mask(act, x, y, mask, n, stream, blend);
  });
}

template <class T, class>
Status backward_from_mask(const Activation& act, const std::uint32_t* mask, const T* dy, T* dx,
                          std::size_t n, cudaStream_t stream, Blend blend) {
  const char* const fn = "actlayer::backward_from_mask";
  return checked_launch(fn, check_backward_from_mask(fn, act, mask, dy, dx, n, blend), n, [&] {
    return cuda_impl::launch_backward_from_mask(act, mask, dy, dx, n, stream, blend);
  });
}

ACTLAYER_ENTRY_POINTS(cuda_api_entry_points, &forward<T>, &backward<T>, &backward_from_output<T>,
                      &rrelu_forward_save_noise<T>, &rrelu_backward_saved_noise<T>,
                      &forward_with_mask<T>, &backward_from_mask<T>)
ACTLAYER_INSTANTIATE_FOR_EACH_ELEMENT(cuda_api_entry_points)

Status rrelu_advance_offset(std::uint64_t* device_offset, cudaStream_t stream) {
  const char* const fn = "actlayer::rrelu_advance_offset";
  const Status s = detail::ArgCheck(fn).output("device_offset", device_offset, 1).status();
  if (s != Status::success) return s;
  return detail::launched(cuda_impl::launch_rrelu_advance(device_offset, stream), fn);
}

}  // namespace actlayer
