// The gated kernels on the GPU against the CPU reference: every gate op of the sweeps and the
// presets, x dtype x layout (gate first, gate second, two pointers), H odd and even (the scalar
// and the vector path), misaligned pointers, blended, in place, and the packed and split forms
// agreeing bit for bit.
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "actlayer/cuda.hpp"
#include "actlayer/reference.hpp"
#include "common/cases.hpp"
#include "common/compare.hpp"
#include "common/element_types.hpp"
#include "common/fused.hpp"
#include "gpu_harness.cuh"

namespace actlayer::testing {
namespace {

/// One case: forward and backward, on the GPU and the reference, `shift` elements past an
/// aligned address, blended into `old`.
template <class T>
void run_case(const GateCase& c, Form form, GatedShape shape, std::size_t shift, Blend blend) {
  SCOPED_TRACE("shift " + std::to_string(shift));
  const std::size_t n = shape.rows * shape.hidden;
  check_gated_case<T>(c, form, shape, blend,
                      [&](const std::vector<T>& in, const std::vector<T>& dy, std::vector<T>& y,
                          std::vector<T>& din) {
                        DeviceArray<T> d_in(2 * n + shift), d_dy(n + shift), d_y(n + shift),
                            d_din(2 * n + shift);
                        ASSERT_TRUE(d_in && d_dy && d_y && d_din);
                        const T* pin = upload_at(d_in, in, shift);
                        const T* pdy = upload_at(d_dy, dy, shift);
                        T* py = upload_at(d_y, y, shift);
                        T* pdin = upload_at(d_din, din, shift);
                        run_gated(CudaGated{}, c.gated, form, pin, pdy, py, pdin, shape, blend);
                        CUDA_OK(cudaDeviceSynchronize());
                        y = download(py, n);
                        din = download(pdin, 2 * n);
                      });
}

template <class T>
class GatedKernels : public ::testing::Test {};
TYPED_TEST_SUITE(GatedKernels, ElementTypes);

TYPED_TEST(GatedKernels, EveryGateLayoutAndWidthMatchesTheReference) {
  SKIP_WITHOUT_GPU();
  using T = TypeParam;
  for (const GateCase& c : gate_cases<T>()) {
    for (Form form : {Form::gate_first, Form::gate_second, Form::split}) {
      for (std::size_t hidden : {1, 7, 8, 64, 67}) {
        run_case<T>(c, form, {33, hidden}, 0, Blend{});
        if (::testing::Test::HasFailure()) return;
      }
    }
  }
}

TYPED_TEST(GatedKernels, MisalignedPointersAndBlend) {
  SKIP_WITHOUT_GPU();
  using T = TypeParam;
  const std::vector<GateCase> cases = gate_cases<T>();
  for (const GateCase& c : cases) {
    if (c.name != "silu" && c.name != "gelu" && c.name != "glu" && c.name != "clamped_swiglu") {
      continue;
    }
    for (Form form : {Form::gate_first, Form::gate_second, Form::split}) {
      run_case<T>(c, form, {5, 64}, 1, Blend{});             // scalar path, even H
      run_case<T>(c, form, {5, 64}, 0, Blend{0.5f, -2.0f});  // vectors, blended
      run_case<T>(c, form, {1000, 1027}, 0, Blend{});        // many blocks, odd H
    }
  }
}

TYPED_TEST(GatedKernels, InPlaceAndPackedEqualsSplitBitForBit) {
  SKIP_WITHOUT_GPU();
  using T = TypeParam;
  const GatedShape shape{17, 64};
  const std::size_t n = shape.rows * shape.hidden;
  const Gated g = Gated::swiglu();
  const std::vector<T> in = gated_inputs<T>(2 * n, 5, 6.0), dy = gated_inputs<T>(n, 6, 2.0);
  DeviceArray<T> d_in(2 * n), d_dy(n), d_din(2 * n), d_y(n), d_y2(n);
  ASSERT_TRUE(d_in && d_dy && d_din && d_y && d_y2);
  T* pin = upload_at(d_in, in);
  upload_at(d_dy, dy);
  // Packed out of place, then split on the row-major halves: the same bits.
  ASSERT_EQ(gated_backward(g, pin, d_dy.get(), d_din.get(), shape), Status::success);
  ASSERT_EQ(gated_forward(g, pin, d_y.get(), shape), Status::success);
  const std::vector<T> din = download(d_din.get(), 2 * n), y = download(d_y.get(), n);
  // In place: din = in.
  ASSERT_EQ(gated_backward(g, pin, d_dy.get(), pin, shape), Status::success) << last_error();
  const std::vector<T> inplace = download(pin, 2 * n);
  for (std::size_t k = 0; k < 2 * n; ++k) ASSERT_TRUE(same(inplace[k], din[k])) << k;
  // Split, one row at a time (a row's halves are two arrays of H), y in place over a.
  upload_at(d_in, in);
  for (std::size_t r = 0; r < shape.rows; ++r) {
    T* a = pin + r * 2 * shape.hidden;
    T* b = a + shape.hidden;
    ASSERT_EQ(gated_forward_split(g, a, b, a, shape.hidden), Status::success) << last_error();
  }
  const std::vector<T> split = download(pin, 2 * n);
  for (std::size_t r = 0; r < shape.rows; ++r) {
    for (std::size_t j = 0; j < shape.hidden; ++j) {
      ASSERT_TRUE(same(split[r * 2 * shape.hidden + j], y[r * shape.hidden + j])) << r << "," << j;
    }
  }
}

}  // namespace
}  // namespace actlayer::testing
