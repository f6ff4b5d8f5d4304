// host/reference/evaluate.hpp — one op's f(z) and f'(z) in the reference's extended precision,
// before rounding: what the reference's composite calls (gated) build on, so that each op's
// formula stays written once, in reference.cpp. Internal.
#pragma once

#include "actlayer/activation.hpp"
#include "round.hpp"

namespace actlayer::reference::detail {

/// f(z) for act (any op but rrelu in training mode), T float or double: the exact value the
/// reference's forward rounds to T.
template <class T>
Exact<T> exact_value(const Activation& act, T z);

/// f'(z), the same way: the exact value the reference's backward multiplies dy by (NaN for a NaN
/// z, +inf where f' is infinite).
template <class T>
Exact<T> exact_derivative(const Activation& act, T z);

}  // namespace actlayer::reference::detail
