// The CPU reference for bias_act: z = x + bias[c] rounded once to the working precision F, then
// the reference's own elementwise f and f' (elementwise.hpp), each result rounded once to T from
// its exact value; dbias sums the F values of dx in long double, in index order.
#include <cstdint>

#include "actlayer/reference.hpp"
#include "actlayer/detail/instantiate.hpp"
#include "common/checks.hpp"
#include "common/validate.hpp"
#include "elementwise.hpp"
#include "round.hpp"

namespace actlayer::reference {
namespace {

using actlayer::detail::Saved;
using detail::Value;
using detail::wide;

/// v in the working precision (exact: F is as wide as T or wider).
template <class T>
compute_t<T> working(T v) {
  return static_cast<compute_t<T>>(wide(v));
}

/// Element i of channel c, i = (o * channels + c) * inner + k, for every o and k.
template <class Fn>
void for_channel(const ChannelShape& shape, std::size_t c, Fn&& fn) {
  for (std::size_t o = 0; o < shape.outer; ++o) {
    for (std::size_t k = 0; k < shape.inner; ++k) fn((o * shape.channels + c) * shape.inner + k);
  }
}

/// dx[i] = the exact g rounded once to T; returns g in F, the share of dbias.
template <class T>
long double store_dx(const Value<compute_t<T>>& g, T* dx) {
  *dx = detail::round_to<T>(g.exact);
  return wide(g.rounded);
}

/// The backwards: dx[i] = grad(i) and dbias[c] = the blended sum of the F values, channel by
/// channel (dx[i] is written after grad(i) read x[i] and dy[i]: dx may be either).
template <class T, class Grad>
void backward_channels(ChannelShape shape, T* dx, compute_t<T>* dbias, Blend blend, Grad&& grad) {
  for (std::size_t c = 0; c < shape.channels; ++c) {
    long double sum = 0;
    for_channel(shape, c, [&](std::size_t i) { sum += store_dx(grad(c, i), &dx[i]); });
    dbias[c] = detail::blended_param(sum, blend, dbias[c]);
  }
}

}  // namespace

template <class T, class>
Status bias_act_forward(const Activation& act, const T* x, const compute_t<T>* bias, T* y,
                        ChannelShape shape) {
  std::size_t n = 0;
  const Status s = actlayer::detail::check_bias_act_forward(
      "actlayer::reference::bias_act_forward", act, x, bias, y, nullptr, false, shape, &n);
  if (s != Status::success) return s;
  for (std::size_t c = 0; c < shape.channels; ++c) {
    for_channel(shape, c, [&](std::size_t i) {
      y[i] = detail::round_to<T>(detail::forward_value(act, working(x[i]) + bias[c]).exact);
    });
  }
  return Status::success;
}

template <class T, class>
Status bias_act_backward(const Activation& act, const T* x, const compute_t<T>* bias, const T* dy,
                         T* dx, compute_t<T>* dbias, ChannelShape shape, Blend blend) {
  std::size_t n = 0;
  const Status s = actlayer::detail::check_bias_act_backward(
      "actlayer::reference::bias_act_backward", act, Saved::x, x, nullptr, bias, dy, dx, dbias,
      shape, blend, nullptr, 0, 0, &n);
  if (s != Status::success) return s;
  backward_channels(shape, dx, dbias, blend, [&](std::size_t c, std::size_t i) {
    return detail::backward_value(act, working(x[i]) + bias[c], working(dy[i]));
  });
  return Status::success;
}

template <class T, class>
Status bias_act_backward_from_output(const Activation& act, const T* y, const T* dy, T* dx,
                                     compute_t<T>* dbias, ChannelShape shape, Blend blend) {
  std::size_t n = 0;
  const Status s = actlayer::detail::check_bias_act_backward(
      "actlayer::reference::bias_act_backward_from_output", act, Saved::y, y, nullptr,
      static_cast<const compute_t<T>*>(nullptr), dy, dx, dbias, shape, blend, nullptr, 0, 0, &n);
  if (s != Status::success) return s;
  backward_channels(shape, dx, dbias, blend, [&](std::size_t, std::size_t i) {
    return detail::backward_from_output_value(act, working(y[i]), working(dy[i]));
  });
  return Status::success;
}

template <class T, class>
Status bias_act_forward_with_mask(const Activation& act, const T* x, const compute_t<T>* bias, T* y,
                                  std::uint32_t* mask, ChannelShape shape) {
  std::size_t n = 0;
  const Status s = actlayer::detail::check_bias_act_forward(
      "actlayer::reference::bias_act_forward_with_mask", act, x, bias, y, mask, true, shape, &n);
  if (s != Status::success) return s;
  for (std::size_t w = 0; w < mask_words(n); ++w) mask[w] = 0;
  for (std::size_t c = 0; c < shape.channels; ++c) {
    for_channel(shape, c, [&](std::size_t i) {
      if (working(x[i]) + bias[c] > 0) mask[i / 32] |= std::uint32_t{1} << (i % 32);
    });
  }
  return bias_act_forward(act, x, bias, y, shape);  // checked above; after the mask: y may be x
}

template <class T, class>
Status bias_act_backward_from_mask(const Activation& act, const std::uint32_t* mask, const T* dy,
                                   T* dx, compute_t<T>* dbias, ChannelShape shape, Blend blend) {
  std::size_t n = 0;
  const Status s = actlayer::detail::check_bias_act_backward(
      "actlayer::reference::bias_act_backward_from_mask", act, Saved::mask,
      static_cast<const T*>(nullptr), mask, static_cast<const compute_t<T>*>(nullptr), dy, dx,
      dbias, shape, blend, nullptr, 0, 0, &n);
  if (s != Status::success) return s;
  // The sign-only ops' f' is the same at every z of one sign: evaluate it at +1 or -1.
  using F = compute_t<T>;
  backward_channels(shape, dx, dbias, blend, [&](std::size_t, std::size_t i) {
    const bool positive = (mask[i / 32] >> (i % 32)) & 1u;
    return detail::backward_value(act, F(positive ? 1 : -1), working(dy[i]));
  });
  return Status::success;
}

ACTLAYER_ENTRY_POINTS(reference_bias_act_entry_points, &bias_act_forward<T>, &bias_act_backward<T>,
                      &bias_act_backward_from_output<T>, &bias_act_forward_with_mask<T>,
                      &bias_act_backward_from_mask<T>)
ACTLAYER_INSTANTIATE_FOR_EACH_ELEMENT(reference_bias_act_entry_points)

}  // namespace actlayer::reference
