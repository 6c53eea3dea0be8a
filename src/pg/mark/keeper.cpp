// The mark keeper: a background worker that logs the mark again after each checkpoint, so that crash
// recovery, which replays from the last checkpoint's redo point, still finds it though no ID follows.
#include "../settings.hpp"
#include "mark.hpp"

namespace snowflake {
namespace {

constexpr long kKeeperIntervalMs = 100;

// If the last checkpoint began after the current mark's record, claims a renewal as Step does
// (`renewing` under the lock) and logs the mark again through the one renewal sequence.
void LogMarkAgainIfStale() {
  const XLogRecPtr redo = GetRedoRecPtr();
  // A torn read of mark_lsn is harmless: it only decides whether to look under the lock.
  if (shared_generator->mark_lsn > redo) return;
  int64 mark = -1;
  int32 machine_id = kMachineIdUnset;
  LWLockAcquire(generator_lock, LW_EXCLUSIVE);
  GeneratorState& state = shared_generator->state;
  if (!state.renewing && state.mark_millis >= 0 && !shared_generator->mark_refused &&
      shared_generator->mark_lsn <= redo) {
    state.renewing = true;
    mark = state.mark_millis;
    machine_id = IssuingMachineIdLocked().machine_id;
  }
  LWLockRelease(generator_lock);
  if (mark >= 0) (void)RenewMark(mark, machine_id, MarkCopies::kWalAgain);
}

}  // namespace
}  // namespace snowflake

extern "C" {

PGDLLEXPORT void snowflake_mark_keeper_main(Datum);

/*
 * The mark keeper (background worker "snowflake mark keeper"): every 100 ms, logs the mark again when
 * the last checkpoint began after its WAL record. Takes the generator's LWLock only then. Exits on
 * SIGTERM; the postmaster restarts it after a crash.
 */
void snowflake_mark_keeper_main(Datum) {
  pqsignal(SIGTERM, die);
  BackgroundWorkerUnblockSignals();
  for (;;) {
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, snowflake::kKeeperIntervalMs,
                    PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
    CHECK_FOR_INTERRUPTS();
    if (snowflake::shared_generator != nullptr) snowflake::LogMarkAgainIfStale();
  }
}

}  // extern "C"
