// actlayer_bench — bandwidth of every actlayer kernel against the copy roofline and the peers
// measured in the same process: cudaMemcpyAsync device-to-device at the same traffic,
// cub::DeviceTransform with the same ops.cuh functor, and cuDNN's activation calls where cuDNN
// was found. PyTorch is measured by compare_torch.py, which merges its numbers in.
//
// Method (bench/NOTES.md): CUDA events; 3 warm-up repetitions, then the median of `reps` (25);
// small sizes run `inner` back-to-back calls per repetition so the GPU never waits for the
// host; each call reads a different buffer set until the sets together exceed twice the L2,
// so nothing is served from cache. Inputs are pseudo-random in [-4, 4] (never zeros).
//
//   actlayer_bench [--json FILE] [--quick] [--reps N] [--max-log2 K (16..30, default 30)]
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include <cub/device/device_transform.cuh>
#include <cuda_runtime.h>
#if ACTLAYER_BENCH_CUDNN
#include <cudnn.h>
#endif

#include "actlayer/actlayer.hpp"
#include "actlayer/ops.cuh"

using namespace actlayer;

#define CHECK_CUDA(call)                                                                        \
  do {                                                                                          \
    const cudaError_t e_ = (call);                                                              \
    if (e_ != cudaSuccess) {                                                                    \
      std::fprintf(stderr, "%s failed: %s at %s:%d\n", #call, cudaGetErrorString(e_), __FILE__, \
                   __LINE__);                                                                   \
      std::exit(1);                                                                             \
    }                                                                                           \
  } while (0)

#define CHECK_ACT(call)                                             \
  do {                                                              \
    const Status s_ = (call);                                       \
    if (s_ != Status::success) {                                    \
      std::fprintf(stderr, "%s failed: %s\n", #call, last_error()); \
      std::exit(1);                                                 \
    }                                                               \
  } while (0)

namespace {

// ============================================================================================
// Timing
// ============================================================================================

struct Options {
  int reps = 25;
  int warmup = 3;
  int max_log2 = 30;
  bool quick = false;
  std::string json;
};
Options g_opt;
std::size_t g_l2_bytes = 0;

/// Median milliseconds per call of launch(set), `inner` calls per timed repetition, cycling
/// over `sets` buffer sets.
double time_ms(int sets, int inner, const std::function<void(int)>& launch) {
  cudaEvent_t start, stop;
  CHECK_CUDA(cudaEventCreate(&start));
  CHECK_CUDA(cudaEventCreate(&stop));
  std::vector<float> times;
  int call = 0;
  for (int rep = 0; rep < g_opt.warmup + g_opt.reps; ++rep) {
    CHECK_CUDA(cudaEventRecord(start));
    for (int k = 0; k < inner; ++k) launch(call++ % sets);
    CHECK_CUDA(cudaEventRecord(stop));
    CHECK_CUDA(cudaEventSynchronize(stop));
    float ms = 0;
    CHECK_CUDA(cudaEventElapsedTime(&ms, start, stop));
    if (rep >= g_opt.warmup) times.push_back(ms / inner);
  }
  CHECK_CUDA(cudaGetLastError());
  CHECK_CUDA(cudaEventDestroy(start));
  CHECK_CUDA(cudaEventDestroy(stop));
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

/// Back-to-back calls per repetition: enough work (~16M elements) that launch gaps vanish.
int inner_for(std::size_t n) {
  return static_cast<int>(
      std::clamp<std::size_t>((std::size_t{1} << 24) / std::max<std::size_t>(n, 1), 1, 64));
}

/// Buffer sets so that consecutive calls never find their data in L2.
int sets_for(std::size_t bytes_per_set) {
  return static_cast<int>(std::clamp<std::size_t>(
      2 * g_l2_bytes / std::max<std::size_t>(bytes_per_set, 1) + 1, 1, 256));
}

__global__ void empty_kernel() {}

// ============================================================================================
// Device buffers
// ============================================================================================

__device__ __forceinline__ float hash_to_float(std::uint64_t i, std::uint64_t seed) {
  std::uint64_t h = (i + seed) * 0x9E3779B97F4A7C15ull;
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 32;
  return static_cast<float>(h >> 40) * 0x1p-24f * 8.0f - 4.0f;  // [-4, 4)
}

template <class T>
__global__ void fill_kernel(T* p, std::size_t n, std::uint64_t seed) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    p[i] = ops::narrow<T>(static_cast<compute_t<T>>(hash_to_float(i, seed)));
  }
}

/// One allocation holding `sets` x `streams` arrays of n elements (+ padding for misaligned
/// runs), filled with random values.
template <class T>
struct Arena {
  T* base = nullptr;
  std::size_t stride = 0;  // elements per array
  int sets = 0, streams = 0;
  Arena(std::size_t n, int streams_, int sets_) : stride(n + 64), sets(sets_), streams(streams_) {
    CHECK_CUDA(cudaMalloc(&base, stride * sets * streams * sizeof(T)));
    fill_kernel<<<2048, 256>>>(base, stride * sets * streams, 12345);
    CHECK_CUDA(cudaGetLastError());
    CHECK_CUDA(cudaDeviceSynchronize());
  }
  ~Arena() { cudaFree(base); }
  Arena(const Arena&) = delete;
  T* at(int set, int stream, std::size_t offset = 0) const {
    return base + (static_cast<std::size_t>(set) * streams + stream) * stride + offset;
  }
};

// ============================================================================================
// Results
// ============================================================================================

struct Row {
  std::string op, dtype, pass;
  std::size_t n = 0;
  double bytes = 0;
  double ms = 0;         // actlayer
  double copy_ms = 0;    // cudaMemcpyAsync D2D at the same traffic
  double cub_ms = -1;    // cub::DeviceTransform with the same functor (-1: not measured)
  double cudnn_ms = -1;  // cuDNN (-1: no such mode)
  std::string note;
};
std::vector<Row> g_rows;
double g_copy_gbps = 0;
double g_empty_us = 0;

double gbps(double bytes, double ms) { return bytes / (ms * 1e6); }
std::string json_number(double v);  // below

/// Copy of bytes/2 (read + write = bytes), rotated like the kernels.
double copy_ms_for(double bytes) {
  const std::size_t half = static_cast<std::size_t>(bytes / 2);
  const int sets = sets_for(2 * half);
  char* buf = nullptr;
  CHECK_CUDA(cudaMalloc(&buf, 2 * half * sets + 256));
  const double ms = time_ms(sets, inner_for(half / 4), [&](int s) {
    CHECK_CUDA(cudaMemcpyAsync(buf + 2 * half * s + half, buf + 2 * half * s, half,
                               cudaMemcpyDeviceToDevice));
  });
  CHECK_CUDA(cudaFree(buf));
  return ms;
}

// ============================================================================================
// Peers: CUB and cuDNN
// ============================================================================================

template <class Op>
struct FwdFn {
  Op op;
  template <class T>
  __device__ T operator()(T x) const {
    return ops::narrow<T>(op.value(ops::widen(x)));
  }
};
template <class Op>
struct BwdFn {
  Op op;
  template <class T>
  __device__ T operator()(T x, T dy) const {
    return ops::narrow<T>(ops::backward(op, ops::widen(x), ops::widen(dy)));
  }
};
template <class Op>
struct BwdOutFn {
  Op op;
  template <class T>
  __device__ T operator()(T y, T dy) const {
    return ops::narrow<T>(ops::backward_from_output(op, ops::widen(y), ops::widen(dy)));
  }
};

#if ACTLAYER_BENCH_CUDNN
cudnnHandle_t g_cudnn = nullptr;

template <class T>
cudnnDataType_t cudnn_type() {
  if constexpr (std::is_same_v<T, float>)
    return CUDNN_DATA_FLOAT;
  else if constexpr (std::is_same_v<T, double>)
    return CUDNN_DATA_DOUBLE;
  else if constexpr (std::is_same_v<T, __half>)
    return CUDNN_DATA_HALF;
  else
    return CUDNN_DATA_BFLOAT16;
}

/// cuDNN's mode for an op (and its coef: ELU's alpha), or false.
bool cudnn_mode(Op op, cudnnActivationMode_t* mode, double* coef) {
  *coef = 0;
  switch (op) {
    case Op::identity:
      *mode = CUDNN_ACTIVATION_IDENTITY;
      return true;
    case Op::sigmoid:
      *mode = CUDNN_ACTIVATION_SIGMOID;
      return true;
    case Op::tanh:
      *mode = CUDNN_ACTIVATION_TANH;
      return true;
    case Op::relu:
      *mode = CUDNN_ACTIVATION_RELU;
      return true;
    case Op::step:
    case Op::leaky_relu:
    case Op::rrelu:
      return false;
    case Op::elu:  // alpha = 1, the row's
      *mode = CUDNN_ACTIVATION_ELU;
      *coef = 1.0;
      return true;
    case Op::silu:
    case Op::swish:  // cuDNN's swish_beta defaults to 1, the rows' beta
      *mode = CUDNN_ACTIVATION_SWISH;
      return true;
    case Op::selu:
    case Op::celu:
    case Op::quick_gelu:
    case Op::mish:
    case Op::softplus:
    case Op::logsigmoid:
    case Op::softsign:
    case Op::tanhshrink:
      return false;
    case Op::hardtanh:  // hardtanh(0, c) only, c the coefficient: the caller checks lo == 0
      *mode = CUDNN_ACTIVATION_CLIPPED_RELU;
      return true;
    case Op::gelu:
    case Op::gelu_tanh:
    case Op::hardsigmoid:
    case Op::hardswish:
    case Op::softshrink:
    case Op::hardshrink:
    case Op::thresholded:
    case Op::squared_relu:
      return false;
  }
  return false;
}

/// cuDNN forward or backward for n elements (a 1 x 1 x 1 x n NCHW tensor; -1 if cuDNN
/// refuses the mode or type). Descriptors are made outside the timed loop.
template <class T>
double cudnn_ms(cudnnActivationMode_t mode, bool backward, std::size_t n, const Arena<T>& arena,
                int sets, int inner, double coef = 0) {
  if (n > 0x7fffffff) return -1;
  cudnnTensorDescriptor_t desc;
  cudnnActivationDescriptor_t act;
  cudnnCreateTensorDescriptor(&desc);
  cudnnCreateActivationDescriptor(&act);
  double ms = -1;
  if (cudnnSetTensor4dDescriptor(desc, CUDNN_TENSOR_NCHW, cudnn_type<T>(), 1, 1, 1,
                                 static_cast<int>(n)) == CUDNN_STATUS_SUCCESS &&
      cudnnSetActivationDescriptor(act, mode, CUDNN_NOT_PROPAGATE_NAN, coef) ==
          CUDNN_STATUS_SUCCESS) {
    using S = std::conditional_t<std::is_same_v<T, double>, double, float>;
    const S one = 1, zero = 0;
    const auto call = [&](int s) {
      return backward ? cudnnActivationBackward(g_cudnn, act, &one, desc, arena.at(s, 0), desc,
                                                arena.at(s, 1), desc, arena.at(s, 2), &zero, desc,
                                                arena.at(s, 3))
                      : cudnnActivationForward(g_cudnn, act, &one, desc, arena.at(s, 0), &zero,
                                               desc, arena.at(s, 1));
    };
    if (call(0) == CUDNN_STATUS_SUCCESS) {
      ms = time_ms(sets, inner, [&](int s) { call(s); });
    }
  }
  cudnnDestroyActivationDescriptor(act);
  cudnnDestroyTensorDescriptor(desc);
  return ms;
}
#endif

// ============================================================================================
// The elementwise ops
// ============================================================================================

struct OpCase {
  const char* name;
  Activation act;
};

const OpCase kOps[] = {
    {"identity", Activation::identity()},
    {"step", Activation::step()},
    {"sigmoid", Activation::sigmoid()},
    {"tanh", Activation::tanh()},
    {"relu", Activation::relu()},
    {"leaky_relu", Activation::leaky_relu(0.01f)},
    {"rrelu_eval", Activation::rrelu()},
    {"elu", Activation::elu()},
    {"selu", Activation::selu()},
    {"celu", Activation::celu()},
    {"silu", Activation::silu()},
    {"swish", Activation::swish()},
    {"quick_gelu", Activation::quick_gelu()},
    {"mish", Activation::mish()},
    {"softplus", Activation::softplus()},
    {"logsigmoid", Activation::logsigmoid()},
    {"softsign", Activation::softsign()},
    {"tanhshrink", Activation::tanhshrink()},
    {"gelu", Activation::gelu()},
    {"gelu_tanh", Activation::gelu_tanh()},
    {"hardsigmoid", Activation::hardsigmoid()},
    {"hardswish", Activation::hardswish()},
    {"hardtanh", Activation::hardtanh()},
    {"relu6", Activation::relu6()},
    {"softshrink", Activation::softshrink()},
    {"hardshrink", Activation::hardshrink()},
    {"thresholded", Activation::thresholded(1.0f)},
    {"squared_relu", Activation::squared_relu()},
};

std::vector<std::size_t> sizes() {
  std::vector<std::size_t> s;
  for (int k = 16; k <= g_opt.max_log2; k += (g_opt.quick ? 4 : 2)) {
    if (k == 18 || k == 22) continue;  // 2^16, 2^20, 2^24, 2^26, 2^28, 2^30
    s.push_back(std::size_t{1} << k);
  }
  return s;
}

template <class T>
void bench_elementwise() {
  const std::vector<std::size_t> ns = sizes();
  for (std::size_t n : ns) {
    // 2^30 doubles would take 32 GB for the four arrays: double stops at 2^28.
    if (sizeof(T) == 8 && n > (std::size_t{1} << 28)) continue;
    const int sets = sets_for(4 * n * sizeof(T));
    Arena<T> arena(n, 4, sets);  // x, dy, y/dx, spare (cuDNN backward needs 4)
    const int inner = inner_for(n);
    for (const OpCase& c : kOps) {
      bool from_y = false;  // the op has a backward from the output
      ops::visit(c.act, [&](auto, auto op) { from_y = ops::no_output_form(op) == nullptr; });
      for (int pass = 0; pass < 3; ++pass) {
        if (pass == 2 && !from_y) continue;
        const char* pass_name = pass == 0 ? "forward" : pass == 1 ? "backward" : "from_output";
        Row r;
        r.op = c.name;
        r.dtype = element_name<T>();
        r.pass = pass_name;
        r.n = n;
        r.bytes = static_cast<double>(n) * sizeof(T) * (pass == 0 ? 2 : 3);
        r.ms = time_ms(sets, inner, [&](int s) {
          if (pass == 0)
            CHECK_ACT(forward(c.act, arena.at(s, 0), arena.at(s, 2), n));
          else if (pass == 1)
            CHECK_ACT(backward(c.act, arena.at(s, 0), arena.at(s, 1), arena.at(s, 2), n));
          else
            CHECK_ACT(
                backward_from_output(c.act, arena.at(s, 0), arena.at(s, 1), arena.at(s, 2), n));
        });
        r.copy_ms = copy_ms_for(r.bytes);
        ops::visit(c.act, [&](auto, auto op) {
          using Op = decltype(op);
          r.cub_ms = time_ms(sets, inner, [&](int s) {
            if (pass == 0) {
              CHECK_CUDA(cub::DeviceTransform::Transform(
                  arena.at(s, 0), arena.at(s, 2), static_cast<std::int64_t>(n), FwdFn<Op>{op}));
            } else if (pass == 1) {
              CHECK_CUDA(cub::DeviceTransform::Transform(
                  cuda::std::make_tuple(arena.at(s, 0), arena.at(s, 1)), arena.at(s, 2),
                  static_cast<std::int64_t>(n), BwdFn<Op>{op}));
            } else if constexpr (ops::has_output_form_v<Op>) {
              CHECK_CUDA(cub::DeviceTransform::Transform(
                  cuda::std::make_tuple(arena.at(s, 0), arena.at(s, 1)), arena.at(s, 2),
                  static_cast<std::int64_t>(n), BwdOutFn<Op>{op}));
            }
          });
        });
#if ACTLAYER_BENCH_CUDNN
        cudnnActivationMode_t mode;
        double coef = 0;
        // cuDNN's backward takes y (and x): the peer of our backward from the output, or of
        // the backward from x for an op without an output form (swish).
        const bool clipped = c.act.op == Op::hardtanh;  // cuDNN's clipped ReLU: hardtanh(0, c)
        if (pass != (from_y ? 1 : 2) && cudnn_mode(c.act.op, &mode, &coef) &&
            !(clipped && c.act.lo != 0.0f)) {
          if (clipped) coef = c.act.hi;
          r.cudnn_ms = cudnn_ms<T>(mode, pass != 0, n, arena, sets, inner, coef);
        }
#endif
        g_rows.push_back(r);
      }
    }
  }
}

// A misaligned case and an odd size: relu and sigmoid forward, float and half.
template <class T>
void bench_odd() {
  const std::size_t n = (std::size_t{1} << 24) + 3;
  const int sets = sets_for(2 * n * sizeof(T));
  Arena<T> arena(n, 2, sets);
  for (const Activation& act : {Activation::relu(), Activation::sigmoid()}) {
    for (std::size_t offset : {0, 1}) {
      Row r;
      r.op = act.op == Op::relu ? "relu" : "sigmoid";
      r.dtype = element_name<T>();
      r.pass = "forward";
      r.n = n;
      r.bytes = 2.0 * n * sizeof(T);
      r.note = offset ? "n = 2^24+3, x and y one element past 16-byte alignment" : "n = 2^24+3";
      r.ms = time_ms(sets, 1, [&](int s) {
        CHECK_ACT(forward(act, arena.at(s, 0, offset), arena.at(s, 1, offset), n));
      });
      r.copy_ms = copy_ms_for(r.bytes);
      g_rows.push_back(r);
    }
  }
}

// The 1-bit mask: relu's backward from the mask against its backward from x, and the forward
// that writes the mask, at the same n (bytes: dy + dx + n/8, and x + y + n/8).
template <class T>
void bench_mask() {
  for (std::size_t n : sizes()) {
    if (n < (std::size_t{1} << 20)) continue;
    const int sets = sets_for(3 * n * sizeof(T) + n / 8);
    Arena<T> arena(n, 3, sets);
    std::vector<std::uint32_t*> masks(sets);
    for (auto& m : masks) {
      CHECK_CUDA(cudaMalloc(&m, mask_words(n) * 4));
      CHECK_CUDA(cudaMemset(m, 0x5A, mask_words(n) * 4));
    }
    const Activation relu = Activation::relu();
    for (int pass = 0; pass < 2; ++pass) {
      Row r;
      r.op = "relu_mask";
      r.dtype = element_name<T>();
      r.pass = pass == 0 ? "forward" : "backward";
      r.n = n;
      r.bytes = static_cast<double>(n) * sizeof(T) * 2 + static_cast<double>(mask_words(n)) * 4;
      r.note = "the 1-bit mask; backward moves " + json_number(r.bytes / (3.0 * n * sizeof(T))) +
               " of the bytes from x";
      r.ms = time_ms(sets, inner_for(n), [&](int s) {
        if (pass == 0)
          CHECK_ACT(forward_with_mask(relu, arena.at(s, 0), arena.at(s, 2), masks[s], n));
        else
          CHECK_ACT(backward_from_mask(relu, masks[s], arena.at(s, 1), arena.at(s, 2), n));
      });
      r.copy_ms = copy_ms_for(r.bytes);
      g_rows.push_back(r);
    }
    for (auto m : masks) CHECK_CUDA(cudaFree(m));
  }
}

// ============================================================================================
// PReLU and RReLU training
// ============================================================================================

template <class T>
void bench_prelu() {
  for (std::size_t n : sizes()) {
    if (n < (std::size_t{1} << 20)) continue;
    const int sets = sets_for(3 * n * sizeof(T));
    Arena<T> arena(n, 3, sets);
    const std::size_t channels = 64;
    struct Layout {
      const char* name;
      ChannelShape shape;
    };
    const Layout layouts[] = {
        {"prelu_nchw",
         {n / (channels * 3136) ? n / (channels * 3136) : 1, channels,
          n / channels / std::max<std::size_t>(1, n / (channels * 3136))}},
        {"prelu_nhwc", {n / channels, channels, 1}},
        {"prelu_shared", {1, 1, n}},
    };
    compute_t<T>* alpha = nullptr;
    compute_t<T>* dalpha = nullptr;
    CHECK_CUDA(cudaMalloc(&alpha, channels * sizeof(compute_t<T>)));
    CHECK_CUDA(cudaMalloc(&dalpha, channels * sizeof(compute_t<T>)));
    CHECK_CUDA(cudaMemset(alpha, 0, channels * sizeof(compute_t<T>)));
    for (const Layout& l : layouts) {
      const std::size_t count = l.shape.outer * l.shape.channels * l.shape.inner;
      const std::size_t ws_bytes = prelu_backward_workspace_bytes(l.shape);
      void* ws = nullptr;
      CHECK_CUDA(cudaMalloc(&ws, std::max<std::size_t>(ws_bytes, 8)));
      for (int pass = 0; pass < 2; ++pass) {
        Row r;
        r.op = l.name;
        r.dtype = element_name<T>();
        r.pass = pass == 0 ? "forward" : "backward";
        r.n = count;
        r.bytes = static_cast<double>(count) * sizeof(T) * (pass == 0 ? 2 : 3);
        r.note = "shape {" + std::to_string(l.shape.outer) + ", " +
                 std::to_string(l.shape.channels) + ", " + std::to_string(l.shape.inner) +
                 "}, workspace " + std::to_string(ws_bytes) + " B";
        const int inner = inner_for(count);
        r.ms = time_ms(sets, inner, [&](int s) {
          if (pass == 0)
            CHECK_ACT(prelu_forward(arena.at(s, 0), alpha, arena.at(s, 2), l.shape));
          else
            CHECK_ACT(prelu_backward(arena.at(s, 0), alpha, arena.at(s, 1), arena.at(s, 2), dalpha,
                                     l.shape, ws, ws_bytes));
        });
        r.copy_ms = copy_ms_for(r.bytes);
        g_rows.push_back(r);
      }
      CHECK_CUDA(cudaFree(ws));
    }
    CHECK_CUDA(cudaFree(alpha));
    CHECK_CUDA(cudaFree(dalpha));
  }
}

// bias_act's backward (dx and dbias, rows x features: {n / 1024, 1024, 1}) against a copy of
// its 3 streams and, in the note, against the plain 3-stream elementwise backward of the same
// op at the same n (the issue's "within 1.15 x"). compare_torch.py times PyTorch's composite.
template <class T>
void bench_bias_act() {
  for (std::size_t n : sizes()) {
    if (n < (std::size_t{1} << 26)) continue;
    const int sets = sets_for(3 * n * sizeof(T));
    Arena<T> arena(n, 3, sets);
    const std::size_t features = 1024;
    const ChannelShape shape{n / features, features, 1};
    compute_t<T>* bias = nullptr;
    compute_t<T>* dbias = nullptr;
    void* ws = nullptr;
    const std::size_t ws_bytes = bias_act_backward_workspace_bytes(shape);
    CHECK_CUDA(cudaMalloc(&bias, features * sizeof(compute_t<T>)));
    CHECK_CUDA(cudaMalloc(&dbias, features * sizeof(compute_t<T>)));
    CHECK_CUDA(cudaMemset(bias, 0, features * sizeof(compute_t<T>)));
    CHECK_CUDA(cudaMalloc(&ws, std::max<std::size_t>(ws_bytes, 8)));
    for (const Activation& act : {Activation::relu(), Activation::gelu()}) {
      const int inner = inner_for(n);
      const double plain_ms = time_ms(sets, inner, [&](int s) {
        CHECK_ACT(backward(act, arena.at(s, 0), arena.at(s, 1), arena.at(s, 2), n));
      });
      Row r;
      r.op = std::string("bias_act_") + to_string(act.op);
      r.dtype = element_name<T>();
      r.pass = "backward";
      r.n = n;
      r.bytes = static_cast<double>(n) * sizeof(T) * 3;
      r.ms = time_ms(sets, inner, [&](int s) {
        CHECK_ACT(bias_act_backward(act, arena.at(s, 0), bias, arena.at(s, 1), arena.at(s, 2),
                                    dbias, shape, ws, ws_bytes));
      });
      r.copy_ms = copy_ms_for(r.bytes);
      r.note = "shape {" + std::to_string(shape.outer) + ", " + std::to_string(features) +
               ", 1}, workspace " + std::to_string(ws_bytes) + " B; plain backward " +
               json_number(plain_ms) + " ms: " + json_number(r.ms / plain_ms) + " x its time";
      g_rows.push_back(r);
    }
    CHECK_CUDA(cudaFree(bias));
    CHECK_CUDA(cudaFree(dbias));
    CHECK_CUDA(cudaFree(ws));
  }
}

template <class T>
void bench_rrelu() {
  for (std::size_t n : sizes()) {
    if (n < (std::size_t{1} << 20)) continue;
    const int sets = sets_for(3 * n * sizeof(T));
    Arena<T> arena(n, 3, sets);
    std::uint64_t step = 0;
    for (int pass = 0; pass < 2; ++pass) {
      Row r;
      r.op = "rrelu_train";
      r.dtype = element_name<T>();
      r.pass = pass == 0 ? "forward" : "backward";
      r.n = n;
      r.bytes = static_cast<double>(n) * sizeof(T) * (pass == 0 ? 2 : 3);
      r.ms = time_ms(sets, inner_for(n), [&](int s) {
        const Activation act = Activation::rrelu_training({2026, step++});
        if (pass == 0)
          CHECK_ACT(forward(act, arena.at(s, 0), arena.at(s, 2), n));
        else
          CHECK_ACT(backward(act, arena.at(s, 0), arena.at(s, 1), arena.at(s, 2), n));
      });
      r.copy_ms = copy_ms_for(r.bytes);
      g_rows.push_back(r);
    }
  }
}

// The gated activations at n >= 2^26 outputs: forward reads a and b and writes y (3 streams of
// n), backward reads a, b, dy and writes da, db (5): the copy of those bytes is the bound.
template <class T>
void bench_gated() {
  const std::size_t n = std::size_t{1} << std::min(g_opt.quick ? 24 : 26, g_opt.max_log2);
  const std::size_t hidden = 8192;  // a LLaMA-like width; rows = n / hidden
  const GatedShape shape{n / hidden, hidden};
  const int sets = sets_for(5 * n * sizeof(T));
  Arena<T> arena(2 * n, 3, sets);  // packed in (or a | b), dy, din (or da | db)
  const std::pair<const char*, Gated> gates[] = {
      {"swiglu", Gated::swiglu()}, {"geglu", Gated::geglu()}, {"glu", Gated::glu()}};
  for (const auto& gate : gates) {
    const char* const name = gate.first;
    const Gated g = gate.second;  // captured below (a structured binding cannot be in C++17)
    for (bool split : {false, true}) {
      for (int pass = 0; pass < 2; ++pass) {
        Row r;
        r.op = std::string("gated_") + name + (split ? "[split]" : "[packed]");
        r.dtype = element_name<T>();
        r.pass = pass == 0 ? "forward" : "backward";
        r.n = n;
        r.bytes = static_cast<double>(n) * sizeof(T) * (pass == 0 ? 3 : 5);
        r.ms = time_ms(sets, inner_for(n), [&](int s) {
          const T* in = arena.at(s, 0);
          T* dy = arena.at(s, 1);
          T* out = arena.at(s, 2);
          if (pass == 0 && split) {
            CHECK_ACT(gated_forward_split(g, in, in + n, out, n));
          } else if (pass == 0) {
            CHECK_ACT(gated_forward(g, in, out, shape));
          } else if (split) {
            CHECK_ACT(gated_backward_split(g, in, in + n, dy, out, out + n, n));
          } else {
            CHECK_ACT(gated_backward(g, in, dy, out, shape));
          }
        });
        r.copy_ms = copy_ms_for(r.bytes);
        g_rows.push_back(r);
      }
    }
  }
}

// ============================================================================================
// Output
// ============================================================================================

std::string json_number(double v) {
  if (!(v >= 0) || !std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

void write_json(const std::string& path, const std::string& device) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    std::exit(1);
  }
  char date[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
  const char* commit = std::getenv("ACTLAYER_COMMIT");
  std::fprintf(f, "{\n  \"device\": \"%s\",\n  \"date\": \"%s\",\n  \"commit\": \"%s\",\n",
               device.c_str(), date, commit ? commit : "unknown");
  std::fprintf(f, "  \"copy_gbps\": %s,\n  \"empty_kernel_us\": %s,\n  \"rows\": [\n",
               json_number(g_copy_gbps).c_str(), json_number(g_empty_us).c_str());
  for (std::size_t i = 0; i < g_rows.size(); ++i) {
    const Row& r = g_rows[i];
    const double g = gbps(r.bytes, r.ms);
    std::fprintf(
        f,
        "    {\"op\": \"%s\", \"dtype\": \"%s\", \"pass\": \"%s\", \"n\": %zu, \"bytes\": %.0f, "
        "\"ms\": %s, "
        "\"gbps\": %s, \"copy_gbps\": %s, \"vs_copy\": %s, \"cub_gbps\": %s, \"vs_cub\": %s, "
        "\"cudnn_gbps\": %s, \"vs_cudnn\": %s, \"torch_gbps\": null, \"vs_torch\": null, \"note\": "
        "\"%s\"}%s\n",
        r.op.c_str(), r.dtype.c_str(), r.pass.c_str(), r.n, r.bytes, json_number(r.ms).c_str(),
        json_number(g).c_str(), json_number(gbps(r.bytes, r.copy_ms)).c_str(),
        json_number(r.copy_ms / r.ms).c_str(),
        json_number(r.cub_ms > 0 ? gbps(r.bytes, r.cub_ms) : -1).c_str(),
        json_number(r.cub_ms > 0 ? r.cub_ms / r.ms : -1).c_str(),
        json_number(r.cudnn_ms > 0 ? gbps(r.bytes, r.cudnn_ms) : -1).c_str(),
        json_number(r.cudnn_ms > 0 ? r.cudnn_ms / r.ms : -1).c_str(), r.note.c_str(),
        i + 1 < g_rows.size() ? "," : "");
  }
  std::fprintf(f, "  ]\n}\n");
  std::fclose(f);
}

void print_table() {
  std::printf("\n%-14s %-9s %-12s %11s %8s %8s %8s %8s\n", "op", "dtype", "pass", "n", "GB/s",
              "vs_copy", "vs_cub", "vs_cudnn");
  for (const Row& r : g_rows) {
    std::printf("%-14s %-9s %-12s %11zu %8.0f %8.3f %8s %8s\n", r.op.c_str(), r.dtype.c_str(),
                r.pass.c_str(), r.n, gbps(r.bytes, r.ms), r.copy_ms / r.ms,
                r.cub_ms > 0 ? json_number(r.cub_ms / r.ms).c_str() : "-",
                r.cudnn_ms > 0 ? json_number(r.cudnn_ms / r.ms).c_str() : "-");
  }
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json" && i + 1 < argc)
      g_opt.json = argv[++i];
    else if (a == "--quick")
      g_opt.quick = true;
    else if (a == "--reps" && i + 1 < argc)
      g_opt.reps = std::max(5, std::atoi(argv[++i]));
    else if (a == "--max-log2" && i + 1 < argc)
      g_opt.max_log2 = std::clamp(std::atoi(argv[++i]), 16, 30);
    else {
      std::fprintf(stderr, "usage: %s [--json FILE] [--quick] [--reps N] [--max-log2 K]\n",
                   argv[0]);
      return 2;
    }
  }
  if (!cuda_available()) {
    std::printf(
        "NOTICE: no CUDA device: actlayer_bench measures GPU kernels and has nothing to run "
        "here\n");
    return 0;
  }
  cudaDeviceProp prop{};
  CHECK_CUDA(cudaGetDeviceProperties(&prop, 0));
  g_l2_bytes = static_cast<std::size_t>(prop.l2CacheSize);
  std::printf("actlayer_bench on %s: %d SMs, L2 %zu MB, %d reps (median)\n", prop.name,
              prop.multiProcessorCount, g_l2_bytes >> 20, g_opt.reps);
#if ACTLAYER_BENCH_CUDNN
  if (cudnnCreate(&g_cudnn) != CUDNN_STATUS_SUCCESS) g_cudnn = nullptr;
  std::printf("cuDNN %zu\n", cudnnGetVersion());
#else
  std::printf("cuDNN not found at build time: no cuDNN columns\n");
#endif

  // The roofline: a large device-to-device copy (2 GiB moved), and the launch-latency floor.
  g_copy_gbps = gbps(double(std::size_t{1} << 31), copy_ms_for(double(std::size_t{1} << 31)));
  g_empty_us = 1000 * time_ms(1, 1, [](int) { empty_kernel<<<1, 1>>>(); });
  std::printf("copy %.0f GB/s (read + write), empty kernel %.2f us\n", g_copy_gbps, g_empty_us);

  bench_elementwise<float>();
  bench_elementwise<__half>();
  bench_elementwise<__nv_bfloat16>();
  bench_elementwise<double>();
  bench_odd<float>();
  bench_odd<__half>();
  bench_prelu<float>();
  bench_prelu<__half>();
  bench_bias_act<float>();
  bench_bias_act<__nv_bfloat16>();
  bench_rrelu<float>();
  bench_rrelu<__half>();
  bench_mask<float>();
  bench_mask<__half>();
  bench_gated<float>();
  bench_gated<__nv_bfloat16>();

  // The small-size latency target: one relu forward of 2^16 floats, one launch per repetition.
  {
    const std::size_t n = std::size_t{1} << 16;
    Arena<float> arena(n, 2, 1);
    Row r;
    r.op = "relu";
    r.dtype = "float";
    r.pass = "forward";
    r.n = n;
    r.bytes = 2.0 * n * 4;
    r.note =
        "single launch per repetition: vs the empty kernel's " + json_number(g_empty_us) + " us";
    r.ms = time_ms(1, 1, [&](int) {
      CHECK_ACT(forward(Activation::relu(), arena.at(0, 0), arena.at(0, 1), n));
    });
    r.copy_ms = copy_ms_for(r.bytes);
    g_rows.push_back(r);
    std::printf("latency: relu forward 2^16 floats %.2f us = %.2f x the empty kernel\n",
                1000 * r.ms, 1000 * r.ms / g_empty_us);
  }
#if ACTLAYER_BENCH_CUDNN
  if (g_cudnn) cudnnDestroy(g_cudnn);
#endif
  print_table();
  if (!g_opt.json.empty()) write_json(g_opt.json, prop.name);
  return 0;
}
