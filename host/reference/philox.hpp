// host/reference/philox.hpp — Philox4x32-10 (Salmon et al., SC'11) in plain C++, written from
// the published algorithm for the reference: independent of cuRAND, which the kernels use.
#pragma once

#include <array>
#include <cstdint>

namespace actlayer::reference::detail {

using PhiloxCounter = std::array<std::uint32_t, 4>;
using PhiloxKey = std::array<std::uint32_t, 2>;

/// Ten rounds of the Philox4x32 bijection of `counter` under `key`.
inline PhiloxCounter philox4x32_10(PhiloxCounter c, PhiloxKey k) {
  constexpr std::uint64_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;    // round multipliers
  constexpr std::uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;  // key schedule
  for (int round = 0; round < 10; ++round) {
    const std::uint64_t p0 = kMul0 * c[0], p1 = kMul1 * c[2];
    c = {static_cast<std::uint32_t>(p1 >> 32) ^ c[1] ^ k[0], static_cast<std::uint32_t>(p1),
         static_cast<std::uint32_t>(p0 >> 32) ^ c[3] ^ k[1], static_cast<std::uint32_t>(p0)};
    k = {k[0] + kWeyl0, k[1] + kWeyl1};
  }
  return c;
}

/// The 32-bit word of element i under (seed, offset): docs/design.md §5.
inline std::uint32_t philox_word(std::uint64_t seed, std::uint64_t offset, std::uint64_t i) {
  const std::uint64_t q = i / 4;
  const PhiloxCounter w =
      philox4x32_10({static_cast<std::uint32_t>(offset), static_cast<std::uint32_t>(offset >> 32),
                     static_cast<std::uint32_t>(q), static_cast<std::uint32_t>(q >> 32)},
                    {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)});
  return w[i % 4];
}

}  // namespace actlayer::reference::detail
