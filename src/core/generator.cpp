// The generator step: strictly increasing IDs that never run ahead of the clock.
#include "generator.hpp"

namespace snowflake {

StepResult Step(GeneratorState& state, int32_t machine_id, int64_t now_millis) noexcept {
  if (!ValidMillis(now_millis)) return {StepStatus::kClockOutOfRange, 0, 0};
  if (now_millis < state.last_millis) return {StepStatus::kClockBehind, 0, state.last_millis - now_millis};

  if (now_millis == state.last_millis) {
    // Waiting, not borrowing the next millisecond, keeps every ID at or behind the clock.
    if (state.sequence == kMaxSequence) return {StepStatus::kSequenceExhausted, 0, 0};
    ++state.sequence;
  } else {
    state.last_millis = now_millis;
    state.sequence = 0;
  }
  return {StepStatus::kIssued, Compose(Parts{now_millis, machine_id, state.sequence}), 0};
}

}  // namespace snowflake
