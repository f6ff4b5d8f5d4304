// Gated activations on the CPU: the reference against finite differences for every gate op and
// output, the presets against hand-written formulas (PyTorch's glu takes its gate from the
// second half), the clamp's edges, special values, the layouts against each other, argument
// errors (nothing written), and the layer on Device::cpu (the CPU backend).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "actlayer/cpu.hpp"
#include "actlayer/cuda.hpp"
#include "actlayer/layers.hpp"
#include "actlayer/reference.hpp"
#include "common/cases.hpp"
#include "common/element_types.hpp"
#include "common/numeric.hpp"

namespace actlayer::testing {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// Every op of the sweeps as a gate (not rrelu in training), and the presets.
std::vector<std::pair<std::string, Gated>> gates() {
  std::vector<std::pair<std::string, Gated>> g;
  for (const OpCase& c : op_cases()) g.emplace_back(c.name, Gated::of(c.act));
  g.emplace_back("glu", Gated::glu());
  g.emplace_back("clamped_swiglu", Gated::clamped_swiglu());
  g.emplace_back("clamped_swiglu(1.5, 1)", Gated::clamped_swiglu(1.5f, 1.0f));
  return g;
}

struct Grad {
  double y, da, db;
};

/// One element through the split reference, in double.
Grad run(const Gated& g, double a, double b, double dy) {
  double y = 0, da = 0, db = 0;
  EXPECT_EQ(reference::gated_forward_split(g, &a, &b, &y, 1), Status::success) << last_error();
  EXPECT_EQ(reference::gated_backward_split(g, &a, &b, &dy, &da, &db, 1), Status::success)
      << last_error();
  return {y, da, db};
}

TEST(GatedReference, GradientsMatchFiniteDifferencesForEveryGate) {
  // Away from every op's kinks (0, +-0.5, +-1, +-3, 6, the hardtanh and hardsigmoid corners)
  // and from the clamps' limits.
  const double as[] = {-2.3, -0.7, 0.37, 1.9, 8.2};
  const double bs[] = {0.8, -1.3, 9.5};
  const double dy = 0.625;
  for (const auto& [name, g] : gates()) {
    for (double a : as) {
      for (double b : bs) {
        SCOPED_TRACE(name + " a " + std::to_string(a) + " b " + std::to_string(b));
        const Grad got = run(g, a, b, dy);
        const double h = 1e-6 * std::max(1.0, std::fabs(a));
        const double ya_plus = run(g, a + h, b, dy).y, ya_minus = run(g, a - h, b, dy).y;
        const double yb_plus = run(g, a, b + h, dy).y, yb_minus = run(g, a, b - h, dy).y;
        const double fd_a = dy * (ya_plus - ya_minus) / (2 * h);
        const double fd_b = dy * (yb_plus - yb_minus) / (2 * h);
        EXPECT_NEAR(got.da, fd_a, 1e-6 * std::max(1.0, std::fabs(fd_a)));
        EXPECT_NEAR(got.db, fd_b, 1e-6 * std::max(1.0, std::fabs(fd_b)));
      }
    }
  }
}

double sigmoid(double z) { return 1 / (1 + std::exp(-z)); }

TEST(GatedReference, PresetsAreTheirFormulas) {
  const double a = 0.8125, b = -1.75;
  const double k = std::sqrt(2 / M_PI);
  const double alpha = 1.702f;  // GPT-OSS's alpha as the float the preset holds
  const struct {
    const char* name;
    Gated g;
    double y;
  } rows[] = {
      {"reglu", Gated::reglu(), a * b},
      {"geglu", Gated::geglu(), a * 0.5 * (1 + std::erf(a / std::sqrt(2.0))) * b},
      {"geglu_tanh", Gated::geglu_tanh(),
       a * 0.5 * (1 + std::tanh(k * (a + 0.044715 * a * a * a))) * b},
      {"swiglu", Gated::swiglu(), a * sigmoid(a) * b},
      {"swish(1.5)", Gated::swish(1.5f), a * sigmoid(1.5 * a) * b},
      {"clamped_swiglu", Gated::clamped_swiglu(), a * sigmoid(alpha * a) * (b + 1)},
  };
  for (const auto& r : rows) {
    EXPECT_NEAR(run(r.g, a, b, 1).y, r.y, 1e-15) << r.name;
    EXPECT_EQ(r.g.layout, GatedLayout::gate_first) << r.name;
  }
  // GPT-OSS's clamp: a' = min(a, 7), b' = clamp(b, -7, 7), alpha 1.702, (b' + 1).
  EXPECT_NEAR(run(Gated::clamped_swiglu(), 9.0, -8.0, 1).y, 7 * sigmoid(alpha * 7) * (-7 + 1),
              1e-14);
  EXPECT_NEAR(run(Gated::clamped_swiglu(), -9.0, 8.0, 1).y, -9 * sigmoid(alpha * -9) * (7 + 1),
              1e-14);
}

TEST(GatedReference, GluIsPyTorchsGluTheGateIsTheSecondHalf) {
  // F.glu(x, dim=-1) = x[:, :H] * sigmoid(x[:, H:]).
  const std::size_t rows = 2, hidden = 3;
  const std::vector<double> in = {1.5, -2, 0.25, -0.5, 3, 1.125, 4, -1, 2, 0.75, -0.25, 6};
  std::vector<double> y(rows * hidden);
  ASSERT_EQ(reference::gated_forward(Gated::glu(), in.data(), y.data(), {rows, hidden}),
            Status::success);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t j = 0; j < hidden; ++j) {
      const double first = in[r * 2 * hidden + j], second = in[r * 2 * hidden + hidden + j];
      EXPECT_NEAR(y[r * hidden + j], first * sigmoid(second), 1e-15) << r << "," << j;
    }
  }
}

template <class T>
class GatedTyped : public ::testing::Test {};
TYPED_TEST_SUITE(GatedTyped, ElementTypes);

/// The packed layouts and the split form are the same computation: bit for bit.
TYPED_TEST(GatedTyped, PackedLayoutsMatchTheSplitForm) {
  using T = TypeParam;
  const GatedShape shape{5, 7};
  const std::size_t n = shape.rows * shape.hidden;
  const std::vector<T> in = random_values<T>(2 * n, 11);
  const std::vector<T> dy = random_gradients<T>(n, 12);
  for (GatedLayout layout : {GatedLayout::gate_first, GatedLayout::gate_second}) {
    const Gated g = Gated::of(Activation::gelu_tanh(), layout);
    std::vector<T> a(n), b(n), y(n), y2(n), din(2 * n), da(n), db(n);
    for (std::size_t r = 0; r < shape.rows; ++r) {
      for (std::size_t j = 0; j < shape.hidden; ++j) {
        const std::size_t first = r * 2 * shape.hidden + j, second = first + shape.hidden;
        const bool gate_first = layout == GatedLayout::gate_first;
        a[r * shape.hidden + j] = in[gate_first ? first : second];
        b[r * shape.hidden + j] = in[gate_first ? second : first];
      }
    }
    ASSERT_EQ(reference::gated_forward(g, in.data(), y.data(), shape), Status::success);
    ASSERT_EQ(reference::gated_forward_split(g, a.data(), b.data(), y2.data(), n), Status::success);
    ASSERT_EQ(reference::gated_backward(g, in.data(), dy.data(), din.data(), shape),
              Status::success);
    ASSERT_EQ(
        reference::gated_backward_split(g, a.data(), b.data(), dy.data(), da.data(), db.data(), n),
        Status::success);
    for (std::size_t r = 0; r < shape.rows; ++r) {
      for (std::size_t j = 0; j < shape.hidden; ++j) {
        const std::size_t i = r * shape.hidden + j;
        const std::size_t first = r * 2 * shape.hidden + j, second = first + shape.hidden;
        const bool gate_first = layout == GatedLayout::gate_first;
        EXPECT_TRUE(same(y[i], y2[i])) << i;
        EXPECT_TRUE(same(din[gate_first ? first : second], da[i])) << i;
        EXPECT_TRUE(same(din[gate_first ? second : first], db[i])) << i;
      }
    }
    // In place: din = in.
    std::vector<T> inout = in;
    ASSERT_EQ(reference::gated_backward(g, inout.data(), dy.data(), inout.data(), shape),
              Status::success);
    for (std::size_t k = 0; k < 2 * n; ++k) EXPECT_TRUE(same(inout[k], din[k])) << k;
  }
}

TEST(GatedReference, BlendRoundsOnceFromTheExactResult) {
  // y = alpha * g(a) * b + beta * old, rounded once: in float against the double formula.
  const float a = 0.8125f, b = -1.75f, old = 3.0f, dy = 0.5f;
  float y = old, da = old, db = old;
  const Blend blend{2.0f, 0.5f};
  ASSERT_EQ(reference::gated_forward_split(Gated::swiglu(), &a, &b, &y, 1, blend), Status::success);
  ASSERT_EQ(reference::gated_backward_split(Gated::swiglu(), &a, &b, &dy, &da, &db, 1, blend),
            Status::success);
  const double s = sigmoid(a), silu = a * s, dsilu = s * (1 + a * (1 - s));
  EXPECT_EQ(y, static_cast<float>(2 * silu * b + 0.5 * old));
  EXPECT_EQ(da, static_cast<float>(2 * dsilu * b * dy + 0.5 * old));
  EXPECT_EQ(db, static_cast<float>(2 * silu * dy + 0.5 * old));
}

TEST(GatedReference, ClampGradientPassesInsideTheLimitsEndsIncluded) {
  const Gated g = Gated::clamped_swiglu(2.0f, 1.0f);
  const double above = std::nextafter(2.0, 3.0);
  EXPECT_NE(run(g, 2.0, 0.5, 1).da, 0.0);    // a = limit: passes
  EXPECT_EQ(run(g, above, 0.5, 1).da, 0.0);  // just above: 0
  EXPECT_NE(run(g, -50.0, 0.5, 1).da, 0.0);  // no lower bound on a
  EXPECT_NE(run(g, 1.0, 2.0, 1).db, 0.0);    // b = +-limit: passes
  EXPECT_NE(run(g, 1.0, -2.0, 1).db, 0.0);
  EXPECT_EQ(run(g, 1.0, above, 1).db, 0.0);  // beyond: 0
  EXPECT_EQ(run(g, 1.0, -above, 1).db, 0.0);
  EXPECT_EQ(run(g, 1.0, above, 1).y, run(g, 1.0, 2.0, 1).y);  // the value is clamped
  // NaN lies inside no interval: the clamp's gradient is 0 there (the forward stays NaN).
  EXPECT_EQ(run(g, kNaN, 0.5, 1).da, 0.0);
  EXPECT_TRUE(std::isnan(run(g, kNaN, 0.5, 1).y));
  EXPECT_EQ(run(g, 1.0, kNaN, 1).db, 0.0);
}

TEST(GatedReference, SpecialValues) {
  const Gated swiglu = Gated::swiglu(), reglu = Gated::reglu();
  // NaN anywhere without a clamp: NaN out.
  EXPECT_TRUE(std::isnan(run(swiglu, kNaN, 1, 1).y));
  EXPECT_TRUE(std::isnan(run(swiglu, 1, kNaN, 1).y));
  EXPECT_TRUE(std::isnan(run(swiglu, kNaN, 1, 1).da));
  EXPECT_TRUE(std::isnan(run(swiglu, 1, 1, kNaN).db));
  // y = g(a) * b is a plain product: relu(-1) * inf is NaN, as PyTorch's relu(a) * b.
  EXPECT_TRUE(std::isnan(run(reglu, -1, kInf, 1).y));
  // da: a zero derivative gives +0 even against an infinite b*dy (ops.cuh's convention).
  const Grad flat = run(reglu, -1, kInf, 1);
  EXPECT_EQ(flat.da, 0.0);
  EXPECT_FALSE(std::signbit(flat.da));
  EXPECT_EQ(run(reglu, 2, kInf, 1).da, kInf);
  // The sign of zero: -0 * positive gate is -0 (no offset added).
  EXPECT_TRUE(std::signbit(run(reglu, 2, -0.0, 1).y));
  // linear_offset adds: (b + 1) with b = -1 is +0.
  EXPECT_FALSE(std::signbit(run(Gated::clamped_swiglu(), 2, -1, 1).y));
}

TEST(GatedArguments, BadGatedShapesAndPointersAreRefusedAndNothingIsWritten) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Gated neg_limit = Gated::swiglu();
  neg_limit.limit = -1;
  Gated zero_limit = Gated::swiglu();
  zero_limit.limit = 0;
  Gated nan_limit = Gated::swiglu();
  nan_limit.limit = nan;
  Gated bad_offset = Gated::swiglu();
  bad_offset.linear_offset = inf;
  Gated bad_layout = Gated::swiglu();
  bad_layout.layout = static_cast<GatedLayout>(7);
  const struct {
    Gated g;
    const char* message;
  } rows[] = {
      {neg_limit, "gated.limit must be > 0, or inf for no clamp (got -1)"},
      {zero_limit, "gated.limit must be > 0, or inf for no clamp (got 0)"},
      {nan_limit, "gated.limit must be > 0, or inf for no clamp (got nan)"},
      {bad_offset, "gated.linear_offset must be finite (got inf)"},
      {bad_layout, "gated.layout = 7 is not a GatedLayout"},
      {Gated::of(Activation::rrelu_training({1, 2})), "gated.gate is rrelu in training mode"},
      {Gated::swish(inf), "swish.beta must be finite (got inf)"},
      {Gated::of(Activation::celu(0.0f)), "celu.alpha must be finite and != 0"},
  };
  std::vector<float> in(12, 1.0f), y(6, -7.0f), dy(6, 1.0f), din(12, -7.0f);
  for (const auto& r : rows) {
    SCOPED_TRACE(r.message);
    EXPECT_EQ(reference::gated_forward(r.g, in.data(), y.data(), {2, 3}), Status::invalid_argument);
    EXPECT_NE(std::string(last_error()).find(r.message), std::string::npos) << last_error();
    EXPECT_EQ(gated_forward(r.g, in.data(), y.data(), {2, 3}), Status::invalid_argument);
    EXPECT_NE(std::string(last_error()).find(r.message), std::string::npos) << last_error();
    EXPECT_EQ(reference::gated_backward(r.g, in.data(), dy.data(), din.data(), {2, 3}),
              Status::invalid_argument);
    EXPECT_EQ(gated_backward_split(r.g, in.data(), in.data() + 6, dy.data(), din.data(),
                                   din.data() + 6, 6),
              Status::invalid_argument);
    EXPECT_NE(std::string(last_error()).find("actlayer::gated_backward_split"), std::string::npos);
  }
  // rows * 2 * hidden overflowing size_t, before any pointer is looked at.
  const std::size_t big = std::numeric_limits<std::size_t>::max() / 4 + 1;
  EXPECT_EQ(reference::gated_forward(Gated::swiglu(), in.data(), y.data(), {2, big}),
            Status::invalid_argument);
  EXPECT_NE(std::string(last_error()).find("overflow size_t"), std::string::npos) << last_error();
  EXPECT_EQ(gated_backward(Gated::glu(), in.data(), dy.data(), din.data(), {big, 2}),
            Status::invalid_argument);
  EXPECT_NE(std::string(last_error()).find("shape {rows"), std::string::npos) << last_error();
  // y where in lies: the packed input is twice y's length, a partial overlap.
  EXPECT_EQ(gated_forward(Gated::glu(), in.data(), in.data(), {2, 3}), Status::invalid_argument);
  EXPECT_NE(std::string(last_error()).find("overlap"), std::string::npos) << last_error();
  EXPECT_EQ(reference::gated_forward_split(Gated::glu(), in.data(), static_cast<float*>(nullptr),
                                           y.data(), 6),
            Status::invalid_argument);
  EXPECT_NE(std::string(last_error()).find("b is null"), std::string::npos) << last_error();
  for (float v : y) EXPECT_EQ(v, -7.0f);
  for (float v : din) EXPECT_EQ(v, -7.0f);
  // Empty shapes are no-ops.
  EXPECT_EQ(gated_forward(Gated::glu(), in.data(), y.data(), {0, 3}), Status::success);
  EXPECT_EQ(gated_forward(Gated::glu(), in.data(), y.data(), {3, 0}), Status::success);
}

TEST(GatedLayer, CpuLayerRunsTheCpuBackendAndChecksSizes) {
  const Gated g = Gated::geglu();
  GatedActivationLayer<float> layer(g, Device::cpu);
  const GatedShape shape{3, 4};
  std::vector<float> host(24);
  for (std::size_t k = 0; k < host.size(); ++k) host[k] = 0.25f * static_cast<float>(k) - 2.5f;
  const Buffer<float> in = Buffer<float>::from_host(host, Device::cpu);
  Buffer<float> y(12, Device::cpu), dy(12, Device::cpu), din(24, Device::cpu);
  for (std::size_t k = 0; k < 12; ++k) dy.data()[k] = 0.5f;
  layer.forward(in, y, shape);
  layer.backward(in, dy, din, shape);
  std::vector<float> ry(12), rdin(24);
  ASSERT_EQ(cpu::gated_forward(g, host.data(), ry.data(), shape), Status::success);
  ASSERT_EQ(cpu::gated_backward(g, host.data(), dy.data(), rdin.data(), shape), Status::success);
  for (std::size_t k = 0; k < 12; ++k) EXPECT_EQ(y.data()[k], ry[k]) << k;
  for (std::size_t k = 0; k < 24; ++k) EXPECT_EQ(din.data()[k], rdin[k]) << k;
  // The split overloads.
  Buffer<float> a(12, Device::cpu), b(12, Device::cpu), y2(12, Device::cpu);
  Buffer<float> da(12, Device::cpu), db(12, Device::cpu);
  for (std::size_t r = 0; r < 3; ++r) {
    for (std::size_t j = 0; j < 4; ++j) {
      a.data()[r * 4 + j] = host[r * 8 + j];
      b.data()[r * 4 + j] = host[r * 8 + 4 + j];
    }
  }
  layer.forward(a, b, y2);
  layer.backward(a, b, dy, da, db);
  for (std::size_t r = 0; r < 3; ++r) {
    for (std::size_t j = 0; j < 4; ++j) {
      EXPECT_EQ(y2.data()[r * 4 + j], ry[r * 4 + j]);
      EXPECT_EQ(da.data()[r * 4 + j], rdin[r * 8 + j]);
      EXPECT_EQ(db.data()[r * 4 + j], rdin[r * 8 + 4 + j]);
    }
  }
  // A packed width that is not 2H, and an odd-sized input.
  Buffer<float> odd(23, Device::cpu);
  try {
    layer.forward(odd, y, shape);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("GatedActivationLayer::forward: in has 23 elements but "
                                         "shape {rows 3, hidden 4} needs rows*2*hidden = 24"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(layer.backward(in, y2, din, {2, 4}), Error);  // in has 24, not 16
  Buffer<float> short_b(11, Device::cpu);
  try {
    layer.forward(a, short_b, y2);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("GatedActivationLayer::forward: b has 11 elements but y "
                                         "has 12"),
              std::string::npos)
        << e.what();
  }
  // In place through the layer: din = in.
  Buffer<float> inout = Buffer<float>::from_host(host, Device::cpu);
  layer.backward(inout, dy, inout, shape);
  for (std::size_t k = 0; k < 24; ++k) EXPECT_EQ(inout.data()[k], rdin[k]) << k;
  EXPECT_THROW(
      GatedActivationLayer<float>(Gated::of(Activation::rrelu_training({1, 2})), Device::cpu),
      Error);
}

}  // namespace
}  // namespace actlayer::testing
