// actlayer/buffer.hpp — errors as exceptions, and Buffer<T>: n elements owned on the CPU or a
// CUDA device.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <cuda_runtime_api.h>

#include "actlayer/activation.hpp"

namespace actlayer {

/// Where a Buffer lives. Layers run the CUDA kernels on Device::cuda buffers and the CPU
/// backend (cpu.hpp) on Device::cpu buffers.
enum class Device { cpu, cuda };

/// "cpu" or "cuda".
const char* to_string(Device device) noexcept;

/// True when the CUDA runtime sees at least one device.
bool cuda_available() noexcept;

/// The exception the layers and buffers throw: a Status and a message that names the argument
/// that was wrong, or the CUDA call that failed with its file:line. (A failed CPU allocation
/// throws std::bad_alloc, as new does.)
class Error : public std::runtime_error {
 public:
  Error(Status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  Status status() const noexcept { return status_; }

 private:
  Status status_;
};

/// Throws Error(status, last_error()) unless status is success.
void throw_if_failed(Status status);

namespace detail {
/// The CUDA device current on this thread, or an Error(cuda_error) "<who>: no CUDA device
/// (cudaGetDevice failed with ...); pass Device::cpu to run on the CPU" (the CUDA error is
/// cleared).
int current_cuda_device(const char* who);
/// n elements of `size` bytes (an Error if n * size overflows); nullptr when n == 0.
void* buffer_allocate(std::size_t n, std::size_t size, Device device, cudaStream_t stream,
                      int* cuda_device);
void buffer_free(void* p, Device device, cudaStream_t stream, int cuda_device) noexcept;
/// Copies bytes between host memory and a buffer; synchronises `stream` when the destination
/// is host memory (so the data is there on return). `function` names the caller in errors.
void buffer_copy(const char* function, void* dst, const void* src, std::size_t bytes,
                 Device buffer_device, bool to_buffer, cudaStream_t stream);
/// Throws unless the buffer is live (not moved-from), count == size and `host` is non-null
/// when count > 0.
void check_buffer_copy(const char* function, const char* host_name, const void* host,
                       std::size_t count, std::size_t size, bool moved_from);
}  // namespace detail

/// n elements of a trivially copyable T, owned on the CPU or on the CUDA device that was current
/// at construction. Move-only; the destructor never throws.
///
/// Empty and moved-from are different things. A buffer constructed with n = 0 (or
/// default-constructed) is a valid empty tensor: the layers accept it and do nothing. A buffer
/// that was moved from is marked moved_from() (size 0, no data) until something is assigned to
/// it: the layers and the copies refuse it, since using it is a bug.
///
/// CUDA buffers are allocated stream-ordered (cudaMallocAsync) on `stream` and freed the same
/// way, so the stream must outlive the buffer. Contents start uninitialised.
///
/// @code
///   actlayer::Buffer<float> x = actlayer::Buffer<float>::from_host(values,
///   actlayer::Device::cuda); std::vector<float> back = x.to_host();
/// @endcode
template <class T>
class Buffer {
  static_assert(std::is_trivially_copyable_v<T>, "Buffer<T> needs a trivially copyable T");

 public:
  Buffer() = default;
  explicit Buffer(std::size_t n, Device device = Device::cuda, cudaStream_t stream = nullptr)
      : size_(n), device_(device), stream_(stream) {
    data_ = static_cast<T*>(detail::buffer_allocate(n, sizeof(T), device, stream, &cuda_device_));
  }
  /// A buffer holding a copy of `values`.
  static Buffer from_host(const std::vector<T>& values, Device device = Device::cuda,
                          cudaStream_t stream = nullptr) {
    Buffer b(values.size(), device, stream);
    b.copy_from_host(values.data(), values.size());
    return b;
  }

  Buffer(Buffer&& other) noexcept {
    swap(other);
    other.moved_from_ = true;
  }
  Buffer& operator=(Buffer&& other) noexcept {
    Buffer(std::move(other)).swap(*this);
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { detail::buffer_free(data_, device_, stream_, cuda_device_); }

  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  Device device() const noexcept { return device_; }
  cudaStream_t stream() const noexcept { return stream_; }
  /// True after this buffer was moved from (and until another buffer is assigned to it).
  bool moved_from() const noexcept { return moved_from_; }

  /// Copies count == size() elements from host memory, enqueued on stream() for CUDA buffers.
  /// From pageable memory `src` may be reused on return; from pinned memory the copy is
  /// asynchronous: keep `src` until stream() has passed it. An Error (invalid_argument) for a
  /// moved-from buffer, count != size() or a null `src` with count > 0.
  void copy_from_host(const T* src, std::size_t count) {
    const char* const fn = "Buffer::copy_from_host";
    detail::check_buffer_copy(fn, "src", src, count, size_, moved_from_);
    detail::buffer_copy(fn, data_, src, count * sizeof(T), device_, true, stream_);
  }
  /// Copies count == size() elements to host memory; waits for stream() first. Errors as
  /// copy_from_host (with `dst`).
  void copy_to_host(T* dst, std::size_t count) const {
    const char* const fn = "Buffer::copy_to_host";
    detail::check_buffer_copy(fn, "dst", dst, count, size_, moved_from_);
    detail::buffer_copy(fn, dst, data_, count * sizeof(T), device_, false, stream_);
  }
  std::vector<T> to_host() const {
    std::vector<T> out(size_);
    copy_to_host(out.data(), size_);
    return out;
  }

  void swap(Buffer& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(device_, other.device_);
    std::swap(stream_, other.stream_);
    std::swap(cuda_device_, other.cuda_device_);
    std::swap(moved_from_, other.moved_from_);
  }

 private:
  T* data_ = nullptr;
  std::size_t size_ = 0;
  Device device_ = Device::cpu;
  cudaStream_t stream_ = nullptr;
  int cuda_device_ = -1;
  bool moved_from_ = false;
};

}  // namespace actlayer
