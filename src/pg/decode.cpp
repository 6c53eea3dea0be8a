// The SQL functions that take IDs apart and put them together: pure functions of the layout, no generator.
#include "errors.hpp"
#include "timestamp.hpp"

namespace snowflake {
namespace {

int64 CheckedId(int64 id) {
  if (!ValidId(id))
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid snowflake ID: %lld", (long long)id),
                    errdetail("A snowflake ID is never negative: its bit 63 is always 0.")));
  return id;
}

}  // namespace
}  // namespace snowflake

extern "C" {

PG_FUNCTION_INFO_V1(snowflake_decode);
PG_FUNCTION_INFO_V1(snowflake_compose);
PG_FUNCTION_INFO_V1(snowflake_timestamp);
PG_FUNCTION_INFO_V1(snowflake_machine_id);

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

  const int64 millis = TimestampToMillis(ts);
  if (!ValidMillis(millis))
    ereport(ERROR, (errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
                    errmsg("timestamp out of range for a snowflake ID: \"%s\"", timestamptz_to_str(ts)),
                    errdetail("%s", kRangeDetail)));
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
