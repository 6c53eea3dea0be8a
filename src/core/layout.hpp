// The fixed 64-bit layout of a snowflake ID: 0 | 41 bits ms since 2024-01-01Z | 10 bits machine | 12 bits sequence.
#pragma once

#ifdef POSTGRES_H
#error "src/core must not see PostgreSQL headers: include it before postgres.h, or not at all"
#endif

#include <cstdint>

namespace snowflake {

constexpr int kSequenceBits = 12;
constexpr int kMachineBits = 10;
constexpr int kTimeBits = 41;
constexpr int kMachineShift = kSequenceBits;
constexpr int kTimeShift = kSequenceBits + kMachineBits;

constexpr int32_t kMaxSequence = (1 << kSequenceBits) - 1;     // 4095
constexpr int32_t kMaxMachineId = (1 << kMachineBits) - 1;     // 1023
constexpr int64_t kMaxMillis = (int64_t{1} << kTimeBits) - 1;  // 2199023255551 ms: 2093-09-06
constexpr int64_t kMaxId = INT64_MAX;                          // every bit but 63

// 2024-01-01T00:00:00Z in milliseconds since the Unix epoch.
constexpr int64_t kEpochUnixMillis = 1704067200000;

struct Parts {
  int64_t millis;      // since kEpochUnixMillis
  int32_t machine_id;  // 0..kMaxMachineId
  int32_t sequence;    // 0..kMaxSequence
};

constexpr bool ValidMillis(int64_t millis) noexcept { return millis >= 0 && millis <= kMaxMillis; }
constexpr bool ValidMachineId(int64_t machine_id) noexcept { return machine_id >= 0 && machine_id <= kMaxMachineId; }
constexpr bool ValidSequence(int64_t sequence) noexcept { return sequence >= 0 && sequence <= kMaxSequence; }
constexpr bool ValidId(int64_t id) noexcept { return id >= 0; }

// Callers check each part with the Valid* functions first; out-of-range parts would overlap.
constexpr int64_t Compose(const Parts& parts) noexcept {
  return (parts.millis << kTimeShift) | (int64_t{parts.machine_id} << kMachineShift) | parts.sequence;
}

// Callers check ValidId first: a negative id has no meaning in this layout.
constexpr Parts Decode(int64_t id) noexcept {
  return Parts{id >> kTimeShift, static_cast<int32_t>((id >> kMachineShift) & kMaxMachineId),
               static_cast<int32_t>(id & kMaxSequence)};
}

static_assert(kTimeBits + kMachineBits + kSequenceBits == 63, "bit 63 stays 0");
static_assert(Compose(Parts{kMaxMillis, kMaxMachineId, kMaxSequence}) == kMaxId, "all ones fill 63 bits");
static_assert(Compose(Parts{1, 1, 1}) == 4198401, "the example in README");

}  // namespace snowflake
