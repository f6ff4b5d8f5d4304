// 1-bit masks on the GPU: the mask bit for bit as the reference's, y as forward()'s, and the
// backward from the mask as the kernels' backward from x (wherever x is not NaN), at sizes
// around the 32-element words and with misaligned pointers; PReLU's dx likewise.
#include "actlayer/cuda.hpp"
#include "actlayer/reference.hpp"
#include "common/element_types.hpp"
#include "common/compare.hpp"
#include "gpu_harness.cuh"

namespace actlayer::testing {
namespace {

template <class T>
class MaskGpu : public ::testing::Test {
 protected:
  void SetUp() override { SKIP_WITHOUT_GPU(); }
};
TYPED_TEST_SUITE(MaskGpu, ElementTypes);

template <class T>
DeviceArray<T> upload(const std::vector<T>& v, std::size_t offset) {
  DeviceArray<T> d(v.size() + offset);
  EXPECT_EQ(cudaMemset(d.get(), 0xFF, (v.size() + offset) * sizeof(T)), cudaSuccess);
  if (!v.empty())
    EXPECT_EQ(cudaMemcpy(d.get() + offset, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice),
              cudaSuccess);
  return d;
}

TYPED_TEST(MaskGpu, MatchesTheReferenceAndTheBackwardFromX) {
  using T = TypeParam;
  const Activation acts[] = {Activation::relu(), Activation::leaky_relu(0.01f),
                             Activation::leaky_relu_divisor(10.0f), Activation::step(),
                             Activation::rrelu()};
  for (std::size_t n : {std::size_t{1}, std::size_t{31}, std::size_t{32}, std::size_t{33},
                        std::size_t{4097}, (std::size_t{1} << 20) + 5}) {
    if (n > max_test_n()) continue;
    std::vector<T> x = random_values<T>(n, n);
    const std::vector<T> ext = extremal_values<T>();
    for (std::size_t i = 0; i < std::min(n, ext.size()); ++i) x[i] = ext[i];
    const std::vector<T> dy = random_gradients<T>(n, n + 1);
    for (const Activation& act : acts) {
      for (std::size_t offset : {0, 1}) {
        SCOPED_TRACE(::testing::Message() << type_name<T>() << " op " << static_cast<int>(act.op)
                                          << " n=" << n << " offset=" << offset);
        std::vector<T> want_y(n);
        std::vector<std::uint32_t> want_mask(mask_words(n));
        ASSERT_EQ(reference::forward_with_mask(act, x.data(), want_y.data(), want_mask.data(), n),
                  Status::success);
        DeviceArray<T> dx_ = upload(x, offset), ddy = upload(dy, offset),
                       y = upload(std::vector<T>(n), offset);
        DeviceArray<T> from_mask = upload(std::vector<T>(n), offset),
                       from_x = upload(std::vector<T>(n), offset);
        DeviceArray<std::uint32_t> mask(mask_words(n));
        ASSERT_EQ(forward_with_mask(act, dx_.get() + offset, y.get() + offset, mask.get(), n),
                  Status::success)
            << last_error();
        ASSERT_EQ(
            backward_from_mask(act, mask.get(), ddy.get() + offset, from_mask.get() + offset, n),
            Status::success);
        ASSERT_EQ(backward(act, dx_.get() + offset, ddy.get() + offset, from_x.get() + offset, n),
                  Status::success);
        const std::vector<std::uint32_t> got_mask = download(mask.get(), mask_words(n));
        EXPECT_EQ(got_mask, want_mask);
        const std::vector<T> got_y = download(y.get() + offset, n),
                             a = download(from_mask.get() + offset, n),
                             b = download(from_x.get() + offset, n);
        std::size_t bad = 0;
        for (std::size_t i = 0; i < n; ++i) {
          bad +=
              sizeof(T) == 2 ? ulp_distance(got_y[i], want_y[i]) > 1 : !same(got_y[i], want_y[i]);
          if (!is_nan(x[i])) bad += !same(a[i], b[i]);
        }
        EXPECT_EQ(bad, 0u);
      }
    }
  }
}

TYPED_TEST(MaskGpu, BlendedAndInPlace) {
  using T = TypeParam;
  const std::size_t n = 40001;
  const Activation act = Activation::leaky_relu(0.25f);
  const std::vector<T> x = random_values<T>(n, 11), dy = random_gradients<T>(n, 12),
                       old = random_gradients<T>(n, 13);
  const Blend blend{0.5f, -2.0f};
  std::vector<T> want_y = old, want_dx = old;
  std::vector<std::uint32_t> want_mask(mask_words(n));
  ASSERT_EQ(reference::forward_with_mask(act, x.data(), want_y.data(), want_mask.data(), n, blend),
            Status::success);
  ASSERT_EQ(
      reference::backward_from_mask(act, want_mask.data(), dy.data(), want_dx.data(), n, blend),
      Status::success);
  std::vector<T> unblended_y(n), unblended_dx(n);
  ASSERT_EQ(reference::forward(act, x.data(), unblended_y.data(), n), Status::success);
  ASSERT_EQ(reference::backward_from_mask(act, want_mask.data(), dy.data(), unblended_dx.data(), n),
            Status::success);
  // Blended into old outputs (read because beta != 0).
  DeviceArray<T> dx_ = upload(x, 1), y = upload(old, 1), ddy = upload(dy, 1), dx = upload(old, 1);
  DeviceArray<std::uint32_t> mask(mask_words(n));
  ASSERT_EQ(forward_with_mask(act, dx_.get() + 1, y.get() + 1, mask.get(), n, nullptr, blend),
            Status::success)
      << last_error();
  ASSERT_EQ(backward_from_mask(act, mask.get(), ddy.get() + 1, dx.get() + 1, n, nullptr, blend),
            Status::success);
  EXPECT_EQ(download(mask.get(), mask_words(n)), want_mask);
  const std::vector<T> gy = download(y.get() + 1, n), gdx = download(dx.get() + 1, n);
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_TRUE(blend_close(gy[i], want_y[i], unblended_y[i], old[i], blend, 1)) << i;
    ASSERT_TRUE(blend_close(gdx[i], want_dx[i], unblended_dx[i], old[i], blend, 1)) << i;
  }
  // In place: y == x, then dx == dy.
  DeviceArray<T> inplace = upload(x, 0), g = upload(dy, 0);
  ASSERT_EQ(forward_with_mask(act, inplace.get(), inplace.get(), mask.get(), n), Status::success);
  ASSERT_EQ(backward_from_mask(act, mask.get(), g.get(), g.get(), n), Status::success);
  EXPECT_EQ(download(mask.get(), mask_words(n)), want_mask);
  const std::vector<T> iy = download(inplace.get(), n), idx = download(g.get(), n);
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_TRUE(sizeof(T) == 2 ? ulp_distance(iy[i], unblended_y[i]) <= 1
                               : same(iy[i], unblended_y[i]))
        << i;
    ASSERT_TRUE(sizeof(T) == 2 ? ulp_distance(idx[i], unblended_dx[i]) <= 1
                               : same(idx[i], unblended_dx[i]))
        << i;
  }
}

TYPED_TEST(MaskGpu, PReluDxFromTheMask) {
  using T = TypeParam;
  using P = compute_t<T>;
  for (PReluShape s : {PReluShape{4, 16, 49}, PReluShape{1000, 3, 1}, PReluShape{1, 1, 70001}}) {
    const std::size_t n = s.outer * s.channels * s.inner;
    if (n > max_test_n()) continue;
    const std::vector<T> x = random_values<T>(n, 1), dy = random_gradients<T>(n, 2);
    std::vector<P> alpha(s.channels);
    for (std::size_t c = 0; c < s.channels; ++c) alpha[c] = P(0.1) * static_cast<P>(c) - P(0.3);
    std::vector<T> want_y(n), want_dx(n);
    std::vector<P> dalpha(s.channels);
    std::vector<std::uint32_t> want_mask(mask_words(n));
    ASSERT_EQ(reference::prelu_forward_with_mask(x.data(), alpha.data(), want_y.data(),
                                                 want_mask.data(), s),
              Status::success);
    ASSERT_EQ(reference::prelu_backward(x.data(), alpha.data(), dy.data(), want_dx.data(),
                                        dalpha.data(), s),
              Status::success);
    DeviceArray<T> dx_ = upload(x, 0), ddy = upload(dy, 0), y(n), dx(n);
    DeviceArray<P> da = upload(alpha, 0);
    DeviceArray<std::uint32_t> mask(mask_words(n));
    ASSERT_EQ(prelu_forward_with_mask(dx_.get(), da.get(), y.get(), mask.get(), s), Status::success)
        << last_error();
    ASSERT_EQ(prelu_backward_dx_from_mask(mask.get(), da.get(), ddy.get(), dx.get(), s),
              Status::success)
        << last_error();
    EXPECT_EQ(download(mask.get(), mask_words(n)), want_mask);
    const std::vector<T> got_y = download(y.get(), n), got_dx = download(dx.get(), n);
    std::size_t bad = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t bound = sizeof(T) == 2 ? 1 : 0;
      bad += bound ? ulp_distance(got_y[i], want_y[i]) > 1 : !same(got_y[i], want_y[i]);
      if (!is_nan(x[i]))
        bad += bound ? ulp_distance(got_dx[i], want_dx[i]) > 1 : !same(got_dx[i], want_dx[i]);
    }
    EXPECT_EQ(bad, 0u);
  }
}

}  // namespace
}  // namespace actlayer::testing
