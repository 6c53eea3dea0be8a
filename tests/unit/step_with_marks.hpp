// Test support: steps the generator as the server does, with a disk on which every mark write succeeds.
#pragma once

#include "../../src/core/generator.hpp"

namespace snowflake {

// The server's default policy: a 1 s lease, every backward step an error.
constexpr Policy kStrictPolicy{1000, 0};

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
