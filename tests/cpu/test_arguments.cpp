// Argument errors: every bad parameter, pointer and size gets the right Status and a message
// naming the argument, before anything is launched or written. The CUDA entry points are
// called with host memory here: a check that let the call through would either write that
// memory (on the reference) or reach the CUDA runtime, and both are detected.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "actlayer/buffer.hpp"
#include "actlayer/cuda.hpp"
#include "actlayer/reference.hpp"

namespace actlayer::testing {
namespace {

using Call = std::function<Status(const Activation&, const float* a, const float* b, float* out,
                                  std::size_t n, Blend)>;

struct Entry {
  const char* name;
  bool cuda;
  Call call;
};

std::vector<Entry> entries() {
  return {
      {"actlayer::forward", true,
       [](const Activation& act, const float* a, const float*, float* out, std::size_t n, Blend b) {
         return forward(act, a, out, n, nullptr, b);
       }},
      {"actlayer::backward", true,
       [](const Activation& act, const float* a, const float* d, float* out, std::size_t n,
          Blend b) { return backward(act, a, d, out, n, nullptr, b); }},
      {"actlayer::backward_from_output", true,
       [](const Activation& act, const float* a, const float* d, float* out, std::size_t n,
          Blend b) { return backward_from_output(act, a, d, out, n, nullptr, b); }},
      {"actlayer::reference::forward", false,
       [](const Activation& act, const float* a, const float*, float* out, std::size_t n, Blend b) {
         return reference::forward(act, a, out, n, b);
       }},
      {"actlayer::reference::backward", false,
       [](const Activation& act, const float* a, const float* d, float* out, std::size_t n,
          Blend b) { return reference::backward(act, a, d, out, n, b); }},
      {"actlayer::reference::backward_from_output", false,
       [](const Activation& act, const float* a, const float* d, float* out, std::size_t n,
          Blend b) { return reference::backward_from_output(act, a, d, out, n, b); }},
  };
}

bool is_forward(const Entry& e) { return std::string(e.name).find("forward") != std::string::npos; }
bool is_from_output(const Entry& e) {
  return std::string(e.name).find("from_output") != std::string::npos;
}

constexpr std::size_t kN = 64;
constexpr unsigned char kPoison = 0x5A;

/// Host arrays: two inputs and a poisoned output that must stay poisoned.
struct Arrays {
  std::vector<float> a = std::vector<float>(kN, 0.5f);
  std::vector<float> b = std::vector<float>(kN, -0.5f);
  std::vector<float> out = std::vector<float>(kN);
  Arrays() { std::memset(out.data(), kPoison, out.size() * sizeof(float)); }
  bool untouched() const {
    const auto* p = reinterpret_cast<const unsigned char*>(out.data());
    for (std::size_t i = 0; i < out.size() * sizeof(float); ++i) {
      if (p[i] != kPoison) return false;
    }
    return true;
  }
};

/// Calls e with the arguments and expects `want` with `fragment` in last_error().
void expect_rejected(const Entry& e, Status want, const std::string& fragment,
                     const Activation& act, const float* a, const float* b, float* out,
                     std::size_t n, Blend blend, const Arrays& arrays) {
  const Status got = e.call(act, a, b, out, n, blend);
  EXPECT_EQ(got, want) << e.name << ": " << last_error();
  const std::string message = last_error();
  EXPECT_NE(message.find(e.name), std::string::npos) << message;
  EXPECT_NE(message.find(fragment), std::string::npos)
      << e.name << ": expected '" << fragment << "' in: " << message;
  EXPECT_TRUE(arrays.untouched()) << e.name << " wrote its output on " << fragment;
}

TEST(Arguments, InvalidParametersAreRejectedBeforeAnythingRuns) {
  struct Bad {
    Activation act;
    const char* fragment;
  };
  constexpr float inf = std::numeric_limits<float>::infinity();
  constexpr float nan = std::numeric_limits<float>::quiet_NaN();
  Activation bad_op = Activation::relu();
  bad_op.op = static_cast<Op>(42);
  const Bad cases[] = {
      {Activation::leaky_relu(-0.01f), "activation.slope"},
      {Activation::leaky_relu(nan), "activation.slope"},
      {Activation::leaky_relu(inf), "activation.slope"},
      {Activation::leaky_relu_divisor(1.0f), "activation.divisor"},
      {Activation::leaky_relu_divisor(0.5f), "activation.divisor"},
      {Activation::leaky_relu_divisor(-10.0f), "activation.divisor"},
      {Activation::leaky_relu_divisor(inf), "activation.divisor"},
      {Activation::leaky_relu_divisor(nan), "activation.divisor"},
      {Activation::rrelu(-0.1f, 0.3f), "activation.lower"},
      {Activation::rrelu(0.4f, 0.3f), "activation.lower must be <= activation.upper"},
      {Activation::rrelu(0.1f, inf), "must be finite"},
      {Activation::rrelu(nan, 0.3f), "must be finite"},
      {bad_op, "activation.op = 42"},
  };
  for (const Entry& e : entries()) {
    for (const Bad& bad : cases) {
      Arrays arr;
      expect_rejected(e, Status::invalid_argument, bad.fragment, bad.act, arr.a.data(),
                      arr.b.data(), arr.out.data(), kN, {}, arr);
    }
    for (Blend blend : {Blend{nan, 0.0f}, Blend{1.0f, inf}}) {
      Arrays arr;
      expect_rejected(e, Status::invalid_argument, "blend.alpha and blend.beta", Activation::relu(),
                      arr.a.data(), arr.b.data(), arr.out.data(), kN, blend, arr);
    }
  }
}

TEST(Arguments, BadPointersAndSizesAreRejected) {
  for (const Entry& e : entries()) {
    const char* in0 = is_from_output(e) ? "y" : "x";
    const char* out = is_forward(e) ? "y" : "dx";
    {
      Arrays arr;
      expect_rejected(e, Status::invalid_argument, std::string(in0) + " is null",
                      Activation::relu(), nullptr, arr.b.data(), arr.out.data(), kN, {}, arr);
    }
    if (!is_forward(e)) {
      Arrays arr;
      expect_rejected(e, Status::invalid_argument, "dy is null", Activation::relu(), arr.a.data(),
                      nullptr, arr.out.data(), kN, {}, arr);
    }
    {
      Arrays arr;
      expect_rejected(e, Status::invalid_argument, std::string(out) + " is null",
                      Activation::relu(), arr.a.data(), arr.b.data(), nullptr, kN, {}, arr);
    }
    {
      // A float pointer one byte off its alignment.
      Arrays arr;
      std::vector<unsigned char> raw(4 * kN + 8);
      const auto* misaligned = reinterpret_cast<const float*>(raw.data() + 1);
      expect_rejected(e, Status::invalid_argument, "is not aligned", Activation::relu(), misaligned,
                      arr.b.data(), arr.out.data(), kN, {}, arr);
    }
    {
      // The output overlaps the input partly: an in-place call shifted by one element.
      Arrays arr;
      std::vector<float> shared(kN + 1, 1.0f);
      const std::vector<float> before = shared;
      EXPECT_EQ(e.call(Activation::relu(), shared.data(), arr.b.data(), shared.data() + 1, kN, {}),
                Status::invalid_argument);
      EXPECT_NE(std::string(last_error()).find("partially overlaps"), std::string::npos)
          << last_error();
      EXPECT_EQ(std::memcmp(shared.data(), before.data(), before.size() * sizeof(float)), 0);
    }
    {
      Arrays arr;
      expect_rejected(e, Status::invalid_argument, "overflows size_t", Activation::relu(),
                      arr.a.data(), arr.b.data(), arr.out.data(),
                      std::numeric_limits<std::size_t>::max() / 2, {}, arr);
    }
    {
      // A pointer so close to the top of the address space that n elements wrap around.
      Arrays arr;
      const auto top = reinterpret_cast<const float*>(
          (std::numeric_limits<std::uintptr_t>::max() - 255) & ~std::uintptr_t{15});
      expect_rejected(e, Status::invalid_argument, "past the end of the address space",
                      Activation::relu(), top, arr.b.data(), arr.out.data(), kN, {}, arr);
    }
  }
}

TEST(Arguments, NotSupportedCombinations) {
  for (const Entry& e : entries()) {
    Arrays arr;
    if (is_from_output(e)) {
      expect_rejected(e, Status::not_supported, "slope 0", Activation::leaky_relu(0.0f),
                      arr.a.data(), arr.b.data(), arr.out.data(), kN, {}, arr);
      expect_rejected(e, Status::not_supported, "lower = upper = 0", Activation::rrelu(0, 0),
                      arr.a.data(), arr.b.data(), arr.out.data(), kN, {}, arr);
    }
  }
}

// The parameters of hardtanh, the shrinks, hardsigmoid and thresholded (one row per rule), and
// the output forms those ops refuse.
TEST(Arguments, ClampShrinkAndThresholdParameters) {
  struct Bad {
    Activation act;
    const char* fragment;
  };
  constexpr float inf = std::numeric_limits<float>::infinity();
  constexpr float nan = std::numeric_limits<float>::quiet_NaN();
  Activation thresholded_nan_value = Activation::thresholded(1.0f);
  thresholded_nan_value.value = nan;
  const Bad cases[] = {
      {Activation::hardtanh(nan, 1.0f), "hardtanh.lo must be finite (got nan)"},
      {Activation::hardtanh(-1.0f, inf), "hardtanh.hi must be finite (got inf)"},
      {Activation::hardtanh(1.0f, 1.0f), "hardtanh: lo must be < hi (got lo = 1, hi = 1)"},
      {Activation::hardtanh(2.0f, -2.0f), "lo must be < hi"},
      {Activation::clipped_relu(-0.5f), "hardtanh: lo must be < hi (got lo = 0, hi = -0.5)"},
      {Activation::softshrink(-0.5f), "shrink lambda must be finite and >= 0 (got -0.5)"},
      {Activation::hardshrink(nan), "shrink lambda must be finite and >= 0 (got nan)"},
      {Activation::hardshrink(inf), "shrink lambda must be finite and >= 0 (got inf)"},
      {Activation::hardsigmoid(inf, 0.5f), "hardsigmoid.hard_slope must be finite (got inf)"},
      {Activation::hardsigmoid(0.2f, nan), "hardsigmoid.hard_offset must be finite (got nan)"},
      {Activation::thresholded(-inf), "threshold.threshold must be finite (got -inf)"},
      {thresholded_nan_value, "threshold.value must be finite (got nan)"},
  };
  for (const Entry& e : entries()) {
    for (const Bad& bad : cases) {
      Arrays arr;
      expect_rejected(e, Status::invalid_argument, bad.fragment, bad.act, arr.a.data(),
                      arr.b.data(), arr.out.data(), kN, {}, arr);
    }
    if (!is_from_output(e)) continue;
    const Bad refused[] = {
        {Activation::gelu(), "gelu has no backward from the output"},
        {Activation::gelu_tanh(), "gelu_tanh has no backward from the output"},
        {Activation::hardswish(), "hardswish has no backward from the output"},
        {Activation::thresholded(0.5f, 1.0f), "value > threshold"},
        {Activation::thresholded(0.1f, 0.1f), "value rounds above threshold"},  // bf16: 0.1001
        {Activation::hardtanh(-0.1f, 0.1f), "lo rounds into (lo, hi)"},         // half: -0.09998
        {Activation::clipped_relu(0.1f), "hi rounds into (lo, hi)"},            // half: 0.09998
    };
    for (const Bad& bad : refused) {
      Arrays arr;
      expect_rejected(e, Status::not_supported, bad.fragment, bad.act, arr.a.data(), arr.b.data(),
                      arr.out.data(), kN, {}, arr);
    }
    // Accepted: the bounds and the fill value stay on their side in every element type.
    for (const Activation& ok : {Activation::thresholded(1.0f, 1.0f), Activation::relu6(),
                                 Activation::hardtanh(-0.25f, 3.5f), Activation::softshrink(0.1f),
                                 Activation::squared_relu()}) {
      Arrays arr;
      if (e.cuda) continue;  // the reference runs; a CUDA call would need a device
      EXPECT_EQ(e.call(ok, arr.a.data(), arr.b.data(), arr.out.data(), kN, {}), Status::success)
          << e.name << ": " << last_error();
    }
  }
}

TEST(Arguments, InvalidArgumentWinsOverNotSupported) {
  for (const Entry& e : entries()) {
    if (!is_from_output(e)) continue;
    Arrays arr;
    expect_rejected(e, Status::invalid_argument, "dx is null", Activation::leaky_relu(0.0f),
                    arr.a.data(), arr.b.data(), nullptr, kN, {}, arr);
  }
}

TEST(Arguments, EmptyCallsSucceedWithoutTouchingAnything) {
  for (const Entry& e : entries()) {
    EXPECT_EQ(e.call(Activation::sigmoid(), nullptr, nullptr, nullptr, 0, {}), Status::success)
        << e.name << ": " << last_error();
  }
}

TEST(Arguments, ExactAliasingIsAllowed) {
  // x == y (in place) and dx == dy: computed element by element, reading before writing.
  std::vector<float> x = {-2.0f, -0.0f, 3.0f};
  ASSERT_EQ(reference::forward(Activation::relu(), x.data(), x.data(), x.size()), Status::success);
  EXPECT_EQ(x, (std::vector<float>{0.0f, 0.0f, 3.0f}));
  std::vector<float> z = {-1.0f, 2.0f}, g = {5.0f, 7.0f};
  ASSERT_EQ(reference::backward(Activation::leaky_relu(0.5f), z.data(), g.data(), g.data(), 2),
            Status::success);
  EXPECT_EQ(g, (std::vector<float>{2.5f, 7.0f}));
}

TEST(Arguments, ToStringNamesEveryStatus) {
  EXPECT_STREQ(to_string(Status::success), "success");
  EXPECT_STREQ(to_string(Status::invalid_argument), "invalid_argument");
  EXPECT_STREQ(to_string(Status::not_supported), "not_supported");
  EXPECT_STREQ(to_string(Status::cuda_error), "cuda_error");
}

TEST(Arguments, ValidCallWithoutADeviceReportsTheCudaCall) {
  if (cuda_available()) GTEST_SKIP() << "a CUDA device is present: this test needs none";
  // Valid arguments reach the CUDA runtime, which has no device here.
  float x[4] = {1, 2, 3, 4}, y[4] = {};
  EXPECT_EQ(forward(Activation::relu(), x, y, 4), Status::cuda_error);
  const std::string message = last_error();
  EXPECT_NE(message.find("actlayer::forward: cudaGetDevice"), std::string::npos) << message;
  EXPECT_NE(message.find("at actlayer/detail/elementwise.cuh:"), std::string::npos) << message;
  EXPECT_EQ(y[0], 0.0f);
}

}  // namespace
}  // namespace actlayer::testing

namespace actlayer::testing {
namespace {

std::string message_of(Status) { return last_error(); }

TEST(Arguments, MessagesSpeakTheUsersUnits) {
  std::vector<float> x(64, 1.0f), y(64), dy(64, 1.0f), dx(64);
  // Elements for tensors.
  EXPECT_NE(
      message_of(reference::forward(Activation::relu(), static_cast<float*>(nullptr), y.data(), 64))
          .find("x is null (n = 64)"),
      std::string::npos)
      << last_error();
  // Nothing for a single counter.
  const std::string counter = message_of(rrelu_advance_offset(nullptr));
  EXPECT_NE(counter.find("device_offset is null"), std::string::npos) << counter;
  EXPECT_EQ(counter.find("(n ="), std::string::npos) << counter;
  // Bytes for a workspace.
  const PReluShape shape{4, 3, 100};
  const std::size_t bytes = prelu_backward_workspace_bytes(shape);
  std::vector<float> xs(1200, -1.0f), dys(1200, 1.0f), dxs(1200), alpha(3, 0.25f), dalpha(3);
  const std::string ws = message_of(prelu_backward(xs.data(), alpha.data(), dys.data(), dxs.data(),
                                                   dalpha.data(), shape, nullptr, bytes));
  EXPECT_NE(ws.find("workspace is null (" + std::to_string(bytes) + " bytes)"), std::string::npos)
      << ws;
  // Floats as the user wrote them, ops by name.
  const std::string slope =
      message_of(reference::forward(Activation::leaky_relu(-0.3f), x.data(), y.data(), 64));
  EXPECT_NE(slope.find("(got -0.3)"), std::string::npos) << slope;
  const std::string blend =
      message_of(reference::forward(Activation::relu(), x.data(), y.data(), 64,
                                    Blend{0.1f, std::numeric_limits<float>::infinity()}));
  EXPECT_NE(blend.find("(got 0.1, inf)"), std::string::npos) << blend;
  std::vector<std::uint32_t> mask(2);
  const std::string op = message_of(
      reference::forward_with_mask(Activation::tanh(), x.data(), y.data(), mask.data(), 64));
  EXPECT_NE(op.find("not tanh"), std::string::npos) << op;
  Activation bad = Activation::relu();
  bad.op = static_cast<Op>(42);
  EXPECT_NE(message_of(reference::forward(bad, x.data(), y.data(), 64)).find("activation.op = 42"),
            std::string::npos);
}

}  // namespace
}  // namespace actlayer::testing

namespace actlayer::testing {
namespace {

// The exponential family's parameter rules (ops::Params bits, validated per call) and the
// parameters that leave an op without a backward from the output.
TEST(Arguments, ExpFamilyParameterRules) {
  struct Bad {
    Activation act;
    const char* fragment;
  };
  constexpr float inf = std::numeric_limits<float>::infinity();
  constexpr float nan = std::numeric_limits<float>::quiet_NaN();
  Activation threshold_nan = Activation::softplus();
  threshold_nan.threshold = nan;
  const Bad cases[] = {
      {Activation::elu(nan), "elu.alpha must be finite (got nan)"},
      {Activation::elu(-inf), "elu.alpha must be finite (got -inf)"},
      {Activation::celu(0.0f), "celu.alpha must be finite and != 0 (got 0)"},
      {Activation::celu(inf), "celu.alpha must be finite and != 0 (got inf)"},
      {Activation::swish(nan), "swish.beta must be finite (got nan)"},
      {Activation::softplus(0.0f), "softplus.beta must be finite and > 0 (got 0)"},
      {Activation::softplus(-1.5f), "softplus.beta must be finite and > 0 (got -1.5)"},
      {Activation::softplus(inf), "softplus.beta must be finite and > 0 (got inf)"},
      {threshold_nan, "softplus.threshold must be finite (got nan)"},
  };
  for (const Entry& e : entries()) {
    for (const Bad& bad : cases) {
      Arrays arr;
      expect_rejected(e, Status::invalid_argument, bad.fragment, bad.act, arr.a.data(),
                      arr.b.data(), arr.out.data(), kN, {}, arr);
    }
    // A field the op does not read is not validated.
    Activation silu = Activation::silu();
    silu.alpha = nan;
    silu.beta = inf;
    std::vector<float> a(kN, 0.5f), b(kN, 1.0f), out(kN);
    if (!e.cuda) {
      EXPECT_EQ(e.call(silu, a.data(), b.data(), out.data(), kN, {}),
                is_from_output(e) ? Status::not_supported : Status::success)
          << e.name << ": " << last_error();
    }
    if (!is_from_output(e)) continue;
    const Bad no_output_form[] = {
        {Activation::elu(-0.75f), "elu has no backward from the output (alpha < 0"},
        {Activation::softplus(1.0f, 16.5f), "softplus has no backward from the output (threshold"},
        {Activation::silu(), "silu has no backward from the output (its derivative is not"},
        {Activation::swish(2.0f), "swish has no backward from the output"},
        {Activation::quick_gelu(), "quick_gelu has no backward from the output"},
        {Activation::mish(), "mish has no backward from the output"},
        {Activation::tanhshrink(), "tanhshrink has no backward from the output"},
    };
    for (const Bad& bad : no_output_form) {
      Arrays arr;
      expect_rejected(e, Status::not_supported, bad.fragment, bad.act, arr.a.data(), arr.b.data(),
                      arr.out.data(), kN, {}, arr);
    }
  }
}

}  // namespace
}  // namespace actlayer::testing
