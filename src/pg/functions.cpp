// The SQL-callable functions: snowflake_next, snowflake_decode, snowflake_compose and the accessors.
#include "shared.hpp"

namespace snowflake {
namespace {

// SQLSTATE SF001: class SF is ours (implementation-defined classes start with I-Z).
constexpr int kErrClockMovedBackwards = MAKE_SQLSTATE('S', 'F', '0', '0', '1');

// 2024-01-01Z as a PostgreSQL timestamp (microseconds since 2000-01-01Z).
constexpr int64 kEpochPgMicros =
    (kEpochUnixMillis - int64{POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE} * SECS_PER_DAY * 1000) * 1000;

TimestampTz MillisToTimestamp(int64 millis) { return kEpochPgMicros + millis * 1000; }

void RequireGenerator() {
  if (shared_generator == nullptr)
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("snowflake_next() requires snowflake to be loaded via shared_preload_libraries"),
                    errhint("Add snowflake to shared_preload_libraries in postgresql.conf and restart the server.")));
  if (machine_id_setting == kMachineIdUnset)
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("snowflake.machine_id is not set"),
                    errhint("Set snowflake.machine_id to an integer from 0 to %d, unique among the servers whose "
                            "IDs meet, in postgresql.conf and restart the server.",
                            kMaxMachineId)));
}

// The sequence of `after` is used up: wait, without the lock, until the clock shows a later millisecond.
// Less than a millisecond in normal operation, so a spin; interrupts are served so cancel works.
void WaitForMillisAfter(int64 after) {
  while (WallClockMillis() <= after) CHECK_FOR_INTERRUPTS();
}

int64 CheckedId(int64 id) {
  if (!ValidId(id))
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid snowflake ID: %lld", (long long)id),
                    errdetail("A snowflake ID is never negative: its bit 63 is always 0.")));
  return id;
}

}  // namespace
}  // namespace snowflake

extern "C" {

PG_FUNCTION_INFO_V1(snowflake_next);
PG_FUNCTION_INFO_V1(snowflake_decode);
PG_FUNCTION_INFO_V1(snowflake_compose);
PG_FUNCTION_INFO_V1(snowflake_timestamp);
PG_FUNCTION_INFO_V1(snowflake_machine_id);

/*
 * snowflake_next() RETURNS bigint
 * Takes the generator's LWLock (exclusive) for one clock read and one step.
 * Errors: 55000 when not preloaded or snowflake.machine_id is unset; SF001 when the clock is behind
 * the last millisecond used; 22008 when the clock is outside 2024-01-01 .. 2093-09-06.
 */
Datum snowflake_next(PG_FUNCTION_ARGS) {
  using namespace snowflake;
  RequireGenerator();
  for (;;) {
    LWLockAcquire(generator_lock, LW_EXCLUSIVE);
    const int64 now = WallClockMillis();
    const StepResult step = Step(shared_generator->state, machine_id_setting, now);
    LWLockRelease(generator_lock);

    switch (step.status) {
      case StepStatus::kIssued:
        PG_RETURN_INT64(step.id);
      case StepStatus::kSequenceExhausted:
        WaitForMillisAfter(now);
        continue;
      case StepStatus::kClockBehind:
        ereport(ERROR, (errcode(kErrClockMovedBackwards), errmsg("clock moved backwards: refusing to issue a snowflake ID"),
                        errdetail("The system clock is %lld ms behind the last millisecond used.",
                                  (long long)step.behind_millis),
                        errhint("IDs resume once the clock catches up; check NTP or the host's time settings.")));
        break;
      case StepStatus::kClockOutOfRange:
        ereport(ERROR, (errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
                        errmsg("system clock is outside the range of snowflake IDs"),
                        errdetail("Snowflake IDs cover 2024-01-01 00:00:00 UTC to 2093-09-06 15:47:35.551 UTC.")));
        break;
    }
  }
}

/*
 * snowflake_decode(id bigint, OUT ts timestamptz, OUT machine_id integer, OUT sequence integer)
 * No lock. Errors: 22023 for a negative id.
 */
Datum snowflake_decode(PG_FUNCTION_ARGS) {
  using namespace snowflake;
  const Parts parts = Decode(CheckedId(PG_GETARG_INT64(0)));
  TupleDesc tupdesc;
  if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("snowflake_decode must return a record")));
  tupdesc = BlessTupleDesc(tupdesc);
  Datum values[3] = {TimestampTzGetDatum(MillisToTimestamp(parts.millis)), Int32GetDatum(parts.machine_id),
                     Int32GetDatum(parts.sequence)};
  bool nulls[3] = {false, false, false};
  PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * snowflake_compose(ts timestamptz, machine_id integer DEFAULT 0, sequence integer DEFAULT 0) RETURNS bigint
 * No lock. ts is truncated to the millisecond. Errors: 22008 for ts outside the layout's range,
 * 22003 for machine_id or sequence out of range.
 */
Datum snowflake_compose(PG_FUNCTION_ARGS) {
  using namespace snowflake;
  const TimestampTz ts = PG_GETARG_TIMESTAMPTZ(0);
  const int32 machine_id = PG_GETARG_INT32(1);
  const int32 sequence = PG_GETARG_INT32(2);

  const int64 millis = TIMESTAMP_NOT_FINITE(ts) || ts < kEpochPgMicros ? -1 : (ts - kEpochPgMicros) / 1000;
  if (!ValidMillis(millis))
    ereport(ERROR, (errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
                    errmsg("timestamp out of range for a snowflake ID: \"%s\"", timestamptz_to_str(ts)),
                    errdetail("Snowflake IDs cover 2024-01-01 00:00:00 UTC to 2093-09-06 15:47:35.551 UTC.")));
  if (!ValidMachineId(machine_id))
    ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                    errmsg("machine_id %d is out of range for a snowflake ID", machine_id),
                    errdetail("machine_id must be from 0 to %d.", kMaxMachineId)));
  if (!ValidSequence(sequence))
    ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                    errmsg("sequence %d is out of range for a snowflake ID", sequence),
                    errdetail("sequence must be from 0 to %d.", kMaxSequence)));
  PG_RETURN_INT64(Compose(Parts{millis, machine_id, sequence}));
}

/*
 * snowflake_timestamp(id bigint) RETURNS timestamptz — the millisecond the ID was made.
 * No lock. Errors: 22023 for a negative id.
 */
Datum snowflake_timestamp(PG_FUNCTION_ARGS) {
  using namespace snowflake;
  PG_RETURN_TIMESTAMPTZ(MillisToTimestamp(Decode(CheckedId(PG_GETARG_INT64(0))).millis));
}

/*
 * snowflake_machine_id(id bigint) RETURNS integer — the machine that made the ID.
 * No lock. Errors: 22023 for a negative id.
 */
Datum snowflake_machine_id(PG_FUNCTION_ARGS) {
  using namespace snowflake;
  PG_RETURN_INT32(Decode(CheckedId(PG_GETARG_INT64(0))).machine_id);
}

}  // extern "C"
