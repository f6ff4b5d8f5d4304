// host/reference/elementwise.hpp — one element of the reference's elementwise passes, for the
// reference's calls built on them (bias_act, gated), so that each op's formula stays written
// once, in reference.cpp. Internal to the reference.
#pragma once

#include "actlayer/activation.hpp"
#include "round.hpp"

namespace actlayer::reference::detail {

/// One result: rounded once to T, and the exact value it was rounded from (in Exact<T>), which
/// a blend uses so that a blended result is rounded only once too.
template <class T>
struct Value {
  T rounded;
  Exact<T> exact;
};

/// f(x), dy f'(x), and dy f'(x) from y = f(x), for any valid act but rrelu in training mode;
/// for float and double (the working precisions).
template <class T>
Value<T> forward_value(const Activation& act, T x);
template <class T>
Value<T> backward_value(const Activation& act, T x, T dy);
template <class T>
Value<T> backward_from_output_value(const Activation& act, T y, T dy);

/// f(z) and f'(z) before rounding, for any op but rrelu in training mode, T float or double:
/// the exact values the forward rounds to T and the backward multiplies dy by (f' is NaN for a
/// NaN z, +inf where f' is infinite).
template <class T>
Exact<T> exact_value(const Activation& act, T z);
template <class T>
Exact<T> exact_derivative(const Activation& act, T z);

/// A parameter's gradient (dalpha, dbias): alpha*sum + beta*old rounded once to P (float or
/// double); old is not read when beta == 0.
template <class P>
P blended_param(Wide sum, Blend blend, const P& old) {
  return static_cast<P>(Wide{blend.alpha} * sum +
                        (blend.beta != 0 ? Wide{blend.beta} * Wide{old} : Wide{0}));
}

}  // namespace actlayer::reference::detail
