// cuda/rrelu_plan.hpp — where RReLU's training slopes come from, as plain C++ for the host and
// the device: the Philox4x32-10 counter and key of each group of 4 elements, and which word
// of which draw each element of a chunk takes (docs/design.md, the RReLU noise contract). The
// kernels draw with cuRAND's curand_Philox4x32_10 through these functions; a CPU test runs
// them with the reference's own Philox (tests/cpu/test_plans.cpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "actlayer/detail/config.hpp"

namespace actlayer::cuda_impl {

/// The input of one Philox4x32-10 draw.
struct PhiloxInput {
  std::uint32_t counter[4];
  std::uint32_t key[2];
};

/// The four 32-bit words one draw returns.
struct PhiloxWords {
  std::uint32_t w[4];
};

/// Group q (elements 4q .. 4q+3) under (seed, offset): counter {lo(offset), hi(offset), lo(q),
/// hi(q)}, key {lo(seed), hi(seed)}.
ACTLAYER_HD PhiloxInput philox_input(std::uint64_t seed, std::uint64_t offset, std::uint64_t q) {
  return {{static_cast<std::uint32_t>(offset), static_cast<std::uint32_t>(offset >> 32),
           static_cast<std::uint32_t>(q), static_cast<std::uint32_t>(q >> 32)},
          {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}};
}

/// The words of elements i0 .. i0+W-1, element i taking word i % 4 of group i / 4's draw:
/// draw(q) returns group q's PhiloxWords, and is called once per group the chunk touches.
template <int W, class Draw>
ACTLAYER_HD void chunk_words(std::size_t i0, Draw&& draw, std::uint32_t (&out)[W]) {
  if (W % 4 == 0 && i0 % 4 == 0) {
    for (int g = 0; g < W / 4; ++g) {
      const PhiloxWords words = draw(i0 / 4 + g);
      for (int j = 0; j < 4; ++j) out[4 * g + j] = words.w[j];
    }
  } else {
    PhiloxWords words = draw(i0 / 4);
    for (int j = 0; j < W; ++j) {
      const std::size_t i = i0 + j;
      if (j > 0 && i % 4 == 0) words = draw(i / 4);
      out[j] = words.w[i % 4];
    }
  }
}

}  // namespace actlayer::cuda_impl
