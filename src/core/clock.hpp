// The wall clock in the layout's unit: milliseconds since 2024-01-01Z.
#pragma once

#include <time.h>

#include <cstdint>

#include "layout.hpp"

namespace snowflake {

// CLOCK_REALTIME, because IDs must decode to wall-clock time; libfaketime moves it in tests.
inline int64_t WallClockMillis() noexcept {
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  return int64_t{now.tv_sec} * 1000 + now.tv_nsec / 1000000 - kEpochUnixMillis;
}

}  // namespace snowflake
