// The durable mark's life in the server: restored at start-up, renewed by one sequence, recorded at shutdown.
#include <cerrno>

#include "../timestamp.hpp"
#include "mark.hpp"

namespace snowflake {
namespace {

void WarnMarkRefused(const MarkReadResult& read, MarkCheck check) {
  if (read.status != MarkRead::kFound) {
    ereport(WARNING, (errmsg("snowflake: could not read the durable mark \"%s\": %s: snowflake_next() will fail",
                             kMarkPath, MarkReadProblem(read))));
    return;
  }
  ereport(WARNING,
          (errmsg("snowflake: the durable mark \"%s\" (%lld ms, %s) is %s: snowflake_next() will fail", kMarkPath,
                  (long long)read.millis, timestamptz_to_str(MillisToTimestamp(read.millis)),
                  check == MarkCheck::kPastRange ? "past the range of snowflake IDs" : "too far ahead of the clock"),
           errhint("See docs/durability.md, section \"Recovering from a clock that was set ahead\".")));
}

}  // namespace

// The mark bounds every ID issued before a restart or crash. A mark that cannot be read, or that
// cannot be a floor to wait out, stops the generator (not the server): snowflake_next() then fails.
void LoadMark(SharedGenerator* shared) {
  shared->mark_read = ReadMarkFile();
  shared->mark_check = MarkCheck::kUsable;
  shared->clock_at_start = WallClockMillis();
  const MarkReadResult& read = shared->mark_read;
  const bool found = read.status == MarkRead::kFound;
  if (found) shared->mark_check = CheckRestoredMark(read.millis, shared->clock_at_start);
  shared->mark_refused = found ? shared->mark_check != MarkCheck::kUsable : read.status != MarkRead::kMissing;
  if (shared->mark_refused)
    WarnMarkRefused(read, shared->mark_check);
  else if (found)
    ereport(LOG, (errmsg("snowflake: resuming above the durable mark %lld ms (%s; the clock reads %lld ms)",
                         (long long)read.millis, timestamptz_to_str(MillisToTimestamp(read.millis)),
                         (long long)shared->clock_at_start)));
  // A refused mark is still shown by snowflake_status(); the generator never steps from it.
  shared->state = Restore(found ? read.millis : -1);
}

// The exact last millisecond, so the next start need not wait out the look-ahead. After a crash
// (code != 0) the state may be mid-step: the mark on disk stays the bound. A file that no longer
// holds the mark this server last wrote was changed by someone else while the server ran: it is
// left as it is, and the log says so.
void SaveMarkAtShutdown(int code, Datum) {
  if (code != 0 || shared_generator == nullptr || shared_generator->mark_refused) return;
  const GeneratorState& state = shared_generator->state;
  if (state.last_millis < 0 || state.last_millis >= state.mark_millis) return;
  const MarkReadResult on_disk = ReadMarkFile();
  if (on_disk.status != MarkRead::kFound || on_disk.millis != state.mark_millis) {
    ereport(WARNING,
            (errmsg("snowflake: the durable mark \"%s\" was changed while the server ran: left as it is", kMarkPath),
             on_disk.status == MarkRead::kFound ? errdetail("It holds %lld; this server last wrote %lld.",
                                                            (long long)on_disk.millis, (long long)state.mark_millis)
                                                : errdetail("It is %s; this server last wrote %lld.",
                                                            MarkReadProblem(on_disk), (long long)state.mark_millis),
             errhint("The next start reads the file as it is now.")));
    return;
  }
  if (const int error = WriteMarkFile(state.last_millis)) {
    errno = error;
    ereport(LOG, (errmsg("snowflake: could not record the last millisecond at shutdown: %m")));
  }
}

int RenewMark(int64 mark, int32 machine_id, MarkCopies copies) {
  // A cancel or terminate must not end the call between `renewing` and its outcome: other sessions
  // would wait for a mark nobody writes. (An ERROR resets the holdoff; the catch puts things right.)
  HOLD_INTERRUPTS();
  int error = copies == MarkCopies::kFileAndWal ? WriteMarkFile(mark) : 0;
  volatile XLogRecPtr logged = InvalidXLogRecPtr;
  if (error == 0) {
    PG_TRY();
    {
      // A mark logged again is unimportant: else an idle server would checkpoint again for it, and
      // the keeper log it again, forever.
      logged = LogMark(mark, machine_id, copies == MarkCopies::kWalAgain);
    }
    PG_CATCH();
    {
      LWLockAcquire(generator_lock, LW_EXCLUSIVE);
      MarkFailed(shared_generator->state);
      LWLockRelease(generator_lock);
      PG_RE_THROW();
    }
    PG_END_TRY();
    if (logged == InvalidXLogRecPtr) error = EROFS;
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
  return error;
}

}  // namespace snowflake
