// Milliseconds of the layout (since 2024-01-01Z) as PostgreSQL timestamps, and back.
#pragma once

#include "postgres.hpp"

namespace snowflake {

// 2024-01-01Z as a PostgreSQL timestamp (microseconds since 2000-01-01Z).
constexpr int64 kEpochPgMicros =
    (kEpochUnixMillis - int64{POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE} * SECS_PER_DAY * 1000) * 1000;

// A millisecond since 2024-01-01Z as a timestamptz; infinity past timestamptz's range (a mark
// edited by hand can be), never an overflow.
TimestampTz MillisToTimestamp(int64 millis);

// A timestamptz as a millisecond since 2024-01-01Z, truncated; -1 before the epoch or not finite.
int64 TimestampToMillis(TimestampTz ts);

}  // namespace snowflake
