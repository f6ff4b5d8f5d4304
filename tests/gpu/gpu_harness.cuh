// tests/gpu/gpu_harness.cuh — what the GPU tests share: the skip when there is no device, a
// size cap for sanitizer runs, device arrays, and the "pool" trick that lets a 2^24-element
// result be checked against the CPU reference without evaluating the reference 2^24 times:
// element i of every input is pool[pool_index(i)], so its expected result is the reference's
// result for that pool entry.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <cuda_runtime.h>

#include "actlayer/buffer.hpp"
#include "common/numeric.hpp"

namespace actlayer::testing {

#define CUDA_OK(expr)                                                              \
  do {                                                                             \
    const cudaError_t err_ = (expr);                                               \
    ASSERT_EQ(err_, cudaSuccess) << #expr << ": " << cudaGetErrorName(err_) << " " \
                                 << cudaGetErrorString(err_);                      \
  } while (0)

/// GTEST_SKIP()s the calling test, with the reason, when no CUDA device is usable.
#define SKIP_WITHOUT_GPU()                                         \
  do {                                                             \
    int count_ = 0;                                                \
    const cudaError_t err_ = cudaGetDeviceCount(&count_);          \
    if (err_ != cudaSuccess || count_ == 0) {                      \
      (void)cudaGetLastError();                                    \
      GTEST_SKIP() << "no CUDA device (" << cudaGetErrorName(err_) \
                   << "): this GPU test did not run";              \
    }                                                              \
  } while (0)

/// The largest element count a test may use: ACTLAYER_TEST_MAX_N (sanitizer runs set it low),
/// else unlimited.
inline std::size_t max_test_n() {
  const char* env = std::getenv("ACTLAYER_TEST_MAX_N");
  return env ? static_cast<std::size_t>(std::strtoull(env, nullptr, 10)) : ~std::size_t{0};
}

/// Runs f(begin, end) over [0, n) on all hardware threads.
template <class F>
void parallel_for(std::size_t n, F f) {
  const std::size_t workers = std::max(1u, std::thread::hardware_concurrency());
  const std::size_t chunk = (n + workers - 1) / workers;
  std::vector<std::thread> threads;
  for (std::size_t b = 0; b < n; b += chunk) threads.emplace_back(f, b, std::min(n, b + chunk));
  for (auto& t : threads) t.join();
}

// ---- The pool ------------------------------------------------------------------------------

constexpr std::size_t kPool = 4099;  // prime: indexing bugs land on different entries

__host__ __device__ inline std::size_t pool_index(std::size_t i) {
  std::uint64_t h = static_cast<std::uint64_t>(i) * 0x9E3779B97F4A7C15ull;
  h ^= h >> 31;
  return static_cast<std::size_t>(h % kPool);
}

template <class T>
__global__ void gather_kernel(const T* pool, T* out, std::size_t n) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    out[i] = pool[pool_index(i)];
  }
}

/// A device array with its own cudaMalloc (independent of the library's Buffer).
template <class T>
class DeviceArray {
 public:
  explicit DeviceArray(std::size_t n) : n_(n) {
    if (cudaMalloc(&p_, std::max<std::size_t>(1, n) * sizeof(T)) != cudaSuccess) p_ = nullptr;
  }
  ~DeviceArray() { cudaFree(p_); }
  DeviceArray(DeviceArray&& o) noexcept : p_(o.p_), n_(o.n_) { o.p_ = nullptr; }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  T* get() const { return p_; }
  std::size_t size() const { return n_; }
  explicit operator bool() const { return p_ != nullptr; }

 private:
  T* p_ = nullptr;
  std::size_t n_ = 0;
};

/// dst[i] = pool[pool_index(i)] for i < n, on the device.
template <class T>
void gather(const std::vector<T>& pool, T* dst, std::size_t n, cudaStream_t stream = nullptr) {
  DeviceArray<T> d_pool(pool.size());
  ASSERT_TRUE(d_pool);
  // On `stream` itself: a pageable cudaMemcpy may return before its DMA lands, and a
  // non-blocking stream would not wait for it.
  CUDA_OK(cudaMemcpyAsync(d_pool.get(), pool.data(), pool.size() * sizeof(T),
                          cudaMemcpyHostToDevice, stream));
  if (n > 0) {
    const unsigned blocks = static_cast<unsigned>(std::min<std::size_t>((n + 255) / 256, 4096));
    gather_kernel<<<blocks, 256, 0, stream>>>(d_pool.get(), dst, n);
    CUDA_OK(cudaGetLastError());
  }
  CUDA_OK(cudaStreamSynchronize(stream));
}

/// Host data copied `offset` elements into a device allocation (16-byte misaligned for odd
/// offsets); the pointer to its first element.
template <class T>
T* upload_at(DeviceArray<T>& d, const std::vector<T>& host, std::size_t offset = 0) {
  if (!host.empty()) {
    EXPECT_EQ(
        cudaMemcpy(d.get() + offset, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice),
        cudaSuccess);
  }
  return d.get() + offset;
}

template <class T>
std::vector<T> download(const T* src, std::size_t n) {
  std::vector<T> out(n);
  if (n > 0) {
    EXPECT_EQ(cudaMemcpy(out.data(), src, n * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
  }
  return out;
}

}  // namespace actlayer::testing
