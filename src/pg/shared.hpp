// The server-wide generator in shared memory and the settings, as the SQL functions see them.
#pragma once

#include "postgres.hpp"

namespace snowflake {

// Where the machine id of a server in lease mode stands (snowflake.lease_conninfo set).
enum class LeaseState : int32 {
  kClaiming,   // no lease yet: the worker is claiming one
  kHeld,       // machine_id is leased; IDs inside bound
  kLost,       // the lease was taken over or released: nothing issued until another is claimed
  kExhausted,  // no free id in snowflake.lease_machine_ids
};

// The lease as the worker last had it confirmed by the coordination database; under generator_lock.
struct SharedLease {
  LeaseState state;
  int32 machine_id;        // -1 unless kHeld
  int32 last_machine_id;   // the machine id last published; -1 before any
  IdLeaseBound bound;      // kHeld: IDs of machine_id carry a millisecond inside it
  TimestampTz claimed_at;  // this server's clock at the claim's answer; 0: none
  TimestampTz renewed_at;  // ... at the last claim's or renewal's answer
  bool renewal_failing;    // the last renewal attempt failed (detail says why)
  char detail[256];        // why there is no lease, or why the last renewal failed
};

// One per server, made by the postmaster; plain data (see GeneratorState).
struct SharedGenerator {
  GeneratorState state;                // under generator_lock
  SharedLease lease;                   // under generator_lock; used only in lease mode
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
// The lease settings (lease mode: snowflake.lease_conninfo not empty).
extern char* lease_conninfo_setting;
extern char* lease_machine_ids_setting;
extern int lease_duration_ms_setting;
extern int lease_first_id;  // snowflake.lease_machine_ids, parsed at start-up
extern int lease_last_id;
bool LeaseMode();

// Lease mode (lease_worker.cpp): this run's identity at the coordination database, chosen in _PG_init.
void ChooseLeaseIncarnation();

// Both null unless the library was loaded by shared_preload_libraries; set in every backend by fork.
extern SharedGenerator* shared_generator;
extern LWLock* generator_lock;

// A millisecond since 2024-01-01Z as a timestamptz; infinity past timestamptz's range (a mark
// edited by hand can be), never an overflow.
TimestampTz MillisToTimestamp(int64 millis);

}  // namespace snowflake
