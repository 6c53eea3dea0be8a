// The SQL-callable functions: snowflake_next, snowflake_status, snowflake_decode, snowflake_compose, accessors.
#include <cerrno>

#include "shared.hpp"
#include "wal_mark.hpp"

namespace snowflake {
namespace {

// Our SQLSTATEs, class SF (implementation-defined classes start with I-Z); README lists them.
constexpr int kErrClockMovedBackwards = MAKE_SQLSTATE('S', 'F', '0', '0', '1');
constexpr int kErrClockStalled = MAKE_SQLSTATE('S', 'F', '0', '0', '2');
constexpr int kErrMarkNotWritten = MAKE_SQLSTATE('S', 'F', '0', '0', '3');
constexpr int kErrMarkUnreadable = MAKE_SQLSTATE('S', 'F', '0', '0', '4');
constexpr int kErrMarkOutOfReach = MAKE_SQLSTATE('S', 'F', '0', '0', '5');
constexpr int kErrNoLease = MAKE_SQLSTATE('S', 'F', '0', '3', '0');
constexpr int kErrLeaseEnded = MAKE_SQLSTATE('S', 'F', '0', '3', '1');
constexpr int kErrLeaseNotStarted = MAKE_SQLSTATE('S', 'F', '0', '3', '2');

constexpr const char* kRangeDetail = "Snowflake IDs cover 2024-01-01 00:00:00 UTC to 2093-09-06 15:47:35.551 UTC.";

// 2024-01-01Z as a PostgreSQL timestamp (microseconds since 2000-01-01Z).
constexpr int64 kEpochPgMicros =
    (kEpochUnixMillis - int64{POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE} * SECS_PER_DAY * 1000) * 1000;

// The generator exists only when the postmaster loaded the library; `function` names the caller.
void RequirePreloaded(const char* function) {
  if (IsBinaryUpgrade)
    ereport(ERROR,
            (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
             errmsg("%s is not available during a binary upgrade", function),
             errdetail("pg_upgrade runs the server in binary-upgrade mode, where no snowflake IDs are issued.")));
  if (shared_generator == nullptr)
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("%s requires snowflake to be loaded via shared_preload_libraries", function),
                    errhint("Add snowflake to shared_preload_libraries in postgresql.conf and restart the server.")));
}

void RequireGenerator() {
  RequirePreloaded("snowflake_next()");
  if (machine_id_setting == kMachineIdUnset && !LeaseMode())
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE), errmsg("snowflake.machine_id is not set"),
                    errhint("Set snowflake.machine_id to an integer from 0 to %d, unique among the servers whose "
                            "IDs meet, in postgresql.conf and restart the server.",
                            kMaxMachineId)));
  if (RecoveryInProgress())
    ereport(ERROR,
            (errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION), errmsg("cannot issue snowflake IDs during recovery"),
             errdetail("A standby usually shares its primary's machine id: its IDs could collide with the primary's."),
             errhint("Call snowflake_next() on the primary. A promoted standby issues IDs again.")));
  if (shared_generator->mark_refused) {
    const MarkReadResult& read = shared_generator->mark_read;
    if (read.status != MarkRead::kFound)
      ereport(ERROR, (errcode(kErrMarkUnreadable),
                      errmsg("could not read the snowflake durable mark \"%s\": %s", kMarkPath, MarkReadProblem(read)),
                      errdetail("Without it, IDs issued before the last restart cannot be ruled out."),
                      errhint("With the server stopped, replace it by a regular file holding a millisecond since "
                              "2024-01-01 UTC known to be past every ID this server issued, and start the server; "
                              "see \"The durable mark file\" in the snowflake README.")));
    const int64 mark = read.millis;
    if (shared_generator->mark_check == MarkCheck::kPastRange)
      ereport(ERROR,
              (errcode(kErrMarkOutOfReach),
               errmsg("the snowflake durable mark \"%s\" is past the range of snowflake IDs", kMarkPath),
               errdetail("It holds %lld ms since 2024-01-01 UTC (%s); no ID can follow it. %s", (long long)mark,
                         timestamptz_to_str(MillisToTimestamp(mark)), kRangeDetail),
               errhint("Follow \"Recovering from a clock that was set ahead\" in the snowflake README: a machine id "
                       "never used before, and the mark file removed with the server stopped.")));
    ereport(
        ERROR,
        (errcode(kErrMarkOutOfReach),
         errmsg("the snowflake durable mark \"%s\" is too far ahead of the clock", kMarkPath),
         errdetail("At start-up it held %s, %lld ms ahead of the clock (%s); a mark more than %lld ms ahead is "
                   "not waited out.",
                   timestamptz_to_str(MillisToTimestamp(mark)), (long long)(mark - shared_generator->clock_at_start),
                   timestamptz_to_str(MillisToTimestamp(shared_generator->clock_at_start)),
                   (long long)kMaxMarkAheadMillis),
         errhint("If the clock is wrong, correct it and restart the server. If it was set ahead while IDs were "
                 "issued, follow \"Recovering from a clock that was set ahead\" in the snowflake README: a "
                 "machine id never used before, and the mark file removed with the server stopped.")));
  }
}

// Writes a mark to the file and the WAL (flushed) outside the lock, then records the outcome under it:
// 0 or errno. An error raised by the WAL leaves the generator as a failed write does, then propagates.
int RenewMark(int64 mark) {
  // A cancel or terminate must not end the call between Step's `renewing` and its outcome: other sessions
  // would wait for a mark nobody writes. (An ERROR resets the holdoff; the catch below puts things right.)
  HOLD_INTERRUPTS();
  int error = WriteMarkFile(mark);
  volatile XLogRecPtr logged = InvalidXLogRecPtr;
  if (error == 0) {
    PG_TRY();
    { logged = LogMark(mark); }
    PG_CATCH();
    {
      LWLockAcquire(generator_lock, LW_EXCLUSIVE);
      MarkFailed(shared_generator->state);
      LWLockRelease(generator_lock);
      PG_RE_THROW();
    }
    PG_END_TRY();
    if (logged == InvalidXLogRecPtr) error = EROFS;  // recovery began: no WAL may be written
  }
  LWLockAcquire(generator_lock, LW_EXCLUSIVE);
  if (error == 0) {
    MarkWritten(shared_generator->state, mark);
    if (logged > shared_generator->mark_lsn) shared_generator->mark_lsn = logged;
  } else {
    MarkFailed(shared_generator->state);
  }
  LWLockRelease(generator_lock);
  RESUME_INTERRUPTS();
  if (error != 0) pg_atomic_fetch_add_u64(&shared_generator->mark_write_errors, 1);
  return error;
}

void ReportMarkNotWritten(int elevel, int error) {
  errno = error;
  ereport(elevel,
          (errcode(kErrMarkNotWritten), errmsg("could not write the snowflake durable mark \"%s\": %m", kMarkPath),
           errdetail("No ID is issued past a mark that is not on disk."),
           errhint("Check the space and permissions of the data directory.")));
}

// Waits without the lock until the wall clock reads wait_until (-1: a short pause while another session
// writes the mark). Spins at first, since the next millisecond is usually under 1 ms away, then sleeps.
// Fails with SF002 past the call's deadline, so a stalled clock never hangs a session.
void WaitForClock(const StepResult& step, int64 started, int64 deadline) {
  constexpr int64 kSpinMicros = 2000;
  for (;;) {
    const int64 now = WallClockMillis();
    if (step.wait_until >= 0 && now >= step.wait_until) return;
    const int64 monotonic = MonotonicMicros();
    if (monotonic >= deadline) {
      pg_atomic_fetch_add_u64(&shared_generator->stall_errors, 1);
      ereport(
          ERROR,
          (errcode(kErrClockStalled),
           errmsg("timed out waiting for the clock: no snowflake ID after %d ms", max_wait_ms_setting),
           step.behind_millis > 0 ? errdetail("The system clock is %lld ms behind the last millisecond used.",
                                              (long long)step.behind_millis)
           : step.wait_until < 0  ? errdetail("Another session is writing the durable mark and has not finished.")
                                  : errdetail("All 4096 IDs of the current millisecond are used and the system clock "
                                               "has not moved on."),
           errhint("Check the system clock; snowflake.max_wait_ms bounds this wait.")));
    }
    CHECK_FOR_INTERRUPTS();
    if (step.wait_until < 0) {
      pg_usleep(100);  // then step again: the mark may be written by now
      return;
    }
    if (monotonic - started > kSpinMicros) pg_usleep(step.wait_until - now <= 1 ? 100 : 1000);
  }
}

// What snowflake_next() reports about the lease when it cannot issue; copied under the lock.
struct LeaseReport {
  LeaseState state;
  int32 machine_id;
  IdLeaseBound bound;
  bool renewal_failing;
  char detail[sizeof(SharedLease::detail)];
};

void CopyLease(LeaseReport* report) {
  const SharedLease& lease = shared_generator->lease;
  report->state = lease.state;
  report->machine_id = lease.machine_id;
  report->bound = lease.bound;
  report->renewal_failing = lease.renewal_failing;
  memcpy(report->detail, lease.detail, sizeof(report->detail));
}

void ReportNoLease(const LeaseReport& report) {
  ereport(ERROR, (errcode(kErrNoLease), errmsg("no machine id is leased to this server"),
                  report.state == LeaseState::kExhausted
                      ? errdetail("No machine id from %d to %d is free at the coordination database.", lease_first_id,
                                  lease_last_id)
                  : report.detail[0] != '\0' ? errdetail("%s", report.detail)
                                             : errdetail("The lease worker has not claimed one yet."),
                  errhint("IDs are issued once the lease worker claims a machine id from snowflake.lease_conninfo; "
                          "snowflake_status() and the server log show its progress.")));
}

void ReportLeaseEnded(const LeaseReport& report) {
  ereport(ERROR, (errcode(kErrLeaseEnded),
                  errmsg("the lease on machine id %d ended at %s and has not been renewed", report.machine_id,
                         timestamptz_to_str(MillisToTimestamp(report.bound.until_millis))),
                  report.detail[0] != '\0' ? errdetail("Last attempt: %s", report.detail)
                                           : errdetail("The lease worker has not renewed it in time."),
                  errhint("No ID is issued past a lease's end; IDs resume once the coordination database "
                          "renews the lease.")));
}

// An id just taken over: nothing at or before the previous holder's end. Waits within the call's
// deadline when the clock gets there in time; fails at once when it cannot.
void WaitForLeaseStart(const StepResult& step, int64 deadline, const LeaseReport& report) {
  for (;;) {
    const int64 now = WallClockMillis();
    if (now >= step.wait_until) return;
    if ((step.wait_until - now) * 1000 > deadline - MonotonicMicros())
      ereport(ERROR,
              (errcode(kErrLeaseNotStarted),
               errmsg("machine id %d was leased after a holder whose lease ends at %s: no ID until the clock passes it",
                      report.machine_id, timestamptz_to_str(MillisToTimestamp(report.bound.after_millis))),
               errdetail("The system clock is %lld ms behind that end; snowflake.max_wait_ms is %d ms.",
                         (long long)(step.wait_until - now), max_wait_ms_setting),
               errhint("IDs of a machine id taken over carry a millisecond after the previous holder's lease end, "
                       "so they cannot equal its IDs whatever the two clocks say.")));
    CHECK_FOR_INTERRUPTS();
    pg_usleep(step.wait_until - now <= 1 ? 100 : 1000);
  }
}

int64 CheckedId(int64 id) {
  if (!ValidId(id))
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid snowflake ID: %lld", (long long)id),
                    errdetail("A snowflake ID is never negative: its bit 63 is always 0.")));
  return id;
}

}  // namespace

TimestampTz MillisToTimestamp(int64 millis) {
  // END_TIMESTAMP is 294277-01-01; a mark edited by hand can be as large as INT64_MAX ms.
  constexpr int64 kLastMillis = (END_TIMESTAMP - 1 - kEpochPgMicros) / 1000;
  if (millis > kLastMillis) return DT_NOEND;
  return kEpochPgMicros + millis * 1000;
}

}  // namespace snowflake

extern "C" {

PG_FUNCTION_INFO_V1(snowflake_next);
PG_FUNCTION_INFO_V1(snowflake_status);
PG_FUNCTION_INFO_V1(snowflake_decode);
PG_FUNCTION_INFO_V1(snowflake_compose);
PG_FUNCTION_INFO_V1(snowflake_timestamp);
PG_FUNCTION_INFO_V1(snowflake_machine_id);

/*
 * snowflake_next() RETURNS bigint
 * Takes the generator's LWLock (exclusive) for one step (and a clock read only when another
 * backend went first); waits and mark writes happen without it.
 * Errors: 55000 when not preloaded or snowflake.machine_id is unset; 25006 during recovery;
 * SF001 the clock behind the last millisecond used (beyond the tolerance); SF002 waited longer
 * than snowflake.max_wait_ms; SF003 the durable mark could not be written; SF004 the mark could
 * not be read at start-up; SF005 the mark read at start-up is past the layout or too far ahead of the
 * clock; 22008 the clock outside 2024-01-01 .. 2093-09-06. Lease mode: SF030 no machine id leased;
 * SF031 the lease ended unrenewed; SF032 the clock not yet past the previous holder's lease end
 * within snowflake.max_wait_ms.
 */
Datum snowflake_next(PG_FUNCTION_ARGS) {
  using namespace snowflake;
  RequireGenerator();
  const Policy policy{kMarkLookaheadMillis, int64{rollback_tolerance_ms_setting}};
  int64 wait_started = -1;
  int64 deadline = -1;
  for (;;) {
    // The clock is read before the lock, which keeps the critical section to the step alone (with
    // 8 clients on 2 cores: 3.0 -> 3.8 M IDs/s, bench/FINDINGS.md). A reading that another backend
    // made stale while this one waited is behind last_millis: read again under the lock, so that
    // only a clock really behind counts as a rollback. A stale reading is never ahead of the clock.
    // In lease mode the machine id and its bound are read under the same lock as the step.
    int64 now = WallClockMillis();
    LeaseReport report;
    // Crash recovery replays the WAL from the last checkpoint's redo point on: a mark logged before it
    // is logged again before the next ID, as nextval() does for a sequence (README, "The mark in the WAL").
    const XLogRecPtr redo = GetRedoRecPtr();
    LWLockAcquire(generator_lock, LW_EXCLUSIVE);
    shared_generator->state.mark_stale = shared_generator->mark_lsn <= redo;
    if (now < shared_generator->state.last_millis) now = WallClockMillis();
    int32 machine_id = machine_id_setting;
    IdLeaseBound bound = kUnleased;
    const bool leased = LeaseMode();
    if (leased) {
      const SharedLease& lease = shared_generator->lease;
      if (lease.state != LeaseState::kHeld) {
        CopyLease(&report);
        LWLockRelease(generator_lock);
        ReportNoLease(report);
      }
      machine_id = lease.machine_id;
      bound = lease.bound;
    }
    const StepResult step = StepWithinIdLease(shared_generator->state, bound, machine_id, now, policy);
    if (leased && (step.status == StepStatus::kIdLeaseEnded || step.status == StepStatus::kIdLeaseNotStarted))
      CopyLease(&report);
    LWLockRelease(generator_lock);

    switch (step.status) {
      case StepStatus::kIssued:
        // A failed early renewal costs nothing yet: the mark still covers this ID, and the call
        // that reaches it will write one or fail.
        if (step.mark >= 0)
          if (const int error = RenewMark(step.mark)) ReportMarkNotWritten(WARNING, error);
        PG_RETURN_INT64(step.id);
      case StepStatus::kWriteMark:
        if (const int error = RenewMark(step.mark)) ReportMarkNotWritten(ERROR, error);
        continue;
      case StepStatus::kWait:
        if (wait_started < 0) {
          wait_started = MonotonicMicros();
          deadline = wait_started + int64{max_wait_ms_setting} * 1000;
        }
        WaitForClock(step, wait_started, deadline);
        continue;
      case StepStatus::kClockBehind:
        ereport(
            ERROR,
            (errcode(kErrClockMovedBackwards), errmsg("clock moved backwards: refusing to issue a snowflake ID"),
             errdetail("The system clock is %lld ms behind the last millisecond used.", (long long)step.behind_millis),
             step.behind_millis > kMaxMarkAheadMillis
                 ? errhint("IDs resume once the clock catches up. If the clock is right now, it was ahead while IDs "
                           "were issued: see \"Recovering from a clock that was set ahead\" in the snowflake README.")
                 : errhint("IDs resume once the clock catches up; check NTP or the host's time settings. "
                           "snowflake.rollback_tolerance_ms lets short steps be waited out.")));
        break;
      case StepStatus::kClockOutOfRange:
        ereport(ERROR, (errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
                        errmsg("system clock is outside the range of snowflake IDs"), errdetail("%s", kRangeDetail)));
        break;
      case StepStatus::kIdLeaseEnded:
        ReportLeaseEnded(report);
        break;
      case StepStatus::kIdLeaseNotStarted:
        if (wait_started < 0) {
          wait_started = MonotonicMicros();
          deadline = wait_started + int64{max_wait_ms_setting} * 1000;
        }
        WaitForLeaseStart(step, deadline, report);
        continue;
    }
  }
}

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
  const LeaseState lease_state = shared_generator->lease.state;
  const int32 leased_id = shared_generator->lease.machine_id;
  const int64 lease_end = shared_generator->lease.bound.until_millis;
  const TimestampTz renewed_at = shared_generator->lease.renewed_at;
  LWLockRelease(generator_lock);

  TupleDesc tupdesc;
  if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("snowflake_status must return a record")));
  tupdesc = BlessTupleDesc(tupdesc);
  const Counters& counters = state.counters;
  const bool leased = LeaseMode();
  const int32 machine_id = leased ? leased_id : machine_id_setting;
  const char* source = leased ? "lease" : machine_id_setting == kMachineIdUnset ? nullptr : "setting";
  const char* lease_state_name = lease_state == LeaseState::kHeld        ? "held"
                                 : lease_state == LeaseState::kLost      ? "lost"
                                 : lease_state == LeaseState::kExhausted ? "exhausted"
                                                                         : "claiming";
  Datum values[14] = {Int32GetDatum(machine_id),
                      TimestampTzGetDatum(MillisToTimestamp(state.last_millis)),
                      TimestampTzGetDatum(MillisToTimestamp(state.mark_millis)),
                      Int64GetDatum(static_cast<int64>(counters.ids_issued)),
                      Int64GetDatum(static_cast<int64>(counters.sequence_waits)),
                      Int64GetDatum(static_cast<int64>(counters.rollback_waits)),
                      Int64GetDatum(static_cast<int64>(counters.rollback_errors)),
                      Int64GetDatum(static_cast<int64>(pg_atomic_read_u64(&shared_generator->stall_errors))),
                      Int64GetDatum(static_cast<int64>(counters.mark_writes)),
                      Int64GetDatum(static_cast<int64>(pg_atomic_read_u64(&shared_generator->mark_write_errors))),
                      source != nullptr ? CStringGetTextDatum(source) : Datum(0),
                      leased ? CStringGetTextDatum(lease_state_name) : Datum(0),
                      TimestampTzGetDatum(MillisToTimestamp(lease_end)),
                      TimestampTzGetDatum(renewed_at)};
  const bool held = leased && lease_state == LeaseState::kHeld;
  bool nulls[14] = {machine_id < 0,
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
