// snowflake_next(): the generator's SQL entry point, and how it waits and fails.
#include <cerrno>
#include <cstring>

#include "errors.hpp"
#include "mark/mark.hpp"
#include "settings.hpp"
#include "timestamp.hpp"

namespace snowflake {
namespace {

// A mark that could not be restored at start-up (LoadMark): no ID until an operator decides.
void ReportMarkRefused() {
  const MarkReadResult& read = shared_generator->mark_read;
  if (read.status != MarkRead::kFound)
    ereport(ERROR, (errcode(kErrMarkUnreadable),
                    errmsg("could not read the snowflake durable mark \"%s\": %s", kMarkPath, MarkReadProblem(read)),
                    errdetail("Without it, IDs issued before the last restart cannot be ruled out."),
                    errhint("With the server stopped, replace it by a regular file holding a millisecond since "
                            "2024-01-01 UTC known to be past every ID this server issued, and start the server; "
                            "see docs/durability.md, section \"The durable mark file\".")));
  const int64 mark = read.millis;
  if (shared_generator->mark_check == MarkCheck::kPastRange)
    ereport(ERROR,
            (errcode(kErrMarkOutOfReach),
             errmsg("the snowflake durable mark \"%s\" is past the range of snowflake IDs", kMarkPath),
             errdetail("It holds %lld ms since 2024-01-01 UTC (%s); no ID can follow it. %s", (long long)mark,
                       timestamptz_to_str(MillisToTimestamp(mark)), kRangeDetail),
             errhint("Follow docs/durability.md, section \"Recovering from a clock that was set ahead\": a machine id "
                     "never used before, and the mark file removed with the server stopped.")));
  ereport(ERROR,
          (errcode(kErrMarkOutOfReach),
           errmsg("the snowflake durable mark \"%s\" is too far ahead of the clock", kMarkPath),
           errdetail("At start-up it held %s, %lld ms ahead of the clock (%s); a mark more than %lld ms ahead is "
                     "not waited out.",
                     timestamptz_to_str(MillisToTimestamp(mark)), (long long)(mark - shared_generator->clock_at_start),
                     timestamptz_to_str(MillisToTimestamp(shared_generator->clock_at_start)),
                     (long long)kMaxMarkAheadMillis),
           errhint("If the clock is wrong, correct it and restart the server. If it was set ahead while IDs were "
                   "issued, follow docs/durability.md, section \"Recovering from a clock that was set ahead\": a "
                   "machine id never used before, and the mark file removed with the server stopped.")));
}

void RequireGenerator() {
  RequirePreloaded("snowflake_next()");
  if (ConfiguredMachineIdSource() == MachineIdSource::kNone)
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE), errmsg("snowflake.machine_id is not set"),
                    errhint("Set snowflake.machine_id to an integer from 0 to %d, unique among the servers whose "
                            "IDs meet, in postgresql.conf and restart the server.",
                            kMaxMachineId)));
  if (RecoveryInProgress())
    ereport(ERROR,
            (errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION), errmsg("cannot issue snowflake IDs during recovery"),
             errdetail("A standby usually shares its primary's machine id: its IDs could collide with the primary's."),
             errhint("Call snowflake_next() on the primary. A promoted standby issues IDs again.")));
  if (shared_generator->mark_refused) ReportMarkRefused();
}

void ReportMarkNotWritten(int elevel, int error) {
  pg_atomic_fetch_add_u64(&shared_generator->mark_write_errors, 1);
  errno = error;
  ereport(elevel,
          (errcode(kErrMarkNotWritten), errmsg("could not write the snowflake durable mark \"%s\": %m", kMarkPath),
           errdetail("No ID is issued past a mark that is not on disk."),
           errhint("Check the space and permissions of the data directory.")));
}

void ReportClockBehind(const StepResult& step) {
  ereport(ERROR,
          (errcode(kErrClockMovedBackwards), errmsg("clock moved backwards: refusing to issue a snowflake ID"),
           errdetail("The system clock is %lld ms behind the last millisecond used.", (long long)step.behind_millis),
           step.behind_millis > kMaxMarkAheadMillis
               ? errhint("IDs resume once the clock catches up. If the clock is right now, it was ahead while IDs "
                         "were issued: see docs/durability.md, section \"Recovering from a clock that was set ahead\".")
               : errhint("IDs resume once the clock catches up; check NTP or the host's time settings. "
                         "snowflake.rollback_tolerance_ms lets short steps be waited out.")));
}

// One call's waits share one deadline, snowflake.max_wait_ms after the first wait began.
struct CallDeadline {
  int64 started = -1;  // MonotonicMicros() at the first wait; -1 before
  int64 deadline = -1;

  void Start() {
    if (started >= 0) return;
    started = MonotonicMicros();
    deadline = started + int64{max_wait_ms_setting} * 1000;
  }
};

// Waits without the lock until the wall clock reads wait_until (-1: a short pause while another session
// writes the mark). Spins at first, since the next millisecond is usually under 1 ms away, then sleeps.
// Fails with SF002 past the call's deadline, so a stalled clock never hangs a session.
void WaitForClock(const StepResult& step, const CallDeadline& call) {
  constexpr int64 kSpinMicros = 2000;
  for (;;) {
    const int64 now = WallClockMillis();
    if (step.wait_until >= 0 && now >= step.wait_until) return;
    const int64 monotonic = MonotonicMicros();
    if (monotonic >= call.deadline) {
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
    if (monotonic - call.started > kSpinMicros) pg_usleep(step.wait_until - now <= 1 ? 100 : 1000);
  }
}

// What snowflake_next() reports about the lease when it cannot issue; copied under the lock.
struct LeaseReport {
  LeaseState state;
  int32 machine_id;
  IdLeaseBound bound;
  char detail[sizeof(SharedLease::detail)];
};

void CopyLease(LeaseReport* report) {
  const SharedLease& lease = shared_generator->lease;
  report->state = lease.state;
  report->machine_id = lease.machine_id;
  report->bound = lease.bound;
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
void WaitForLeaseStart(const StepResult& step, const CallDeadline& call, const LeaseReport& report) {
  for (;;) {
    const int64 now = WallClockMillis();
    if (now >= step.wait_until) return;
    if ((step.wait_until - now) * 1000 > call.deadline - MonotonicMicros())
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

// One step under the generator's lock, with the machine id this server issues with now (in
// *machine_id) and, in lease mode, a copy of the lease for the error that may follow.
StepResult StepLocked(const Policy& policy, int32* machine_id, LeaseReport* report) {
  // The clock is read before the lock, which keeps the critical section to the step alone. A
  // reading that another backend made stale while this one waited is behind last_millis: read
  // again under the lock, so that only a clock really behind counts as a rollback. A stale reading
  // is never ahead of the clock.
  int64 now = WallClockMillis();
  // Crash recovery replays the WAL from the last checkpoint's redo point on: a mark logged before it
  // is logged again before the next ID, as nextval() does for a sequence
  // (docs/durability.md, section "The mark in the WAL").
  const XLogRecPtr redo = GetRedoRecPtr();
  LWLockAcquire(generator_lock, LW_EXCLUSIVE);
  shared_generator->state.mark_stale = shared_generator->mark_lsn <= redo;
  if (now < shared_generator->state.last_millis) now = WallClockMillis();
  const IssuingMachineId issuing = IssuingMachineIdLocked();
  const bool leased = issuing.source == MachineIdSource::kLease;
  if (leased && issuing.machine_id == kMachineIdUnset) {
    CopyLease(report);
    LWLockRelease(generator_lock);
    ReportNoLease(*report);
  }
  const StepResult step = StepWithinIdLease(shared_generator->state, issuing.bound, issuing.machine_id, now, policy);
  if (leased && (step.status == StepStatus::kIdLeaseEnded || step.status == StepStatus::kIdLeaseNotStarted))
    CopyLease(report);
  LWLockRelease(generator_lock);
  *machine_id = issuing.machine_id;
  return step;
}

}  // namespace
}  // namespace snowflake

extern "C" {

PG_FUNCTION_INFO_V1(snowflake_next);

/*
 * snowflake_next() RETURNS bigint
 * Takes the generator's LWLock (exclusive) for one step (and a clock read only when another
 * backend went first); waits and mark writes happen without it.
 * Errors: 55000 when not preloaded or no machine id is set; 25006 during recovery; 22008 the clock
 * outside the layout's range; SF001-SF005 and, in lease mode, SF030-SF032 (errors.hpp).
 */
Datum snowflake_next(PG_FUNCTION_ARGS) {
  using namespace snowflake;
  RequireGenerator();
  const Policy policy{kMarkLookaheadMillis, int64{rollback_tolerance_ms_setting}};
  CallDeadline call;
  for (;;) {
    int32 machine_id = kMachineIdUnset;
    LeaseReport report;
    const StepResult step = StepLocked(policy, &machine_id, &report);
    switch (step.status) {
      case StepStatus::kIssued:
        // A failed early renewal costs nothing yet: the mark still covers this ID, and the call
        // that reaches it will write one or fail.
        if (step.mark >= 0)
          if (const int error = RenewMark(step.mark, machine_id, MarkCopies::kFileAndWal))
            ReportMarkNotWritten(WARNING, error);
        PG_RETURN_INT64(step.id);
      case StepStatus::kWriteMark:
        if (const int error = RenewMark(step.mark, machine_id, MarkCopies::kFileAndWal))
          ReportMarkNotWritten(ERROR, error);
        continue;
      case StepStatus::kWait:
        call.Start();
        WaitForClock(step, call);
        continue;
      case StepStatus::kClockBehind:
        ReportClockBehind(step);
        break;
      case StepStatus::kClockOutOfRange:
        ereport(ERROR, (errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
                        errmsg("system clock is outside the range of snowflake IDs"), errdetail("%s", kRangeDetail)));
        break;
      case StepStatus::kIdLeaseEnded:
        ReportLeaseEnded(report);
        break;
      case StepStatus::kIdLeaseNotStarted:
        call.Start();
        WaitForLeaseStart(step, call, report);
        continue;
    }
  }
}

}  // extern "C"
