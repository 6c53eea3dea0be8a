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
  int32 machine_id;         // -1 unless kHeld
  int32 last_machine_id;    // the machine id of the last ID issued; -1 before any
  LeaseBound bound;         // kHeld: IDs of machine_id carry a millisecond inside it
  TimestampTz claimed_at;   // this server's clock at the claim's answer; 0: none
  TimestampTz renewed_at;   // ... at the last claim's or renewal's answer
  bool renewal_failing;     // the last renewal attempt failed (detail says why)
  char detail[256];         // why there is no lease, or why the last renewal failed
};

// One per server, made by the postmaster; plain data (see GeneratorState).
struct SharedGenerator {
  GeneratorState state;                // under generator_lock
  SharedLease lease;                   // under generator_lock; used only in lease mode
  bool mark_unreadable;                // the mark file exists but could not be read: issue nothing
  int mark_read_error;                 // its errno, 0 for contents that are no mark
  pg_atomic_uint64 stall_errors;       // counted outside the lock
  pg_atomic_uint64 mark_write_errors;  // counted outside the lock
};

constexpr int kMachineIdUnset = -1;
constexpr int kDefaultMaxWaitMs = 2000;
constexpr int kDefaultRollbackToleranceMs = 0;
constexpr int64 kLeaseMillis = 1000;  // how far ahead of the clock a durable mark is set

constexpr int kDefaultLeaseDurationMs = 30000;

// Settings: snowflake.machine_id (kMachineIdUnset until set), snowflake.max_wait_ms,
// snowflake.rollback_tolerance_ms; the lease settings (lease mode: lease_conninfo not empty).
extern int machine_id_setting;
extern int max_wait_ms_setting;
extern int rollback_tolerance_ms_setting;
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

}  // namespace snowflake
