// The CPU reference: each activation written from its formula in long double, rounded once.
//
// Written independently of ops.cuh (it must not include it): a GPU-vs-CPU comparison proves
// something only when the two sides were written separately. Plain loops, no tricks: where
// long double is not enough to round exactly, the operation is done in double, where IEEE
// arithmetic rounds it exactly (piecewise-linear results in double).
#include <cmath>
#include <limits>

#include "actlayer/reference.hpp"
#include "common/validate.hpp"
#include "round.hpp"

namespace actlayer::reference {
namespace {

using actlayer::detail::ArgCheck;
using actlayer::detail::Pass;
using detail::nan_value;
using detail::positive_zero;
using detail::product;
using detail::quotient;
using detail::round_to;
using detail::Wide;
using detail::wide;

// ---- Leaky ReLU's negative side -----------------------------------------------------------

struct NegativeSide {
  bool divide;  // v / k (the course's form) or k * v
  Wide k;
};

NegativeSide negative_side(const Activation& act) {
  if (act.op == Op::rrelu) return {false, act.eval_slope()};  // eval mode
  if (act.divisor != 0.0f) return {true, act.divisor};
  return {false, act.slope};
}

/// v on the negative side; a zero slope gives +0 even for an infinite v.
template <class T>
T negative(const NegativeSide& side, T v) {
  if (side.divide) return quotient<T>(wide(v), side.k);
  if (side.k == 0) return positive_zero<T>();
  return product<T>(side.k, wide(v));
}

// ---- Sigmoid and tanh ---------------------------------------------------------------------

Wide sigma(Wide z) { return 1.0L / (1.0L + std::exp(-z)); }

/// dy * d where d > 0 is the exact derivative (which may have underflowed long double): an
/// infinite dy stays infinite.
template <class T>
T times_positive(T dy, Wide d) {
  if (std::isinf(wide(dy))) return dy;
  return round_to<T>(wide(dy) * d);
}

/// dy * d for a derivative d computed from the output: d == 0 is a flat point (+0).
template <class T>
T times_from_output(T dy, Wide d) {
  if (d == 0) return positive_zero<T>();
  return round_to<T>(wide(dy) * d);
}

// ---- One element of each pass -------------------------------------------------------------

template <class T>
T forward_one(const Activation& act, T x) {
  const Wide z = wide(x);
  if (std::isnan(z)) return nan_value<T>();
  switch (act.op) {
    case Op::identity: return x;
    case Op::step: return round_to<T>(z >= 0 ? 1.0L : 0.0L);
    case Op::sigmoid: return round_to<T>(sigma(z));
    case Op::tanh: return round_to<T>(std::tanh(z));
    case Op::relu: return z > 0 ? x : positive_zero<T>();
    case Op::leaky_relu:
    case Op::rrelu: return z >= 0 ? x : negative(negative_side(act), x);
  }
  return nan_value<T>();  // unreachable: act.op was validated
}

template <class T>
T backward_one(const Activation& act, T x, T dy) {
  const Wide z = wide(x);
  if (std::isnan(z) || std::isnan(wide(dy))) return nan_value<T>();
  switch (act.op) {
    case Op::identity: return dy;
    case Op::step: return positive_zero<T>();
    case Op::relu: return z > 0 ? dy : positive_zero<T>();
    case Op::leaky_relu:
    case Op::rrelu: return z > 0 ? dy : negative(negative_side(act), dy);
    case Op::sigmoid:  // sigma'(z) = sigma(z) sigma(-z), flat only at +-inf
      if (std::isinf(z)) return positive_zero<T>();
      return times_positive(dy, sigma(z) * sigma(-z));
    case Op::tanh: {  // tanh'(z) = 1 / cosh^2 z, flat only at +-inf
      if (std::isinf(z)) return positive_zero<T>();
      const Wide c = std::cosh(z);
      return times_positive(dy, 1.0L / (c * c));
    }
  }
  return nan_value<T>();
}

template <class T>
T backward_from_output_one(const Activation& act, T y_, T dy) {
  const Wide y = wide(y_);
  if (std::isnan(y) || std::isnan(wide(dy))) return nan_value<T>();
  switch (act.op) {
    case Op::identity: return dy;
    case Op::step: return positive_zero<T>();
    case Op::relu: return y > 0 ? dy : positive_zero<T>();
    case Op::leaky_relu:
    case Op::rrelu: return y > 0 ? dy : negative(negative_side(act), dy);
    case Op::sigmoid: return times_from_output(dy, y * (1 - y));
    case Op::tanh: return times_from_output(dy, (1 - y) * (1 + y));
  }
  return nan_value<T>();
}

/// alpha * r + beta * old, rounded once; old is not read when beta == 0.
template <class T>
T blend_one(T r, const T* old, Blend blend) {
  if (blend.beta == 0) return round_to<T>(Wide{blend.alpha} * wide(r));
  return round_to<T>(Wide{blend.alpha} * wide(r) + Wide{blend.beta} * wide(*old));
}

}  // namespace

namespace detail {

template <class T>
Status forward_impl(const Activation& act, const T* x, T* y, std::size_t n, Blend blend) {
  const Status s = ArgCheck("actlayer::reference::forward")
                       .activation(act, Pass::forward)
                       .blend(blend)
                       .input("x", x, n)
                       .output("y", y, n)
                       .status();
  if (s != Status::success) return s;
  for (std::size_t i = 0; i < n; ++i) y[i] = blend_one(forward_one(act, x[i]), &y[i], blend);
  return Status::success;
}

template <class T>
Status backward_impl(const Activation& act, const T* x, const T* dy, T* dx, std::size_t n,
                     Blend blend) {
  const Status s = ArgCheck("actlayer::reference::backward")
                       .activation(act, Pass::backward)
                       .blend(blend)
                       .input("x", x, n)
                       .input("dy", dy, n)
                       .output("dx", dx, n)
                       .status();
  if (s != Status::success) return s;
  for (std::size_t i = 0; i < n; ++i) {
    dx[i] = blend_one(backward_one(act, x[i], dy[i]), &dx[i], blend);
  }
  return Status::success;
}

template <class T>
Status backward_from_output_impl(const Activation& act, const T* y, const T* dy, T* dx,
                                 std::size_t n, Blend blend) {
  const Status s = ArgCheck("actlayer::reference::backward_from_output")
                       .activation(act, Pass::backward_from_output)
                       .blend(blend)
                       .input("y", y, n)
                       .input("dy", dy, n)
                       .output("dx", dx, n)
                       .status();
  if (s != Status::success) return s;
  for (std::size_t i = 0; i < n; ++i) {
    dx[i] = blend_one(backward_from_output_one(act, y[i], dy[i]), &dx[i], blend);
  }
  return Status::success;
}

#define ACTLAYER_INSTANTIATE(T)                                                                  \
  template Status forward_impl<T>(const Activation&, const T*, T*, std::size_t, Blend);          \
  template Status backward_impl<T>(const Activation&, const T*, const T*, T*, std::size_t,       \
                                   Blend);                                                       \
  template Status backward_from_output_impl<T>(const Activation&, const T*, const T*, T*,        \
                                               std::size_t, Blend);
ACTLAYER_INSTANTIATE(float)
ACTLAYER_INSTANTIATE(double)
ACTLAYER_INSTANTIATE(__half)
ACTLAYER_INSTANTIATE(__nv_bfloat16)
#undef ACTLAYER_INSTANTIATE

}  // namespace detail
}  // namespace actlayer::reference
