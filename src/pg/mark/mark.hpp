// The durable mark in the server: read at start-up, renewed while IDs are issued, recorded at
// shutdown, and kept twice, in a file (src/core/mark_file.hpp) and in the WAL.
#pragma once

#include "../shmem.hpp"

namespace snowflake {

// durable.cpp

// From the shared-memory start-up: restores the generator from the mark file, or refuses to
// issue (mark_refused) when the file cannot be a floor: an operator decides then (SF004, SF005).
void LoadMark(SharedGenerator* shared);

// on_shmem_exit callback of the postmaster: a clean shutdown records the last millisecond used.
void SaveMarkAtShutdown(int code, Datum);

enum class MarkCopies {
  kFileAndWal,  // a new mark: the file and a WAL record
  kWalAgain,    // the mark the file already holds, logged again (the keeper, after a checkpoint)
};

// The one renewal sequence, for a mark a Step (or the keeper) claimed by setting `renewing` under
// generator_lock: writes `mark` without the lock, then records the outcome under it (MarkWritten
// or MarkFailed). Returns 0 or errno (EROFS: recovery began, no WAL may be written). An ERROR
// raised by the WAL is recorded as a failure and propagates. `machine_id` goes into the record.
int RenewMark(int64 mark, int32 machine_id, MarkCopies copies);

// wal.cpp

// From _PG_init while shared_preload_libraries loads: PostgreSQL accepts a resource manager only
// then, and replay needs it whatever the machine id or mode.
void RegisterMarkResourceManager();

// Logs `mark` and flushes it; returns the end of the record, or InvalidXLogRecPtr when this process
// may not write WAL (recovery). Never under generator_lock. `unimportant`: a record that alone must
// not make an idle server checkpoint again.
XLogRecPtr LogMark(int64 mark, int32 machine_id, bool unimportant);

}  // namespace snowflake
