// The server's policy constants, defined once: the server, the unit tests and the benchmarks use these.
#pragma once

#include <cstdint>

#include "generator.hpp"
#include "layout.hpp"

namespace snowflake {

constexpr int32_t kMachineIdUnset = -1;  // snowflake.machine_id until it is set: no IDs

// How far ahead of the clock a durable mark is set (README, Guarantees).
constexpr int64_t kLeaseMillis = 1000;

// snowflake.max_wait_ms: its default and range.
constexpr int kDefaultMaxWaitMs = 2000;
constexpr int kMinMaxWaitMs = 1;
constexpr int kMaxMaxWaitMs = 60000;

// snowflake.rollback_tolerance_ms: its default and range.
constexpr int kDefaultRollbackToleranceMs = 0;
constexpr int kMaxRollbackToleranceMs = 60000;

// snowflake.lease_duration_ms: how far ahead of the clock a machine-id lease reaches.
constexpr int kDefaultLeaseDurationMs = 30000;
constexpr int kMinLeaseDurationMs = 100;
constexpr int kMaxLeaseDurationMs = 3600000;

// At start-up, a durable mark further ahead of the clock than this is refused (SF005) instead of
// being waited out: either the clock is wrong now, or it was set ahead while IDs were issued, and
// only an operator can tell which (README, "Recovering from a clock that was set ahead").
constexpr int64_t kMaxMarkAheadMillis = 5 * 60 * 1000;

// The generator's policy with the settings at their defaults.
constexpr Policy kDefaultPolicy{kLeaseMillis, kDefaultRollbackToleranceMs};

// The highest mark a generator can write: a lease past the last millisecond of the layout.
constexpr int64_t kMaxWrittenMark = kMaxMillis + kLeaseMillis;

static_assert(kMaxMarkAheadMillis > kLeaseMillis, "a crash leaves the mark up to a lease ahead: that must start");

}  // namespace snowflake
