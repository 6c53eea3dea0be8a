// Unit test of the wall clock the server feeds to Step: right unit, right epoch, inside the 41-bit range.
#include "../../src/core/clock.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <thread>

#include "../../src/core/layout.hpp"

namespace snowflake {
namespace {

// A clock in the wrong unit (seconds, microseconds) or from the wrong epoch (Unix) would be far off, not 5 s off.
TEST(ClockTest, WallClockMillisMatchesSystemClockSinceTheEpoch) {
  const int64_t ours = WallClockMillis();
  const int64_t reference =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count() -
      kEpochUnixMillis;
  EXPECT_TRUE(ValidMillis(ours)) << ours;
  EXPECT_GT(ours, 0) << "the machine clock is before 2024-01-01Z";
  EXPECT_LE(ours > reference ? ours - reference : reference - ours, 5000)
      << "ours " << ours << ", reference " << reference;
}

// The monotonic clock the waits use: microseconds of the same clock as std::chrono::steady_clock.
TEST(ClockTest, MonotonicMicrosMeasuresMicroseconds) {
  const auto reference_start = std::chrono::steady_clock::now();
  const int64_t first = MonotonicMicros();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const int64_t second = MonotonicMicros();
  const int64_t reference =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - reference_start).count();
  EXPECT_GE(second - first, 20000);  // in microseconds, not in ms or ns
  EXPECT_LE(second - first, reference + 1);
}

}  // namespace
}  // namespace snowflake
