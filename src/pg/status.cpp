// snowflake_status(): the generator's counters, its mark and where its machine id comes from.
#include "settings.hpp"
#include "shmem.hpp"
#include "timestamp.hpp"

namespace snowflake {
namespace {

// snowflake_status()'s lease_state, indexed by LeaseState.
constexpr const char* kLeaseStateNames[] = {"claiming", "held", "lost", "exhausted"};
static_assert(static_cast<int>(LeaseState::kExhausted) == 3, "one name per LeaseState");

Datum Counter(uint64 value) { return Int64GetDatum(static_cast<int64>(value)); }

}  // namespace
}  // namespace snowflake

extern "C" {

PG_FUNCTION_INFO_V1(snowflake_status);

/*
 * snowflake_status(OUT machine_id integer, OUT last_ts timestamptz, OUT durable_mark timestamptz,
 *   OUT ids_issued bigint, OUT sequence_waits bigint, OUT rollback_waits bigint, OUT rollback_errors bigint,
 *   OUT stall_errors bigint, OUT mark_writes bigint, OUT mark_write_errors bigint,
 *   OUT machine_id_source text, OUT lease_state text, OUT lease_end timestamptz,
 *   OUT lease_renewed_at timestamptz) RETURNS record
 * Takes the generator's LWLock (shared) to copy the state. Errors: 55000 when not preloaded.
 * Counters start at zero with the server and after crash reinitialisation.
 */
Datum snowflake_status(PG_FUNCTION_ARGS) {
  using namespace snowflake;
  RequirePreloaded("snowflake_status()");
  LWLockAcquire(generator_lock, LW_SHARED);
  const GeneratorState state = shared_generator->state;
  const IssuingMachineId issuing = IssuingMachineIdLocked();
  const LeaseState lease_state = shared_generator->lease.state;
  const TimestampTz renewed_at = shared_generator->lease.renewed_at;
  LWLockRelease(generator_lock);

  TupleDesc tupdesc;
  if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("snowflake_status must return a record")));
  tupdesc = BlessTupleDesc(tupdesc);
  const Counters& counters = state.counters;
  const bool leased = issuing.source == MachineIdSource::kLease;
  const char* source = MachineIdSourceName(issuing.source);
  Datum values[14] = {Int32GetDatum(issuing.machine_id),
                      TimestampTzGetDatum(MillisToTimestamp(state.last_millis)),
                      TimestampTzGetDatum(MillisToTimestamp(state.mark_millis)),
                      Counter(counters.ids_issued),
                      Counter(counters.sequence_waits),
                      Counter(counters.rollback_waits),
                      Counter(counters.rollback_errors),
                      Counter(pg_atomic_read_u64(&shared_generator->stall_errors)),
                      Counter(counters.mark_writes),
                      Counter(pg_atomic_read_u64(&shared_generator->mark_write_errors)),
                      source != nullptr ? CStringGetTextDatum(source) : Datum(0),
                      leased ? CStringGetTextDatum(kLeaseStateNames[static_cast<int>(lease_state)]) : Datum(0),
                      TimestampTzGetDatum(MillisToTimestamp(issuing.bound.until_millis)),
                      TimestampTzGetDatum(renewed_at)};
  const bool held = leased && lease_state == LeaseState::kHeld;
  bool nulls[14] = {issuing.machine_id < 0,
                    state.last_millis < 0,
                    state.mark_millis < 0,
                    false,
                    false,
                    false,
                    false,
                    false,
                    false,
                    false,
                    source == nullptr,
                    !leased,
                    !held,
                    !leased || renewed_at == 0};
  PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

}  // extern "C"
