// A machine id leased from a coordination database bounds the milliseconds its IDs may carry.
#pragma once

#include <cstdint>

#include "generator.hpp"
#include "layout.hpp"

namespace snowflake {

// The IDs of a leased machine id carry a millisecond in (after_millis, until_millis]: after the
// previous holder's lease end, and not past this holder's. Both are on the IDs' own scale, so the
// bound keeps successive holders apart whatever their clocks say.
struct LeaseBound {
  int64_t after_millis;  // the previous holder's lease end; -1: none
  int64_t until_millis;  // this holder's lease end
};

// A machine id from snowflake.machine_id: no lease, nothing but the layout bounds it.
constexpr LeaseBound kUnleased{-1, kMaxMillis};

enum class LeaseCheck {
  kInside,  // an ID of now_millis is allowed
  kNotYet,  // now_millis is at or before the previous holder's end
  kEnded,   // now_millis is past this holder's lease end
};

constexpr LeaseCheck CheckLease(const LeaseBound& bound, int64_t now_millis) noexcept {
  if (now_millis > bound.until_millis) return LeaseCheck::kEnded;
  if (now_millis <= bound.after_millis) return LeaseCheck::kNotYet;
  return LeaseCheck::kInside;
}

// Step (generator.hpp) within a lease: every ID it issues has the millisecond now_millis, so
// checking now_millis first keeps every ID inside the bound. kLeaseNotStarted sets wait_until to
// the first allowed millisecond; kLeaseEnded issues nothing until the lease is extended.
StepResult StepWithinLease(GeneratorState& state, const LeaseBound& bound, int32_t machine_id, int64_t now_millis,
                           const Policy& policy) noexcept;

// A new machine id for a running generator (a lease lost, another taken): the next ID needs a
// millisecond after the last one used, so IDs keep strictly increasing across the change even
// when the new machine id is lower.
void ChangeMachineId(GeneratorState& state) noexcept;

// When a holder renews: once less than two thirds of its duration is left (so two renewals can
// fail before the lease runs out), or at once when the lease is shorter than that already.
constexpr int64_t RenewalDue(int64_t until_millis, int64_t duration_millis) noexcept {
  return until_millis - duration_millis * 2 / 3;
}

}  // namespace snowflake
