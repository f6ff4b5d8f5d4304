// tests/common/fused.hpp — what the gated and bias_act tests of every backend share: the gate
// cases and their bounds, the gated inputs and comparison, the bias_act data and dbias's
// comparison against the reference.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "actlayer/activation.hpp"
#include "actlayer/cpu.hpp"
#include "actlayer/cuda.hpp"
#include "actlayer/reference.hpp"
#include "cases.hpp"
#include "compare.hpp"
#include "numeric.hpp"

namespace actlayer::testing {

// ---- Gated -------------------------------------------------------------------------------

struct GateCase {
  std::string name;
  Gated gated;
  std::uint64_t bound[2];  // ulp of T, forward and backward
};

/// Every op of the sweeps as a gate and the presets, with the op's own bound (cases.hpp) plus
/// the product's rounding: the kernels round g(a) and then the product (and form b*dy first
/// for da), the reference rounds once.
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
std::vector<T> gated_inputs(std::size_t n, std::uint64_t seed, double scale) {
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

/// got within `bound` ulp of want; with a blend (beta != 0) within blend_close of it, f being the
/// unblended result and old the output's old contents.
template <class T>
void expect_gated_close(const std::vector<T>& got, const std::vector<T>& want, std::uint64_t bound,
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

/// The four gated calls of one backend, as members forward(g, in, y, shape, blend),
/// backward(g, in, dy, din, shape, blend), forward_split(g, a, b, y, n, blend) and
/// backward_split(g, a, b, dy, da, db, n, blend). The reference's:
struct ReferenceGated {
  template <class T>
  Status forward(const Gated& g, const T* in, T* y, GatedShape s, Blend b) const {
    return reference::gated_forward(g, in, y, s, b);
  }
  template <class T>
  Status backward(const Gated& g, const T* in, const T* dy, T* din, GatedShape s, Blend b) const {
    return reference::gated_backward(g, in, dy, din, s, b);
  }
  template <class T>
  Status forward_split(const Gated& g, const T* a, const T* b, T* y, std::size_t n,
                       Blend bl) const {
    return reference::gated_forward_split(g, a, b, y, n, bl);
  }
  template <class T>
  Status backward_split(const Gated& g, const T* a, const T* b, const T* dy, T* da, T* db,
                        std::size_t n, Blend bl) const {
    return reference::gated_backward_split(g, a, b, dy, da, db, n, bl);
  }
};

/// The CPU backend's.
struct CpuGated {
  template <class T>
  Status forward(const Gated& g, const T* in, T* y, GatedShape s, Blend b) const {
    return cpu::gated_forward(g, in, y, s, b);
  }
  template <class T>
  Status backward(const Gated& g, const T* in, const T* dy, T* din, GatedShape s, Blend b) const {
    return cpu::gated_backward(g, in, dy, din, s, b);
  }
  template <class T>
  Status forward_split(const Gated& g, const T* a, const T* b, T* y, std::size_t n,
                       Blend bl) const {
    return cpu::gated_forward_split(g, a, b, y, n, bl);
  }
  template <class T>
  Status backward_split(const Gated& g, const T* a, const T* b, const T* dy, T* da, T* db,
                        std::size_t n, Blend bl) const {
    return cpu::gated_backward_split(g, a, b, dy, da, db, n, bl);
  }
};

/// The CUDA calls', on the default stream.
struct CudaGated {
  template <class T>
  Status forward(const Gated& g, const T* in, T* y, GatedShape s, Blend b) const {
    return gated_forward(g, in, y, s, nullptr, b);
  }
  template <class T>
  Status backward(const Gated& g, const T* in, const T* dy, T* din, GatedShape s, Blend b) const {
    return gated_backward(g, in, dy, din, s, nullptr, b);
  }
  template <class T>
  Status forward_split(const Gated& g, const T* a, const T* b, T* y, std::size_t n,
                       Blend bl) const {
    return gated_forward_split(g, a, b, y, n, nullptr, bl);
  }
  template <class T>
  Status backward_split(const Gated& g, const T* a, const T* b, const T* dy, T* da, T* db,
                        std::size_t n, Blend bl) const {
    return gated_backward_split(g, a, b, dy, da, db, n, nullptr, bl);
  }
};

/// Forward into y and backward into din in `form` through `calls`: packed with g's layout set
/// to the form's, or split with a = in[0, n), b = in[n, 2n) and da, db likewise in din.
template <class T, class Calls>
void run_gated(const Calls& calls, Gated g, Form form, const T* in, const T* dy, T* y, T* din,
               GatedShape shape, Blend blend) {
  const std::size_t n = shape.rows * shape.hidden;
  if (form == Form::split) {
    ASSERT_EQ(calls.forward_split(g, in, in + n, y, n, blend), Status::success) << last_error();
    ASSERT_EQ(calls.backward_split(g, in, in + n, dy, din, din + n, n, blend), Status::success)
        << last_error();
    return;
  }
  g.layout = form == Form::gate_first ? GatedLayout::gate_first : GatedLayout::gate_second;
  ASSERT_EQ(calls.forward(g, in, y, shape, blend), Status::success) << last_error();
  ASSERT_EQ(calls.backward(g, in, dy, din, shape, blend), Status::success) << last_error();
}

/// One case against the reference: `backend(in, dy, y, din)` runs forward and backward in
/// `form` (run_gated), blended into y and din, which hold the old outputs.
template <class T, class Backend>
void check_gated_case(const GateCase& c, Form form, GatedShape shape, Blend blend,
                      Backend&& backend) {
  const std::size_t n = shape.rows * shape.hidden;
  const std::vector<T> in = gated_inputs<T>(2 * n, 1 + n, 8.0), dy = gated_inputs<T>(n, 2 + n, 2.0);
  const std::vector<T> old_y = gated_inputs<T>(n, 3, 4.0), old_din = gated_inputs<T>(2 * n, 4, 4.0);
  SCOPED_TRACE(c.name + " " + type_name<T>() + " form " + std::to_string(int(form)) + " H " +
               std::to_string(shape.hidden) + " rows " + std::to_string(shape.rows) + " beta " +
               std::to_string(blend.beta));
  // The reference, blended into the old outputs (y, din) and unblended (fy, fdin).
  std::vector<T> y = old_y, din = old_din, fy(n), fdin(2 * n);
  const ReferenceGated ref;
  run_gated(ref, c.gated, form, in.data(), dy.data(), y.data(), din.data(), shape, blend);
  run_gated(ref, c.gated, form, in.data(), dy.data(), fy.data(), fdin.data(), shape, Blend{});
  std::vector<T> got_y = old_y, got_din = old_din;
  backend(in, dy, got_y, got_din);
  expect_gated_close(got_y, y, c.bound[0], "y", blend, fy, old_y);
  expect_gated_close(got_din, din, c.bound[1], "din", blend, fdin, old_din);
}

// ---- bias_act ----------------------------------------------------------------------------

inline std::size_t shape_elements(ChannelShape s) { return s.outer * s.channels * s.inner; }

// Small enough for the reference to sweep every op in every dtype (double in __float128).
inline const ChannelShape kBiasActShapes[] = {
    {2, 5, 4099},        // NCHW, rows layout, odd maps
    {8, 24, 49},         // NCHW 7x7 maps, columns layout
    {3 * 5 * 5, 17, 1},  // NHWC, odd channel count
    {100, 130, 1},       // rows x features
    {1, 1, 20001},       // one shared bias
    {0, 3, 5},           // empty: dbias is blended with 0
};

/// Random x, dy (in [-3, 3]), bias and an old dbias over `shape`.
template <class T>
struct BiasActData {
  using P = compute_t<T>;
  ChannelShape shape;
  std::vector<T> x, dy;
  std::vector<P> bias, dbias_old;
  explicit BiasActData(ChannelShape s, std::uint64_t seed = 1) : shape(s) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(-3, 3);
    for (std::size_t i = 0; i < shape_elements(s); ++i) {
      x.push_back(from_double<T>(u(rng)));
      dy.push_back(from_double<T>(u(rng)));
    }
    for (std::size_t c = 0; c < s.channels; ++c) {
      bias.push_back(static_cast<P>(u(rng) / 3));
      dbias_old.push_back(static_cast<P>(u(rng)));
    }
  }
};

/// dbias within tol * (sum of |dx| + |old|) of the reference: the backend's dx values are
/// within a few ulp of F of the reference's, and it sums in double in another order.
template <class T>
void expect_dbias_close(const std::vector<T>& dx, const std::vector<compute_t<T>>& old,
                        ChannelShape s, const std::vector<compute_t<T>>& got,
                        const std::vector<compute_t<T>>& want) {
  std::vector<double> magnitude(s.channels, 0);
  for (std::size_t i = 0; i < dx.size(); ++i) {
    magnitude[(i / s.inner) % s.channels] += std::fabs(to_double(dx[i]));
  }
  const double tol = std::is_same_v<T, double> ? 1e-12 : 1e-5;
  for (std::size_t c = 0; c < s.channels; ++c) {
    const double g = static_cast<double>(got[c]), w = static_cast<double>(want[c]);
    if (std::isnan(w)) {
      EXPECT_TRUE(std::isnan(g)) << "channel " << c;
      continue;
    }
    const double bound = tol * (magnitude[c] + std::fabs(static_cast<double>(old[c]))) + 1e-30;
    EXPECT_LE(std::fabs(g - w), bound) << "channel " << c << ": got " << g << ", want " << w;
  }
}

}  // namespace actlayer::testing
