// RReLU training on the GPU: the slopes bit-identical to the CPU reference (and to cuRAND's
// own curand_init + curand4) in every dtype, sizes and misaligned pointers, the saved-noise
// calls, graph replays that draw fresh noise, > 2^31 elements, and the layer against the CPU
// layer.
#include <curand_kernel.h>

#include <atomic>

#include "actlayer/cuda.hpp"
#include "actlayer/layers.hpp"
#include "actlayer/ops.cuh"
#include "actlayer/reference.hpp"
#include "common/element_types.hpp"
#include "common/compare.hpp"
#include "gpu_harness.cuh"
#include "reference/philox.hpp"

namespace actlayer::testing {
namespace {

template <class T>
class RReluGpu : public ::testing::Test {
 protected:
  void SetUp() override { SKIP_WITHOUT_GPU(); }
};
TYPED_TEST_SUITE(RReluGpu, ElementTypes);

template <class T>
bool within(T got, T want) {
  return sizeof(T) == 2 ? ulp_distance(got, want) <= 1 : same(got, want);
}

/// Uploads v at `offset` elements into a fresh device array (with room for the offset).
template <class T>
struct Placed {
  DeviceArray<T> array;
  T* at;
  Placed(const std::vector<T>& v, std::size_t offset)
      : array(v.size() + offset), at(array.get() + offset) {
    if (!v.empty())
      EXPECT_EQ(cudaMemcpy(at, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice),
                cudaSuccess);
  }
  Placed(std::size_t n, std::size_t offset) : array(n + offset), at(array.get() + offset) {
    EXPECT_EQ(cudaMemset(array.get(), 0xFF, (n + offset) * sizeof(T)), cudaSuccess);
  }
};

TYPED_TEST(RReluGpu, MatchesTheReferenceBitForBit) {
  using T = TypeParam;
  const Activation act = Activation::rrelu_training({0x5eed, 3});
  const std::size_t sizes[] = {
      1, 15, 16, 17, 127, 128, 129, 4095, 4096, 4097, (1u << 20) + 3, (1u << 24) + 3};
  for (std::size_t n : sizes) {
    if (n > max_test_n()) continue;
    const std::vector<T> x = random_values<T>(n, n), dy = random_gradients<T>(n, n + 1);
    std::vector<T> want_y(n), want_dx(n);
    std::vector<float> want_noise(n);
    ASSERT_EQ(
        reference::rrelu_forward_save_noise(act, x.data(), want_y.data(), want_noise.data(), n),
        Status::success);
    ASSERT_EQ(reference::backward(act, x.data(), dy.data(), want_dx.data(), n), Status::success);
    const bool big = n > (1u << 20) + 3;
    // Offsets 0..3 on all arrays (vector path with heads), and x shifted against y (scalar path).
    for (std::size_t offset : {0, 1, 2, 3}) {
      for (std::size_t shift : {0, 1}) {
        if (big && (offset == 2 || shift == 1)) continue;  // the largest size: fewer variants
        SCOPED_TRACE(::testing::Message()
                     << type_name<T>() << " n=" << n << " offset=" << offset << " shift=" << shift);
        Placed<T> dx_(x, offset + shift), ddy(dy, offset), y(n, offset), dx(n, offset);
        Placed<float> noise(n, offset);
        ASSERT_EQ(rrelu_forward_save_noise(act, dx_.at, y.at, noise.at, n), Status::success)
            << last_error();
        const std::vector<T> got_y = download(y.at, n);
        const std::vector<float> got_noise = download(noise.at, n);
        ASSERT_EQ(forward(act, dx_.at, y.at, n), Status::success);  // regenerated: the same y
        const std::vector<T> got_y2 = download(y.at, n);
        ASSERT_EQ(backward(act, dx_.at, ddy.at, dx.at, n), Status::success);
        const std::vector<T> got_dx = download(dx.at, n);
        ASSERT_EQ(rrelu_backward_saved_noise(noise.at, ddy.at, dx.at, n), Status::success);
        const std::vector<T> got_dx2 = download(dx.at, n);
        std::atomic<std::size_t> bad{0};
        parallel_for(n, [&](std::size_t b, std::size_t e) {
          std::size_t local = 0;
          for (std::size_t i = b; i < e; ++i) {
            local += !same(got_noise[i], want_noise[i]) || !within(got_y[i], want_y[i]) ||
                     !same(got_y2[i], got_y[i]) || !within(got_dx[i], want_dx[i]) ||
                     !same(got_dx2[i], got_dx[i]);
          }
          bad += local;
        });
        EXPECT_EQ(bad.load(), 0u);
      }
    }
  }
}

TYPED_TEST(RReluGpu, EmptyInPlaceAndBlended) {
  using T = TypeParam;
  const Activation act = Activation::rrelu_training({77, 5});
  EXPECT_EQ(forward(act, static_cast<const T*>(nullptr), static_cast<T*>(nullptr), 0),
            Status::success);
  EXPECT_EQ(backward(act, static_cast<const T*>(nullptr), static_cast<const T*>(nullptr),
                     static_cast<T*>(nullptr), 0),
            Status::success);
  EXPECT_EQ(rrelu_forward_save_noise(act, static_cast<const T*>(nullptr), static_cast<T*>(nullptr),
                                     static_cast<float*>(nullptr), 0),
            Status::success);
  const std::size_t n = 40009;
  const std::vector<T> x = random_values<T>(n, 8), dy = random_gradients<T>(n, 9),
                       old = random_gradients<T>(n, 10);
  std::vector<T> want_y(n), want_dx(n);
  ASSERT_EQ(reference::forward(act, x.data(), want_y.data(), n), Status::success);
  ASSERT_EQ(reference::backward(act, x.data(), dy.data(), want_dx.data(), n), Status::success);
  // In place: y == x; dx == dy, regenerated and from saved noise.
  {
    Placed<T> a(x, 1), g(dy, 1);
    Placed<float> noise(n, 1);
    ASSERT_EQ(rrelu_forward_save_noise(act, a.at, a.at, noise.at, n), Status::success)
        << last_error();
    const std::vector<T> got = download(a.at, n);
    for (std::size_t i = 0; i < n; ++i) ASSERT_TRUE(within(got[i], want_y[i])) << i;
    Placed<T> xs(x, 1);
    ASSERT_EQ(backward(act, xs.at, g.at, g.at, n), Status::success);
    const std::vector<T> gd = download(g.at, n);
    for (std::size_t i = 0; i < n; ++i) ASSERT_TRUE(within(gd[i], want_dx[i])) << i;
    Placed<T> g2(dy, 1);
    ASSERT_EQ(rrelu_backward_saved_noise(noise.at, g2.at, g2.at, n), Status::success);
    const std::vector<T> gd2 = download(g2.at, n);
    for (std::size_t i = 0; i < n; ++i) ASSERT_TRUE(same(gd2[i], gd[i])) << i;
  }
  // Blended into an old output (read because beta != 0).
  const Blend blend{0.5f, -2.0f};
  std::vector<T> want_by = old, want_bdx = old;
  ASSERT_EQ(reference::forward(act, x.data(), want_by.data(), n, blend), Status::success);
  ASSERT_EQ(reference::backward(act, x.data(), dy.data(), want_bdx.data(), n, blend),
            Status::success);
  Placed<T> bx(x, 0), bdy(dy, 0), y(old, 0), dx(old, 0);
  ASSERT_EQ(forward(act, bx.at, y.at, n, nullptr, blend), Status::success);
  ASSERT_EQ(backward(act, bx.at, bdy.at, dx.at, n, nullptr, blend), Status::success);
  const std::vector<T> gy = download(y.at, n), gdx = download(dx.at, n);
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_TRUE(blend_close(gy[i], want_by[i], want_y[i], old[i], blend, 1))
        << i << ": " << show(gy[i]) << " vs " << show(want_by[i]);
    ASSERT_TRUE(blend_close(gdx[i], want_bdx[i], want_dx[i], old[i], blend, 1)) << i;
  }
}

__global__ void curand_words(std::uint64_t seed, std::uint64_t offset, std::size_t groups,
                             uint4* out) {
  const std::size_t q = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
  if (q >= groups) return;
  curandStatePhilox4_32_10_t state;
  curand_init(seed, q, 4 * offset, &state);
  out[q] = curand4(&state);
}

TEST(RReluGpuNoise, IsWhatCurandInitAndCurand4Return) {
  SKIP_WITHOUT_GPU();
  for (auto [seed, offset] : {std::pair<std::uint64_t, std::uint64_t>{0, 0},
                              {42, 7},
                              {0x123456789abcdefull, 1ull << 40}}) {
    const std::size_t groups = 100000;
    DeviceArray<uint4> words(groups);
    curand_words<<<(groups + 255) / 256, 256>>>(seed, offset, groups, words.get());
    CUDA_OK(cudaGetLastError());
    const std::vector<uint4> got = download(words.get(), groups);
    for (std::size_t q = 0; q < groups; ++q) {
      const std::uint32_t w[4] = {got[q].x, got[q].y, got[q].z, got[q].w};
      for (std::size_t lane = 0; lane < 4; ++lane) {
        ASSERT_EQ(w[lane], reference::detail::philox_word(seed, offset, 4 * q + lane)) << "q " << q;
      }
    }
  }
}

TEST(RReluGpuGraph, EachReplayDrawsFreshNoise) {
  SKIP_WITHOUT_GPU();
  const std::size_t n = 65537;
  const std::vector<float> x = random_values<float>(n, 3), dy = random_gradients<float>(n, 4);
  Placed<float> dx_(x, 0), ddy(dy, 0), y(n, 0), dx(n, 0);
  DeviceArray<std::uint64_t> counter(1);
  const std::uint64_t start = 9;
  CUDA_OK(cudaMemcpy(counter.get(), &start, 8, cudaMemcpyHostToDevice));
  CUDA_OK(cudaDeviceSynchronize());
  const Activation act = Activation::rrelu_training(Philox{11, 100, counter.get()});
  cudaStream_t s;
  CUDA_OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  cudaGraph_t graph;
  CUDA_OK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
  ASSERT_EQ(rrelu_advance_offset(counter.get(), s), Status::success) << last_error();
  ASSERT_EQ(forward(act, dx_.at, y.at, n, s), Status::success) << last_error();
  ASSERT_EQ(backward(act, dx_.at, ddy.at, dx.at, n, s), Status::success) << last_error();
  CUDA_OK(cudaStreamEndCapture(s, &graph));
  cudaGraphExec_t exec;
  CUDA_OK(cudaGraphInstantiate(&exec, graph, 0));
  std::vector<float> previous;
  for (std::uint64_t replay = 1; replay <= 3; ++replay) {
    CUDA_OK(cudaGraphLaunch(exec, s));
    CUDA_OK(cudaStreamSynchronize(s));
    // Offset = 100 + the counter after the advance.
    const Activation key = Activation::rrelu_training({11, 100 + start + replay});
    std::vector<float> want_y(n), want_dx(n);
    ASSERT_EQ(reference::forward(key, x.data(), want_y.data(), n), Status::success);
    ASSERT_EQ(reference::backward(key, x.data(), dy.data(), want_dx.data(), n), Status::success);
    const std::vector<float> got_y = download(y.at, n), got_dx = download(dx.at, n);
    std::size_t bad = 0;
    for (std::size_t i = 0; i < n; ++i)
      bad += !same(got_y[i], want_y[i]) || !same(got_dx[i], want_dx[i]);
    EXPECT_EQ(bad, 0u) << "replay " << replay;
    // Fresh noise: not the previous replay's bits (x holds NaNs, so compare bits, not values).
    EXPECT_TRUE(previous.empty() ||
                std::memcmp(got_y.data(), previous.data(), n * sizeof(float)) != 0);
    previous = got_y;
  }
  CUDA_OK(cudaGraphExecDestroy(exec));
  CUDA_OK(cudaGraphDestroy(graph));
  CUDA_OK(cudaStreamDestroy(s));
}

TEST(RReluGpuLayer, DrawsWhatTheCpuLayerDraws) {
  SKIP_WITHOUT_GPU();
  const std::size_t n = 30001;
  const std::vector<float> xs = random_values<float>(n, 5), gs = random_gradients<float>(n, 6);
  RReluLayer<float> gpu(2024, 0.05f, 0.45f, Device::cuda), cpu(2024, 0.05f, 0.45f, Device::cpu);
  gpu.track_slopes(true);
  cpu.track_slopes(true);
  Buffer<float> gx = Buffer<float>::from_host(xs), gdy = Buffer<float>::from_host(gs), gy(n),
                gdx(n);
  Buffer<float> cx = Buffer<float>::from_host(xs, Device::cpu),
                cdy = Buffer<float>::from_host(gs, Device::cpu);
  Buffer<float> cy(n, Device::cpu), cdx(n, Device::cpu);
  for (int step = 0; step < 3; ++step) {
    gpu.forward(gx, gy);
    cpu.forward(cx, cy);
    gpu.backward(gx, gdy, gdx);
    cpu.backward(cx, cdy, cdx);
    const auto a = gy.to_host(), b = cy.to_host(), c = gdx.to_host(), d = cdx.to_host();
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_TRUE(same(a[i], b[i])) << "step " << step << " y[" << i << "]";
      ASSERT_TRUE(same(c[i], d[i])) << "step " << step << " dx[" << i << "]";
    }
  }
  EXPECT_EQ(gpu.forwards(), 3u);
  EXPECT_NEAR(gpu.slope_mean(), cpu.slope_mean(), 1e-12);
  EXPECT_NEAR(gpu.slope_mean(), 0.25, 0.005);
}

TEST(RReluGpuLayer, BackwardUsesItsForwardsSlopesAsTheCpuLayerDoes) {
  SKIP_WITHOUT_GPU();
  const std::size_t n = 5003;
  const std::vector<float> xs = random_values<float>(n, 7), gs = random_gradients<float>(n, 8);
  RReluLayer<float> gpu(99, 0.1f, 0.3f, Device::cuda), cpu(99, 0.1f, 0.3f, Device::cpu);
  Buffer<float> gx = Buffer<float>::from_host(xs), gdy = Buffer<float>::from_host(gs), gy(n),
                gdx(n);
  Buffer<float> cx = Buffer<float>::from_host(xs, Device::cpu),
                cdy = Buffer<float>::from_host(gs, Device::cpu);
  Buffer<float> cy(n, Device::cpu), cdx(n, Device::cpu);
  // training forward, then eval mode before the backward; then an eval forward, then training
  // mode before the backward: each backward follows its forward.
  for (const bool training_forward : {true, false}) {
    gpu.train(training_forward);
    cpu.train(training_forward);
    gpu.forward(gx, gy);
    cpu.forward(cx, cy);
    gpu.train(!training_forward);
    cpu.train(!training_forward);
    gpu.backward(gx, gdy, gdx);
    cpu.backward(cx, cdy, cdx);
    const auto c = gdx.to_host(), d = cdx.to_host();
    std::vector<float> want(n);
    const Activation act = training_forward ? Activation::rrelu_training({99, 0}, 0.1f, 0.3f)
                                            : Activation::leaky_relu(gpu.eval_slope());
    ASSERT_EQ(reference::backward(act, xs.data(), gs.data(), want.data(), n), Status::success);
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_TRUE(same(c[i], d[i])) << training_forward << " dx[" << i << "]";
      ASSERT_TRUE(same(c[i], want[i])) << training_forward << " dx[" << i << "]";
    }
  }
}

TEST(RReluGpuHuge, MoreThan2To31Elements) {
  SKIP_WITHOUT_GPU();
  const std::size_t n = (std::size_t{1} << 31) + 9;
  if (n > max_test_n()) GTEST_SKIP() << "ACTLAYER_TEST_MAX_N caps this run below 2^31";
  std::size_t free_bytes = 0, total_bytes = 0;
  CUDA_OK(cudaMemGetInfo(&free_bytes, &total_bytes));
  if (free_bytes < n * (2 + 2 + 4) + (std::size_t{1} << 30))
    GTEST_SKIP() << "not enough device memory";
  std::vector<__half> pool;
  for (std::size_t j = 0; j < kPool; ++j)
    pool.push_back(__float2half_rn(static_cast<float>(j % 7) - 3.5f));
  DeviceArray<__half> x(n), y(n);
  DeviceArray<float> noise(n);
  ASSERT_TRUE(x && y && noise);
  gather(pool, x.get(), n);
  const Activation act = Activation::rrelu_training({31, 2});
  ASSERT_EQ(rrelu_forward_save_noise(act, x.get(), y.get(), noise.get(), n), Status::success)
      << last_error();
  CUDA_OK(cudaDeviceSynchronize());
  const std::vector<float> got = download(noise.get(), n);
  const std::vector<__half> got_y = download(y.get(), n);
  const ops::RRelu op{act.lower, act.upper};
  std::atomic<std::size_t> bad{0};
  parallel_for(n, [&](std::size_t b, std::size_t e) {
    std::size_t local = 0;
    for (std::size_t i = b; i < e; ++i) {
      const float z = __half2float(pool[pool_index(i)]);
      const float r = op.slope(reference::detail::philox_word(31, 2, i));
      local += got[i] != (z > 0 ? 1.0f : r);
      local += ulp_distance(got_y[i], __float2half_rn(z > 0 ? z : r * z)) > 1;
    }
    bad += local;
  });
  EXPECT_EQ(bad.load(), 0u);
}

}  // namespace
}  // namespace actlayer::testing
