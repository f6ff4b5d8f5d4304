// The elementwise kernels on the GPU against the CPU reference: every op x dtype x pass over
// the sizes and pointer offsets of docs/design.md §6, outputs poisoned before the call and
// guard regions checked after it, in place, blended, with mismatched alignments, beyond 2^31
// elements when the card has the memory, bitwise determinism, streams and threads.
#include <atomic>
#include <cmath>
#include <mutex>
#include <thread>

#include "actlayer/cuda.hpp"
#include "actlayer/reference.hpp"
#include "common/element_types.hpp"
#include "common/cases.hpp"
#include "common/compare.hpp"
#include "gpu_harness.cuh"

namespace actlayer::testing {
namespace {

constexpr std::size_t kGuard = 64;                // poisoned elements after the end
constexpr std::size_t kLargest = (1u << 24) + 3;  // docs/design.md §6's largest size
const std::size_t kSizes[] = {0,   1,    15,   16,   17,       127,     128,
                              129, 4095, 4096, 4097, 1u << 20, kLargest};

/// Inputs for every element: pool_index(i) picks an entry.
template <class T>
struct Pool {
  std::vector<T> x, dy, old;
  Pool() {
    x = extremal_values<T>();
    const std::vector<T> r = random_values<T>(kPool - x.size(), 17);
    x.insert(x.end(), r.begin(), r.end());
    dy = random_gradients<T>(kPool, 18);
    std::mt19937_64 rng(19);
    std::uniform_real_distribution<double> moderate(-4.0, 4.0);
    for (std::size_t i = 0; i < kPool; ++i) old.push_back(from_double<T>(moderate(rng)));
  }
};

/// The pool entries of the first input (x, or y = f(x) for the output form) and the expected
/// results, blended into `old` as the call will be.
template <class T>
struct Expected {
  std::vector<T> in0;
  std::vector<T> result;     // with the blend
  std::vector<T> unblended;  // alpha = 1, beta = 0
};

template <class T>
Status reference_pass(const Activation& act, Pass pass, const T* in0, const T* dy, T* out,
                      std::size_t n, Blend blend) {
  switch (pass) {
    case Pass::forward:
      return reference::forward(act, in0, out, n, blend);
    case Pass::backward:
      return reference::backward(act, in0, dy, out, n, blend);
    case Pass::backward_from_output:
      return reference::backward_from_output(act, in0, dy, out, n, blend);
  }
  return Status::invalid_argument;
}

template <class T>
Status device_pass(const Activation& act, Pass pass, const T* in0, const T* dy, T* out,
                   std::size_t n, cudaStream_t stream, Blend blend) {
  switch (pass) {
    case Pass::forward:
      return forward(act, in0, out, n, stream, blend);
    case Pass::backward:
      return backward(act, in0, dy, out, n, stream, blend);
    case Pass::backward_from_output:
      return backward_from_output(act, in0, dy, out, n, stream, blend);
  }
  return Status::invalid_argument;
}

template <class T>
Expected<T> expected(const OpCase& c, Pass pass, const Pool<T>& pool, Blend blend) {
  Expected<T> e;
  e.in0 = pool.x;
  if (pass == Pass::backward_from_output) {
    EXPECT_EQ(reference::forward(c.act, pool.x.data(), e.in0.data(), kPool), Status::success);
  }
  e.result = pool.old;
  e.unblended.resize(kPool);
  EXPECT_EQ(
      reference_pass(c.act, pass, e.in0.data(), pool.dy.data(), e.result.data(), kPool, blend),
      Status::success);
  EXPECT_EQ(
      reference_pass(c.act, pass, e.in0.data(), pool.dy.data(), e.unblended.data(), kPool, Blend{}),
      Status::success);
  return e;
}

struct Config {
  std::size_t n = 0;
  std::size_t offset = 0;       // elements from an allocation's (256-byte aligned) start
  std::size_t input_shift = 0;  // extra offset of the inputs only: mismatched alignment
  Blend blend{};
  bool in_place = false;   // the output is one of the inputs:
  int in_place_input = 0;  // 0: x (or y), 1: dy
};

/// Device arrays big enough for every configuration, allocated once per type.
template <class T>
struct Arrays {
  std::size_t capacity;
  DeviceArray<T> in0, in1, out;
  explicit Arrays(std::size_t n)
      : capacity(n + 8 + kGuard), in0(capacity), in1(capacity), out(capacity) {}
};

/// Runs one configuration and checks every element, the poison before and the guard after.
template <class T>
void run_config(const OpCase& c, Pass pass, const Pool<T>& pool, const Expected<T>& want,
                const Config& cfg, Arrays<T>& arr) {
  SCOPED_TRACE(::testing::Message()
               << type_name<T>() << " " << c.name << " " << to_string(pass) << " n=" << cfg.n
               << " offset=" << cfg.offset << " shift=" << cfg.input_shift
               << (cfg.in_place ? (cfg.in_place_input ? " in-place on dy" : " in-place on x") : "")
               << " blend=(" << cfg.blend.alpha << "," << cfg.blend.beta << ")");
  const std::size_t total = cfg.offset + cfg.n + kGuard;
  ASSERT_LE(total + cfg.input_shift, arr.capacity);
  T* out = arr.out.get() + cfg.offset;
  T* in0 = arr.in0.get() + cfg.offset + cfg.input_shift;
  T* in1 = arr.in1.get() + cfg.offset + cfg.input_shift;
  CUDA_OK(cudaMemset(arr.out.get(), 0xFF, total * sizeof(T)));  // NaN in every type
  gather(want.in0, in0, cfg.n);
  gather(pool.dy, in1, cfg.n);
  if (cfg.blend.beta != 0.0f) gather(pool.old, out, cfg.n);
  if (cfg.in_place) {
    if (cfg.in_place_input == 0) {
      gather(want.in0, out, cfg.n);
      in0 = out;
    } else {
      gather(pool.dy, out, cfg.n);
      in1 = out;
    }
  }
  ASSERT_EQ(device_pass(c.act, pass, in0, in1, out, cfg.n, nullptr, cfg.blend), Status::success)
      << last_error();
  CUDA_OK(cudaDeviceSynchronize());
  const std::vector<T> got = download(arr.out.get(), total);

  const std::uint64_t bound = ulp_bound<T>(c, pass);
  const bool blended = cfg.blend.alpha != 1.0f || cfg.blend.beta != 0.0f;
  std::atomic<std::size_t> failures{0}, poison{0};
  std::mutex report_lock;
  std::string report;
  const T* result = got.data() + cfg.offset;
  parallel_for(cfg.n, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) {
      const std::size_t j = pool_index(i);
      const bool ok = blended      ? blend_close(result[i], want.result[j], want.unblended[j],
                                                 pool.old[j], cfg.blend, bound)
                      : bound == 0 ? same(result[i], want.result[j])
                                   : ulp_distance(result[i], want.result[j]) <= bound;
      if (!ok && failures.fetch_add(1) < 8) {
        std::lock_guard<std::mutex> lock(report_lock);
        report += "  [" + std::to_string(i) + "] in=" + show(want.in0[j]) +
                  " dy=" + show(pool.dy[j]) + ": got " + show(result[i]) + ", want " +
                  show(want.result[j]) + "\n";
      }
    }
  });
  const auto poisoned = [](T v) { return bits(v) == static_cast<bits_t<T>>(~bits_t<T>{0}); };
  for (std::size_t i = 0; i < cfg.offset; ++i) poison += !poisoned(got[i]);
  for (std::size_t i = cfg.offset + cfg.n; i < total; ++i) poison += !poisoned(got[i]);
  EXPECT_EQ(failures.load(), 0u) << report;
  EXPECT_EQ(poison.load(), 0u) << "elements outside [offset, offset + n) were written";
}

template <class T>
class Elementwise : public ::testing::Test {
 protected:
  void SetUp() override { SKIP_WITHOUT_GPU(); }
};
TYPED_TEST_SUITE(Elementwise, ElementTypes);

/// Calls f(case, pass, expected) for every op case and pass it has.
template <class T, class F>
void for_each_case_and_pass(const Pool<T>& pool, Blend blend, F f) {
  for (const OpCase& c : op_cases()) {
    for (Pass pass : kPasses) {
      if (pass == Pass::backward_from_output && !c.from_output) continue;
      f(c, pass, expected(c, pass, pool, blend));
    }
  }
}

TYPED_TEST(Elementwise, SizesAndOffsetsMatchTheReference) {
  using T = TypeParam;
  const Pool<T> pool;
  Arrays<T> arr(std::min(kLargest, max_test_n()));
  ASSERT_TRUE(arr.out) << "out of device memory";
  for_each_case_and_pass(pool, Blend{}, [&](const OpCase& c, Pass pass, const Expected<T>& want) {
    for (std::size_t n : kSizes) {
      if (n > max_test_n()) continue;
      for (std::size_t offset : {0, 1, 2, 3})
        run_config(c, pass, pool, want, Config{n, offset}, arr);
    }
  });
}

TYPED_TEST(Elementwise, InPlace) {
  using T = TypeParam;
  const Pool<T> pool;
  Arrays<T> arr(std::min<std::size_t>((1u << 20) + 1, max_test_n()));
  for_each_case_and_pass(pool, Blend{}, [&](const OpCase& c, Pass pass, const Expected<T>& want) {
    for (std::size_t n :
         {std::size_t{1}, std::size_t{17}, std::size_t{4097}, (std::size_t{1} << 20) + 1}) {
      if (n > max_test_n()) continue;
      for (std::size_t offset : {0, 1}) {
        for (int input : {0, 1}) {  // y == x; dx == x or dx == dy
          if (pass == Pass::forward && input == 1) continue;
          Config cfg{n, offset};
          cfg.in_place = true;
          cfg.in_place_input = input;
          run_config(c, pass, pool, want, cfg, arr);
        }
      }
    }
  });
}

TYPED_TEST(Elementwise, BlendReadsTheOutputOnlyWhenBetaIsNonZero) {
  using T = TypeParam;
  const Pool<T> pool;
  Arrays<T> arr(std::min<std::size_t>((1u << 20) + 3, max_test_n()));
  // beta != 0: the old output is read and blended.
  for_each_case_and_pass(
      pool, Blend{0.5f, -2.0f}, [&](const OpCase& c, Pass pass, const Expected<T>& want) {
        for (std::size_t n : {std::size_t{17}, std::size_t{4097}, (std::size_t{1} << 20) + 3}) {
          if (n > max_test_n()) continue;
          for (std::size_t offset : {0, 2}) {
            Config cfg{n, offset};
            cfg.blend = {0.5f, -2.0f};
            run_config(c, pass, pool, want, cfg, arr);
          }
        }
      });
  // beta == 0 with alpha != 1: the NaN poison in the output must not leak in.
  for_each_case_and_pass(pool, Blend{2.0f, 0.0f},
                         [&](const OpCase& c, Pass pass, const Expected<T>& want) {
                           Config cfg{std::min<std::size_t>(4097, max_test_n()), 1};
                           cfg.blend = {2.0f, 0.0f};
                           run_config(c, pass, pool, want, cfg, arr);
                         });
}

TYPED_TEST(Elementwise, MismatchedAlignmentsTakeTheScalarPath) {
  using T = TypeParam;
  const Pool<T> pool;
  Arrays<T> arr(std::min<std::size_t>(100003, max_test_n()));
  for_each_case_and_pass(pool, Blend{}, [&](const OpCase& c, Pass pass, const Expected<T>& want) {
    for (std::size_t shift : {1, 3}) {
      Config cfg{std::min<std::size_t>(100003, max_test_n()), 0};
      cfg.input_shift = shift;
      run_config(c, pass, pool, want, cfg, arr);
    }
  });
}

TYPED_TEST(Elementwise, BitwiseDeterministicAcrossRunsAndStreams) {
  using T = TypeParam;
  const std::size_t n = std::min<std::size_t>((1u << 20) + 5, max_test_n());
  const Pool<T> pool;
  DeviceArray<T> x(n), dy(n), dx1(n), dx2(n);
  gather(pool.x, x.get(), n);
  gather(pool.dy, dy.get(), n);
  cudaStream_t stream;
  CUDA_OK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  for (const OpCase& c : op_cases()) {
    ASSERT_EQ(backward(c.act, x.get(), dy.get(), dx1.get(), n), Status::success) << last_error();
    ASSERT_EQ(backward(c.act, x.get(), dy.get(), dx2.get(), n, stream), Status::success);
    CUDA_OK(cudaDeviceSynchronize());
    const auto a = download(dx1.get(), n), b = download(dx2.get(), n);
    EXPECT_EQ(std::memcmp(a.data(), b.data(), n * sizeof(T)), 0) << c.name << ": two runs differ";
  }
  CUDA_OK(cudaStreamDestroy(stream));
}

TEST(ElementwiseHuge, MoreThan2To31Elements) {
  SKIP_WITHOUT_GPU();
  // 2^31 + 77 half elements: 4 GiB per array, indices past INT_MAX in every part of the loop.
  const std::size_t n = (std::size_t{1} << 31) + 77;
  if (n > max_test_n()) GTEST_SKIP() << "ACTLAYER_TEST_MAX_N caps this run below 2^31";
  std::size_t free_bytes = 0, total_bytes = 0;
  CUDA_OK(cudaMemGetInfo(&free_bytes, &total_bytes));
  if (free_bytes < 3 * n * sizeof(__half) + (1u << 30)) {
    GTEST_SKIP() << "needs " << (3 * n * 2 >> 30) << " GiB of device memory, " << (free_bytes >> 30)
                 << " GiB free";
  }
  const Pool<__half> pool;
  DeviceArray<__half> x(n), dy(n), out(n);
  ASSERT_TRUE(x && dy && out);
  gather(pool.x, x.get(), n);
  gather(pool.dy, dy.get(), n);
  for (const OpCase& c : {op_cases()[2], op_cases()[5]}) {  // sigmoid, leaky_relu(0.01)
    for (Pass pass : {Pass::forward, Pass::backward}) {
      const Expected<__half> want = expected(c, pass, pool, Blend{});
      ASSERT_EQ(device_pass(c.act, pass, x.get(), dy.get(), out.get(), n, nullptr, Blend{}),
                Status::success)
          << last_error();
      CUDA_OK(cudaDeviceSynchronize());
      const std::vector<__half> got = download(out.get(), n);
      std::atomic<std::size_t> failures{0};
      parallel_for(n, [&](std::size_t b, std::size_t e) {
        std::size_t local = 0;
        for (std::size_t i = b; i < e; ++i) {
          local += ulp_distance(got[i], want.result[pool_index(i)]) > 1;
        }
        failures += local;
      });
      EXPECT_EQ(failures.load(), 0u) << c.name << " " << to_string(pass);
    }
  }
}

TEST(ElementwiseThreads, ConcurrentCallsFromSeveralThreadsAndStreams) {
  SKIP_WITHOUT_GPU();
  const std::size_t n = std::min<std::size_t>(1u << 18, max_test_n());
  const Pool<float> pool;
  const Expected<float> want = expected(op_cases()[2], Pass::forward, pool, Blend{});
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      cudaStream_t s;
      if (cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking) != cudaSuccess) return void(++bad);
      DeviceArray<float> x(n), y(n);
      gather(pool.x, x.get(), n, s);
      for (int k = 0; k < 20; ++k) {
        if (forward(Activation::sigmoid(), x.get(), y.get(), n, s) != Status::success) ++bad;
      }
      cudaStreamSynchronize(s);
      const std::vector<float> got = download(y.get(), n);
      for (std::size_t i = 0; i < n; ++i) {
        if (ulp_distance(got[i], want.result[pool_index(i)]) > 4) {
          ++bad;
          break;
        }
      }
      cudaStreamDestroy(s);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST(ElementwiseDevices, EveryDeviceComputesTheSame) {
  SKIP_WITHOUT_GPU();
  int count = 0;
  CUDA_OK(cudaGetDeviceCount(&count));
  if (count < 2) GTEST_SKIP() << "one CUDA device: the multi-device test needs two";
  const std::size_t n = 100003;
  const Pool<float> pool;
  const Expected<float> want = expected(op_cases()[3], Pass::backward, pool, Blend{});
  for (int d = 0; d < count; ++d) {
    CUDA_OK(cudaSetDevice(d));
    DeviceArray<float> x(n), dy(n), dx(n);
    gather(pool.x, x.get(), n);
    gather(pool.dy, dy.get(), n);
    ASSERT_EQ(backward(Activation::tanh(), x.get(), dy.get(), dx.get(), n), Status::success);
    const std::vector<float> got = download(dx.get(), n);
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_LE(ulp_distance(got[i], want.result[pool_index(i)]), 8u) << "device " << d;
    }
  }
  CUDA_OK(cudaSetDevice(0));
}

}  // namespace
}  // namespace actlayer::testing
