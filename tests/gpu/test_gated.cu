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
#include "gpu_harness.cuh"

namespace actlayer::testing {
namespace {

struct GateCase {
  std::string name;
  Gated gated;
  std::uint64_t bound[2];  // ulp of T, forward and backward
};

/// The op's own bound (cases.hpp) plus the product's rounding: the kernel rounds g(a) and then
/// the product (and forms b*dy first for da), the reference rounds once.
template <class T>
std::vector<GateCase> gate_cases() {
  std::vector<GateCase> cases;
  const auto add = [&](const std::string& name, const Gated& g, const OpCase& c) {
    const bool narrow = sizeof(T) == 2;
    cases.push_back({name,
                     g,
                     {ulp_bound<T>(c, Pass::forward) + (narrow ? 1 : 2),
                      ulp_bound<T>(c, Pass::backward) + (narrow ? 1 : 2)}});
  };
  for (const OpCase& c : op_cases()) add(c.name, Gated::of(c.act), c);
  add("glu", Gated::glu(), op_case("sigmoid", Activation::sigmoid()));
  add("clamped_swiglu", Gated::clamped_swiglu(), op_case("swish", Activation::swish(1.702f)));
  add("clamped_swiglu(0.5)", Gated::clamped_swiglu(0.5f, 1.0f),
      op_case("swish", Activation::swish(1.0f)));
  return cases;
}

/// Moderate values of both signs, some zeros and the clamp's edges, and a NaN.
template <class T>
std::vector<T> inputs(std::size_t n, std::uint64_t seed, double scale) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-scale, scale);
  std::vector<T> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t k = i % 97;
    v[i] = from_double<T>(k == 0 ? 0.0 : k == 1 ? -0.0 : k == 2 ? 7.0 : k == 3 ? -7.0 : u(rng));
  }
  if (n > 50) v[50] = from_double<T>(std::nan(""));
  return v;
}

template <class T>
T* upload(DeviceArray<T>& d, const std::vector<T>& h, std::size_t at = 0) {
  EXPECT_EQ(cudaMemcpy(d.get() + at, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice),
            cudaSuccess);
  return d.get() + at;
}

/// got within `bound` ulp of want; with a blend (beta != 0) within blend_close of it, f being the
/// unblended result and old the output's old contents.
template <class T>
void expect_close(const std::vector<T>& got, const std::vector<T>& want, std::uint64_t bound,
                  const std::string& what, Blend blend = {}, const std::vector<T>& f = {},
                  const std::vector<T>& old = {}) {
  ASSERT_EQ(got.size(), want.size());
  std::size_t bad = 0;
  for (std::size_t i = 0; i < got.size() && bad < 5; ++i) {
    const bool ok = blend.beta == 0 ? ulp_distance(got[i], want[i]) <= bound
                                    : blend_close(got[i], want[i], f[i], old[i], blend, bound);
    if (!ok) {
      ++bad;
      ADD_FAILURE() << what << " [" << i << "]: got " << show(got[i]) << ", want " << show(want[i])
                    << " (bound " << bound << " ulp)";
    }
  }
}

enum class Form { gate_first, gate_second, split };

/// One case: forward and backward, on the GPU and the reference, `shift` elements past an
/// aligned address, blended into `old`.
template <class T>
void run_case(const GateCase& c, Form form, GatedShape shape, std::size_t shift, Blend blend) {
  const std::size_t n = shape.rows * shape.hidden;
  Gated g = c.gated;
  if (form != Form::split) {
    g.layout = form == Form::gate_first ? GatedLayout::gate_first : GatedLayout::gate_second;
  }
  const std::vector<T> in = inputs<T>(2 * n, 1 + n, 8.0), dy = inputs<T>(n, 2 + n, 2.0);
  const std::vector<T> old_y = inputs<T>(n, 3, 4.0), old_din = inputs<T>(2 * n, 4, 4.0);
  std::vector<T> y = old_y, din = old_din;
  SCOPED_TRACE(c.name + " " + element_name<T>() + " form " + std::to_string(int(form)) + " H " +
               std::to_string(shape.hidden) + " rows " + std::to_string(shape.rows) + " shift " +
               std::to_string(shift) + " beta " + std::to_string(blend.beta));
  DeviceArray<T> d_in(2 * n + shift), d_dy(n + shift), d_y(n + shift), d_din(2 * n + shift);
  ASSERT_TRUE(d_in && d_dy && d_y && d_din);
  const T* pin = upload(d_in, in, shift);
  const T* pdy = upload(d_dy, dy, shift);
  T* py = upload(d_y, old_y, shift);
  T* pdin = upload(d_din, old_din, shift);
  // The reference, blended into the old outputs (y, din) and unblended (fy, fdin).
  std::vector<T> fy(n), fdin(2 * n);
  const auto reference_run = [&](std::vector<T>& out_y, std::vector<T>& out_din, Blend b) {
    if (form == Form::split) {  // a = the first n of in, b = the next n; da, db likewise in din
      ASSERT_EQ(reference::gated_forward_split(g, in.data(), in.data() + n, out_y.data(), n, b),
                Status::success);
      ASSERT_EQ(reference::gated_backward_split(g, in.data(), in.data() + n, dy.data(),
                                                out_din.data(), out_din.data() + n, n, b),
                Status::success);
    } else {
      ASSERT_EQ(reference::gated_forward(g, in.data(), out_y.data(), shape, b), Status::success);
      ASSERT_EQ(reference::gated_backward(g, in.data(), dy.data(), out_din.data(), shape, b),
                Status::success);
    }
  };
  reference_run(y, din, blend);
  reference_run(fy, fdin, Blend{});
  if (form == Form::split) {
    ASSERT_EQ(gated_forward_split(g, pin, pin + n, py, n, nullptr, blend), Status::success)
        << last_error();
    ASSERT_EQ(gated_backward_split(g, pin, pin + n, pdy, pdin, pdin + n, n, nullptr, blend),
              Status::success)
        << last_error();
  } else {
    ASSERT_EQ(gated_forward(g, pin, py, shape, nullptr, blend), Status::success) << last_error();
    ASSERT_EQ(gated_backward(g, pin, pdy, pdin, shape, nullptr, blend), Status::success)
        << last_error();
  }
  CUDA_OK(cudaDeviceSynchronize());
  expect_close(download(py, n), y, c.bound[0], "y", blend, fy, old_y);
  expect_close(download(pdin, 2 * n), din, c.bound[1], "din", blend, fdin, old_din);
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
  const std::vector<T> in = inputs<T>(2 * n, 5, 6.0), dy = inputs<T>(n, 6, 2.0);
  DeviceArray<T> d_in(2 * n), d_dy(n), d_din(2 * n), d_y(n), d_y2(n);
  ASSERT_TRUE(d_in && d_dy && d_din && d_y && d_y2);
  T* pin = upload(d_in, in);
  upload(d_dy, dy);
  // Packed out of place, then split on the row-major halves: the same bits.
  ASSERT_EQ(gated_backward(g, pin, d_dy.get(), d_din.get(), shape), Status::success);
  ASSERT_EQ(gated_forward(g, pin, d_y.get(), shape), Status::success);
  const std::vector<T> din = download(d_din.get(), 2 * n), y = download(d_y.get(), n);
  // In place: din = in.
  ASSERT_EQ(gated_backward(g, pin, d_dy.get(), pin, shape), Status::success) << last_error();
  const std::vector<T> inplace = download(pin, 2 * n);
  for (std::size_t k = 0; k < 2 * n; ++k) ASSERT_TRUE(same(inplace[k], din[k])) << k;
  // Split, one row at a time (a row's halves are two arrays of H), y in place over a.
  upload(d_in, in);
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
