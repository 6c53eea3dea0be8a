// The server-wide generator in shared memory and the settings, as the SQL functions see them.
#pragma once

#include "postgres.hpp"

namespace snowflake {

// One per server, made by the postmaster; plain data (see GeneratorState).
struct SharedGenerator {
  GeneratorState state;                // under generator_lock
  XLogRecPtr mark_lsn;                 // under generator_lock: end of the WAL record of a mark >= state's; 0: none
  bool mark_unreadable;                // the mark file exists but could not be read: issue nothing
  int mark_read_error;                 // its errno, 0 for contents that are no mark
  pg_atomic_uint64 stall_errors;       // counted outside the lock
  pg_atomic_uint64 mark_write_errors;  // counted outside the lock
};

constexpr int kMachineIdUnset = -1;
constexpr int kDefaultMaxWaitMs = 2000;
constexpr int kDefaultRollbackToleranceMs = 0;
constexpr int64 kLeaseMillis = 1000;  // how far ahead of the clock a durable mark is set

// Settings: snowflake.machine_id (kMachineIdUnset until set), snowflake.max_wait_ms,
// snowflake.rollback_tolerance_ms.
extern int machine_id_setting;
extern int max_wait_ms_setting;
extern int rollback_tolerance_ms_setting;

// Both null unless the library was loaded by shared_preload_libraries; set in every backend by fork.
extern SharedGenerator* shared_generator;
extern LWLock* generator_lock;

}  // namespace snowflake
