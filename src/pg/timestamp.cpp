// Milliseconds of the layout (since 2024-01-01Z) as PostgreSQL timestamps, and back.
#include "timestamp.hpp"

namespace snowflake {

TimestampTz MillisToTimestamp(int64 millis) {
  // END_TIMESTAMP is 294277-01-01; a mark edited by hand can be as large as INT64_MAX ms.
  constexpr int64 kLastMillis = (END_TIMESTAMP - 1 - kEpochPgMicros) / 1000;
  if (millis > kLastMillis) return DT_NOEND;
  return kEpochPgMicros + millis * 1000;
}

int64 TimestampToMillis(TimestampTz ts) {
  return TIMESTAMP_NOT_FINITE(ts) || ts < kEpochPgMicros ? -1 : (ts - kEpochPgMicros) / 1000;
}

}  // namespace snowflake
