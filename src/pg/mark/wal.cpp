// The durable mark in the WAL: every mark also goes into a WAL record of our own resource manager, so that
// whatever replays the WAL (a standby, crash recovery, archive and point-in-time recovery) raises its
// generator to the highest mark the primary had reached by the point it replayed to.
#include <cerrno>
#include <cstring>

#include "mark.hpp"

namespace snowflake {
namespace {

// RM_EXPERIMENTAL_ID (128), the id PostgreSQL sets aside for extensions in development, until one is
// reserved on https://wiki.postgresql.org/wiki/CustomWALResourceManagers
// (docs/durability.md, section "The identifier: 128 for now").
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

XLogRecPtr LogMark(int64 mark, int32 machine_id, bool unimportant) {
  if (!XLogInsertAllowed()) return InvalidXLogRecPtr;
  MarkRecord record{};
  record.mark_millis = mark;
  record.machine_id = machine_id;
  XLogBeginInsert();
  XLogRegisterData(reinterpret_cast<char*>(&record), sizeof(record));
  if (unimportant) XLogSetRecordFlags(XLOG_MARK_UNIMPORTANT);
  const XLogRecPtr end = XLogInsert(kResourceManagerId, kInfoMark);
  // Durable before any ID under the mark is issued, as the mark file is: an ID returned by a SELECT has
  // no commit record that would flush it.
  XLogFlush(end);
  return end;
}

}  // namespace snowflake
