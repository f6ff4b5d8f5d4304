// The CPU reference of the gated activations: y = g(a') * (b' + offset), da = g'(a') * (b' +
// offset) * dy, db = g(a') * dy, times the clamps' 0/1 gradients. g and g' come from the
// reference's own per-op formulas (elementwise.hpp), evaluated at a' in compute_t<T> (where the
// kernels clamp); each result is computed exactly and rounded once to T.
#include <cmath>

#include "actlayer/detail/instantiate.hpp"
#include "actlayer/reference.hpp"
#include "common/checks.hpp"
#include "elementwise.hpp"
#include "round.hpp"

namespace actlayer::reference {
namespace {

using detail::Exact;
namespace ext = detail::ext;

/// One element's a and b after the clamp, with whether the clamp passes their gradient.
template <class T>
struct Clamped {
  compute_t<T> a;
  Exact<T> b;  // b' + offset
  bool a_passes = true;
  bool b_passes = true;
};

template <class T>
Clamped<T> clamp(const Gated& g, T a_, T b_) {
  using C = compute_t<T>;
  Clamped<T> c{static_cast<C>(detail::wide(a_)), 0};
  C b = static_cast<C>(detail::wide(b_));
  if (std::isfinite(g.limit)) {
    const C limit = g.limit;
    c.a_passes = c.a <= limit;
    c.b_passes = -limit <= b && b <= limit;
    c.a = c.a > limit ? limit : c.a;
    b = b > limit ? limit : b < -limit ? -limit : b;
  }
  c.b = detail::exact(b);
  if (g.linear_offset != 0.0f) c.b += Exact<T>(g.linear_offset);
  return c;
}

/// v rounded once to T, blended with the old output (not read when beta == 0).
template <class T>
T blended(Exact<T> v, const T& old, Blend blend) {
  using E = Exact<T>;
  if (blend.beta == 0) return detail::round_to<T>(E(blend.alpha) * v);
  return detail::round_to<T>(E(blend.alpha) * v + E(blend.beta) * detail::exact(old));
}

template <class T>
void forward_one(const Gated& g, T a, T b, T& y, Blend blend) {
  const Clamped<T> c = clamp(g, a, b);
  y = blended<T>(detail::exact_value(g.gate, c.a) * c.b, y, blend);
}

/// da and db; reads a, b and dy before writing (da or db may be one of them).
template <class T>
void backward_one(const Gated& g, T a, T b, T dy_, T& da, T& db, Blend blend) {
  using E = Exact<T>;
  const Clamped<T> c = clamp(g, a, b);
  const E dy = detail::exact(dy_);
  const E d = detail::exact_derivative(g.gate, c.a);
  const E p = c.b * dy;  // the kernels form (b' + offset) * dy first, then g'(a') times it
  E grad_a = ext::isnan(d) || ext::isnan(p) ? p + d : d * p;
  // A zero factor gives +0, even against an infinity (ops.cuh's conventions).
  if (!ext::isnan(d) && !ext::isnan(p) && (d == 0 || (ext::isinf(d) && p == 0))) grad_a = 0;
  const E grad_b = detail::exact_value(g.gate, c.a) * dy;
  da = blended<T>(c.a_passes ? grad_a : E(0), da, blend);
  db = blended<T>(c.b_passes ? grad_b : E(0), db, blend);
}

/// Where element (r, j)'s a and b lie in a packed input.
struct Halves {
  std::size_t a, b;
};
Halves halves(const Gated& g, GatedShape shape, std::size_t r, std::size_t j) {
  const std::size_t first = r * 2 * shape.hidden + j, second = first + shape.hidden;
  return g.layout == GatedLayout::gate_first ? Halves{first, second} : Halves{second, first};
}

}  // namespace

template <class T, class>
Status gated_forward(const Gated& g, const T* in, T* y, GatedShape shape, Blend blend) {
  std::size_t n = 0;
  const Status s = actlayer::detail::check_gated_forward("actlayer::reference::gated_forward", g,
                                                         in, y, shape, blend, &n);
  if (s != Status::success) return s;
  for (std::size_t r = 0; r < shape.rows; ++r) {
    for (std::size_t j = 0; j < shape.hidden; ++j) {
      const Halves h = halves(g, shape, r, j);
      forward_one(g, in[h.a], in[h.b], y[r * shape.hidden + j], blend);
    }
  }
  return Status::success;
}

template <class T, class>
Status gated_forward_split(const Gated& g, const T* a, const T* b, T* y, std::size_t n,
                           Blend blend) {
  const Status s = actlayer::detail::check_gated_forward("actlayer::reference::gated_forward_split",
                                                         g, a, b, y, n, blend);
  if (s != Status::success) return s;
  for (std::size_t i = 0; i < n; ++i) forward_one(g, a[i], b[i], y[i], blend);
  return Status::success;
}

template <class T, class>
Status gated_backward(const Gated& g, const T* in, const T* dy, T* din, GatedShape shape,
                      Blend blend) {
  std::size_t n = 0;
  const Status s = actlayer::detail::check_gated_backward("actlayer::reference::gated_backward", g,
                                                          in, dy, din, shape, blend, &n);
  if (s != Status::success) return s;
  for (std::size_t r = 0; r < shape.rows; ++r) {
    for (std::size_t j = 0; j < shape.hidden; ++j) {
      const Halves h = halves(g, shape, r, j);
      backward_one(g, in[h.a], in[h.b], dy[r * shape.hidden + j], din[h.a], din[h.b], blend);
    }
  }
  return Status::success;
}

template <class T, class>
Status gated_backward_split(const Gated& g, const T* a, const T* b, const T* dy, T* da, T* db,
                            std::size_t n, Blend blend) {
  const Status s = actlayer::detail::check_gated_backward(
      "actlayer::reference::gated_backward_split", g, a, b, dy, da, db, n, blend);
  if (s != Status::success) return s;
  for (std::size_t i = 0; i < n; ++i) backward_one(g, a[i], b[i], dy[i], da[i], db[i], blend);
  return Status::success;
}

ACTLAYER_ENTRY_POINTS(gated_reference_entry_points, &gated_forward<T>, &gated_forward_split<T>,
                      &gated_backward<T>, &gated_backward_split<T>)
ACTLAYER_INSTANTIATE_FOR_EACH_ELEMENT(gated_reference_entry_points)

}  // namespace actlayer::reference
