// The durable mark in the WAL: every mark also goes into a WAL record of our own resource manager, so that
// whatever replays the WAL (a standby, crash recovery, archive and point-in-time recovery) raises its
// generator to the highest mark the primary had reached by the point it replayed to.
#include "wal_mark.hpp"

#include <cerrno>
#include <cstring>

#include "shared.hpp"

namespace snowflake {
namespace {

// RM_EXPERIMENTAL_ID (128), the id PostgreSQL sets aside for extensions in development, until one is
// reserved on https://wiki.postgresql.org/wiki/CustomWALResourceManagers (README, "The mark in the WAL").
// Once records are written the id cannot change without breaking the replay of that WAL.
constexpr RmgrId kResourceManagerId = RM_EXPERIMENTAL_ID;
constexpr const char* kResourceManagerName = "snowflake";
constexpr uint8 kInfoMark = 0x00;  // the one record type; a new layout gets a new info code

// The record: fixed size, no pointers.
struct MarkRecord {
  int64 mark_millis;  // no ID at or below it may be issued again with this machine id
  int32 machine_id;   // the primary's, for pg_walinspect and the log; replay applies the mark whatever it is
};

bool ReadRecord(XLogReaderState* record, MarkRecord* out) {
  if ((XLogRecGetInfo(record) & ~XLR_INFO_MASK) != kInfoMark || XLogRecGetDataLen(record) != sizeof(MarkRecord))
    return false;
  memcpy(out, XLogRecGetData(record), sizeof(MarkRecord));
  return true;
}

// Runs in the startup process for every mark record replayed. Raises the shared generator, so that a
// promoted standby or a recovered server issues only IDs above it, and writes the mark file, so that a
// standby restarted before its promotion keeps what it replayed before its last restartpoint.
void MarkRedo(XLogReaderState* record) {
  MarkRecord mark;
  if (!ReadRecord(record, &mark))
    elog(PANIC, "snowflake_redo: unknown record (info %u, %u bytes)", XLogRecGetInfo(record) & ~XLR_INFO_MASK,
         XLogRecGetDataLen(record));
  if (shared_generator == nullptr) return;  // binary-upgrade mode: no generator, no IDs to bound
  LWLockAcquire(generator_lock, LW_EXCLUSIVE);
  GeneratorState& state = shared_generator->state;
  // The file mirrors mark_millis (a clean shutdown checks that it still does).
  const bool raised = mark.mark_millis > state.mark_millis;
  RaiseMark(state, mark.mark_millis);
  const bool keep_file = shared_generator->mark_refused;  // an operator's to look at: never overwritten
  LWLockRelease(generator_lock);
  if (!raised || keep_file) return;
  if (const int error = WriteMarkFile(mark.mark_millis)) {
    // Replay goes on: the generator holds the mark, and a standby restarted replays it again from its
    // restartpoint if the record is after it.
    errno = error;
    ereport(WARNING, (errmsg("snowflake: could not write the replayed durable mark \"%s\": %m", kMarkPath)));
  }
}

void MarkDesc(StringInfo buf, XLogReaderState* record) {
  MarkRecord mark;
  if (ReadRecord(record, &mark))
    appendStringInfo(buf, "mark %lld ms after 2024-01-01 UTC; machine_id %d", (long long)mark.mark_millis,
                     mark.machine_id);
}

const char* MarkIdentify(uint8 info) { return (info & ~XLR_INFO_MASK) == kInfoMark ? "MARK" : nullptr; }

RmgrData MarkResourceManager() {
  RmgrData data{};
  data.rm_name = kResourceManagerName;
  data.rm_redo = MarkRedo;
  data.rm_desc = MarkDesc;
  data.rm_identify = MarkIdentify;
  return data;
}

}  // namespace

void RegisterMarkResourceManager() {
  // PostgreSQL keeps the pointer: the table must outlive the call (non-const: PostgreSQL 15's signature).
  static RmgrData resource_manager = MarkResourceManager();
  RegisterCustomRmgr(kResourceManagerId, &resource_manager);
}

XLogRecPtr LogMark(int64 mark, bool unimportant) {
  if (!XLogInsertAllowed()) return InvalidXLogRecPtr;
  MarkRecord record{};
  record.mark_millis = mark;
  record.machine_id = machine_id_setting;
  XLogBeginInsert();
  XLogRegisterData(reinterpret_cast<char*>(&record), sizeof(record));
  if (unimportant) XLogSetRecordFlags(XLOG_MARK_UNIMPORTANT);
  const XLogRecPtr end = XLogInsert(kResourceManagerId, kInfoMark);
  // Durable before any ID under the mark is issued, as the mark file is: an ID returned by a SELECT has
  // no commit record that would flush it.
  XLogFlush(end);
  return end;
}

namespace {

constexpr long kKeeperIntervalMs = 100;

// The mark keeper's one step: if the last checkpoint began after the current mark's record, log the mark
// again, so that crash recovery, which replays from that checkpoint, still finds it though no ID follows.
// The same protocol as a renewal by snowflake_next(): `renewing` under the lock, the WAL without it.
void LogMarkAgainIfStale() {
  const XLogRecPtr redo = GetRedoRecPtr();
  // A torn read of mark_lsn is harmless: it only decides whether to look under the lock.
  if (shared_generator->mark_lsn > redo) return;
  int64 mark = -1;
  LWLockAcquire(generator_lock, LW_EXCLUSIVE);
  GeneratorState& state = shared_generator->state;
  if (!state.renewing && state.mark_millis >= 0 && !shared_generator->mark_refused &&
      shared_generator->mark_lsn <= redo) {
    state.renewing = true;
    mark = state.mark_millis;
  }
  LWLockRelease(generator_lock);
  if (mark < 0) return;
  HOLD_INTERRUPTS();  // as in snowflake_next(): no exit between `renewing` and its outcome
  volatile XLogRecPtr logged = InvalidXLogRecPtr;
  PG_TRY();
  {
    // Unimportant: else an idle server would checkpoint again for it, and log it again, forever.
    logged = LogMark(mark, true);
  }
  PG_CATCH();
  {
    LWLockAcquire(generator_lock, LW_EXCLUSIVE);
    MarkFailed(shared_generator->state);
    LWLockRelease(generator_lock);
    PG_RE_THROW();
  }
  PG_END_TRY();
  LWLockAcquire(generator_lock, LW_EXCLUSIVE);
  if (logged != InvalidXLogRecPtr) {
    MarkWritten(shared_generator->state, mark);  // the file already holds it: it is only logged again
    if (logged > shared_generator->mark_lsn) shared_generator->mark_lsn = logged;
  } else {
    MarkFailed(shared_generator->state);
  }
  LWLockRelease(generator_lock);
  RESUME_INTERRUPTS();
}

}  // namespace

void RegisterMarkKeeper() {
  BackgroundWorker worker{};
  worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
  worker.bgw_start_time = BgWorkerStart_RecoveryFinished;  // no WAL may be written before
  worker.bgw_restart_time = 1;
  strlcpy(worker.bgw_library_name, "snowflake", sizeof(worker.bgw_library_name));
  strlcpy(worker.bgw_function_name, "snowflake_mark_keeper_main", sizeof(worker.bgw_function_name));
  strlcpy(worker.bgw_name, "snowflake mark keeper", sizeof(worker.bgw_name));
  strlcpy(worker.bgw_type, "snowflake mark keeper", sizeof(worker.bgw_type));
  RegisterBackgroundWorker(&worker);
}

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
