// A machine id leased from a coordination database bounds the milliseconds its IDs may carry.
#pragma once

#include <cstdint>

#include "generator.hpp"
#include "layout.hpp"

namespace snowflake {

// The IDs of a leased machine id carry a millisecond in (after_millis, until_millis]: after the
// previous holder's lease end, and not past this holder's. Both are on the IDs' own scale, so the
// bound keeps successive holders apart whatever their clocks say.
struct IdLeaseBound {
  int64_t after_millis;  // the previous holder's lease end; -1: none
  int64_t until_millis;  // this holder's lease end
};

// A machine id from snowflake.machine_id: no lease, nothing but the layout bounds it.
constexpr IdLeaseBound kUnleased{-1, kMaxMillis};

enum class IdLeaseCheck {
  kInside,  // an ID of now_millis is allowed
  kNotYet,  // now_millis is at or before the previous holder's end
  kEnded,   // now_millis is past this holder's lease end
};

constexpr IdLeaseCheck CheckIdLease(const IdLeaseBound& bound, int64_t now_millis) noexcept {
  if (now_millis > bound.until_millis) return IdLeaseCheck::kEnded;
  if (now_millis <= bound.after_millis) return IdLeaseCheck::kNotYet;
  return IdLeaseCheck::kInside;
}

// Step (generator.hpp) within a machine-id lease (bound); policy carries the durable mark's
// look-ahead, which is another thing. Every ID it issues has the millisecond now_millis, so
// checking now_millis first keeps every ID inside the bound. kIdLeaseNotStarted sets wait_until to
// the first allowed millisecond; kIdLeaseEnded issues nothing until the lease is extended.
StepResult StepWithinIdLease(GeneratorState& state, const IdLeaseBound& bound, int32_t machine_id, int64_t now_millis,
                             const Policy& policy) noexcept;

// A new machine id for a running generator (a lease lost, another taken): the next ID needs a
// millisecond after the last one used, so IDs keep strictly increasing across the change even
// when the new machine id is lower.
void ChangeMachineId(GeneratorState& state) noexcept;

// When a holder renews: once less than two thirds of its duration is left (so two renewals can
// fail before the lease runs out), or at once when the lease is shorter than that already.
constexpr int64_t IdLeaseRenewalDue(int64_t until_millis, int64_t duration_millis) noexcept {
  return until_millis - duration_millis * 2 / 3;
}

}  // namespace snowflake
