// Test support: steps the generator as the server does, with a disk on which every mark write succeeds.
#pragma once

#include "../../src/core/generator.hpp"
#include "../../src/core/policy.hpp"

namespace snowflake {

// The server's default policy: its mark look-ahead, every backward step an error.
constexpr Policy kStrictPolicy = kDefaultPolicy;
static_assert(kDefaultPolicy.rollback_tolerance_millis == 0, "these tests expect the strict default");

inline StepResult StepWithMarks(GeneratorState& state, int32_t machine_id, int64_t now_millis,
                                const Policy& policy = kStrictPolicy) {
  for (;;) {
    const StepResult result = Step(state, machine_id, now_millis, policy);
    if (result.status == StepStatus::kWriteMark) {
      MarkWritten(state, result.mark);
      continue;
    }
    if (result.status == StepStatus::kIssued && result.mark >= 0) MarkWritten(state, result.mark);
    return result;
  }
}

}  // namespace snowflake
