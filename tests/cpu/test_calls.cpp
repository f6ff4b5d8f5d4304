// Every call of tests/common/calls.hpp, on the reference, the CPU backend and the CUDA entry
// points: arrays
// that overlap in any way other than an output being exactly an input are rejected before
// anything is written, whatever their lengths; and an output poisoned with NaN is never read
// when beta = 0 (reference here; the GPU suite repeats it on the device).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "common/element_types.hpp"
#include "common/calls.hpp"
#include "common/numeric.hpp"

namespace actlayer::testing {
namespace {

/// Runs c with array b moved to start at byte `shift` of array a, and expects invalid_argument
/// with an overlap message and the whole arena unchanged.
template <class T>
void expect_overlap_rejected(const CallSpec& c, std::size_t a, std::size_t b, std::size_t shift) {
  Arena arena(c);
  arena.offsets[b] = arena.offsets[a] + shift;
  arena.place();
  fill<T>(c, arena.pointers, false);
  const std::vector<unsigned char> before = arena.bytes;
  const Status got = c.run(arena.pointers.data(), Blend{});
  const std::string message = last_error();
  SCOPED_TRACE(c.name + ": " + c.arrays[b].name + " at byte " + std::to_string(shift) + " of " +
               c.arrays[a].name + " (" + element_name<T>() + ")");
  EXPECT_EQ(got, Status::invalid_argument) << message;
  EXPECT_NE(message.find("overlap"), std::string::npos) << message;
  EXPECT_NE(message.find(c.name), std::string::npos) << message;
  EXPECT_TRUE(arena.bytes == before) << "written although rejected";
}

template <class T>
void check_overlaps(const std::vector<CallSpec>& calls) {
  for (const CallSpec& c : calls) {
    for (std::size_t a = 0; a < c.arrays.size(); ++a) {
      for (std::size_t b = 0; b < c.arrays.size(); ++b) {
        const ArraySpec& A = c.arrays[a];
        const ArraySpec& B = c.arrays[b];
        if (a == b || (A.role == Role::input && B.role == Role::input)) continue;
        // An output may be exactly an input of the same element size (computed element by
        // element, each read before it is written).
        const bool exact_alias_allowed = A.bytes() == B.bytes() && A.element == B.element &&
                                         ((A.role == Role::input && B.role == Role::output) ||
                                          (A.role == Role::output && B.role == Role::input));
        // The same start, whatever the lengths (exact aliasing only where allowed).
        if (!exact_alias_allowed) expect_overlap_rejected<T>(c, a, b, 0);
        // B starting inside A, and on A's last element, on B's alignment.
        const std::size_t inside = A.bytes() / 2 / B.element * B.element;
        if (inside > 0) expect_overlap_rejected<T>(c, a, b, inside);
        const std::size_t last = (A.bytes() - 1) / B.element * B.element;
        if (last > inside) expect_overlap_rejected<T>(c, a, b, last);
      }
    }
  }
}

template <class T>
class Calls : public ::testing::Test {};
TYPED_TEST_SUITE(Calls, ElementTypes);

TYPED_TEST(Calls, ReferenceRejectsEveryOverlap) {
  check_overlaps<TypeParam>(call_specs<TypeParam>(false));
}
TYPED_TEST(Calls, CpuBackendRejectsEveryOverlap) {
  check_overlaps<TypeParam>(cpu_call_specs<TypeParam>());
}
TYPED_TEST(Calls, CudaEntryPointsRejectEveryOverlap) {
  check_overlaps<TypeParam>(call_specs<TypeParam>(true));
}

/// Without a CUDA device, every CUDA entry point given valid arrays and work must try to launch
/// and report cuda_error: success would mean it returned before launching (as prelu_forward and
/// bias_act_forward did when `n > 0` was read before the check that sets n).
TYPED_TEST(Calls, CudaEntryPointsLaunchWhenThereIsWork) {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) == cudaSuccess && devices > 0) {
    GTEST_SKIP() << "a CUDA device: the GPU suite runs these calls";
  }
  for (const CallSpec& c : call_specs<TypeParam>(true)) {
    Arena arena(c);
    fill<TypeParam>(c, arena.pointers, false);
    EXPECT_EQ(c.run(arena.pointers.data(), Blend{}), Status::cuda_error)
        << c.name << ": " << last_error();
  }
}

/// Runs every call with its outputs zero-filled and again NaN-poisoned, with beta = 0: the
/// results must be the same bits (an old output is never read when beta = 0).
template <class T>
void check_beta_zero(const std::vector<CallSpec>& calls) {
  for (const CallSpec& c : calls) {
    for (Blend blend : {Blend{1.0f, 0.0f}, Blend{0.5f, 0.0f}, Blend{-2.0f, 0.0f}}) {
      if (!c.blends && blend.alpha != 1.0f) continue;
      SCOPED_TRACE(c.name + " alpha " + std::to_string(blend.alpha));
      Arena clean(c), poisoned(c);
      fill<T>(c, clean.pointers, false);
      for (std::size_t k = 0; k < c.arrays.size(); ++k) {
        if (c.arrays[k].role != Role::input) {
          std::memset(clean.pointers[k], 0, c.arrays[k].bytes());
        }
      }
      fill<T>(c, poisoned.pointers, true);
      ASSERT_EQ(c.run(clean.pointers.data(), blend), Status::success) << last_error();
      ASSERT_EQ(c.run(poisoned.pointers.data(), blend), Status::success) << last_error();
      for (std::size_t k = 0; k < c.arrays.size(); ++k) {
        const ArraySpec& a = c.arrays[k];
        if (a.role == Role::input || a.kind == Kind::workspace) continue;
        EXPECT_EQ(std::memcmp(clean.pointers[k], poisoned.pointers[k], a.bytes()), 0)
            << a.name << " depends on its old contents";
      }
    }
  }
}

TYPED_TEST(Calls, ReferenceNeverReadsTheOutputWhenBetaIsZero) {
  check_beta_zero<TypeParam>(call_specs<TypeParam>(false));
}
TYPED_TEST(Calls, CpuBackendNeverReadsTheOutputWhenBetaIsZero) {
  check_beta_zero<TypeParam>(cpu_call_specs<TypeParam>());
}

}  // namespace
}  // namespace actlayer::testing

#include "common/validate.hpp"

namespace actlayer::testing {
namespace {

TEST(Calls, TwoResultsMustBeDisjoint) {
  // The rule behind gated_backward_split's da and db, checked directly: two outputs that are the
  // same array are refused, as are partly overlapping ones.
  float a[8] = {};
  EXPECT_EQ(detail::ArgCheck("f").output("y", a, 8).output("dx", a, 8).status(),
            Status::invalid_argument);
  EXPECT_NE(std::string(last_error()).find("outputs dx and y overlap"), std::string::npos)
      << last_error();
  EXPECT_EQ(detail::ArgCheck("f").output("y", a, 4).output("dx", a + 4, 4).status(),
            Status::success);
}

}  // namespace
}  // namespace actlayer::testing
