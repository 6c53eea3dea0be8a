// Unit tests of one generator step with an injected clock: structure, ordering, exhaustion, rollback, range.
#include "../../src/core/generator.hpp"

#include <gtest/gtest.h>

#include <cstdint>

#include "../../src/core/layout.hpp"

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

::testing::AssertionResult SameState(const GeneratorState& actual, const GeneratorState& expected) {
  if (actual.last_millis == expected.last_millis && actual.sequence == expected.sequence) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "state {" << actual.last_millis << ", " << actual.sequence << "}, want {"
                                       << expected.last_millis << ", " << expected.sequence << "}";
}

// Issues `count` IDs at `millis` and expects sequences first_sequence, first_sequence+1, ...
void IssueRun(GeneratorState& state, int64_t millis, int32_t first_sequence, int count) {
  for (int i = 0; i < count; ++i) {
    ASSERT_TRUE(IssuedAt(Step(state, kMachine, millis), millis, kMachine, first_sequence + i)) << "call " << i;
  }
}

// 1. Structure: what a user decodes must be the clock's millisecond and the configured machine.
TEST(GeneratorTest, IssuedIdDecodesToClockMillisAndMachineId) {
  GeneratorState state = kFreshGenerator;
  const StepResult result = Step(state, kMachine, kT);
  EXPECT_TRUE(IssuedAt(result, kT, kMachine, 0));
  EXPECT_EQ(result.id, Compose(Parts{kT, kMachine, 0}));
  EXPECT_TRUE(SameState(state, GeneratorState{kT, 0}));
}

// The machine id is passed per call (it comes from a GUC), and every value in range must come back intact.
TEST(GeneratorTest, EveryMachineIdSurvivesTheStep) {
  for (int32_t machine_id : {0, 1, 512, kMaxMachineId}) {
    GeneratorState state = kFreshGenerator;
    EXPECT_TRUE(IssuedAt(Step(state, machine_id, kT), kT, machine_id, 0)) << "machine " << machine_id;
  }
}

// Both ends of the clock range are usable: the epoch itself and the last representable millisecond.
TEST(GeneratorTest, IssuesAtBothEndsOfTheClockRange) {
  GeneratorState state = kFreshGenerator;
  EXPECT_TRUE(IssuedAt(Step(state, kMachine, 0), 0, kMachine, 0));

  GeneratorState late = kFreshGenerator;
  const StepResult last = Step(late, kMaxMachineId, kMaxMillis);
  EXPECT_TRUE(IssuedAt(last, kMaxMillis, kMaxMachineId, 0));
  EXPECT_TRUE(IssuedAt(Step(late, kMaxMachineId, kMaxMillis), kMaxMillis, kMaxMachineId, 1));
}

// Several IDs in one millisecond count the sequence up from 0.
TEST(GeneratorTest, SameMillisecondIncrementsTheSequence) {
  GeneratorState state = kFreshGenerator;
  IssueRun(state, kT, 0, 10);
  EXPECT_TRUE(SameState(state, GeneratorState{kT, 9}));
}

// 3. Rollback: a clock one millisecond behind is refused, says by how much, and leaves no trace in the state.
TEST(GeneratorTest, ClockOneMillisecondBehindIsRefusedAndStateIsUnchanged) {
  GeneratorState state = kFreshGenerator;
  IssueRun(state, kT, 0, 3);
  const GeneratorState before = state;

  const StepResult behind = Step(state, kMachine, kT - 1);
  EXPECT_EQ(behind.status, StepStatus::kClockBehind);
  EXPECT_EQ(behind.behind_millis, 1);
  EXPECT_TRUE(SameState(state, before));

  // The next call at T continues the same sequence: the refused call consumed nothing.
  EXPECT_TRUE(IssuedAt(Step(state, kMachine, kT), kT, kMachine, 3));
}

// A larger step back reports its full size (the server puts it in the error message) and is refused each time.
TEST(GeneratorTest, ClockFarBehindReportsTheDistanceEveryTime) {
  GeneratorState state = kFreshGenerator;
  IssueRun(state, kT, 0, 1);
  const GeneratorState before = state;
  for (int64_t back : {int64_t{2}, int64_t{5000}, kT}) {
    const StepResult behind = Step(state, kMachine, kT - back);
    EXPECT_EQ(behind.status, StepStatus::kClockBehind) << back;
    EXPECT_EQ(behind.behind_millis, back);
    EXPECT_TRUE(SameState(state, before));
  }
  EXPECT_TRUE(IssuedAt(Step(state, kMachine, kT), kT, kMachine, 1));
}

// 4. Overflow: 4096 IDs per millisecond, then wait rather than borrow the next millisecond.
TEST(GeneratorTest, SequenceExhaustsAfter4096AndResumesAtTheNextMillisecond) {
  GeneratorState state = kFreshGenerator;
  int64_t previous = -1;
  for (int32_t sequence = 0; sequence <= kMaxSequence; ++sequence) {
    const StepResult result = Step(state, kMachine, kT);
    ASSERT_TRUE(IssuedAt(result, kT, kMachine, sequence));
    ASSERT_GT(result.id, previous);
    previous = result.id;
  }

  const GeneratorState full = state;
  const StepResult exhausted = Step(state, kMachine, kT);  // the 4097th call
  EXPECT_EQ(exhausted.status, StepStatus::kSequenceExhausted);
  EXPECT_TRUE(SameState(state, full));
  // Asking again in the same millisecond must keep refusing: an ID ahead of the clock would be a lie.
  EXPECT_EQ(Step(state, kMachine, kT).status, StepStatus::kSequenceExhausted);

  const StepResult next = Step(state, kMachine, kT + 1);
  EXPECT_TRUE(IssuedAt(next, kT + 1, kMachine, 0));
  EXPECT_GT(next.id, previous);
}

// Exhaustion at the very last millisecond of the range: there is no next millisecond to borrow, so waiting is
// the only correct answer, and the ID must not wrap into the sign bit.
TEST(GeneratorTest, SequenceExhaustsAtTheLastRepresentableMillisecond) {
  GeneratorState state = kFreshGenerator;
  IssueRun(state, kMaxMillis, 0, kMaxSequence + 1);
  EXPECT_TRUE(SameState(state, GeneratorState{kMaxMillis, kMaxSequence}));
  EXPECT_EQ(Step(state, kMachine, kMaxMillis).status, StepStatus::kSequenceExhausted);
  EXPECT_EQ(Step(state, kMachine, kMaxMillis + 1).status, StepStatus::kClockOutOfRange);
  EXPECT_TRUE(SameState(state, GeneratorState{kMaxMillis, kMaxSequence}));
}

// 5. Out of range: before the epoch or past 41 bits, nothing is issued and nothing changes.
TEST(GeneratorTest, ClockOutOfRangeIssuesNothingOnAFreshState) {
  for (int64_t now : {int64_t{-1}, kMaxMillis + 1, INT64_MIN, INT64_MAX}) {
    GeneratorState state = kFreshGenerator;
    const StepResult result = Step(state, kMachine, now);
    EXPECT_EQ(result.status, StepStatus::kClockOutOfRange) << now;
    EXPECT_TRUE(SameState(state, kFreshGenerator)) << now;
  }
}

// Out of range after IDs were issued must not disturb the running sequence either.
TEST(GeneratorTest, ClockOutOfRangeLeavesARunningStateUnchanged) {
  GeneratorState state = kFreshGenerator;
  IssueRun(state, kT, 0, 5);
  const GeneratorState before = state;
  EXPECT_EQ(Step(state, kMachine, -1).status, StepStatus::kClockOutOfRange);
  EXPECT_TRUE(SameState(state, before));
  EXPECT_EQ(Step(state, kMachine, kMaxMillis + 1).status, StepStatus::kClockOutOfRange);
  EXPECT_TRUE(SameState(state, before));
  EXPECT_TRUE(IssuedAt(Step(state, kMachine, kT), kT, kMachine, 5));
}

// 6. Across millisecond changes every ID is larger than the one before, whatever the sequence was.
TEST(GeneratorTest, IdsStrictlyIncreaseAcrossMillisecondChanges) {
  GeneratorState state = kFreshGenerator;
  // Runs of different lengths, including a full one, at consecutive and non-consecutive milliseconds.
  const struct {
    int64_t millis;
    int count;
  } runs[] = {{kT, 3}, {kT + 1, 1}, {kT + 2, kMaxSequence + 1}, {kT + 3, 2}, {kT + 10, 7}, {kT + 11, 1}};
  int64_t previous = -1;
  for (const auto& run : runs) {
    for (int i = 0; i < run.count; ++i) {
      const StepResult result = Step(state, kMachine, run.millis);
      ASSERT_TRUE(IssuedAt(result, run.millis, kMachine, i)) << "ms " << run.millis << " call " << i;
      ASSERT_GT(result.id, previous) << "ms " << run.millis << " call " << i;
      previous = result.id;
    }
  }
}

// A forward jump of the clock (NTP step, long idle) starts the new millisecond at sequence 0, not where the
// old one left off.
TEST(GeneratorTest, ClockJumpForwardResetsTheSequence) {
  GeneratorState state = kFreshGenerator;
  IssueRun(state, kT, 0, 100);
  const StepResult jumped = Step(state, kMachine, kT + 3'600'000);
  EXPECT_TRUE(IssuedAt(jumped, kT + 3'600'000, kMachine, 0));
  EXPECT_TRUE(SameState(state, GeneratorState{kT + 3'600'000, 0}));
  EXPECT_TRUE(IssuedAt(Step(state, kMachine, kT + 3'600'000), kT + 3'600'000, kMachine, 1));
}

// A jump forward from an exhausted millisecond also starts at 0.
TEST(GeneratorTest, ClockJumpForwardAfterExhaustionResetsTheSequence) {
  GeneratorState state = kFreshGenerator;
  IssueRun(state, kT, 0, kMaxSequence + 1);
  ASSERT_EQ(Step(state, kMachine, kT).status, StepStatus::kSequenceExhausted);
  EXPECT_TRUE(IssuedAt(Step(state, kMachine, kT + 500), kT + 500, kMachine, 0));
}

}  // namespace
}  // namespace snowflake
