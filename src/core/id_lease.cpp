// The machine-id lease's bound around the generator step.
#include "id_lease.hpp"

namespace snowflake {

StepResult StepWithinIdLease(GeneratorState& state, const IdLeaseBound& bound, int32_t machine_id, int64_t now_millis,
                             const Policy& policy) noexcept {
  switch (CheckIdLease(bound, now_millis)) {
    case IdLeaseCheck::kEnded:
      return StepResult{StepStatus::kIdLeaseEnded, 0, -1, -1, 0};
    case IdLeaseCheck::kNotYet:
      return StepResult{StepStatus::kIdLeaseNotStarted, 0, -1, bound.after_millis + 1, 0};
    case IdLeaseCheck::kInside:
      break;
  }
  return Step(state, machine_id, now_millis, policy);
}

void ChangeMachineId(GeneratorState& state) noexcept {
  if (state.last_millis >= 0) state.sequence = kMaxSequence;
}

}  // namespace snowflake
