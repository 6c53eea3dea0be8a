// Unit tests of the fault policy: the durable mark, restarts from it, rollback tolerance, counters.
#include <gtest/gtest.h>

#include <cstdint>

#include "../../src/core/generator.hpp"
#include "../../src/core/layout.hpp"
#include "step_with_marks.hpp"

namespace snowflake {
namespace {

constexpr int32_t kMachine = 7;
constexpr int64_t kT = 48'000'000'000;
constexpr int64_t kLookahead = kStrictPolicy.mark_lookahead_millis;

// No ID before a mark is on disk: the first call asks for one the look-ahead ahead, and issues nothing.
TEST(DurableMarkTest, FirstCallAsksForAMarkBeforeAnyId) {
  GeneratorState state = Restore(-1);
  const StepResult first = Step(state, kMachine, kT, kStrictPolicy);
  EXPECT_EQ(first.status, StepStatus::kWriteMark);
  EXPECT_EQ(first.mark, kT + kLookahead);
  EXPECT_EQ(state.counters.ids_issued, 0u);
  MarkWritten(state, first.mark);
  const StepResult issued = Step(state, kMachine, kT, kStrictPolicy);
  ASSERT_EQ(issued.status, StepStatus::kIssued);
  EXPECT_EQ(issued.mark, -1);  // a whole look-ahead left: no renewal yet
  EXPECT_EQ(state.mark_millis, kT + kLookahead);
}

// While one caller writes the mark, others wait (a short pause) instead of writing it too or issuing past it.
TEST(DurableMarkTest, OthersWaitWhileOneCallerWritesTheMark) {
  GeneratorState state = Restore(-1);
  ASSERT_EQ(Step(state, kMachine, kT, kStrictPolicy).status, StepStatus::kWriteMark);
  const StepResult other = Step(state, kMachine, kT, kStrictPolicy);
  EXPECT_EQ(other.status, StepStatus::kWait);
  EXPECT_EQ(other.wait_until, -1);
  EXPECT_EQ(state.counters.ids_issued, 0u);
}

// A failed write issues nothing and lets the next caller try again.
TEST(DurableMarkTest, FailedWriteIssuesNothingAndIsRetried) {
  GeneratorState state = Restore(-1);
  ASSERT_EQ(Step(state, kMachine, kT, kStrictPolicy).status, StepStatus::kWriteMark);
  MarkFailed(state);
  EXPECT_EQ(state.mark_millis, -1);
  const StepResult retry = Step(state, kMachine, kT, kStrictPolicy);
  EXPECT_EQ(retry.status, StepStatus::kWriteMark);
  EXPECT_EQ(state.counters.ids_issued, 0u);
}

// Past the mark, an ID needs a new mark first, even mid-run.
TEST(DurableMarkTest, NoIdPastTheMarkWithoutANewOne) {
  GeneratorState state = Restore(-1);
  ASSERT_EQ(StepWithMarks(state, kMachine, kT).status, StepStatus::kIssued);
  const int64_t mark = state.mark_millis;
  const StepResult past = Step(state, kMachine, mark + 1, kStrictPolicy);
  EXPECT_EQ(past.status, StepStatus::kWriteMark);
  EXPECT_EQ(past.mark, mark + 1 + kLookahead);
  MarkFailed(state);
  EXPECT_EQ(state.last_millis, kT);  // nothing issued at mark + 1
}

// Renewal starts while half the look-ahead is left, so that busy callers never reach the mark and wait on the disk.
TEST(DurableMarkTest, RenewsEarlyOnceWithHalfTheLookaheadLeft) {
  GeneratorState state = Restore(-1);
  ASSERT_EQ(StepWithMarks(state, kMachine, kT).status, StepStatus::kIssued);      // mark kT + kLookahead
  EXPECT_EQ(Step(state, kMachine, kT + kLookahead / 2, kStrictPolicy).mark, -1);  // exactly half left
  const StepResult renew = Step(state, kMachine, kT + kLookahead / 2 + 1, kStrictPolicy);
  ASSERT_EQ(renew.status, StepStatus::kIssued);  // the ID is under the old mark and is issued at once
  EXPECT_EQ(renew.mark, kT + kLookahead / 2 + 1 + kLookahead);
  // Only one renewal at a time.
  EXPECT_EQ(Step(state, kMachine, kT + kLookahead / 2 + 2, kStrictPolicy).mark, -1);
  MarkWritten(state, renew.mark);
  EXPECT_EQ(state.mark_millis, renew.mark);
  EXPECT_EQ(state.counters.mark_writes, 2u);
}

// After a restart nothing is issued at or below the mark, which bounds every ID issued before it.
TEST(DurableMarkTest, RestoredGeneratorIssuesOnlyAboveTheMark) {
  const int64_t mark = kT + kLookahead;
  GeneratorState state = Restore(mark);
  const StepResult at_mark = Step(state, kMachine, mark, kStrictPolicy);
  EXPECT_EQ(at_mark.status, StepStatus::kWait);
  EXPECT_EQ(at_mark.wait_until, mark + 1);
  const StepResult above = StepWithMarks(state, kMachine, mark + 1);
  ASSERT_EQ(above.status, StepStatus::kIssued);
  EXPECT_EQ(Decode(above.id).millis, mark + 1);
  EXPECT_GT(above.id, Compose(Parts{mark, kMaxMachineId, kMaxSequence}));
}

// The mark after a crash may be up to the look-ahead ahead of the last real ID: that gap is waited out, not an error.
TEST(DurableMarkTest, RestoredGapWithinTheLookaheadIsWaitedOut) {
  const int64_t mark = kT + kLookahead;
  GeneratorState state = Restore(mark);
  const StepResult gap = Step(state, kMachine, mark - kLookahead, kStrictPolicy);
  EXPECT_EQ(gap.status, StepStatus::kWait);
  EXPECT_EQ(gap.wait_until, mark);
  EXPECT_EQ(gap.behind_millis, kLookahead);
  EXPECT_EQ(state.counters.rollback_errors, 0u);
}

// More than the look-ahead behind the restored mark is a clock behind the IDs before the restart: an error.
TEST(DurableMarkTest, RestoredGapBeyondTheLookaheadIsAClockRollback) {
  const int64_t mark = kT + kLookahead;
  GeneratorState state = Restore(mark);
  const StepResult behind = Step(state, kMachine, mark - kLookahead - 1, kStrictPolicy);
  EXPECT_EQ(behind.status, StepStatus::kClockBehind);
  EXPECT_EQ(behind.behind_millis, kLookahead + 1);
  EXPECT_EQ(state.counters.rollback_errors, 1u);
}

// Once an ID is issued after the restart, the look-ahead gap no longer applies: a backward step is an error.
TEST(DurableMarkTest, LookaheadGapEndsWithTheFirstIdAfterRestart) {
  GeneratorState state = Restore(kT);
  ASSERT_EQ(StepWithMarks(state, kMachine, kT + 10).status, StepStatus::kIssued);
  EXPECT_EQ(Step(state, kMachine, kT + 9, kStrictPolicy).status, StepStatus::kClockBehind);
}

// With a tolerance, a step back within it is waited out until the last millisecond used; beyond it, an error.
TEST(DurableMarkTest, RollbackToleranceWaitsShortStepsOnly) {
  const Policy tolerant{kLookahead, 50};
  GeneratorState state = Restore(-1);
  ASSERT_EQ(StepWithMarks(state, kMachine, kT, tolerant).status, StepStatus::kIssued);
  const StepResult short_step = Step(state, kMachine, kT - 50, tolerant);
  EXPECT_EQ(short_step.status, StepStatus::kWait);
  EXPECT_EQ(short_step.wait_until, kT);
  EXPECT_EQ(short_step.behind_millis, 50);
  EXPECT_EQ(state.counters.rollback_waits, 1u);
  EXPECT_EQ(Step(state, kMachine, kT - 51, tolerant).status, StepStatus::kClockBehind);
  // Caught up: the same millisecond continues its sequence, never below the last ID.
  const StepResult resumed = StepWithMarks(state, kMachine, kT, tolerant);
  ASSERT_EQ(resumed.status, StepStatus::kIssued);
  EXPECT_EQ(Decode(resumed.id).sequence, 1);
}

// The counters snowflake_status() reports.
TEST(DurableMarkTest, CountersCountWhatHappened) {
  GeneratorState state = Restore(-1);
  for (int i = 0; i <= kMaxSequence; ++i) ASSERT_EQ(StepWithMarks(state, kMachine, kT).status, StepStatus::kIssued);
  EXPECT_EQ(StepWithMarks(state, kMachine, kT).status, StepStatus::kWait);
  EXPECT_EQ(StepWithMarks(state, kMachine, kT - 1).status, StepStatus::kClockBehind);
  EXPECT_EQ(state.counters.ids_issued, 4096u);
  EXPECT_EQ(state.counters.sequence_waits, 1u);
  EXPECT_EQ(state.counters.rollback_errors, 1u);
  EXPECT_EQ(state.counters.rollback_waits, 0u);
  EXPECT_EQ(state.counters.mark_writes, 1u);
}

}  // namespace
}  // namespace snowflake
