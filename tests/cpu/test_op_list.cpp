// The op list (ACTLAYER_OPS) and the traits on the functors: every op has a test row, names
// round-trip, and the calls accept or refuse each op exactly as its traits say.
#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <string>

#include "actlayer/reference.hpp"
#include "common/cases.hpp"

namespace actlayer::testing {
namespace {

TEST(OpList, EveryOpHasATestRow) {
  std::set<Op> covered;
  for (const OpCase& c : op_cases()) covered.insert(c.act.op);
  for (Op op : kOps) EXPECT_TRUE(covered.count(op)) << to_string(op) << " has no row in op_cases()";
}

TEST(OpList, NamesRoundTrip) {
  std::set<std::string> names;
  for (Op op : kOps) {
    Op parsed = Op::identity;
    ASSERT_TRUE(op_from_string(to_string(op), &parsed)) << to_string(op);
    EXPECT_EQ(parsed, op);
    EXPECT_TRUE(names.insert(to_string(op)).second) << "duplicate name " << to_string(op);
    EXPECT_STRNE(formula(op), "");
  }
  Op untouched = Op::tanh;
  EXPECT_FALSE(op_from_string("Sigmoid", &untouched));
  EXPECT_FALSE(op_from_string("", &untouched));
  EXPECT_EQ(untouched, Op::tanh);
  EXPECT_STREQ(to_string(static_cast<Op>(200)), "unknown op");
}

TEST(OpList, CallsFollowTheTraits) {
  // The mask calls accept exactly the sign-only ops, backward_from_output exactly the ops with
  // an output form for their parameters; the rest get not_supported naming the op.
  float x[2] = {-1.0f, 2.0f}, dy[2] = {1.0f, 1.0f}, out[2] = {};
  std::uint32_t mask[1] = {};
  for (const OpCase& c : op_cases()) {
    bool sign_only = false;
    ops::visit(c.act, [&](auto row, auto) { sign_only = decltype(row)::kSignOnly; });
    const Status masked = reference::forward_with_mask(c.act, x, out, mask, 2);
    EXPECT_EQ(masked, sign_only ? Status::success : Status::not_supported) << c.name;
    if (!sign_only) {
      EXPECT_NE(std::string(last_error()).find(std::string("not ") + to_string(c.act.op)),
                std::string::npos)
          << last_error();
    }
    const Status from_y = reference::backward_from_output(c.act, x, dy, out, 2);
    EXPECT_EQ(from_y, c.from_output ? Status::success : Status::not_supported) << c.name;
    if (!c.from_output) {
      EXPECT_NE(std::string(last_error()).find(to_string(c.act.op)), std::string::npos)
          << last_error();
    }
  }
}

}  // namespace
}  // namespace actlayer::testing
