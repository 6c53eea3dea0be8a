// The generator's shared memory: one struct per server, made by the postmaster, and its LWLock.
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

// One per server; plain data with no pointers, since each process maps it at its own address.
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

// Both null unless the library was loaded by shared_preload_libraries; set in every backend by fork.
extern SharedGenerator* shared_generator;
extern LWLock* generator_lock;

// From _PG_init: asks the postmaster for the memory and the lock, and sets them up (the mark
// included) once it has them, at start and after every crash reinitialisation.
void RequestSharedMemory();

// The generator exists only when the postmaster loaded the library (and not in binary-upgrade
// mode): raises 55000 otherwise, naming `function`.
void RequirePreloaded(const char* function);

}  // namespace snowflake
