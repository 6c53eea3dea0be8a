// Unit tests of the lease bound: IDs of a leased machine id stay inside (previous end, lease end].
#include "../../src/core/id_lease.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>

#include "../../src/core/layout.hpp"

namespace snowflake {
namespace {

constexpr int32_t kMachine = 100;
constexpr int64_t kT = 48'000'000'000;  // mid-2025
constexpr Policy kPolicy{1000, 0};

// Steps within the bound as the server does, writing every mark it asks for.
StepResult StepLeased(GeneratorState& state, const IdLeaseBound& bound, int64_t now, int32_t machine_id = kMachine) {
  for (;;) {
    const StepResult result = StepWithinIdLease(state, bound, machine_id, now, kPolicy);
    if (result.status == StepStatus::kWriteMark) {
      MarkWritten(state, result.mark);
      continue;
    }
    if (result.status == StepStatus::kIssued && result.mark >= 0) MarkWritten(state, result.mark);
    return result;
  }
}

TEST(CheckIdLease, Edges) {
  const IdLeaseBound bound{kT, kT + 10};
  EXPECT_EQ(CheckIdLease(bound, kT - 1), IdLeaseCheck::kNotYet);
  EXPECT_EQ(CheckIdLease(bound, kT), IdLeaseCheck::kNotYet);  // the previous holder may have used kT
  EXPECT_EQ(CheckIdLease(bound, kT + 1), IdLeaseCheck::kInside);
  EXPECT_EQ(CheckIdLease(bound, kT + 10), IdLeaseCheck::kInside);  // the end itself is this holder's
  EXPECT_EQ(CheckIdLease(bound, kT + 11), IdLeaseCheck::kEnded);
  EXPECT_EQ(CheckIdLease(kUnleased, 0), IdLeaseCheck::kInside);
  EXPECT_EQ(CheckIdLease(kUnleased, kMaxMillis), IdLeaseCheck::kInside);
}

TEST(StepWithinIdLease, IssuesOnlyInsideTheBound) {
  GeneratorState state = Restore(-1);
  const IdLeaseBound bound{kT, kT + 2};
  const StepResult early = StepLeased(state, bound, kT);
  EXPECT_EQ(early.status, StepStatus::kIdLeaseNotStarted);
  EXPECT_EQ(early.wait_until, kT + 1);
  EXPECT_EQ(state.counters.ids_issued, 0u);  // nothing moved
  for (int64_t now = kT + 1; now <= kT + 2; ++now) {
    const StepResult issued = StepLeased(state, bound, now);
    ASSERT_EQ(issued.status, StepStatus::kIssued);
    EXPECT_EQ(Decode(issued.id).millis, now);
    EXPECT_EQ(Decode(issued.id).machine_id, kMachine);
  }
  const StepResult late = StepLeased(state, bound, kT + 3);
  EXPECT_EQ(late.status, StepStatus::kIdLeaseEnded);
  EXPECT_EQ(state.last_millis, kT + 2);
}

TEST(StepWithinIdLease, RenewalExtendsIt) {
  GeneratorState state = Restore(-1);
  IdLeaseBound bound{-1, kT};
  ASSERT_EQ(StepLeased(state, bound, kT).status, StepStatus::kIssued);
  ASSERT_EQ(StepLeased(state, bound, kT + 1).status, StepStatus::kIdLeaseEnded);
  bound.until_millis = kT + 1000;
  EXPECT_EQ(StepLeased(state, bound, kT + 1).status, StepStatus::kIssued);
}

// The property leases exist for: an old holder whose clock runs ahead and a new one whose clock
// is 5 s behind, both issuing as fast as they can, never make the same ID.
TEST(StepWithinIdLease, OldAndNewHolderNeverCollideWhateverTheirClocks) {
  const int64_t end = kT + 1000;  // the old holder's lease end
  GeneratorState old_state = Restore(-1);
  GeneratorState new_state = Restore(-1);
  const IdLeaseBound old_bound{-1, end};
  const IdLeaseBound new_bound{end, end + 30000};
  std::set<int64_t> ids;
  int64_t old_issued = 0, new_issued = 0, max_old = -1, min_new = INT64_MAX;
  for (int64_t t = kT; t < kT + 12000; ++t) {
    const int64_t old_clock = t;         // keeps going past its end: it must stop there
    const int64_t new_clock = t - 5000;  // 5 s behind: it must wait until it passes `end`
    for (int i = 0; i < 50; ++i) {
      const StepResult a = StepLeased(old_state, old_bound, old_clock);
      if (a.status == StepStatus::kIssued) {
        ASSERT_TRUE(ids.insert(a.id).second);
        ++old_issued;
        if (a.id > max_old) max_old = a.id;
      }
      const StepResult b = StepLeased(new_state, new_bound, new_clock);
      if (b.status == StepStatus::kIssued) {
        ASSERT_TRUE(ids.insert(b.id).second);
        ++new_issued;
        if (b.id < min_new) min_new = b.id;
      } else {
        EXPECT_TRUE(b.status == StepStatus::kIdLeaseNotStarted || b.status == StepStatus::kWait);
      }
    }
  }
  EXPECT_GT(old_issued, 0);
  EXPECT_GT(new_issued, 0);
  EXPECT_LT(max_old, min_new);  // every ID of the new holder is above every ID of the old one
  EXPECT_EQ(Decode(max_old).millis, end);
  EXPECT_EQ(Decode(min_new).millis, end + 1);
}

TEST(ChangeMachineId, NextIdNeedsTheNextMillisecond) {
  GeneratorState state = Restore(-1);
  const StepResult before = StepLeased(state, kUnleased, kT, 500);
  ASSERT_EQ(before.status, StepStatus::kIssued);
  ChangeMachineId(state);
  // Same millisecond, a lower machine id: issuing now would make a smaller ID.
  EXPECT_EQ(StepLeased(state, kUnleased, kT, 100).status, StepStatus::kWait);
  const StepResult after = StepLeased(state, kUnleased, kT + 1, 100);
  ASSERT_EQ(after.status, StepStatus::kIssued);
  EXPECT_GT(after.id, before.id);
  GeneratorState fresh = Restore(-1);
  ChangeMachineId(fresh);  // nothing issued yet: nothing to wait for
  EXPECT_EQ(StepLeased(fresh, kUnleased, kT, 100).status, StepStatus::kIssued);
}

TEST(IdLeaseRenewalDue, TwoThirdsBeforeTheEnd) {
  EXPECT_EQ(IdLeaseRenewalDue(kT + 30000, 30000), kT + 10000);
  EXPECT_EQ(IdLeaseRenewalDue(kT + 3000, 3000), kT + 1000);
}

}  // namespace
}  // namespace snowflake
