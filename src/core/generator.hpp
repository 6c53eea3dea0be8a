// One step of the ID generator: given the shared state and the clock, issue an ID or say why not.
#pragma once

#include <cstdint>

#include "layout.hpp"

namespace snowflake {

// Plain data with no pointers: it lives in PostgreSQL shared memory, mapped at different addresses.
struct GeneratorState {
  int64_t last_millis;  // millisecond of the last ID issued; -1 before the first
  int32_t sequence;     // sequence of the last ID issued in last_millis
};

constexpr GeneratorState kFreshGenerator{-1, 0};

enum class StepStatus {
  kIssued,             // id holds the new ID
  kSequenceExhausted,  // 4096 IDs used in this millisecond: retry once the clock has moved on
  kClockBehind,        // the clock is behind last_millis by behind_millis: no ID
  kClockOutOfRange,    // the clock is before 2024-01-01Z or past the 41-bit range: no ID
};

struct StepResult {
  StepStatus status;
  int64_t id;             // valid when kIssued
  int64_t behind_millis;  // valid when kClockBehind
};

// now_millis is the wall clock in milliseconds since kEpochUnixMillis; machine_id must be valid.
// The caller serialises calls on one state (the server holds an LWLock).
StepResult Step(GeneratorState& state, int32_t machine_id, int64_t now_millis) noexcept;

}  // namespace snowflake
