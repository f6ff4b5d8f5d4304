// tests/common/element_types.hpp — the element types every typed test runs over: the list of
// element.hpp (ACTLAYER_FOR_EACH_ELEMENT), as a GoogleTest type list.
#pragma once

#include <gtest/gtest.h>

#include "actlayer/element.hpp"

namespace actlayer::testing {

using ElementTypes = ::testing::Types<float, double, __half, __nv_bfloat16>;

#define ACTLAYER_COUNT_ELEMENT(T, unused) +1
static_assert(0 ACTLAYER_FOR_EACH_ELEMENT(ACTLAYER_COUNT_ELEMENT, ) == 4,
              "ElementTypes lists every type of ACTLAYER_FOR_EACH_ELEMENT");
#undef ACTLAYER_COUNT_ELEMENT

}  // namespace actlayer::testing
