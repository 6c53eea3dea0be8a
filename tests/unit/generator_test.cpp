// Unit tests of one generator step with an injected clock: structure, ordering, exhaustion, rollback, range.
#include "../../src/core/generator.hpp"

#include <gtest/gtest.h>

#include <cstdint>

#include "../../src/core/layout.hpp"
#include "step_with_marks.hpp"

namespace snowflake {
namespace {

constexpr int32_t kMachine = 42;
// An arbitrary, realistic clock value (mid-2025), far from both ends of the range.
constexpr int64_t kT = 48'000'000'000;

::testing::AssertionResult IssuedAt(const StepResult& result, int64_t millis, int32_t machine_id, int32_t sequence) {
  if (result.status != StepStatus::kIssued) {
    return ::testing::AssertionFailure() << "status " << static_cast<int>(result.status) << ", want kIssued";
  }
  const Parts parts = Decode(result.id);
  if (!ValidId(result.id) || parts.millis != millis || parts.machine_id != machine_id || parts.sequence != sequence) {
    return ::testing::AssertionFailure() << "id " << result.id << " decodes to {" << parts.millis << ", "
                                         << parts.machine_id << ", " << parts.sequence << "}, want {" << millis << ", "
                                         << machine_id << ", " << sequence << "}";
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult SameState(const GeneratorState& actual, int64_t last_millis, int32_t sequence) {
  if (actual.last_millis == last_millis && actual.sequence == sequence) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "state {" << actual.last_millis << ", " << actual.sequence << "}, want {"
                                       << last_millis << ", " << sequence << "}";
}

// Issues `count` IDs at `millis` and expects sequences first_sequence, first_sequence+1, ...
void IssueRun(GeneratorState& state, int64_t millis, int32_t first_sequence, int count) {
  for (int i = 0; i < count; ++i) {
    ASSERT_TRUE(IssuedAt(StepWithMarks(state, kMachine, millis), millis, kMachine, first_sequence + i)) << "call " << i;
  }
}

// 1. Structure: what a user decodes must be the clock's millisecond and the configured machine.
TEST(GeneratorTest, IssuedIdDecodesToClockMillisAndMachineId) {
  GeneratorState state = Restore(-1);
  const StepResult result = StepWithMarks(state, kMachine, kT);
  EXPECT_TRUE(IssuedAt(result, kT, kMachine, 0));
  EXPECT_EQ(result.id, Compose(Parts{kT, kMachine, 0}));
  EXPECT_TRUE(SameState(state, kT, 0));
}

// The machine id is passed per call (it comes from a GUC), and every value in range must come back intact.
TEST(GeneratorTest, EveryMachineIdSurvivesTheStep) {
  for (int32_t machine_id : {0, 1, 512, kMaxMachineId}) {
    GeneratorState state = Restore(-1);
    EXPECT_TRUE(IssuedAt(StepWithMarks(state, machine_id, kT), kT, machine_id, 0)) << "machine " << machine_id;
  }
}

// Both ends of the clock range are usable: the epoch itself and the last representable millisecond.
TEST(GeneratorTest, IssuesAtBothEndsOfTheClockRange) {
  GeneratorState state = Restore(-1);
  EXPECT_TRUE(IssuedAt(StepWithMarks(state, kMachine, 0), 0, kMachine, 0));

  GeneratorState late = Restore(-1);
  const StepResult last = StepWithMarks(late, kMaxMachineId, kMaxMillis);
  EXPECT_TRUE(IssuedAt(last, kMaxMillis, kMaxMachineId, 0));
  EXPECT_TRUE(IssuedAt(StepWithMarks(late, kMaxMachineId, kMaxMillis), kMaxMillis, kMaxMachineId, 1));
}

// Several IDs in one millisecond count the sequence up from 0.
TEST(GeneratorTest, SameMillisecondIncrementsTheSequence) {
  GeneratorState state = Restore(-1);
  IssueRun(state, kT, 0, 10);
  EXPECT_TRUE(SameState(state, kT, 9));
}

// 3. Rollback: a clock one millisecond behind is refused, says by how much, and leaves no trace in the state.
TEST(GeneratorTest, ClockOneMillisecondBehindIsRefusedAndStateIsUnchanged) {
  GeneratorState state = Restore(-1);
  IssueRun(state, kT, 0, 3);
  const GeneratorState before = state;

  const StepResult behind = StepWithMarks(state, kMachine, kT - 1);
  EXPECT_EQ(behind.status, StepStatus::kClockBehind);
  EXPECT_EQ(behind.behind_millis, 1);
  EXPECT_TRUE(SameState(state, before.last_millis, before.sequence));

  // The next call at T continues the same sequence: the refused call consumed nothing.
  EXPECT_TRUE(IssuedAt(StepWithMarks(state, kMachine, kT), kT, kMachine, 3));
}

// A larger step back reports its full size (the server puts it in the error message) and is refused each time.
TEST(GeneratorTest, ClockFarBehindReportsTheDistanceEveryTime) {
  GeneratorState state = Restore(-1);
  IssueRun(state, kT, 0, 1);
  const GeneratorState before = state;
  for (int64_t back : {int64_t{2}, int64_t{5000}, kT}) {
    const StepResult behind = StepWithMarks(state, kMachine, kT - back);
    EXPECT_EQ(behind.status, StepStatus::kClockBehind) << back;
    EXPECT_EQ(behind.behind_millis, back);
    EXPECT_TRUE(SameState(state, before.last_millis, before.sequence));
  }
  EXPECT_TRUE(IssuedAt(StepWithMarks(state, kMachine, kT), kT, kMachine, 1));
}

// 4. Overflow: 4096 IDs per millisecond, then wait rather than borrow the next millisecond.
TEST(GeneratorTest, SequenceExhaustsAfter4096AndResumesAtTheNextMillisecond) {
  GeneratorState state = Restore(-1);
  int64_t previous = -1;
  for (int32_t sequence = 0; sequence <= kMaxSequence; ++sequence) {
    const StepResult result = StepWithMarks(state, kMachine, kT);
    ASSERT_TRUE(IssuedAt(result, kT, kMachine, sequence));
    ASSERT_GT(result.id, previous);
    previous = result.id;
  }

  const GeneratorState full = state;
  const StepResult exhausted = StepWithMarks(state, kMachine, kT);  // the 4097th call
  EXPECT_EQ(exhausted.status, StepStatus::kWait);
  EXPECT_TRUE(SameState(state, full.last_millis, full.sequence));
  // Asking again in the same millisecond must keep refusing: an ID ahead of the clock would be a lie.
  EXPECT_EQ(StepWithMarks(state, kMachine, kT).status, StepStatus::kWait);

  const StepResult next = StepWithMarks(state, kMachine, kT + 1);
  EXPECT_TRUE(IssuedAt(next, kT + 1, kMachine, 0));
  EXPECT_GT(next.id, previous);
}

// Exhaustion at the very last millisecond of the range: there is no next millisecond to borrow, so waiting is
// the only correct answer, and the ID must not wrap into the sign bit.
TEST(GeneratorTest, SequenceExhaustsAtTheLastRepresentableMillisecond) {
  GeneratorState state = Restore(-1);
  IssueRun(state, kMaxMillis, 0, kMaxSequence + 1);
  EXPECT_TRUE(SameState(state, kMaxMillis, kMaxSequence));
  EXPECT_EQ(StepWithMarks(state, kMachine, kMaxMillis).status, StepStatus::kWait);
  EXPECT_EQ(StepWithMarks(state, kMachine, kMaxMillis + 1).status, StepStatus::kClockOutOfRange);
  EXPECT_TRUE(SameState(state, kMaxMillis, kMaxSequence));
}

// 5. Out of range: before the epoch or past 41 bits, nothing is issued and nothing changes.
TEST(GeneratorTest, ClockOutOfRangeIssuesNothingOnAFreshState) {
  for (int64_t now : {int64_t{-1}, kMaxMillis + 1, INT64_MIN, INT64_MAX}) {
    GeneratorState state = Restore(-1);
    const StepResult result = StepWithMarks(state, kMachine, now);
    EXPECT_EQ(result.status, StepStatus::kClockOutOfRange) << now;
    EXPECT_TRUE(SameState(state, -1, 0)) << now;
  }
}

// Out of range after IDs were issued must not disturb the running sequence either.
TEST(GeneratorTest, ClockOutOfRangeLeavesARunningStateUnchanged) {
  GeneratorState state = Restore(-1);
  IssueRun(state, kT, 0, 5);
  const GeneratorState before = state;
  EXPECT_EQ(StepWithMarks(state, kMachine, -1).status, StepStatus::kClockOutOfRange);
  EXPECT_TRUE(SameState(state, before.last_millis, before.sequence));
  EXPECT_EQ(StepWithMarks(state, kMachine, kMaxMillis + 1).status, StepStatus::kClockOutOfRange);
  EXPECT_TRUE(SameState(state, before.last_millis, before.sequence));
  EXPECT_TRUE(IssuedAt(StepWithMarks(state, kMachine, kT), kT, kMachine, 5));
}

// 6. Across millisecond changes every ID is larger than the one before, whatever the sequence was.
TEST(GeneratorTest, IdsStrictlyIncreaseAcrossMillisecondChanges) {
  GeneratorState state = Restore(-1);
  // Runs of different lengths, including a full one, at consecutive and non-consecutive milliseconds.
  const struct {
    int64_t millis;
    int count;
  } runs[] = {{kT, 3}, {kT + 1, 1}, {kT + 2, kMaxSequence + 1}, {kT + 3, 2}, {kT + 10, 7}, {kT + 11, 1}};
  int64_t previous = -1;
  for (const auto& run : runs) {
    for (int i = 0; i < run.count; ++i) {
      const StepResult result = StepWithMarks(state, kMachine, run.millis);
      ASSERT_TRUE(IssuedAt(result, run.millis, kMachine, i)) << "ms " << run.millis << " call " << i;
      ASSERT_GT(result.id, previous) << "ms " << run.millis << " call " << i;
      previous = result.id;
    }
  }
}

// A forward jump of the clock (NTP step, long idle) starts the new millisecond at sequence 0, not where the
// old one left off.
TEST(GeneratorTest, ClockJumpForwardResetsTheSequence) {
  GeneratorState state = Restore(-1);
  IssueRun(state, kT, 0, 100);
  const StepResult jumped = StepWithMarks(state, kMachine, kT + 3'600'000);
  EXPECT_TRUE(IssuedAt(jumped, kT + 3'600'000, kMachine, 0));
  EXPECT_TRUE(SameState(state, kT + 3'600'000, 0));
  EXPECT_TRUE(IssuedAt(StepWithMarks(state, kMachine, kT + 3'600'000), kT + 3'600'000, kMachine, 1));
}

// A jump forward from an exhausted millisecond also starts at 0.
TEST(GeneratorTest, ClockJumpForwardAfterExhaustionResetsTheSequence) {
  GeneratorState state = Restore(-1);
  IssueRun(state, kT, 0, kMaxSequence + 1);
  ASSERT_EQ(StepWithMarks(state, kMachine, kT).status, StepStatus::kWait);
  EXPECT_TRUE(IssuedAt(StepWithMarks(state, kMachine, kT + 500), kT + 500, kMachine, 0));
}

}  // namespace
}  // namespace snowflake
