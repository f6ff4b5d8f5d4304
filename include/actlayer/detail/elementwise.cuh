// actlayer/detail/elementwise.cuh — the one elementwise loop of actlayer.
//
// Public because it is header-only: the built-in ops instantiate it in the library, and
// custom_forward/custom_backward (custom.cuh) instantiate it in your translation unit for your
// own functor. Not an API of its own: call it through those.
//
// Every elementwise pass (forward, backward, backward from the output, for every op and dtype)
// is this kernel with a different Body. A Body computes the results of W consecutive elements
// from their K widened inputs; the loop does everything else: 16-byte loads and stores where
// the pointers allow, the scalar head and tail, size_t indexing, the blend, and the single
// rounding to the storage type.
//
// ---- Bandwidth arithmetic ----------------------------------------------------------------
// An elementwise pass is memory-bound. Forward moves 2 streams of n elements (read x, write y),
// backward 3 (read x or y, read dy, write dx); a blend with beta != 0 reads the output too.
// On an H100 SXM (HBM3, ~3.35 TB/s peak, ~3.0 TB/s reached by a device-to-device copy) a float
// forward over 2^28 elements moves 2 GiB: >= ~0.7 ms. Even sigmoid's few dozen instructions
// per element are far below what the SMs issue in that time, so the kernel's job is to keep
// enough bytes in flight: by Little's law ~3 TB/s x ~0.7 us ~ 2 MB, ~16 KB per SM. A full SM
// (2048 threads) with one 16-byte load per thread per stream has 32 KB in flight; kUnroll = 2
// independent vectors per thread doubles that, as headroom for lower occupancy.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <cuda_runtime.h>

#include "actlayer/activation.hpp"
#include "actlayer/detail/blend.hpp"
#include "actlayer/detail/cuda_result.hpp"
#include "actlayer/detail/elementwise_plan.hpp"
#include "actlayer/detail/launch.cuh"
#include "actlayer/element.hpp"
#include "actlayer/ops.cuh"

namespace actlayer::detail {

/// Elements per 16-byte vector: 4 float, 2 double, 8 half or bfloat16.
template <class T>
constexpr int kVecWidth = 16 / static_cast<int>(sizeof(T));

/// Elements a Body takes at a time in the aligned part: its kChunkElements if it says (a whole
/// number of 16-byte vectors; RReLU wants 4 per Philox draw, two vectors of double), else one
/// vector.
template <class T, class Body, class = void>
struct ChunkElements : std::integral_constant<int, kVecWidth<T>> {};
template <class T, class Body>
struct ChunkElements<T, Body, std::void_t<decltype(Body::kChunkElements)>>
    : std::integral_constant<int, Body::kChunkElements> {
  static_assert(Body::kChunkElements % kVecWidth<T> == 0, "a chunk is whole 16-byte vectors");
};

/// W consecutive elements in registers. Loaded and stored as 16-byte vectors when W fills
/// them (the pointer is then 16-byte aligned), as scalars when W = 1.
template <class T, int W>
struct Chunk {
  T v[W];
};

template <class T>
struct alignas(16) Vector16 {
  T v[kVecWidth<T>];
};

/// Where each stream's element of index i lies. Flat: at i, for every stream.
struct Flat {
  static constexpr unsigned kRowStreams = 0;
  static constexpr std::size_t row() { return 0; }
  ACTLAYER_HD std::size_t packed(std::size_t i) const { return i; }
};

/// The gated layouts: the streams whose bit is set in RowStreams (inputs 0..K-1, then outputs
/// K..K+M-1) are packed rows, read at RowGeometry::packed(i); the others at i.
template <unsigned RowStreams>
struct Rows : RowGeometry {
  static constexpr unsigned kRowStreams = RowStreams;
  std::size_t row() const { return rows.d; }
};

/// The kernel's arguments: K input streams, M outputs, the split of [0, n), the blend, and the
/// streams' geometry.
template <class T, int K, int M = 1, class Geometry = Flat>
struct ElementwiseArgs {
  T* out[M];
  const T* in[K];
  ElementwiseSplit split;
  float alpha;
  float beta;
  Geometry geometry;
};

// ============================================================================================
// Device side
// ============================================================================================

template <class T, int W>
__device__ __forceinline__ Chunk<T, W> load_chunk(const T* p) {
  Chunk<T, W> c;
  if constexpr (W == 1) {
    c.v[0] = *p;
  } else {
    constexpr int V = kVecWidth<T>;
#pragma unroll
    for (int k = 0; k < W / V; ++k) {
      const Vector16<T> piece = *reinterpret_cast<const Vector16<T>*>(p + k * V);
#pragma unroll
      for (int j = 0; j < V; ++j) c.v[k * V + j] = piece.v[j];
    }
  }
  return c;
}

template <class T, int W>
__device__ __forceinline__ void store_chunk(T* p, const Chunk<T, W>& c) {
  if constexpr (W == 1) {
    *p = c.v[0];
  } else {
    constexpr int V = kVecWidth<T>;
#pragma unroll
    for (int k = 0; k < W / V; ++k) {
      Vector16<T> piece;
#pragma unroll
      for (int j = 0; j < V; ++j) piece.v[j] = c.v[k * V + j];
      *reinterpret_cast<Vector16<T>*>(p + k * V) = piece;
    }
  }
}

/// U chunks of W elements, at element indices i, i + step, ..., i + (U-1)*step: every load is
/// issued before the first result is computed. A Body with one output fills r[W], with M > 1
/// r[M][W].
template <int W, int U, class T, int K, int M, class G, class Body>
__device__ __forceinline__ void run_chunks(const ElementwiseArgs<T, K, M, G>& s, const Body& body,
                                           std::size_t i, std::size_t step) {
  using F = compute_t<T>;
  Chunk<T, W> in[U][K];
  Chunk<T, W> old[U][M];
  std::size_t packed[U];
#pragma unroll
  for (int u = 0; u < U; ++u) {
    packed[u] = s.geometry.packed(i + u * step);  // once per chunk: a chunk lies in one row
#pragma unroll
    for (int k = 0; k < K; ++k) {
      const bool row = G::kRowStreams >> k & 1u;
      in[u][k] = load_chunk<T, W>(s.in[k] + (row ? packed[u] : i + u * step));
    }
  }
  if (s.beta != 0.0f) {  // beta == 0 never reads the outputs
#pragma unroll
    for (int u = 0; u < U; ++u) {
#pragma unroll
      for (int m = 0; m < M; ++m) {
        const bool row = G::kRowStreams >> (K + m) & 1u;
        old[u][m] = load_chunk<T, W>(s.out[m] + (row ? packed[u] : i + u * step));
      }
    }
  }
#pragma unroll
  for (int u = 0; u < U; ++u) {
    F a[K][W];
#pragma unroll
    for (int k = 0; k < K; ++k) {
#pragma unroll
      for (int j = 0; j < W; ++j) a[k][j] = ops::widen(in[u][k].v[j]);
    }
    F r[M][W];
    if constexpr (M == 1) {
      body(i + u * step, a, r[0]);
    } else {
      body(i + u * step, a, r);
    }
#pragma unroll
    for (int m = 0; m < M; ++m) {
      Chunk<T, W> result;
#pragma unroll
      for (int j = 0; j < W; ++j) {
        result.v[j] = blend_result(r[m][j], s.alpha, s.beta, old[u][m].v[j]);
      }
      const bool row = G::kRowStreams >> (K + m) & 1u;
      store_chunk<T, W>(s.out[m] + (row ? packed[u] : i + u * step), result);
    }
  }
}

template <class T, int K, int M, class G, class Body>
__global__ void __launch_bounds__(kThreads)
    elementwise_kernel(const ElementwiseArgs<T, K, M, G> s, const Body body) {
  constexpr int V = ChunkElements<T, Body>::value;
  walk_elementwise<V>(
      s.split, static_cast<std::size_t>(blockIdx.x) * kThreads + threadIdx.x,
      static_cast<std::size_t>(gridDim.x) * kThreads,
      [&](std::size_t i, std::size_t step) { run_chunks<V, kUnroll>(s, body, i, step); },
      [&](std::size_t i) { run_chunks<V, 1>(s, body, i, 0); },
      [&](std::size_t i) { run_chunks<1, 1>(s, body, i, 0); });
}

// ============================================================================================
// Host side
// ============================================================================================

constexpr int kMaxCachedDevices = 64;

/// How many 256-thread blocks the current device holds at once (SMs x max threads per SM /
/// 256), cached per device id. Only device attributes: no occupancy query, which could load a
/// module lazily and is not a call to make inside a stream capture. A kernel whose registers
/// allow fewer blocks per SM just runs its grid-stride loop in a few more waves. Safe from
/// several threads: a race only computes the value twice.
inline CudaResult resident_blocks(unsigned* blocks) {
  static std::atomic<unsigned> cache[kMaxCachedDevices] = {};
  int device = 0;
  ACTLAYER_CUDA_RESULT(cudaGetDevice(&device));
  if (device < kMaxCachedDevices) {
    *blocks = cache[device].load(std::memory_order_relaxed);
    if (*blocks != 0) return {};
  }
  int sms = 0;
  int threads_per_sm = 0;
  ACTLAYER_CUDA_RESULT(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  ACTLAYER_CUDA_RESULT(
      cudaDeviceGetAttribute(&threads_per_sm, cudaDevAttrMaxThreadsPerMultiProcessor, device));
  *blocks = static_cast<unsigned>(std::max(1, sms * std::max(1, threads_per_sm / kThreads)));
  if (device < kMaxCachedDevices) cache[device].store(*blocks, std::memory_order_relaxed);
  return {};
}

/// out[m][i] = alpha * body(i, in[0][i], ..., in[K-1][i])[m] + beta * out[m][i] for i < n
/// (n > 0), each stream indexed through `geometry`.
template <class T, int K, int M, class Body, class Geometry = Flat>
CudaResult launch_elementwise(const Body& body, const std::array<T*, M>& out,
                              const std::array<const T*, K>& in, std::size_t n, cudaStream_t stream,
                              Blend blend, Geometry geometry = {}) {
  unsigned resident = 0;
  const CudaResult sized = resident_blocks(&resident);
  if (!sized.ok()) return sized;
  ElementwiseArgs<T, K, M, Geometry> s{};
  std::uintptr_t addresses[K + M] = {};
  for (int k = 0; k < K; ++k) {
    s.in[k] = in[k];
    addresses[k] = reinterpret_cast<std::uintptr_t>(in[k]);
  }
  for (int m = 0; m < M; ++m) {
    s.out[m] = out[m];
    addresses[K + m] = reinterpret_cast<std::uintptr_t>(out[m]);
  }
  s.split = split_elementwise(addresses, K + M, n, sizeof(T), ChunkElements<T, Body>::value,
                              resident, geometry.row());
  s.alpha = blend.alpha;
  s.beta = blend.beta;
  s.geometry = geometry;
  return launch_checked(elementwise_kernel<T, K, M, Geometry, Body>, s.split.blocks, kThreads,
                        stream, s, body);
}

/// out[i] = alpha * body(i, in[0][i], ..., in[K-1][i]) + beta * out[i] for i < n (n > 0).
template <class T, int K, class Body>
CudaResult launch_elementwise(const Body& body, T* out, const std::array<const T*, K>& in,
                              std::size_t n, cudaStream_t stream, Blend blend) {
  return launch_elementwise<T, K, 1>(body, std::array<T*, 1>{out}, in, n, stream, blend);
}

// ============================================================================================
// The bodies of the three passes, for any ops.cuh-shaped functor
// ============================================================================================

template <class Op>
struct ForwardBody {
  Op op;
  template <int W, class F>
  __device__ __forceinline__ void operator()(std::size_t, const F (&in)[1][W], F (&r)[W]) const {
#pragma unroll
    for (int j = 0; j < W; ++j) r[j] = op.value(in[0][j]);
  }
};

template <class Op>
struct BackwardBody {
  Op op;
  template <int W, class F>
  __device__ __forceinline__ void operator()(std::size_t, const F (&in)[2][W], F (&r)[W]) const {
#pragma unroll
    for (int j = 0; j < W; ++j) r[j] = ops::backward(op, in[0][j], in[1][j]);
  }
};

template <class Op>
struct BackwardFromOutputBody {
  Op op;
  template <int W, class F>
  __device__ __forceinline__ void operator()(std::size_t, const F (&in)[2][W], F (&r)[W]) const {
#pragma unroll
    for (int j = 0; j < W; ++j) r[j] = ops::backward_from_output(op, in[0][j], in[1][j]);
  }
};

}  // namespace actlayer::detail
