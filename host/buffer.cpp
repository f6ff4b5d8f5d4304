// Buffer<T>'s memory management, and the exceptions of the layer API.
#include "actlayer/buffer.hpp"

#include <cstring>
#include <limits>
#include <new>

#include "common/validate.hpp"

namespace actlayer {

namespace {

constexpr std::align_val_t kHostAlignment{64};

/// "<function>: <call> failed with <name> (<text>) at host/buffer.cpp:<line>".
[[noreturn]] void throw_cuda(const char* function, cudaError_t error, const char* call, int line) {
  throw Error(Status::cuda_error,
              detail::format("%s: %s failed with %s (%s) at host/buffer.cpp:%d", function, call,
                             cudaGetErrorName(error), cudaGetErrorString(error), line));
}

#define ACTLAYER_CUDA_THROW(function, expr)                 \
  do {                                                      \
    const cudaError_t actlayer_err_ = (expr);               \
    if (actlayer_err_ != cudaSuccess) {                     \
      throw_cuda(function, actlayer_err_, #expr, __LINE__); \
    }                                                       \
  } while (0)

}  // namespace

const char* to_string(Device device) noexcept {
  switch (device) {
    case Device::cpu:
      return "cpu";
    case Device::cuda:
      return "cuda";
  }
  return "unknown Device";
}

bool cuda_available() noexcept {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    (void)cudaGetLastError();  // leave no error behind for the caller's next check
    return false;
  }
  return count > 0;
}

void throw_if_failed(Status status) {
  if (status != Status::success) throw Error(status, last_error());
}

namespace detail {

int current_cuda_device(const char* who) {
  int device = -1;
  const cudaError_t e = cudaGetDevice(&device);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();  // leave no error behind for the caller's next check
    throw Error(Status::cuda_error,
                format("%s: no CUDA device (cudaGetDevice failed with %s: %s); pass Device::cpu "
                       "to run on the CPU",
                       who, cudaGetErrorName(e), cudaGetErrorString(e)));
  }
  return device;
}

void* buffer_allocate(std::size_t n, std::size_t size, Device device, cudaStream_t stream,
                      int* cuda_device) {
  if (n == 0) return nullptr;
  if (n > std::numeric_limits<std::size_t>::max() / size) {
    throw Error(Status::invalid_argument,
                format("Buffer: n = %zu elements of %zu bytes overflows size_t", n, size));
  }
  const std::size_t bytes = n * size;
  if (device == Device::cpu) return ::operator new(bytes, kHostAlignment);
  *cuda_device = current_cuda_device("Buffer");
  void* p = nullptr;
  ACTLAYER_CUDA_THROW("Buffer", cudaMallocAsync(&p, bytes, stream));
  return p;
}

void buffer_free(void* p, Device device, cudaStream_t stream, int cuda_device) noexcept {
  if (p == nullptr) return;
  if (device == Device::cpu) {
    ::operator delete(p, kHostAlignment);
    return;
  }
  // Free on the device the memory came from, whatever device is current now.
  int current = -1;
  const bool switched = cudaGetDevice(&current) == cudaSuccess && current != cuda_device &&
                        cudaSetDevice(cuda_device) == cudaSuccess;
  (void)cudaFreeAsync(p, stream);  // a destructor cannot report; the memory is lost either way
  if (switched) (void)cudaSetDevice(current);
}

void check_buffer_copy(const char* function, const char* host_name, const void* host,
                       std::size_t count, std::size_t size, bool moved_from) {
  if (moved_from) {
    throw Error(Status::invalid_argument,
                format("%s: the buffer is a moved-from Buffer (it owns no elements)", function));
  }
  if (count != size) {
    throw Error(
        Status::invalid_argument,
        format("%s: count = %zu does not match the buffer's size %zu", function, count, size));
  }
  if (host == nullptr && count > 0) {
    throw Error(Status::invalid_argument,
                format("%s: %s is null (%zu elements)", function, host_name, count));
  }
}

void buffer_copy(const char* function, void* dst, const void* src, std::size_t bytes,
                 Device buffer_device, bool to_buffer, cudaStream_t stream) {
  if (bytes == 0) return;
  if (buffer_device == Device::cpu) {
    std::memcpy(dst, src, bytes);
    return;
  }
  ACTLAYER_CUDA_THROW(
      function,
      cudaMemcpyAsync(dst, src, bytes, to_buffer ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost,
                      stream));
  if (!to_buffer) ACTLAYER_CUDA_THROW(function, cudaStreamSynchronize(stream));
}

}  // namespace detail
}  // namespace actlayer
