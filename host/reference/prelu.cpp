// The CPU reference for PReLU: plain loops over [outer][channels][inner], products rounded
// once, dalpha summed in long double in index order.
#include <cmath>
#include <cstdint>

#include "actlayer/reference.hpp"
#include "actlayer/detail/instantiate.hpp"
#include "common/checks.hpp"
#include "common/validate.hpp"
#include "elementwise.hpp"
#include "round.hpp"

namespace actlayer::reference {
namespace {

using actlayer::detail::ArgCheck;
using detail::nan_value;
using detail::positive_zero;
using detail::product;
using detail::Wide;
using detail::wide;

/// slope * v; a zero slope gives +0 even for an infinite v.
template <class T>
T slope_times(Wide slope, T v) {
  if (std::isnan(slope) || std::isnan(wide(v))) return nan_value<T>();
  if (slope == 0) return positive_zero<T>();
  return product<T>(slope, wide(v));
}

/// One element's share of dalpha: z*dy for z <= 0 (or NaN); a zero factor gives 0.
Wide alpha_term(Wide z, Wide dy) {
  if (z > 0) return 0;
  if (std::isnan(z) || std::isnan(dy)) return std::nan("");
  if (z == 0 || dy == 0) return 0;
  return z * dy;
}

}  // namespace

template <class T, class>
Status prelu_forward(const T* x, const compute_t<T>* alpha, T* y, PReluShape shape) {
  std::size_t n = 0;
  const Status s = actlayer::detail::check_prelu_forward("actlayer::reference::prelu_forward", x,
                                                         alpha, y, nullptr, false, shape, &n);
  if (s != Status::success) return s;
  for (std::size_t o = 0; o < shape.outer; ++o) {
    for (std::size_t c = 0; c < shape.channels; ++c) {
      for (std::size_t k = 0; k < shape.inner; ++k) {
        const std::size_t i = (o * shape.channels + c) * shape.inner + k;
        const Wide z = wide(x[i]);
        y[i] = std::isnan(z) ? nan_value<T>() : z >= 0 ? x[i] : slope_times(alpha[c], x[i]);
      }
    }
  }
  return Status::success;
}

template <class T, class>
Status prelu_backward(const T* x, const compute_t<T>* alpha, const T* dy, T* dx,
                      compute_t<T>* dalpha, PReluShape shape, Blend blend) {
  std::size_t n = 0;
  const Status s =
      actlayer::detail::check_prelu_backward("actlayer::reference::prelu_backward", x, alpha, dy,
                                             dx, dalpha, shape, blend, nullptr, 0, 0, &n);
  if (s != Status::success) return s;
  for (std::size_t c = 0; c < shape.channels; ++c) {
    Wide sum = 0;
    for (std::size_t o = 0; o < shape.outer; ++o) {
      for (std::size_t k = 0; k < shape.inner; ++k) {
        const std::size_t i = (o * shape.channels + c) * shape.inner + k;
        const Wide z = wide(x[i]), g = wide(dy[i]);
        sum += alpha_term(z, g);  // before dx[i] is written: dx may be x or dy
        dx[i] = std::isnan(z) || std::isnan(g) ? nan_value<T>()
                : z > 0                        ? dy[i]
                                               : slope_times(alpha[c], dy[i]);
      }
    }
    dalpha[c] = detail::blended_param(sum, blend, dalpha[c]);
  }
  return Status::success;
}

template <class T, class>
Status prelu_forward_with_mask(const T* x, const compute_t<T>* alpha, T* y, std::uint32_t* mask,
                               PReluShape shape) {
  std::size_t n = 0;
  const Status s = actlayer::detail::check_prelu_forward(
      "actlayer::reference::prelu_forward_with_mask", x, alpha, y, mask, true, shape, &n);
  if (s != Status::success) return s;
  for (std::size_t w = 0; w < mask_words(n); ++w) mask[w] = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (wide(x[i]) > 0) mask[i / 32] |= std::uint32_t{1} << (i % 32);
  }
  return prelu_forward(x, alpha, y, shape);  // checked above
}

template <class T, class>
Status prelu_backward_dx_from_mask(const std::uint32_t* mask, const compute_t<T>* alpha,
                                   const T* dy, T* dx, PReluShape shape) {
  std::size_t n = 0;
  const Status s = actlayer::detail::check_prelu_dx_from_mask(
      "actlayer::reference::prelu_backward_dx_from_mask", mask, alpha, dy, dx, shape, &n);
  if (s != Status::success) return s;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t c = (i / shape.inner) % shape.channels;
    const bool positive = (mask[i / 32] >> (i % 32)) & 1u;
    dx[i] = std::isnan(wide(dy[i])) ? nan_value<T>()
            : positive              ? dy[i]
                                    : slope_times(alpha[c], dy[i]);
  }
  return Status::success;
}

ACTLAYER_ENTRY_POINTS(reference_prelu_entry_points, &prelu_forward<T>, &prelu_backward<T>,
                      &prelu_forward_with_mask<T>, &prelu_backward_dx_from_mask<T>)
ACTLAYER_INSTANTIATE_FOR_EACH_ELEMENT(reference_prelu_entry_points)

}  // namespace actlayer::reference
