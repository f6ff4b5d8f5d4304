// PReLU on the CPU (the kernels' block plan is walked in test_plans.cpp): the reference against 4-D
// NCHW/NHWC loops written here, finite differences, special values, the ops.cuh functor on the
// host, argument errors and the layer.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <type_traits>
#include <utility>
#include <tuple>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "actlayer/cuda.hpp"
#include "actlayer/layers.hpp"
#include "actlayer/ops.cuh"
#include "actlayer/reference.hpp"
#include "common/element_types.hpp"
#include "common/numeric.hpp"

namespace actlayer::testing {
namespace {

// ---- The reference against 4-D loops --------------------------------------------------------

struct Dims {
  std::size_t n, c, h, w;
};

/// y and dx from explicit 4-D indexing, NCHW or NHWC, written independently of the
/// [outer][channels][inner] view.
void expect_reference_matches_4d(Dims d, bool nhwc) {
  SCOPED_TRACE(::testing::Message()
               << (nhwc ? "NHWC " : "NCHW ") << d.n << "x" << d.c << "x" << d.h << "x" << d.w);
  const std::size_t count = d.n * d.c * d.h * d.w;
  std::mt19937_64 rng(d.n * 1000 + d.c * 100 + d.h * 10 + d.w);
  std::uniform_real_distribution<double> u(-3, 3);
  std::vector<double> x(count), dy(count), alpha(d.c), y(count), dx(count), dalpha(d.c);
  for (auto& v : x) v = u(rng);
  for (auto& v : dy) v = u(rng);
  for (std::size_t c = 0; c < d.c; ++c) alpha[c] = 0.1 * static_cast<double>(c + 1) - 0.3;
  const PReluShape shape =
      nhwc ? PReluShape{d.n * d.h * d.w, d.c, 1} : PReluShape{d.n, d.c, d.h * d.w};
  ASSERT_EQ(reference::prelu_forward(x.data(), alpha.data(), y.data(), shape), Status::success);
  ASSERT_EQ(
      reference::prelu_backward(x.data(), alpha.data(), dy.data(), dx.data(), dalpha.data(), shape),
      Status::success);
  std::vector<long double> want_dalpha(d.c, 0);
  for (std::size_t n = 0; n < d.n; ++n) {
    for (std::size_t c = 0; c < d.c; ++c) {
      for (std::size_t h = 0; h < d.h; ++h) {
        for (std::size_t w = 0; w < d.w; ++w) {
          const std::size_t i =
              nhwc ? ((n * d.h + h) * d.w + w) * d.c + c : ((n * d.c + c) * d.h + h) * d.w + w;
          ASSERT_EQ(y[i], x[i] >= 0 ? x[i] : alpha[c] * x[i]) << i;
          ASSERT_EQ(dx[i], x[i] > 0 ? dy[i] : alpha[c] * dy[i]) << i;
          if (x[i] <= 0) want_dalpha[c] += static_cast<long double>(x[i]) * dy[i];
        }
      }
    }
  }
  for (std::size_t c = 0; c < d.c; ++c) {
    EXPECT_EQ(dalpha[c], static_cast<double>(want_dalpha[c])) << "channel " << c;
  }
}

TEST(PReluReference, ChannelAxisMatches4DIndexing) {
  // The shapes where channel-axis bugs hid elsewhere: C == W, C == H*W, C == N, inner = 1,
  // one channel, non-square maps.
  const Dims dims[] = {{2, 5, 3, 5}, {2, 6, 2, 3}, {4, 4, 3, 2}, {3, 7, 1, 1},
                       {2, 1, 4, 5}, {1, 3, 2, 7}, {5, 2, 7, 3}, {2, 9, 3, 3}};
  for (const Dims& d : dims) {
    expect_reference_matches_4d(d, false);
    expect_reference_matches_4d(d, true);
  }
}

TEST(PReluReference, GradientsMatchFiniteDifferences) {
  // L = sum(dy * y): dL/dx_i = dx_i and dL/dalpha_c = dalpha_c, by central differences.
  const PReluShape shape{3, 4, 5};
  const std::size_t n = 60;
  std::mt19937_64 rng(8);
  std::uniform_real_distribution<double> u(-2, 2);
  std::vector<double> x(n), dy(n), alpha = {0.25, -0.5, 0.0, 1.5}, y(n), dx(n), dalpha(4);
  for (auto& v : x) v = u(rng);
  for (auto& v : dy) v = u(rng);
  ASSERT_EQ(
      reference::prelu_backward(x.data(), alpha.data(), dy.data(), dx.data(), dalpha.data(), shape),
      Status::success);
  const auto loss = [&](const std::vector<double>& xs, const std::vector<double>& as) {
    std::vector<double> out(n);
    EXPECT_EQ(reference::prelu_forward(xs.data(), as.data(), out.data(), shape), Status::success);
    long double l = 0;
    for (std::size_t i = 0; i < n; ++i) l += static_cast<long double>(dy[i]) * out[i];
    return l;
  };
  const double h = 1e-6;
  for (std::size_t i = 0; i < n; ++i) {
    if (std::fabs(x[i]) < 1e-3) continue;  // not across the kink
    std::vector<double> xp = x, xm = x;
    xp[i] += h;
    xm[i] -= h;
    EXPECT_NEAR(static_cast<double>((loss(xp, alpha) - loss(xm, alpha)) / (2 * h)), dx[i], 1e-7)
        << i;
  }
  for (std::size_t c = 0; c < 4; ++c) {
    std::vector<double> ap = alpha, am = alpha;
    ap[c] += h;
    am[c] -= h;
    EXPECT_NEAR(static_cast<double>((loss(x, ap) - loss(x, am)) / (2 * h)), dalpha[c], 1e-7) << c;
  }
}

TEST(PReluReference, SpecialValuesAndSlopes) {
  constexpr double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
  const PReluShape shape{1, 1, 1};
  struct Row {
    double x, alpha, dy, y, dx, dalpha;  // NaN means any NaN
  };
  const Row rows[] = {
      {-2, -0.5, 3, 1, -1.5, -6},        // negative slope: positive output
      {-2, 0, 3, 0, 0, -6},              // zero slope
      {-2, 2.5, 3, -5, 7.5, -6},         // slope > 1
      {-inf, 0, 3, 0, 0, -inf},          // zero slope times -inf: 0
      {-inf, 0.5, 0, -inf, 0, 0},        // dy = 0 against x = -inf: no NaN in dalpha
      {0, 0.5, inf, 0, inf, 0},          // z = 0 takes the left branch; 0 * inf counts 0
      {nan, 0.5, 1, nan, nan, nan},      // NaN x
      {-1, 0.5, nan, -0.5, nan, nan},    // NaN dy
      {2, 0.5, nan, 2, nan, 0},          // NaN dy with z > 0: dx NaN, no dalpha share
      {-0.0, 0.5, 1, -0.0, 0.5, 0},      // -0 keeps its sign (z >= 0 branch)
      {-0.0, 0.5, -2, -0.0, -1, 0},      // -0 takes the left branch in the backward
      {0.0, -3, 2, 0.0, -6, 0},          // +0 too
      {inf, 0.5, 1, inf, 1, 0},          // +inf passes
      {inf, 0.5, -inf, inf, -inf, 0},    // an infinite dy where z > 0
      {-1, 0.5, -inf, -0.5, -inf, inf},  // z * dy = -1 * -inf
      {-1, 0.5, inf, -0.5, inf, -inf},
      {-inf, 0.5, 1, -inf, 0.5, -inf},  // alpha * -inf
      {-inf, -0.5, 1, inf, -0.5, -inf},
  };
  for (const Row& r : rows) {
    double y = 0, dx = 0, da = 0;
    ASSERT_EQ(reference::prelu_forward(&r.x, &r.alpha, &y, shape), Status::success);
    ASSERT_EQ(reference::prelu_backward(&r.x, &r.alpha, &r.dy, &dx, &da, shape), Status::success);
    // The ops.cuh functor on the host agrees element by element.
    const double fy = ops::PRelu::value(r.x, r.alpha), fdx = ops::PRelu::grad(r.x, r.alpha, r.dy);
    const double fda = ops::PRelu::alpha_term<double>(r.x, r.dy);
    for (auto [got, want, what] : {std::tuple{y, r.y, "y"},
                                   {dx, r.dx, "dx"},
                                   {da, r.dalpha, "dalpha"},
                                   {fy, r.y, "ops y"},
                                   {fdx, r.dx, "ops dx"},
                                   {fda, r.dalpha, "ops dalpha"}}) {
      EXPECT_TRUE(same(got, want))
          << what << " at x=" << r.x << " alpha=" << r.alpha << " dy=" << r.dy << ": got "
          << show(got) << ", want " << show(want);
    }
  }
}

// ---- ops.cuh on the host against the reference, every type ---------------------------------

template <class T>
class PReluOps : public ::testing::Test {};
TYPED_TEST_SUITE(PReluOps, ElementTypes);

TYPED_TEST(PReluOps, FunctorMatchesReference) {
  using T = TypeParam;
  using P = compute_t<T>;
  using F = compute_t<T>;
  const PReluShape shape{sizeof(T) == 2 ? std::size_t{65536} : std::size_t{20000}, 4, 1};
  const std::size_t n = shape.outer * 4;
  std::vector<T> x = sizeof(T) == 2 ? std::vector<T>{} : random_values<T>(n, 4);
  if constexpr (sizeof(T) == 2) {
    for (T v : all_values<T>()) x.insert(x.end(), 4, v);  // every input under every slope
  }
  const std::vector<T> dy = random_gradients<T>(n, 5);
  const std::vector<P> alpha = {P(0.25), P(-0.75), P(0), P(1.5)};
  std::vector<T> y(n), dx(n);
  std::vector<P> dalpha(4);
  ASSERT_EQ(reference::prelu_forward(x.data(), alpha.data(), y.data(), shape), Status::success);
  ASSERT_EQ(
      reference::prelu_backward(x.data(), alpha.data(), dy.data(), dx.data(), dalpha.data(), shape),
      Status::success);
  const std::uint64_t bound = sizeof(T) == 2 ? 1 : 0;  // float/double bit-exact
  std::size_t bad = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const F a = F(alpha[i % 4]);
    const T fy = ops::narrow<T>(ops::PRelu::value(ops::widen(x[i]), a));
    const T fdx = ops::narrow<T>(ops::PRelu::grad(ops::widen(x[i]), a, ops::widen(dy[i])));
    const bool ok = bound == 0 ? same(fy, y[i]) && same(fdx, dx[i])
                               : ulp_distance(fy, y[i]) <= 1 && ulp_distance(fdx, dx[i]) <= 1;
    if (!ok && ++bad < 5) {
      ADD_FAILURE() << "x=" << show(x[i]) << " alpha=" << alpha[i % 4] << " dy=" << show(dy[i])
                    << ": y " << show(fy) << " vs " << show(y[i]) << ", dx " << show(fdx) << " vs "
                    << show(dx[i]);
    }
  }
  EXPECT_EQ(bad, 0u);
}

// ---- Arguments ------------------------------------------------------------------------------

TEST(PReluArguments, RejectedBeforeAnythingRuns) {
  std::vector<float> x(60, 1.0f), dy(60, 1.0f), alpha(4, 0.25f), ws(1024);
  std::vector<float> out(60), dalpha(4);
  const auto poison = [&] {
    std::memset(out.data(), 0x5A, out.size() * 4);
    std::memset(dalpha.data(), 0x5A, dalpha.size() * 4);
  };
  const auto untouched = [&] {
    const auto* p = reinterpret_cast<const unsigned char*>(out.data());
    for (std::size_t i = 0; i < 240; ++i)
      if (p[i] != 0x5A) return false;
    const auto* q = reinterpret_cast<const unsigned char*>(dalpha.data());
    for (std::size_t i = 0; i < 16; ++i)
      if (q[i] != 0x5A) return false;
    return true;
  };
  const PReluShape good{3, 4, 5};
  struct Bad {
    std::function<Status()> call;
    Status want;
    const char* fragment;
  };
  const std::size_t big = std::numeric_limits<std::size_t>::max() / 2;
  const std::size_t need = prelu_backward_workspace_bytes(good);
  const std::vector<Bad> cases = {
      {[&] {
         return prelu_forward(x.data(), alpha.data(), out.data(), {3, 0, 5});
       },
       Status::invalid_argument, "shape.channels must be >= 1"},
      {[&] {
         return prelu_forward(x.data(), alpha.data(), out.data(), {big, 4, 5});
       },
       Status::invalid_argument, "overflows size_t"},
      {[&] {
         return prelu_forward(static_cast<const float*>(nullptr), alpha.data(), out.data(), good);
       },
       Status::invalid_argument, "x is null"},
      {[&] {
         return prelu_forward(x.data(), static_cast<const float*>(nullptr), out.data(), good);
       },
       Status::invalid_argument, "alpha is null"},
      {[&] { return prelu_forward(x.data(), alpha.data(), x.data() + 1, good); },
       Status::invalid_argument, "partially overlaps"},
      {[&] {
         return prelu_backward(x.data(), alpha.data(), dy.data(), out.data(), dalpha.data(), good,
                               ws.data(), need - 8);
       },
       Status::invalid_argument, "workspace_bytes"},
      {[&] {
         return prelu_backward(x.data(), alpha.data(), dy.data(), out.data(), dalpha.data(), good,
                               nullptr, need);
       },
       Status::invalid_argument, "workspace is null"},
      {[&] {
         return prelu_backward(x.data(), alpha.data(), dy.data(), out.data(),
                               static_cast<float*>(nullptr), good, ws.data(), need);
       },
       Status::invalid_argument, "dalpha is null"},
      {[&] {
         return prelu_backward(x.data(), alpha.data(), dy.data(), out.data(), dalpha.data(), good,
                               reinterpret_cast<float*>(out.data()) + 2, need);
       },
       Status::invalid_argument, "overlap"},
      {[&] {
         return prelu_backward(x.data(), alpha.data(), dy.data(), out.data(), dalpha.data(), good,
                               ws.data(), need, nullptr, Blend{1.0f, std::nanf("")});
       },
       Status::invalid_argument, "blend.alpha and blend.beta"},
      {[&] {
         return reference::prelu_forward(x.data(), alpha.data(), out.data(), {3, 0, 5});
       },
       Status::invalid_argument, "shape.channels"},
      {[&] {
         return reference::prelu_backward(x.data(), alpha.data(),
                                          static_cast<const float*>(nullptr), out.data(),
                                          dalpha.data(), good);
       },
       Status::invalid_argument, "dy is null"},
  };
  for (const Bad& b : cases) {
    poison();
    EXPECT_EQ(b.call(), b.want) << last_error();
    EXPECT_NE(std::string(last_error()).find(b.fragment), std::string::npos)
        << "expected '" << b.fragment << "' in: " << last_error();
    EXPECT_TRUE(untouched()) << b.fragment;
  }
}

// ---- The layer on CPU buffers ---------------------------------------------------------------

// PReluLayer::backward says how it writes dalpha: no default, and no bool converts to it.
template <class L, class = void>
struct BackwardWithoutMode : std::false_type {};
template <class L>
struct BackwardWithoutMode<
    L, std::void_t<decltype(std::declval<L&>().backward(
           std::declval<const Buffer<float>&>(), std::declval<const Buffer<float>&>(),
           std::declval<Buffer<float>&>(), PReluShape{}))>> : std::true_type {};
static_assert(!BackwardWithoutMode<PReluLayer<float>>::value);
static_assert(!std::is_convertible_v<bool, ParamGrad>);

TEST(PReluLayerCpu, TrainsItsSlopesThroughTheReference) {
  const PReluShape shape{2, 3, 4};
  PReluLayer<float> layer(3, 0.25f, Device::cpu);
  EXPECT_EQ(layer.alpha().to_host(), (std::vector<float>{0.25f, 0.25f, 0.25f}));
  std::vector<float> xs(24), gs(24, 1.0f);
  for (std::size_t i = 0; i < 24; ++i) xs[i] = static_cast<float>(i % 5) - 2.0f;
  Buffer<float> x = Buffer<float>::from_host(xs, Device::cpu),
                dy = Buffer<float>::from_host(gs, Device::cpu);
  Buffer<float> y(24, Device::cpu), dx(24, Device::cpu);
  layer.forward(x, y, shape);
  layer.backward(x, dy, dx, shape, ParamGrad::overwrite);
  std::vector<float> want_y(24), want_dx(24), want_da(3);
  const std::vector<float> alpha(3, 0.25f);
  ASSERT_EQ(reference::prelu_forward(xs.data(), alpha.data(), want_y.data(), shape),
            Status::success);
  ASSERT_EQ(reference::prelu_backward(xs.data(), alpha.data(), gs.data(), want_dx.data(),
                                      want_da.data(), shape),
            Status::success);
  EXPECT_EQ(y.to_host(), want_y);
  EXPECT_EQ(dx.to_host(), want_dx);
  EXPECT_EQ(layer.dalpha().to_host(), want_da);
  layer.backward(x, dy, dx, shape, ParamGrad::accumulate);  // PyTorch's .grad: adds
  const std::vector<float> twice = layer.dalpha().to_host();
  for (std::size_t c = 0; c < 3; ++c) EXPECT_EQ(twice[c], 2 * want_da[c]);
  layer.backward(x, dy, dx, shape, ParamGrad::overwrite);  // replaces
  EXPECT_EQ(layer.dalpha().to_host(), want_da);

  try {
    layer.forward(x, y, PReluShape{2, 4, 3});
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("shape.channels = 4 but the layer has 3 channels"),
              std::string::npos)
        << e.what();
  }
  try {
    layer.forward(x, y, PReluShape{3, 3, 4});
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not match the buffers' 24 elements"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace actlayer::testing
