// Unit tests of marks that come from the WAL: raised by replay, and written again after a checkpoint.
#include <gtest/gtest.h>

#include <cstdint>

#include "../../src/core/generator.hpp"
#include "../../src/core/layout.hpp"
#include "step_with_marks.hpp"

namespace snowflake {
namespace {

constexpr int32_t kMachine = 5;
constexpr int64_t kT = 48'000'000'000;
constexpr int64_t kLookahead = kStrictPolicy.mark_lookahead_millis;

// A promoted standby with no mark file of its own: the replayed mark bounds its first ID, whatever its clock.
TEST(ReplayedMarkTest, FreshGeneratorIssuesOnlyAboveAReplayedMark) {
  GeneratorState state = Restore(-1);
  RaiseMark(state, kT);
  EXPECT_EQ(state.mark_millis, kT);
  const StepResult behind = Step(state, kMachine, kT - 5000, kStrictPolicy);
  EXPECT_EQ(behind.status, StepStatus::kClockBehind);
  EXPECT_EQ(behind.behind_millis, 5000);
  const StepResult within_lookahead = Step(state, kMachine, kT - kLookahead, kStrictPolicy);
  EXPECT_EQ(within_lookahead.status, StepStatus::kWait);
  const StepResult at = Step(state, kMachine, kT, kStrictPolicy);
  EXPECT_EQ(at.status, StepStatus::kWait);  // the mark's millisecond may be used up
  const StepResult next = StepWithMarks(state, kMachine, kT + 1);
  ASSERT_EQ(next.status, StepStatus::kIssued);
  EXPECT_EQ(Decode(next.id).millis, kT + 1);
}

// Replay never lowers what the generator already knows (a mark file read at start-up may be higher).
TEST(ReplayedMarkTest, ALowerMarkChangesNothing) {
  GeneratorState state = Restore(kT);
  RaiseMark(state, kT - 100);
  EXPECT_EQ(state.last_millis, kT);
  EXPECT_EQ(state.mark_millis, kT);
  ASSERT_EQ(StepWithMarks(state, kMachine, kT + 2).status, StepStatus::kIssued);
  RaiseMark(state, kT);
  EXPECT_EQ(state.last_millis, kT + 2);
}

// A mark above every ID issued raises the floor: the next ID is above the mark.
TEST(ReplayedMarkTest, AHigherMarkRaisesTheFloor) {
  GeneratorState state = Restore(-1);
  ASSERT_EQ(StepWithMarks(state, kMachine, kT).status, StepStatus::kIssued);
  RaiseMark(state, kT + 3000);
  EXPECT_EQ(Step(state, kMachine, kT + 10, kStrictPolicy).status, StepStatus::kClockBehind);
  const StepResult next = StepWithMarks(state, kMachine, kT + 3001);
  ASSERT_EQ(next.status, StepStatus::kIssued);
  EXPECT_EQ(Decode(next.id).millis, kT + 3001);
}

// A stale mark (its WAL record precedes a checkpoint) is written again before the next ID, never lower
// than it was, though the look-ahead has not run out; callers meanwhile wait.
TEST(ReplayedMarkTest, StaleMarkIsWrittenAgainBeforeTheNextId) {
  GeneratorState state = Restore(-1);
  ASSERT_EQ(StepWithMarks(state, kMachine, kT).status, StepStatus::kIssued);
  const int64_t mark = state.mark_millis;
  state.mark_stale = true;
  const StepResult rewrite = Step(state, kMachine, kT + 1, kStrictPolicy);
  ASSERT_EQ(rewrite.status, StepStatus::kWriteMark);
  EXPECT_GE(rewrite.mark, mark);
  const StepResult other = Step(state, kMachine, kT + 1, kStrictPolicy);
  EXPECT_EQ(other.status, StepStatus::kWait);
  EXPECT_EQ(other.wait_until, -1);
  MarkWritten(state, rewrite.mark);
  EXPECT_FALSE(state.mark_stale);
  EXPECT_EQ(Step(state, kMachine, kT + 1, kStrictPolicy).status, StepStatus::kIssued);
}

// After a restart, a restored mark ahead of the clock is written again as it is, not a look-ahead past the clock.
TEST(ReplayedMarkTest, StaleRestoredMarkIsWrittenAgainAsItIs) {
  GeneratorState state = Restore(kT + 5000);
  state.mark_stale = true;
  const StepResult rewrite = Step(state, kMachine, kT + 5001, kStrictPolicy);
  ASSERT_EQ(rewrite.status, StepStatus::kWriteMark);
  EXPECT_EQ(rewrite.mark, kT + 5001 + kLookahead);
  GeneratorState ahead = Restore(kT + 5000);
  ahead.last_millis = kT;  // an ID issued, the mark still far ahead (a replayed one)
  ahead.restored = false;
  ahead.mark_stale = true;
  const StepResult keep = Step(ahead, kMachine, kT + 1, kStrictPolicy);
  ASSERT_EQ(keep.status, StepStatus::kWriteMark);
  EXPECT_EQ(keep.mark, kT + 5000);
}

}  // namespace
}  // namespace snowflake
