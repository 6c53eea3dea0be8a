// Both clocks the generator reads: the wall clock in the layout's unit, and a monotonic clock for waits.
#pragma once

#include <time.h>

#include <cstdint>

#include "layout.hpp"

namespace snowflake {

// Milliseconds since 2024-01-01Z. CLOCK_REALTIME, because IDs must decode to wall-clock time;
// libfaketime moves it in tests.
inline int64_t WallClockMillis() noexcept {
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  return int64_t{now.tv_sec} * 1000 + now.tv_nsec / 1000000 - kEpochUnixMillis;
}

// Microseconds of CLOCK_MONOTONIC: deadlines of waits, which must not move when the wall clock is set
// (libfaketime leaves it alone with FAKETIME_DONT_FAKE_MONOTONIC=1).
inline int64_t MonotonicMicros() noexcept {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1000000 + now.tv_nsec / 1000;
}

// The same clock in milliseconds, for deadlines measured in milliseconds.
inline int64_t MonotonicMillis() noexcept { return MonotonicMicros() / 1000; }

}  // namespace snowflake
