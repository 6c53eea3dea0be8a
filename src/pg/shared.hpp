// The server-wide generator in shared memory and the settings, as the SQL functions see them.
#pragma once

#include "postgres.hpp"

namespace snowflake {

// One per server, made by the postmaster; plain data (see GeneratorState).
struct SharedGenerator {
  GeneratorState state;                // under generator_lock
  XLogRecPtr mark_lsn;                 // under generator_lock: end of the WAL record of a mark >= state's; 0: none
  MarkReadResult mark_read;            // what start-up (or crash reinitialisation) found at kMarkPath
  MarkCheck mark_check;                // for a mark found: whether it may be restored
  int64 clock_at_start;                // the wall clock when the mark was checked
  bool mark_refused;                   // no mark that can be restored (SF004, SF005): issue nothing
  pg_atomic_uint64 stall_errors;       // counted outside the lock
  pg_atomic_uint64 mark_write_errors;  // counted outside the lock
};

// Settings: snowflake.machine_id (kMachineIdUnset until set), snowflake.max_wait_ms,
// snowflake.rollback_tolerance_ms.
extern int machine_id_setting;  // read from the text of the setting by ParseMachineIdSetting
extern int max_wait_ms_setting;
extern int rollback_tolerance_ms_setting;

// Both null unless the library was loaded by shared_preload_libraries; set in every backend by fork.
extern SharedGenerator* shared_generator;
extern LWLock* generator_lock;

// A millisecond since 2024-01-01Z as a timestamptz; infinity past timestamptz's range (a mark
// edited by hand can be), never an overflow.
TimestampTz MillisToTimestamp(int64 millis);

}  // namespace snowflake
