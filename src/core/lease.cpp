// The lease bound around the generator step.
#include "lease.hpp"

namespace snowflake {

StepResult StepWithinLease(GeneratorState& state, const LeaseBound& bound, int32_t machine_id, int64_t now_millis,
                           const Policy& policy) noexcept {
  switch (CheckLease(bound, now_millis)) {
    case LeaseCheck::kEnded:
      return StepResult{StepStatus::kLeaseEnded, 0, -1, -1, 0};
    case LeaseCheck::kNotYet:
      return StepResult{StepStatus::kLeaseNotStarted, 0, -1, bound.after_millis + 1, 0};
    case LeaseCheck::kInside:
      break;
  }
  return Step(state, machine_id, now_millis, policy);
}

void ChangeMachineId(GeneratorState& state) noexcept {
  if (state.last_millis >= 0) state.sequence = kMaxSequence;
}

}  // namespace snowflake
