// The generator step: strictly increasing IDs, never ahead of the clock, never past the durable mark.
#include "generator.hpp"

namespace snowflake {

namespace {

StepResult Result(StepStatus status) noexcept { return StepResult{status, 0, -1, -1, 0}; }

StepResult WaitUntil(int64_t millis, int64_t behind) noexcept {
  StepResult result = Result(StepStatus::kWait);
  result.wait_until = millis;
  result.behind_millis = behind;
  return result;
}

}  // namespace

GeneratorState Restore(int64_t durable_mark) noexcept {
  GeneratorState state{-1, 0, -1, false, false, false, Counters{}};
  if (durable_mark < 0) return state;
  // An exhausted last millisecond at the mark: the next ID needs a later millisecond.
  state.last_millis = durable_mark;
  state.sequence = kMaxSequence;
  state.mark_millis = durable_mark;
  state.restored = true;
  return state;
}

StepResult Step(GeneratorState& state, int32_t machine_id, int64_t now_millis, const Policy& policy) noexcept {
  if (!ValidMillis(now_millis)) return Result(StepStatus::kClockOutOfRange);

  if (now_millis < state.last_millis) {
    const int64_t behind = state.last_millis - now_millis;
    // After a restart the mark may be up to the look-ahead past any ID really issued: that gap is
    // the look-ahead, not the clock, and passes by itself.
    const bool waitable =
        behind <= policy.rollback_tolerance_millis || (state.restored && behind <= policy.mark_lookahead_millis);
    if (!waitable) {
      ++state.counters.rollback_errors;
      StepResult result = Result(StepStatus::kClockBehind);
      result.behind_millis = behind;
      return result;
    }
    ++state.counters.rollback_waits;
    return WaitUntil(state.last_millis, behind);
  }

  if (now_millis > state.mark_millis || state.mark_stale) {
    if (state.renewing) return WaitUntil(-1, 0);  // another caller is writing one
    state.renewing = true;
    StepResult result = Result(StepStatus::kWriteMark);
    // A stale mark is written again no lower than it is: IDs up to it may have been issued.
    const int64_t look_ahead = now_millis + policy.mark_lookahead_millis;
    result.mark = look_ahead > state.mark_millis ? look_ahead : state.mark_millis;
    return result;
  }

  if (now_millis == state.last_millis) {
    // Waiting, not borrowing the next millisecond, keeps every ID at or behind the clock.
    if (state.sequence == kMaxSequence) {
      ++state.counters.sequence_waits;
      return WaitUntil(now_millis + 1, 0);
    }
    ++state.sequence;
  } else {
    state.last_millis = now_millis;
    state.sequence = 0;
    state.restored = false;
  }
  ++state.counters.ids_issued;

  StepResult result = Result(StepStatus::kIssued);
  result.id = Compose(Parts{now_millis, machine_id, state.sequence});
  // Renew while half the look-ahead is left, so that busy callers never wait for the disk.
  if (!state.renewing && state.mark_millis - now_millis < policy.mark_lookahead_millis / 2) {
    state.renewing = true;
    result.mark = now_millis + policy.mark_lookahead_millis;
  }
  return result;
}

void RaiseMark(GeneratorState& state, int64_t mark) noexcept {
  if (mark > state.last_millis) {
    // As Restore: an exhausted millisecond at the mark, possibly the look-ahead past any real ID.
    state.last_millis = mark;
    state.sequence = kMaxSequence;
    state.restored = true;
  }
  if (mark > state.mark_millis) state.mark_millis = mark;
}

void MarkWritten(GeneratorState& state, int64_t mark) noexcept {
  state.renewing = false;
  state.mark_stale = false;
  ++state.counters.mark_writes;
  if (mark > state.mark_millis) state.mark_millis = mark;
}

void MarkFailed(GeneratorState& state) noexcept { state.renewing = false; }

}  // namespace snowflake
