// RReLU in training mode on the CPU: the reference Philox against Random123's known answers,
// the noise against values computed independently (exact rational arithmetic, outside this
// code base), the slopes' statistics, gradients by finite differences, the saved-noise calls,
// the ops.cuh functor, argument errors and the layer.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "actlayer/cuda.hpp"
#include "actlayer/layers.hpp"
#include "actlayer/ops.cuh"
#include "actlayer/reference.hpp"
#include "common/element_types.hpp"
#include "common/numeric.hpp"
#include "reference/philox.hpp"

namespace actlayer::testing {
namespace {

using reference::detail::philox4x32_10;

TEST(Philox, Random123KnownAnswers) {
  // Random123's kat_vectors, philox4x32 with 10 rounds: counter, key -> output.
  struct Kat {
    reference::detail::PhiloxCounter counter;
    reference::detail::PhiloxKey key;
    reference::detail::PhiloxCounter want;
  };
  const Kat kats[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
       {0xffffffff, 0xffffffff},
       {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
       {0xa4093822, 0x299f31d0},
       {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  };
  for (const Kat& k : kats) EXPECT_EQ(philox4x32_10(k.counter, k.key), k.want);
}

TEST(RReluNoise, MatchesIndependentlyComputedValues) {
  // (seed, offset, i) -> Philox word and r_i for lower = 1/8, upper = 1/3 (floats), from an
  // independent implementation in exact rational arithmetic.
  struct Known {
    std::uint64_t seed, offset, i;
    std::uint32_t word, slope_bits;
  };
  const Known known[] = {
      {0x0ull, 0x0ull, 0x0ull, 0x6627e8d5u, 0x3e552142u},
      {0x0ull, 0x0ull, 0x1ull, 0xe169c58du, 0x3e9dec12u},
      {0x0ull, 0x0ull, 0x5ull, 0xf08d6eaau, 0x3ea43aeeu},
      {0x2aull, 0x7ull, 0x0ull, 0x5bbd83b1u, 0x3e4c7343u},
      {0x2aull, 0x7ull, 0x3ull, 0x2e6b75b7u, 0x3e26aee2u},
      {0x2aull, 0x7ull, 0x4ull, 0x4c78c45fu, 0x3e3fb9f9u},
      {0x123456789abcdef0ull, 0x100000005ull, 0x200000002ull, 0x7d76be6bu, 0x3e688d9fu},
      {0x7eaull, 0x1ull, 0xf4243ull, 0x43500f14u, 0x3e38180du},
  };
  for (const Known& k : known) {
    EXPECT_EQ(reference::detail::philox_word(k.seed, k.offset, k.i), k.word) << k.i;
    // rrelu_slopes computes r_0 .. r_i; take the last.
    if (k.i < 2'000'000) {
      std::vector<float> r(k.i + 1);
      ASSERT_EQ(reference::rrelu_slopes(Activation::rrelu_training({k.seed, k.offset}), r.data(),
                                        r.size()),
                Status::success);
      EXPECT_EQ(bits(r.back()), k.slope_bits) << "seed " << k.seed << " i " << k.i;
    }
    // The ops.cuh formula on the host gives the same slope from the same word.
    EXPECT_EQ(bits(ops::RRelu{1.0f / 8, 1.0f / 3}.slope(k.word)), k.slope_bits);
  }
}

std::vector<float> slopes(Philox key, float lower, float upper, std::size_t n) {
  std::vector<float> r(n);
  EXPECT_EQ(reference::rrelu_slopes(Activation::rrelu_training(key, lower, upper), r.data(), n),
            Status::success);
  return r;
}

TEST(RReluNoise, IsUniformOnLowerUpper) {
  const float lower = 1.0f / 8, upper = 1.0f / 3;
  const std::size_t n = 1'000'000;
  std::vector<float> r = slopes({2026, 11}, lower, upper, n);
  // In [lower, upper]; upper itself only through the fma's rounding (u within a few 2^-24 of 1).
  std::size_t at_upper = 0;
  for (float v : r) {
    ASSERT_GE(v, lower);
    ASSERT_LE(v, upper);
    at_upper += v == upper;
  }
  EXPECT_LE(at_upper, 4u);
  // Mean and variance within 4 standard errors of U(lower, upper)'s.
  const double w = static_cast<double>(upper) - lower;
  long double sum = 0, sum2 = 0;
  for (float v : r) sum += v, sum2 += static_cast<long double>(v) * v;
  const double mean = static_cast<double>(sum / n);
  const double var = static_cast<double>(sum2 / n) - mean * mean;
  const double mu = (static_cast<double>(lower) + upper) / 2, sigma2 = w * w / 12;
  EXPECT_LE(std::fabs(mean - mu), 4 * std::sqrt(sigma2 / n));
  const double mu4 = w * w * w * w / 80;  // fourth central moment of a uniform
  EXPECT_LE(std::fabs(var - sigma2), 4 * std::sqrt((mu4 - sigma2 * sigma2) / n));
  // Kolmogorov-Smirnov at alpha = 0.001: D < sqrt(ln(2/alpha)/2) / sqrt(n).
  std::sort(r.begin(), r.end());
  double d = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double cdf = (r[i] - lower) / w;
    d = std::max({d, std::fabs(cdf - static_cast<double>(i) / n),
                  std::fabs(cdf - static_cast<double>(i + 1) / n)});
  }
  EXPECT_LT(d, std::sqrt(std::log(2.0 / 0.001) / 2) / std::sqrt(static_cast<double>(n)))
      << "D = " << d;
}

double correlation(const std::vector<float>& a, const std::vector<float>& b) {
  const std::size_t n = a.size();
  const double ma = std::accumulate(a.begin(), a.end(), 0.0) / n,
               mb = std::accumulate(b.begin(), b.end(), 0.0) / n;
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  return sab / std::sqrt(saa * sbb);
}

TEST(RReluNoise, OtherOffsetsAndSeedsGiveUncorrelatedStreams) {
  const std::size_t n = 1'000'000;
  const std::vector<float> base = slopes({7, 0}, 0.0f, 1.0f, n);
  for (Philox other : {Philox{7, 1}, Philox{8, 0}, Philox{7, std::uint64_t{1} << 32}}) {
    const std::vector<float> r = slopes(other, 0.0f, 1.0f, n);
    std::size_t equal = 0;
    for (std::size_t i = 0; i < n; ++i) equal += r[i] == base[i];
    EXPECT_LT(equal, 20u) << "seed " << other.seed << " offset " << other.offset;
    EXPECT_LT(std::fabs(correlation(r, base)), 4 / std::sqrt(static_cast<double>(n)));
  }
  // Neighbouring elements are uncorrelated too (lag 1 and lag 4 within the stream).
  const std::vector<float> lag1(base.begin() + 1, base.end()), head1(base.begin(), base.end() - 1);
  EXPECT_LT(std::fabs(correlation(lag1, head1)), 4 / std::sqrt(static_cast<double>(n)));
  const std::vector<float> lag4(base.begin() + 4, base.end()), head4(base.begin(), base.end() - 4);
  EXPECT_LT(std::fabs(correlation(lag4, head4)), 4 / std::sqrt(static_cast<double>(n)));
}

TEST(RReluNoise, EqualBoundsGiveADeterministicSlope) {
  for (float v : slopes({3, 4}, 0.25f, 0.25f, 1000)) ASSERT_EQ(v, 0.25f);
  for (float v : slopes({3, 4}, 0.0f, 0.0f, 1000)) ASSERT_EQ(v, 0.0f);
}

// ---- Forward, backward, saved noise ----------------------------------------------------------

TEST(RReluReference, BackwardMatchesFiniteDifferencesForFixedNoise) {
  const Activation act = Activation::rrelu_training({99, 3}, 0.1f, 0.4f);
  const std::size_t n = 200;
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> u(-2, 2);
  std::vector<double> x(n), dy(n), dx(n), yp(n), ym(n);
  for (auto& v : x) v = u(rng);
  for (auto& v : dy) v = u(rng);
  ASSERT_EQ(reference::backward(act, x.data(), dy.data(), dx.data(), n), Status::success);
  const double h = 1e-6;
  std::vector<double> xp = x, xm = x;
  for (std::size_t i = 0; i < n; ++i) xp[i] += h, xm[i] -= h;
  ASSERT_EQ(reference::forward(act, xp.data(), yp.data(), n),
            Status::success);  // same key: same slopes
  ASSERT_EQ(reference::forward(act, xm.data(), ym.data(), n), Status::success);
  for (std::size_t i = 0; i < n; ++i) {
    if (std::fabs(x[i]) < 1e-3) continue;
    EXPECT_NEAR(dy[i] * (yp[i] - ym[i]) / (2 * h), dx[i], 1e-8) << i;
  }
}

template <class T>
class RReluTypes : public ::testing::Test {};
TYPED_TEST_SUITE(RReluTypes, ElementTypes);

TYPED_TEST(RReluTypes, ForwardUsesTheDrawnSlopesAndSavedNoiseEqualsRegenerated) {
  using T = TypeParam;
  const std::size_t n = 100003;
  const Activation act = Activation::rrelu_training({5, 6});
  std::vector<T> x = random_values<T>(n, 1), dy = random_gradients<T>(n, 2);
  std::vector<T> y(n), y2(n), dx(n), dx2(n);
  std::vector<float> noise(n), r(n);
  ASSERT_EQ(reference::rrelu_slopes(act, r.data(), n), Status::success);
  ASSERT_EQ(reference::forward(act, x.data(), y.data(), n), Status::success);
  ASSERT_EQ(reference::rrelu_forward_save_noise(act, x.data(), y2.data(), noise.data(), n),
            Status::success);
  ASSERT_EQ(reference::backward(act, x.data(), dy.data(), dx.data(), n), Status::success);
  ASSERT_EQ(reference::rrelu_backward_saved_noise(noise.data(), dy.data(), dx2.data(), n),
            Status::success);
  std::size_t bad = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double z = to_double(x[i]);
    // y: a leaky ReLU with this element's slope, evaluated independently by the reference.
    T want;
    const Activation leaky = Activation::leaky_relu(r[i]);
    EXPECT_EQ(reference::forward(leaky, &x[i], &want, 1), Status::success);
    bad += !same(y[i], want) || !same(y2[i], y[i]);
    // noise: the applied slope.
    const float applied = std::isnan(z) ? std::nanf("") : z > 0 ? 1.0f : r[i];
    bad += !same(noise[i], applied);
    bad += !same(dx2[i], dx[i]);
    // ops.cuh on the host: the same bits as the reference (float/double) or within 1 ulp.
    const T fy = ops::narrow<T>(ops::RRelu::value(ops::widen(x[i]), r[i]));
    const T fdx = ops::narrow<T>(ops::RRelu::grad(ops::widen(x[i]), r[i], ops::widen(dy[i])));
    const T fdx2 = ops::narrow<T>(ops::RRelu::grad_from_applied(
        ops::RRelu::applied_slope(ops::widen(x[i]), r[i]), ops::widen(dy[i])));
    if (sizeof(T) == 2) {
      bad += ulp_distance(fy, y[i]) > 1 || ulp_distance(fdx, dx[i]) > 1;
    } else {
      bad += !same(fy, y[i]) || !same(fdx, dx[i]);
    }
    bad += !same(fdx2, fdx);
    if (bad > 0) {
      ADD_FAILURE() << "element " << i << " x=" << show(x[i]) << " r=" << r[i];
      break;
    }
  }
  EXPECT_EQ(bad, 0u);
}

/// Explicit rows, not random patterns: +-0, +-inf and NaN in x and in dy, through every RReLU
/// training call and the ops.cuh functor, against values written here from the drawn slopes.
TYPED_TEST(RReluTypes, SpecialValues) {
  using T = TypeParam;
  constexpr double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
  struct Row {
    double x, dy;
  };
  // dy = 2: slope * dy is exact in every type, so rounding it here cannot differ.
  const Row rows[] = {{0.0, 2},    {-0.0, 2},   {0.0, -inf}, {-0.0, inf}, {inf, 2}, {-inf, 2},
                      {inf, -inf}, {-inf, inf}, {nan, 2},    {-1, nan},   {2, nan}, {-1, inf},
                      {-1, 0.0},   {-1, -0.0},  {-inf, 0.0}, {2, -0.0},   {-2, 2},  {2, 2}};
  constexpr std::size_t n = sizeof(rows) / sizeof(rows[0]);
  const Activation act = Activation::rrelu_training({11, 4});
  std::vector<T> x(n), dy(n), y(n), y2(n), dx(n), dx2(n);
  std::vector<float> noise(n), r(n);
  for (std::size_t i = 0; i < n; ++i) {
    x[i] = from_double<T>(rows[i].x);
    dy[i] = from_double<T>(rows[i].dy);
  }
  ASSERT_EQ(reference::rrelu_slopes(act, r.data(), n), Status::success);
  ASSERT_EQ(reference::forward(act, x.data(), y.data(), n), Status::success);
  ASSERT_EQ(reference::rrelu_forward_save_noise(act, x.data(), y2.data(), noise.data(), n),
            Status::success);
  ASSERT_EQ(reference::backward(act, x.data(), dy.data(), dx.data(), n), Status::success);
  ASSERT_EQ(reference::rrelu_backward_saved_noise(noise.data(), dy.data(), dx2.data(), n),
            Status::success);
  for (std::size_t i = 0; i < n; ++i) {
    const double z = rows[i].x, g = rows[i].dy, slope = r[i];
    ASSERT_GT(slope, 0.0);
    // z >= 0 passes z (-0 keeps its sign); z < 0 scales; the backward's z = +-0 takes the left
    // branch (slope * dy, signed zeros included); NaN anywhere gives NaN.
    const double want_y = std::isnan(z) ? nan : (z >= 0 ? z : slope * z);
    const double want_noise = std::isnan(z) ? nan : (z > 0 ? 1.0 : slope);
    const double want_dx = std::isnan(z) || std::isnan(g) ? nan : z > 0 ? g : slope * g;
    const T fy = ops::narrow<T>(ops::RRelu::value(ops::widen(x[i]), r[i]));
    const T fdx = ops::narrow<T>(ops::RRelu::grad(ops::widen(x[i]), r[i], ops::widen(dy[i])));
    const float fnoise = ops::RRelu::applied_slope(ops::widen(x[i]), r[i]);
    SCOPED_TRACE(::testing::Message() << "x=" << z << " dy=" << g << " r=" << slope);
    for (T got : {y[i], y2[i], fy}) EXPECT_TRUE(same(got, from_double<T>(want_y))) << show(got);
    for (float got : {noise[i], fnoise}) {
      EXPECT_TRUE(same(got, static_cast<float>(want_noise))) << "noise " << got;
    }
    for (T got : {dx[i], dx2[i], fdx}) EXPECT_TRUE(same(got, from_double<T>(want_dx))) << show(got);
  }
}

TEST(RReluArguments, Checked) {
  std::vector<float> x(8, -1.0f), y(8), noise(8), dy(8, 1.0f);
  std::uint64_t counter = 0;
  const auto expect = [](Status got, Status want, const char* fragment) {
    EXPECT_EQ(got, want) << last_error();
    EXPECT_NE(std::string(last_error()).find(fragment), std::string::npos)
        << "expected '" << fragment << "' in: " << last_error();
  };
  expect(reference::forward(Activation::rrelu_training({1, 2}, -0.1f, 0.3f), x.data(), y.data(), 8),
         Status::invalid_argument, "activation.lower must be >= 0");
  expect(reference::forward(Activation::rrelu_training({1, 2}, 0.4f, 0.3f), x.data(), y.data(), 8),
         Status::invalid_argument, "lower must be <= activation.upper");
  expect(reference::forward(
             Activation::rrelu_training({1, 2}, 0.1f, std::numeric_limits<float>::infinity()),
             x.data(), y.data(), 8),
         Status::invalid_argument, "must be finite");
  expect(reference::forward(Activation::rrelu_training({1, 2, &counter}), x.data(), y.data(), 8),
         Status::invalid_argument, "device_offset");
  expect(reference::backward_from_output(Activation::rrelu_training({1, 2}), y.data(), dy.data(),
                                         y.data(), 8),
         Status::not_supported, "training mode has no backward from the output");
  expect(backward_from_output(Activation::rrelu_training({1, 2}), y.data(), dy.data(), y.data(), 8),
         Status::not_supported, "training mode has no backward from the output");
  expect(
      reference::rrelu_forward_save_noise(Activation::rrelu(), x.data(), y.data(), noise.data(), 8),
      Status::invalid_argument, "rrelu in training mode");
  expect(rrelu_forward_save_noise(Activation::relu(), x.data(), y.data(), noise.data(), 8),
         Status::invalid_argument, "rrelu in training mode");
  expect(rrelu_forward_save_noise(Activation::rrelu_training({1, 2}), x.data(), y.data(),
                                  reinterpret_cast<float*>(y.data()) + 1, 7),
         Status::invalid_argument, "overlap");
  expect(rrelu_backward_saved_noise(static_cast<const float*>(nullptr), dy.data(), y.data(), 8),
         Status::invalid_argument, "noise is null");
  expect(rrelu_advance_offset(nullptr), Status::invalid_argument, "device_offset is null");
  // lower == upper is allowed: a deterministic slope.
  EXPECT_EQ(
      reference::forward(Activation::rrelu_training({1, 2}, 0.2f, 0.2f), x.data(), y.data(), 8),
      Status::success);
  EXPECT_EQ(y[0], -0.2f);
}

// ---- The layer on CPU buffers ---------------------------------------------------------------

TEST(RReluLayerCpu, OffsetsAdvanceAndBackwardReusesTheForwardsKey) {
  RReluLayer<float> layer(77, 0.1f, 0.3f, Device::cpu);
  const std::size_t n = 4096;
  std::vector<float> xs(n, -1.0f), gs(n, 1.0f);
  Buffer<float> x = Buffer<float>::from_host(xs, Device::cpu),
                dy = Buffer<float>::from_host(gs, Device::cpu);
  Buffer<float> y(n, Device::cpu), dx(n, Device::cpu);
  layer.track_slopes(true);
  std::vector<float> previous;
  for (std::uint64_t step = 0; step < 3; ++step) {
    EXPECT_EQ(layer.forwards(), step);
    layer.forward(x, y);
    layer.backward(x, dy, dx);
    const std::vector<float> r = slopes({77, step}, 0.1f, 0.3f, n);
    const std::vector<float> got_y = y.to_host(), got_dx = dx.to_host();
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_EQ(got_y[i], -r[i]) << step;  // y = r * (-1)
      ASSERT_EQ(got_dx[i], r[i]) << step;  // dx = r * 1: the forward's slopes
    }
    EXPECT_NE(got_y, previous);
    previous = got_y;
  }
  // The drawn slopes' mean is near (lower + upper)/2 = 0.2, and eval can use it.
  EXPECT_NEAR(layer.slope_mean(), 0.2, 0.003);
  layer.train(false);
  EXPECT_FLOAT_EQ(layer.eval_slope(), Activation::rrelu(0.1f, 0.3f).eval_slope());
  layer.forward(x, y);
  EXPECT_EQ(y.to_host()[0], -layer.eval_slope());
  layer.eval_with_drawn_mean(true);
  EXPECT_FLOAT_EQ(layer.eval_slope(), static_cast<float>(layer.slope_mean()));
  layer.forward(x, y);
  EXPECT_EQ(y.to_host()[0], -layer.eval_slope());
  EXPECT_EQ(layer.forwards(), 3u);  // eval forwards draw nothing

  RReluLayer<float> fresh(1, 0.1f, 0.3f, Device::cpu);
  EXPECT_THROW(fresh.backward(x, dy, dx), Error);         // no forward yet
  EXPECT_THROW(fresh.eval_with_drawn_mean(true), Error);  // nothing tracked
  EXPECT_THROW(RReluLayer<float>(1, 0.5f, 0.1f, Device::cpu), Error);
  fresh.train(false);
  EXPECT_THROW(fresh.backward(x, dy, dx), Error);  // nor in eval: a backward needs its forward
}

TEST(RReluLayerCpu, BackwardUsesItsForwardsSlopesWhateverTheModeNow) {
  RReluLayer<float> layer(5, 0.1f, 0.3f, Device::cpu);
  const std::size_t n = 1024;
  Buffer<float> x = Buffer<float>::from_host(std::vector<float>(n, -1.0f), Device::cpu),
                dy = Buffer<float>::from_host(std::vector<float>(n, 1.0f), Device::cpu);
  Buffer<float> y(n, Device::cpu), dx(n, Device::cpu);
  const std::vector<float> r = slopes({5, 0}, 0.1f, 0.3f, n);

  layer.forward(x, y);  // training, offset 0
  layer.train(false);   // e.g. a validation step started before this backward
  layer.backward(x, dy, dx);
  const std::vector<float> got = dx.to_host();
  for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(got[i], r[i]) << i;  // the drawn slopes

  layer.forward(x, y);  // eval
  layer.train(true);
  layer.backward(x, dy, dx);
  EXPECT_EQ(dx.to_host(), std::vector<float>(n, layer.eval_slope()));  // the eval slope
  EXPECT_EQ(layer.forwards(), 1u);

  layer.forward(x, y);  // training, offset 1: the backward follows it
  layer.backward(x, dy, dx);
  EXPECT_EQ(dx.to_host(), slopes({5, 1}, 0.1f, 0.3f, n));
}

}  // namespace
}  // namespace actlayer::testing
