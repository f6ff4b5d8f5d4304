// 1-bit saved state on the CPU: the mask's layout, the backward from the mask against the
// backward from x (the same bits wherever x is not NaN; exactly the negative side where it
// is), the kernels' proxy-input evaluation of ops.cuh, PReLU's dx, unsupported ops and the
// layer that keeps the mask.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "actlayer/cuda.hpp"
#include "actlayer/layers.hpp"
#include "actlayer/reference.hpp"
#include "common/element_types.hpp"
#include "common/functors.hpp"
#include "common/numeric.hpp"

namespace actlayer::testing {
namespace {

struct MaskCase {
  const char* name;
  Activation act;
};
const MaskCase kCases[] = {
    {"relu", Activation::relu()},
    {"leaky_relu(0.01)", Activation::leaky_relu(0.01f)},
    {"leaky_relu(0)", Activation::leaky_relu(0.0f)},
    {"leaky_relu_divisor(10)", Activation::leaky_relu_divisor(10.0f)},
    {"step", Activation::step()},
    {"rrelu(eval)", Activation::rrelu()},
};

bool bit(const std::vector<std::uint32_t>& mask, std::size_t i) {
  return (mask[i / 32] >> (i % 32)) & 1u;
}

template <class T>
class Mask : public ::testing::Test {};
TYPED_TEST_SUITE(Mask, ElementTypes);

TYPED_TEST(Mask, BackwardFromTheMaskEqualsBackwardFromX) {
  using T = TypeParam;
  std::vector<T> x = random_values<T>(50021, 31);  // not a multiple of 32: a partial last word
  for (T v : extremal_values<T>()) x.push_back(v);
  const std::size_t n = x.size();
  const std::vector<T> dy = random_gradients<T>(n, 32);
  for (const MaskCase& c : kCases) {
    SCOPED_TRACE(c.name);
    std::vector<T> y(n), want_y(n), dx(n), want_dx(n), proxy_dx(n);
    std::vector<std::uint32_t> mask(mask_words(n), 0xDEADBEEF);
    ASSERT_EQ(reference::forward_with_mask(c.act, x.data(), y.data(), mask.data(), n),
              Status::success)
        << last_error();
    ASSERT_EQ(reference::forward(c.act, x.data(), want_y.data(), n), Status::success);
    ASSERT_EQ(reference::backward_from_mask(c.act, mask.data(), dy.data(), dx.data(), n),
              Status::success);
    ASSERT_EQ(reference::backward(c.act, x.data(), dy.data(), want_dx.data(), n), Status::success);
    std::size_t bad = 0;
    for (std::size_t i = 0; i < n; ++i) {
      bad += !same(y[i], want_y[i]);
      bad += bit(mask, i) != (to_double(x[i]) > 0);
      if (is_nan(x[i])) {
        // One bit cannot carry NaN: the mask says "not > 0", and dx is the negative side's.
        T negative_dx;
        const T minus_one = from_double<T>(-1.0);
        EXPECT_EQ(reference::backward(c.act, &minus_one, &dy[i], &negative_dx, 1), Status::success);
        bad += !same(dx[i], negative_dx);
      } else {
        bad += !same(dx[i], want_dx[i]);
      }
    }
    for (std::size_t i = n; i < mask.size() * 32; ++i)
      bad += bit(mask, i);  // the bits past n are 0
    EXPECT_EQ(bad, 0u);

    // What the kernels evaluate: the op's ops.cuh gradient at a proxy input of +1 or -1.
    ops::visit(c.act, [&](auto, auto op) {
      for (std::size_t i = 0; i < n; ++i) {
        proxy_dx[i] = host_backward(op, from_double<T>(bit(mask, i) ? 1.0 : -1.0), dy[i]);
      }
    });
    std::size_t proxy_bad = 0;
    for (std::size_t i = 0; i < n; ++i) {
      proxy_bad +=
          sizeof(T) == 2 ? ulp_distance(proxy_dx[i], dx[i]) > 1 : !same(proxy_dx[i], dx[i]);
    }
    EXPECT_EQ(proxy_bad, 0u) << "ops.cuh at the proxy input";
  }
}

TYPED_TEST(Mask, PReluDxFromTheMask) {
  using T = TypeParam;
  using P = compute_t<T>;
  const PReluShape shape{7, 5, 33};
  const std::size_t n = 7 * 5 * 33;
  const std::vector<T> x = random_values<T>(n, 33), dy = random_gradients<T>(n, 34);
  const std::vector<P> alpha = {P(0.25), P(-0.5), P(0), P(1.5), P(0.01)};
  std::vector<T> y(n), want_y(n), dx(n), want_dx(n);
  std::vector<P> dalpha(5);
  std::vector<std::uint32_t> mask(mask_words(n));
  ASSERT_EQ(
      reference::prelu_forward_with_mask(x.data(), alpha.data(), y.data(), mask.data(), shape),
      Status::success);
  ASSERT_EQ(reference::prelu_forward(x.data(), alpha.data(), want_y.data(), shape),
            Status::success);
  ASSERT_EQ(reference::prelu_backward_dx_from_mask(mask.data(), alpha.data(), dy.data(), dx.data(),
                                                   shape),
            Status::success);
  ASSERT_EQ(reference::prelu_backward(x.data(), alpha.data(), dy.data(), want_dx.data(),
                                      dalpha.data(), shape),
            Status::success);
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_TRUE(same(y[i], want_y[i])) << i;
    ASSERT_EQ(bit(mask, i), to_double(x[i]) > 0) << i;
    if (!is_nan(x[i])) {
      ASSERT_TRUE(same(dx[i], want_dx[i])) << i << " x=" << show(x[i]);
    }
  }
}

TEST(MaskArguments, OnlySignOnlyOpsAndTheRightSizes) {
  std::vector<float> x(64, 1.0f), y(64), dy(64, 1.0f);
  std::vector<std::uint32_t> mask(2);
  for (const Activation& act : {Activation::sigmoid(), Activation::tanh(), Activation::identity(),
                                Activation::rrelu_training({1, 2})}) {
    EXPECT_EQ(reference::forward_with_mask(act, x.data(), y.data(), mask.data(), 64),
              Status::not_supported);
    EXPECT_NE(std::string(last_error()).find("sign of x alone"), std::string::npos) << last_error();
    EXPECT_EQ(backward_from_mask(act, mask.data(), dy.data(), y.data(), 64), Status::not_supported);
  }
  EXPECT_EQ(forward_with_mask(Activation::relu(), x.data(), y.data(),
                              static_cast<std::uint32_t*>(nullptr), 64),
            Status::invalid_argument);
  EXPECT_NE(std::string(last_error()).find("actlayer::forward_with_mask: mask is null"),
            std::string::npos)
      << last_error();
  // The mask overlapping y: a partial overlap of two outputs.
  EXPECT_EQ(reference::forward_with_mask(Activation::relu(), x.data(), y.data(),
                                         reinterpret_cast<std::uint32_t*>(y.data() + 3), 64),
            Status::invalid_argument);
  EXPECT_EQ(reference::forward_with_mask(Activation::relu(), x.data(), x.data(), mask.data(), 64),
            Status::success);
}

TEST(MaskLayer, KeepsTheMaskInsteadOfX) {
  const std::size_t n = 1000;
  const std::vector<float> xs = random_values<float>(n, 5), gs = random_gradients<float>(n, 6);
  ActivationLayer<float> layer(Activation::leaky_relu_divisor(10.0f), Device::cpu);
  Buffer<float> x = Buffer<float>::from_host(xs, Device::cpu),
                dy = Buffer<float>::from_host(gs, Device::cpu);
  Buffer<float> y(n, Device::cpu), dx(n, Device::cpu), want(n, Device::cpu);
  layer.forward_keep_mask(x, y);
  EXPECT_EQ(layer.kept_mask().size(), mask_words(n));
  layer.backward(x, dy, want);
  Buffer<float>().swap(x);  // x released: the mask is all the backward needs
  layer.backward_from_kept_mask(dy, dx);
  const std::vector<float> a = dx.to_host(), b = want.to_host();
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isnan(xs[i])) {
      ASSERT_TRUE(same(a[i], b[i])) << i;
    }
  }
  Buffer<float> small(10, Device::cpu), small_dx(10, Device::cpu);
  EXPECT_THROW(layer.backward_from_kept_mask(small, small_dx), Error);
  EXPECT_THROW(
      ActivationLayer<float>(Activation::tanh(), Device::cpu).forward_keep_mask(small, small_dx),
      Error);
}

}  // namespace
}  // namespace actlayer::testing

namespace actlayer::testing {
namespace {

TEST(MaskBits, ZeroIsNotPositive) {
  // The bit is x > 0: +-0 take the left branch like the derivative (dx = slope * dy there).
  const float x[5] = {0.0f, -0.0f, 1.0f, -1.0f, 1e-45f};
  const float alpha[1] = {0.25f};
  float y[5];
  for (int call = 0; call < 2; ++call) {
    std::uint32_t mask[1] = {0xFFFFFFFFu};
    const Status s = call == 0 ? reference::forward_with_mask(Activation::relu(), x, y, mask, 5)
                               : reference::prelu_forward_with_mask(x, alpha, y, mask, {1, 1, 5});
    ASSERT_EQ(s, Status::success) << last_error();
    EXPECT_EQ(mask[0], 0b10100u) << (call == 0 ? "forward_with_mask" : "prelu_forward_with_mask");
  }
}

}  // namespace
}  // namespace actlayer::testing
