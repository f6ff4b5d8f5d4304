// The raw CUDA entry points of actlayer/cuda.hpp: check the arguments, then launch.
#include <cstring>
#include <string>

#include "actlayer/cuda.hpp"
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

template <class T>
Status forward_impl(const Activation& act, const T* x, T* y, std::size_t n, cudaStream_t stream,
                    Blend blend) {
  const char* const fn = "actlayer::forward";
  const Status s = check_forward(fn, Memory::device, act, x, y, n, blend);
  if (s != Status::success || n == 0) return s;
  return launched(cuda_impl::launch_forward(act, x, y, n, stream, blend), fn);
}

template <class T>
Status backward_impl(const Activation& act, const T* x, const T* dy, T* dx, std::size_t n,
                     cudaStream_t stream, Blend blend) {
  const char* const fn = "actlayer::backward";
  const Status s = check_backward(fn, Memory::device, Pass::backward, act, x, dy, dx, n, blend);
  if (s != Status::success || n == 0) return s;
  return launched(cuda_impl::launch_backward(act, x, dy, dx, n, stream, blend), fn);
}

template <class T>
Status backward_from_output_impl(const Activation& act, const T* y, const T* dy, T* dx,
                                 std::size_t n, cudaStream_t stream, Blend blend) {
  const char* const fn = "actlayer::backward_from_output";
  const Status s =
      check_backward(fn, Memory::device, Pass::backward_from_output, act, y, dy, dx, n, blend);
  if (s != Status::success || n == 0) return s;
  return launched(cuda_impl::launch_backward_from_output(act, y, dy, dx, n, stream, blend), fn);
}

template <class T>
Status rrelu_forward_save_noise_impl(const Activation& act, const T* x, T* y, float* noise,
                                     std::size_t n, cudaStream_t stream, Blend blend) {
  const char* const fn = "actlayer::rrelu_forward_save_noise";
  const Status s = check_save_noise(fn, Memory::device, act, x, y, noise, n, blend);
  if (s != Status::success || n == 0) return s;
  return launched(cuda_impl::launch_rrelu_forward(act, x, y, noise, n, stream, blend), fn);
}

template <class T>
Status rrelu_backward_saved_noise_impl(const float* noise, const T* dy, T* dx, std::size_t n,
                                       cudaStream_t stream, Blend blend) {
  const char* const fn = "actlayer::rrelu_backward_saved_noise";
  const Status s = check_saved_noise_backward(fn, noise, dy, dx, n, blend);
  if (s != Status::success || n == 0) return s;
  return launched(cuda_impl::launch_rrelu_backward_saved(noise, dy, dx, n, stream, blend), fn);
}

template <class T>
Status forward_with_mask_impl(const Activation& act, const T* x, T* y, std::uint32_t* mask,
                              std::size_t n, cudaStream_t stream, Blend blend) {
  const char* const fn = "actlayer::forward_with_mask";
  const Status s = check_forward_with_mask(fn, act, x, y, mask, n, blend);
  if (s != Status::success || n == 0) return s;
  return launched(cuda_impl::launch_forward_with_mask(act, x, y, mask, n, stream, blend), fn);
}

template <class T>
Status backward_from_mask_impl(const Activation& act, const std::uint32_t* mask, const T* dy, T* dx,
                               std::size_t n, cudaStream_t stream, Blend blend) {
  const char* const fn = "actlayer::backward_from_mask";
  const Status s = check_backward_from_mask(fn, act, mask, dy, dx, n, blend);
  if (s != Status::success || n == 0) return s;
  return launched(cuda_impl::launch_backward_from_mask(act, mask, dy, dx, n, stream, blend), fn);
}

#define ACTLAYER_INSTANTIATE(T)                                                                 \
  template Status forward_with_mask_impl<T>(const Activation&, const T*, T*, std::uint32_t*,    \
                                            std::size_t, cudaStream_t, Blend);                  \
  template Status backward_from_mask_impl<T>(const Activation&, const std::uint32_t*, const T*, \
                                             T*, std::size_t, cudaStream_t, Blend);             \
  template Status rrelu_forward_save_noise_impl<T>(const Activation&, const T*, T*, float*,     \
                                                   std::size_t, cudaStream_t, Blend);           \
  template Status rrelu_backward_saved_noise_impl<T>(const float*, const T*, T*, std::size_t,   \
                                                     cudaStream_t, Blend);                      \
  template Status forward_impl<T>(const Activation&, const T*, T*, std::size_t, cudaStream_t,   \
                                  Blend);                                                       \
  template Status backward_impl<T>(const Activation&, const T*, const T*, T*, std::size_t,      \
                                   cudaStream_t, Blend);                                        \
  template Status backward_from_output_impl<T>(const Activation&, const T*, const T*, T*,       \
                                               std::size_t, cudaStream_t, Blend);
ACTLAYER_INSTANTIATE(float)
ACTLAYER_INSTANTIATE(double)
ACTLAYER_INSTANTIATE(__half)
ACTLAYER_INSTANTIATE(__nv_bfloat16)
#undef ACTLAYER_INSTANTIATE

}  // namespace detail

Status rrelu_advance_offset(std::uint64_t* device_offset, cudaStream_t stream) {
  const char* const fn = "actlayer::rrelu_advance_offset";
  const Status s = detail::ArgCheck(fn).output("device_offset", device_offset, 1).status();
  if (s != Status::success) return s;
  return detail::launched(cuda_impl::launch_rrelu_advance(device_offset, stream), fn);
}

}  // namespace actlayer
