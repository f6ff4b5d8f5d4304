// Every CUDA entry point of tests/common/calls.hpp on the device: an output poisoned with NaN
// is never read when beta = 0, and an error left pending by the caller's own code is neither
// reported by actlayer nor cleared by it.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "common/element_types.hpp"
#include "common/calls.hpp"
#include "gpu/gpu_harness.cuh"

namespace actlayer::testing {
namespace {

/// Runs c on device copies of the host arena and returns the arena's bytes afterwards.
std::vector<unsigned char> run_on_device(const CallSpec& c, const Arena& host, Blend blend,
                                         Status* status) {
  std::vector<unsigned char> out(host.bytes.size());
  DeviceArray<unsigned char> d(host.bytes.size());
  EXPECT_TRUE(d);
  if (!d) return out;
  // The host arena's arrays start at a kGap-aligned byte; mirror them at the same offsets
  // from the (256-byte aligned) device allocation.
  const auto* first = static_cast<const unsigned char*>(host.pointers.front());
  const std::size_t start = static_cast<std::size_t>(first - host.bytes.data()) - host.offsets[0];
  EXPECT_EQ(cudaMemcpy(d.get(), host.bytes.data() + start, host.bytes.size() - start,
                       cudaMemcpyHostToDevice),
            cudaSuccess);
  std::vector<void*> p;
  for (std::size_t o : host.offsets) p.push_back(d.get() + o);
  *status = c.run(p.data(), blend);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(out.data(), d.get(), host.bytes.size() - start, cudaMemcpyDeviceToHost),
            cudaSuccess);
  return out;
}

template <class T>
class CallsGpu : public ::testing::Test {};
TYPED_TEST_SUITE(CallsGpu, ElementTypes);

TYPED_TEST(CallsGpu, NeverReadTheOutputWhenBetaIsZero) {
  SKIP_WITHOUT_GPU();
  using T = TypeParam;
  for (const CallSpec& c : call_specs<T>(true)) {
    for (Blend blend : {Blend{1.0f, 0.0f}, Blend{0.5f, 0.0f}}) {
      if (!c.blends && blend.alpha != 1.0f) continue;
      SCOPED_TRACE(c.name + " alpha " + std::to_string(blend.alpha));
      Arena clean(c), poisoned(c);
      fill<T>(c, clean.pointers, false);
      for (std::size_t k = 0; k < c.arrays.size(); ++k) {
        if (c.arrays[k].role != Role::input) std::memset(clean.pointers[k], 0, c.arrays[k].bytes());
      }
      fill<T>(c, poisoned.pointers, true);
      Status s1 = Status::cuda_error, s2 = Status::cuda_error;
      const std::vector<unsigned char> a = run_on_device(c, clean, blend, &s1);
      const std::vector<unsigned char> b = run_on_device(c, poisoned, blend, &s2);
      ASSERT_EQ(s1, Status::success) << last_error();
      ASSERT_EQ(s2, Status::success) << last_error();
      for (std::size_t k = 0; k < c.arrays.size(); ++k) {
        const ArraySpec& arr = c.arrays[k];
        if (arr.role == Role::input || arr.kind == Kind::workspace) continue;
        EXPECT_EQ(
            std::memcmp(a.data() + clean.offsets[k], b.data() + poisoned.offsets[k], arr.bytes()),
            0)
            << arr.name << " depends on its old contents";
      }
    }
  }
}

TEST(CallsGpuErrors, ACallersPendingErrorIsNeitherReportedNorCleared) {
  SKIP_WITHOUT_GPU();
  // The caller's own failed allocation leaves cudaErrorMemoryAllocation pending.
  void* huge = nullptr;
  ASSERT_EQ(cudaMalloc(&huge, ~std::size_t{0} >> 2), cudaErrorMemoryAllocation);
  for (const CallSpec& c : call_specs<float>(true)) {
    Arena arena(c);
    fill<float>(c, arena.pointers, false);
    Status s = Status::cuda_error;
    run_on_device(c, arena, Blend{}, &s);
    EXPECT_EQ(s, Status::success) << c.name << ": " << last_error();
  }
  float* d = nullptr;
  ASSERT_EQ(cudaMalloc(&d, 4 * sizeof(float)), cudaSuccess);
  EXPECT_EQ(rrelu_advance_offset(reinterpret_cast<std::uint64_t*>(d)), Status::success)
      << last_error();
  cudaFree(d);
  // Still the caller's to find.
  EXPECT_EQ(cudaGetLastError(), cudaErrorMemoryAllocation);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

TEST(CallsGpuErrors, DeviceOffsetIsCheckedLikeEveryPointer) {
  SKIP_WITHOUT_GPU();
  DeviceArray<float> x(64), y(64);
  DeviceArray<std::uint64_t> counter(2);
  ASSERT_TRUE(x && y && counter);
  Activation act = Activation::rrelu_training({1, 2});
  act.philox.device_offset =
      reinterpret_cast<const std::uint64_t*>(reinterpret_cast<const char*>(counter.get()) + 4);
  EXPECT_EQ(forward(act, x.get(), y.get(), 64), Status::invalid_argument);
  EXPECT_NE(std::string(last_error()).find("activation.philox.device_offset"), std::string::npos)
      << last_error();
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);  // nothing faulted
}

}  // namespace
}  // namespace actlayer::testing
