// The server's policy constants, defined once: the server, the unit tests and the benchmarks use these.
#pragma once

#include <cstdint>

#include "generator.hpp"
#include "layout.hpp"

namespace snowflake {

constexpr int32_t kMachineIdUnset = -1;  // snowflake.machine_id until it is set: no IDs

// The durable mark's look-ahead: how far ahead of the clock a new mark is set. Longer means fewer
// writes and a longer wait after a crash (the gap between the last real ID and the mark).
constexpr int64_t kMarkLookaheadMillis = 1000;

// snowflake.max_wait_ms: its default and range.
constexpr int kDefaultMaxWaitMs = 2000;
constexpr int kMinMaxWaitMs = 1;
constexpr int kMaxMaxWaitMs = 60000;

// snowflake.rollback_tolerance_ms: its default and range.
constexpr int kDefaultRollbackToleranceMs = 0;
constexpr int kMaxRollbackToleranceMs = 60000;

// snowflake.lease_duration_ms: how far ahead of the clock a machine-id lease reaches (id_lease.hpp); not
// to be confused with the mark's look-ahead above.
constexpr int kDefaultIdLeaseDurationMs = 30000;
constexpr int kMinIdLeaseDurationMs = 100;
constexpr int kMaxIdLeaseDurationMs = 3600000;

// At start-up, a durable mark further ahead of the clock than this is refused (SF005) instead of
// being waited out: either the clock is wrong now, or it was set ahead while IDs were issued, and
// only an operator can tell which
// (docs/durability.md, section "Recovering from a clock that was set ahead").
constexpr int64_t kMaxMarkAheadMillis = 5 * 60 * 1000;

// The generator's policy with the settings at their defaults.
constexpr Policy kDefaultPolicy{kMarkLookaheadMillis, kDefaultRollbackToleranceMs};

// The highest mark a generator can write: a look-ahead past the last millisecond of the layout.
constexpr int64_t kMaxWrittenMark = kMaxMillis + kMarkLookaheadMillis;

static_assert(kMaxMarkAheadMillis > kMarkLookaheadMillis,
              "a crash leaves the mark up to a look-ahead ahead: that must start");

}  // namespace snowflake
