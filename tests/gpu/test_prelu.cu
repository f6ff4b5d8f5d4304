// PReLU on the GPU against the CPU reference: every dtype x layout, dalpha's accuracy and its
// bitwise determinism (runs, streams, pointer alignment), accumulation, graph capture, and
// more than 2^31 elements when the card has the memory.
#include <atomic>
#include <cmath>
#include <mutex>
#include <random>

#include "common/element_types.hpp"
#include "actlayer/cuda.hpp"
#include "actlayer/layers.hpp"
#include "actlayer/reference.hpp"
#include "gpu_harness.cuh"

namespace actlayer::testing {
namespace {

const PReluShape kShapes[] = {
    {4, 16, 56 * 56},        // NCHW, rows layout
    {8, 64, 49},             // NCHW 7x7 maps, columns layout
    {2, 5, 3 * 5},           // C == W
    {4, 4, 6},               // C == N
    {3, 6, 6},               // C == H*W
    {4 * 28 * 28, 32, 1},    // NHWC
    {1000, 3, 1},            // NHWC, 3 channels (scalar columns)
    {1, 1, (1u << 20) + 7},  // one shared slope
    {3, 7, 16385},           // rows of more than one segment
    {5, 1, 2048},            // the layouts' boundary
    {5, 1, 2049},
    {33, 2049, 1},
    {1, 100003, 1},  // many channels, one row
    {129, 1, 1},     // channels = 1, inner = 1
    {0, 3, 5},       // empty: dalpha is blended with 0
    {1, 1, 4097},    // rows layout within the sanitizer runs' size cap
    {512, 8, 1},     // columns layout with several row tiles, within the cap
};

constexpr std::size_t kGuard = 64;  // poisoned elements after every output

std::size_t count(PReluShape s) { return s.outer * s.channels * s.inner; }

template <class T>
struct Data {
  PReluShape shape;
  std::vector<T> x, dy;
  std::vector<compute_t<T>> alpha, dalpha_old;
  explicit Data(PReluShape s, std::uint64_t seed = 1) : shape(s) {
    const std::size_t n = count(s);
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(-3, 3), a(-1, 2);
    for (std::size_t i = 0; i < n; ++i) {
      x.push_back(from_double<T>(u(rng)));
      dy.push_back(from_double<T>(u(rng)));
    }
    for (std::size_t c = 0; c < s.channels; ++c) {
      alpha.push_back(static_cast<compute_t<T>>(a(rng)));
      dalpha_old.push_back(static_cast<compute_t<T>>(u(rng)));
    }
  }
};

/// Device copies of the inputs and outputs, at `offset` elements from 256-byte boundaries,
/// each output followed by kGuard poisoned elements.
template <class T>
struct DeviceRun {
  std::size_t n, offset;
  DeviceArray<T> x, dy, out;
  DeviceArray<compute_t<T>> alpha, dalpha;
  DeviceArray<double> ws;
  std::size_t ws_bytes;
  DeviceRun(const Data<T>& d, std::size_t off)
      : n(count(d.shape)),
        offset(off),
        x(n + off + kGuard),
        dy(n + off + kGuard),
        out(n + off + kGuard),
        alpha(d.shape.channels),
        dalpha(d.shape.channels + kGuard),
        ws(prelu_backward_workspace_bytes(d.shape) / 8 + 1),
        ws_bytes(prelu_backward_workspace_bytes(d.shape)) {
    if (n > 0) {
      EXPECT_EQ(cudaMemcpy(x.get() + off, d.x.data(), n * sizeof(T), cudaMemcpyHostToDevice),
                cudaSuccess);
      EXPECT_EQ(cudaMemcpy(dy.get() + off, d.dy.data(), n * sizeof(T), cudaMemcpyHostToDevice),
                cudaSuccess);
    }
    EXPECT_EQ(cudaMemcpy(alpha.get(), d.alpha.data(), d.alpha.size() * sizeof(compute_t<T>),
                         cudaMemcpyHostToDevice),
              cudaSuccess);
    poison();
    set_dalpha(d.dalpha_old);
    // Pageable copies may return before their DMA lands: finish them before any stream runs.
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  }
  /// NaN in every type over out and dalpha, guards included.
  void poison() {
    EXPECT_EQ(cudaMemset(out.get(), 0xFF, (n + offset + kGuard) * sizeof(T)), cudaSuccess);
    EXPECT_EQ(cudaMemset(dalpha.get(), 0xFF, (alpha.size() + kGuard) * sizeof(compute_t<T>)),
              cudaSuccess);
  }
  void set_dalpha(const std::vector<compute_t<T>>& v) {
    EXPECT_EQ(
        cudaMemcpy(dalpha.get(), v.data(), v.size() * sizeof(compute_t<T>), cudaMemcpyHostToDevice),
        cudaSuccess);
  }
  Status forward(PReluShape s, cudaStream_t stream = nullptr) {
    return prelu_forward(x.get() + offset, alpha.get(), out.get() + offset, s, stream);
  }
  Status backward(PReluShape s, cudaStream_t stream = nullptr, Blend b = {}) {
    return prelu_backward(x.get() + offset, alpha.get(), dy.get() + offset, out.get() + offset,
                          dalpha.get(), s, ws.get(), ws_bytes, stream, b);
  }
  std::vector<T> result() { return download(out.get() + offset, n); }
  std::vector<compute_t<T>> grad() { return download(dalpha.get(), alpha.size()); }
  /// The elements before offset, after n, and after dalpha's channels still hold the poison.
  bool guards_intact() {
    const std::vector<T> all = download(out.get(), n + offset + kGuard);
    for (std::size_t i = 0; i < offset; ++i)
      if (!is_nan(all[i])) return false;
    for (std::size_t i = offset + n; i < all.size(); ++i)
      if (!is_nan(all[i])) return false;
    const std::vector<compute_t<T>> da = download(dalpha.get(), alpha.size() + kGuard);
    for (std::size_t c = alpha.size(); c < da.size(); ++c)
      if (!std::isnan(static_cast<double>(da[c]))) return false;
    return true;
  }
};

/// dalpha within tol * sum|x*dy| of the reference (float accumulation bound 1e-5; the kernels
/// sum in double, so double data gets 1e-12).
template <class T>
void expect_dalpha_close(const Data<T>& d, const std::vector<compute_t<T>>& got,
                         const std::vector<compute_t<T>>& want) {
  std::vector<long double> magnitude(d.shape.channels, 0);
  for (std::size_t o = 0; o < d.shape.outer; ++o)
    for (std::size_t c = 0; c < d.shape.channels; ++c)
      for (std::size_t k = 0; k < d.shape.inner; ++k) {
        const std::size_t i = (o * d.shape.channels + c) * d.shape.inner + k;
        if (!(to_double(d.x[i]) > 0))
          magnitude[c] += std::fabs(to_double(d.x[i]) * to_double(d.dy[i]));
      }
  const double tol = std::is_same_v<T, double> ? 1e-12 : 1e-5;
  for (std::size_t c = 0; c < got.size(); ++c) {
    const double bound = tol * static_cast<double>(magnitude[c]) + 1e-30;
    EXPECT_LE(std::fabs(static_cast<double>(got[c]) - static_cast<double>(want[c])), bound)
        << "channel " << c << ": got " << got[c] << ", want " << want[c];
  }
}

template <class T>
class PReluGpu : public ::testing::Test {
 protected:
  void SetUp() override { SKIP_WITHOUT_GPU(); }
};
TYPED_TEST_SUITE(PReluGpu, ElementTypes);

TYPED_TEST(PReluGpu, EveryLayoutMatchesTheReference) {
  using T = TypeParam;
  const std::uint64_t bound = sizeof(T) == 2 ? 1 : 0;
  const auto check = [&](const std::vector<T>& got, const std::vector<T>& want, const char* what) {
    std::size_t bad = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
      bad += bound == 0 ? !same(got[i], want[i]) : ulp_distance(got[i], want[i]) > bound;
    }
    EXPECT_EQ(bad, 0u) << what;
  };
  for (const PReluShape& s : kShapes) {
    if (count(s) > max_test_n()) continue;
    for (std::size_t offset : {0, 1, 2, 3}) {
      SCOPED_TRACE(::testing::Message() << type_name<T>() << " shape {" << s.outer << ", "
                                        << s.channels << ", " << s.inner << "} offset " << offset);
      const Data<T> d(s);
      DeviceRun<T> run(d, offset);
      const std::size_t n = count(s);
      std::vector<T> want(n), want_dx(n);
      std::vector<compute_t<T>> want_da = d.dalpha_old;
      ASSERT_EQ(reference::prelu_forward(d.x.data(), d.alpha.data(), want.data(), s),
                Status::success);
      ASSERT_EQ(reference::prelu_backward(d.x.data(), d.alpha.data(), d.dy.data(), want_dx.data(),
                                          want_da.data(), s),
                Status::success);

      ASSERT_EQ(run.forward(s), Status::success) << last_error();
      check(run.result(), want, "forward");
      EXPECT_TRUE(run.guards_intact()) << "forward wrote outside y";

      run.poison();
      ASSERT_EQ(run.backward(s), Status::success) << last_error();
      check(run.result(), want_dx, "dx");
      expect_dalpha_close(d, run.grad(), want_da);
      EXPECT_TRUE(run.guards_intact()) << "backward wrote outside dx or dalpha";

      // In place: y == x, then dx == dy and dx == x (a fresh copy of the inputs each time).
      if (n == 0) continue;
      DeviceRun<T> inplace(d, offset);
      ASSERT_EQ(
          prelu_forward(inplace.x.get() + offset, inplace.alpha.get(), inplace.x.get() + offset, s),
          Status::success)
          << last_error();
      check(download(inplace.x.get() + offset, n), want, "forward in place");
      for (int on_dy = 0; on_dy < 2; ++on_dy) {
        DeviceRun<T> r(d, offset);
        T* target = on_dy ? r.dy.get() + offset : r.x.get() + offset;
        ASSERT_EQ(prelu_backward(r.x.get() + offset, r.alpha.get(), r.dy.get() + offset, target,
                                 r.dalpha.get(), s, r.ws.get(), r.ws_bytes),
                  Status::success)
            << last_error();
        check(download(target, n), want_dx, on_dy ? "dx == dy" : "dx == x");
        expect_dalpha_close(d, r.grad(), std::vector<compute_t<T>>(want_da));
      }
    }
  }
}

TYPED_TEST(PReluGpu, DalphaIsBitwiseDeterministic) {
  using T = TypeParam;
  // Five runs on the default stream, two on another stream, and a copy of the data one element
  // off its alignment (scalar loads instead of vectors): the same bits every time.
  for (const PReluShape& s :
       {PReluShape{8, 64, 49}, PReluShape{4, 16, 3136}, PReluShape{512, 64, 1}}) {
    if (count(s) > max_test_n()) continue;
    const Data<T> d(s, 42);
    DeviceRun<T> aligned(d, 0), shifted(d, 1);
    cudaStream_t stream;
    CUDA_OK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    ASSERT_EQ(aligned.backward(s), Status::success) << last_error();
    const std::vector<compute_t<T>> first = aligned.grad();
    const std::vector<T> first_dx = aligned.result();
    for (int run = 0; run < 7; ++run) {
      ASSERT_EQ(aligned.backward(s, run < 5 ? nullptr : stream), Status::success);
      CUDA_OK(cudaDeviceSynchronize());
      EXPECT_EQ(
          std::memcmp(aligned.grad().data(), first.data(), first.size() * sizeof(compute_t<T>)), 0)
          << "run " << run;
    }
    ASSERT_EQ(shifted.backward(s), Status::success);
    EXPECT_EQ(std::memcmp(shifted.grad().data(), first.data(), first.size() * sizeof(compute_t<T>)),
              0)
        << "misaligned copy";
    EXPECT_EQ(std::memcmp(shifted.result().data(), first_dx.data(), first_dx.size() * sizeof(T)),
              0);
    CUDA_OK(cudaStreamDestroy(stream));
  }
}

TYPED_TEST(PReluGpu, AccumulatesIntoDalpha) {
  using T = TypeParam;
  const PReluShape s{6, 10, 100};
  const Data<T> d(s, 3);
  DeviceRun<T> run(d, 0);
  std::vector<T> dx(count(s));
  std::vector<compute_t<T>> want = d.dalpha_old;
  const Blend accumulate{1.0f, 1.0f};
  ASSERT_EQ(reference::prelu_backward(d.x.data(), d.alpha.data(), d.dy.data(), dx.data(),
                                      want.data(), s, accumulate),
            Status::success);
  ASSERT_EQ(run.backward(s, nullptr, accumulate), Status::success) << last_error();
  expect_dalpha_close(d, run.grad(), want);
}

TEST(PReluGpuGraph, CapturedForwardAndBackwardReplay) {
  SKIP_WITHOUT_GPU();
  const PReluShape s{16, 32, 196};
  const Data<float> d(s, 5);
  DeviceRun<float> run(d, 0);
  DeviceArray<float> y(count(s));
  std::vector<float> want_y(count(s)), want_dx(count(s)), want_da(s.channels);
  ASSERT_EQ(reference::prelu_forward(d.x.data(), d.alpha.data(), want_y.data(), s),
            Status::success);
  ASSERT_EQ(reference::prelu_backward(d.x.data(), d.alpha.data(), d.dy.data(), want_dx.data(),
                                      want_da.data(), s),
            Status::success);
  cudaStream_t stream;
  CUDA_OK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  cudaGraph_t graph;
  CUDA_OK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
  ASSERT_EQ(prelu_forward(run.x.get(), run.alpha.get(), y.get(), s, stream), Status::success)
      << last_error();
  ASSERT_EQ(run.backward(s, stream), Status::success) << last_error();
  CUDA_OK(cudaStreamEndCapture(stream, &graph));
  cudaGraphExec_t exec;
  CUDA_OK(cudaGraphInstantiate(&exec, graph, 0));
  for (int replay = 0; replay < 3; ++replay) {
    CUDA_OK(cudaMemsetAsync(run.dalpha.get(), 0xFF, s.channels * 4, stream));
    CUDA_OK(cudaMemsetAsync(run.out.get(), 0xFF, count(s) * 4, stream));
    CUDA_OK(cudaMemsetAsync(y.get(), 0xFF, count(s) * 4, stream));
    CUDA_OK(cudaGraphLaunch(exec, stream));
    CUDA_OK(cudaStreamSynchronize(stream));
    EXPECT_EQ(download(y.get(), count(s)), want_y);
    EXPECT_EQ(run.result(), want_dx);
    expect_dalpha_close(d, run.grad(), want_da);
  }
  CUDA_OK(cudaGraphExecDestroy(exec));
  CUDA_OK(cudaGraphDestroy(graph));
  CUDA_OK(cudaStreamDestroy(stream));
}

TEST(PReluGpuLayer, MatchesTheCpuLayer) {
  SKIP_WITHOUT_GPU();
  const PReluShape s{3, 8, 77};
  const Data<__half> d(s, 6);
  PReluLayer<__half> gpu(8, 0.25f, Device::cuda), cpu(8, 0.25f, Device::cpu);
  Buffer<__half> gx = Buffer<__half>::from_host(d.x), gdy = Buffer<__half>::from_host(d.dy);
  Buffer<__half> gy(count(s)), gdx(count(s));
  Buffer<__half> cx = Buffer<__half>::from_host(d.x, Device::cpu),
                 cdy = Buffer<__half>::from_host(d.dy, Device::cpu);
  Buffer<__half> cy(count(s), Device::cpu), cdx(count(s), Device::cpu);
  for (int step = 0; step < 2; ++step) {
    gpu.forward(gx, gy, s);
    cpu.forward(cx, cy, s);
    const ParamGrad mode = step == 1 ? ParamGrad::accumulate : ParamGrad::overwrite;
    gpu.backward(gx, gdy, gdx, s, mode);
    cpu.backward(cx, cdy, cdx, s, mode);
  }
  const auto a = gy.to_host(), b = cy.to_host(), c = gdx.to_host(), e = cdx.to_host();
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_LE(ulp_distance(a[i], b[i]), 1u);
    ASSERT_LE(ulp_distance(c[i], e[i]), 1u);
  }
  const auto ga = gpu.dalpha().to_host(), ca = cpu.dalpha().to_host();
  for (std::size_t k = 0; k < ga.size(); ++k)
    EXPECT_NEAR(ga[k], ca[k], 1e-4 * (1 + std::fabs(ca[k])));
}

TEST(PReluGpuHuge, MoreThan2To31Elements) {
  SKIP_WITHOUT_GPU();
  // Half precision, both layouts: rows (two channels of 2^30 + 5) and columns (NHWC, 8
  // channels). Inputs from the pool so the expected values come from small tables.
  const PReluShape shapes[] = {{1, 2, (std::size_t{1} << 30) + 5},
                               {(std::size_t{1} << 28) + 3, 8, 1}};
  for (const PReluShape& s : shapes) {
    const std::size_t n = count(s);
    if (n > max_test_n()) GTEST_SKIP() << "ACTLAYER_TEST_MAX_N caps this run below 2^31";
    std::size_t free_bytes = 0, total_bytes = 0;
    CUDA_OK(cudaMemGetInfo(&free_bytes, &total_bytes));
    if (free_bytes < 3 * n * 2 + (std::size_t{1} << 30)) GTEST_SKIP() << "not enough device memory";
    std::vector<__half> pool_x, pool_dy;
    {
      std::mt19937_64 rng(9);
      std::uniform_real_distribution<double> u(-3, 3);
      for (std::size_t j = 0; j < kPool; ++j) {
        pool_x.push_back(from_double<__half>(u(rng)));
        pool_dy.push_back(from_double<__half>(u(rng)));
      }
    }
    std::vector<float> alpha(s.channels), dalpha(s.channels);
    for (std::size_t c = 0; c < s.channels; ++c) alpha[c] = 0.1f * static_cast<float>(c) - 0.2f;
    DeviceArray<__half> x(n), dy(n), dx(n);
    DeviceArray<float> d_alpha(s.channels), d_dalpha(s.channels);
    const std::size_t ws_bytes = prelu_backward_workspace_bytes(s);
    DeviceArray<double> ws(ws_bytes / 8 + 1);
    ASSERT_TRUE(x && dy && dx);
    gather(pool_x, x.get(), n);
    gather(pool_dy, dy.get(), n);
    CUDA_OK(cudaMemcpy(d_alpha.get(), alpha.data(), s.channels * 4, cudaMemcpyHostToDevice));
    ASSERT_EQ(prelu_backward(x.get(), d_alpha.get(), dy.get(), dx.get(), d_dalpha.get(), s,
                             ws.get(), ws_bytes),
              Status::success)
        << last_error();
    CUDA_OK(cudaDeviceSynchronize());
    const std::vector<__half> got = download(dx.get(), n);
    const std::vector<float> got_da = download(d_dalpha.get(), s.channels);
    // Expected dx per (pool entry, channel); dalpha summed here in long double, per thread.
    std::atomic<std::size_t> bad{0};
    std::vector<std::vector<long double>> sums, magnitudes;
    std::mutex lock;
    parallel_for(n, [&](std::size_t b, std::size_t e) {
      std::vector<long double> local(s.channels, 0), magnitude(s.channels, 0);
      std::size_t local_bad = 0;
      for (std::size_t i = b; i < e; ++i) {
        const std::size_t c = (i / s.inner) % s.channels, j = pool_index(i);
        const float z = __half2float(pool_x[j]), g = __half2float(pool_dy[j]);
        const __half want = __float2half_rn(z > 0 ? g : alpha[c] * g);
        local_bad += ulp_distance(got[i], want) > 1;
        if (!(z > 0)) {
          local[c] += static_cast<long double>(z) * g;
          magnitude[c] += std::fabs(static_cast<long double>(z) * g);
        }
      }
      bad += local_bad;
      std::lock_guard<std::mutex> guard(lock);
      sums.push_back(local);
      magnitudes.push_back(magnitude);
    });
    EXPECT_EQ(bad.load(), 0u);
    for (std::size_t c = 0; c < s.channels; ++c) {
      long double want = 0, magnitude = 0;
      for (const auto& v : sums) want += v[c];
      for (const auto& v : magnitudes) magnitude += v[c];
      EXPECT_NEAR(got_da[c], static_cast<double>(want), 1e-5 * static_cast<double>(magnitude));
    }
  }
}

}  // namespace
}  // namespace actlayer::testing
