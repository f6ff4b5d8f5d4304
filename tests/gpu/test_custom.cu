// Custom activations on the GPU (actlayer/custom.cuh), instantiated in this translation unit:
// a user-written ReLU gives the built-in kernels' bits at every size and alignment; swish with
// a parameter gives the CPU loop's bits (its exp is ops.cuh's, the same on both sides).
#include "actlayer/cuda.hpp"
#include "actlayer/custom.cuh"
#include "common/element_types.hpp"
#include "common/custom_functors.hpp"
#include "gpu_harness.cuh"

namespace actlayer::testing {
namespace {

template <class T>
class CustomGpu : public ::testing::Test {
 protected:
  void SetUp() override { SKIP_WITHOUT_GPU(); }
};
TYPED_TEST_SUITE(CustomGpu, ElementTypes);

TYPED_TEST(CustomGpu, UserReluMatchesTheBuiltInKernels) {
  using T = TypeParam;
  const std::size_t max_n = std::min<std::size_t>((1u << 20) + 3, max_test_n());
  std::vector<T> pool_x = extremal_values<T>();
  const std::vector<T> more = random_values<T>(kPool - pool_x.size(), 4);
  pool_x.insert(pool_x.end(), more.begin(), more.end());
  const std::vector<T> pool_dy = random_gradients<T>(kPool, 5);
  DeviceArray<T> x(max_n + 8), dy(max_n + 8), a(max_n + 8), b(max_n + 8);
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{15}, std::size_t{17},
                        std::size_t{4097}, max_n}) {
    for (std::size_t offset : {0, 1, 2, 3}) {
      for (std::size_t shift : {0, 1}) {  // inputs one element off the outputs: the scalar path
        SCOPED_TRACE(::testing::Message()
                     << type_name<T>() << " n=" << n << " offset=" << offset << " shift=" << shift);
        gather(pool_x, x.get() + offset + shift, n);
        gather(pool_dy, dy.get() + offset + shift, n);
        const T* px = x.get() + offset + shift;
        const T* pdy = dy.get() + offset + shift;
        ASSERT_EQ(custom_forward(UserRelu{}, px, a.get() + offset, n), Status::success)
            << last_error();
        ASSERT_EQ(forward(Activation::relu(), px, b.get() + offset, n), Status::success);
        std::vector<T> ga = download(a.get() + offset, n), gb = download(b.get() + offset, n);
        for (std::size_t i = 0; i < n; ++i) ASSERT_TRUE(same(ga[i], gb[i])) << i;
        ASSERT_EQ(
            custom_backward(UserRelu{}, px, pdy, a.get() + offset, n, nullptr, Blend{0.5f, 0.0f}),
            Status::success);
        ASSERT_EQ(
            backward(Activation::relu(), px, pdy, b.get() + offset, n, nullptr, Blend{0.5f, 0.0f}),
            Status::success);
        ga = download(a.get() + offset, n), gb = download(b.get() + offset, n);
        for (std::size_t i = 0; i < n; ++i) ASSERT_TRUE(same(ga[i], gb[i])) << i;
      }
    }
  }
}

TEST(CustomGpuSwish, MatchesTheCpuLoopBitForBit) {
  SKIP_WITHOUT_GPU();
  const std::size_t n = 100003;
  const std::vector<float> x = random_values<float>(n, 6), dy = random_gradients<float>(n, 7);
  DeviceArray<float> dx_(n), ddy(n), out(n);
  CUDA_OK(cudaMemcpy(dx_.get(), x.data(), n * 4, cudaMemcpyHostToDevice));
  CUDA_OK(cudaMemcpy(ddy.get(), dy.data(), n * 4, cudaMemcpyHostToDevice));
  for (float beta : {1.0f, 1.702f}) {
    std::vector<float> want(n);
    ASSERT_EQ(custom_forward(Swish{beta}, dx_.get(), out.get(), n), Status::success)
        << last_error();
    ASSERT_EQ(reference::custom_forward(Swish{beta}, x.data(), want.data(), n), Status::success);
    std::vector<float> got = download(out.get(), n);
    for (std::size_t i = 0; i < n; ++i) ASSERT_TRUE(same(got[i], want[i])) << "x=" << x[i];
    ASSERT_EQ(custom_backward(Swish{beta}, dx_.get(), ddy.get(), out.get(), n), Status::success);
    ASSERT_EQ(reference::custom_backward(Swish{beta}, x.data(), dy.data(), want.data(), n),
              Status::success);
    got = download(out.get(), n);
    for (std::size_t i = 0; i < n; ++i) ASSERT_TRUE(same(got[i], want[i])) << "x=" << x[i];
  }
}

}  // namespace
}  // namespace actlayer::testing
