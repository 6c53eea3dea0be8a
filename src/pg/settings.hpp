// The snowflake.* settings, and the one answer to "which machine id does this server issue with?".
#pragma once

#include "postgres.hpp"

namespace snowflake {

// The settings' values, kept current by PostgreSQL (string settings as their checked, parsed value).
extern int machine_id_setting;  // snowflake.machine_id; kMachineIdUnset until set
extern int max_wait_ms_setting;
extern int rollback_tolerance_ms_setting;
extern char* lease_conninfo_setting;  // lease mode when not empty
extern int lease_duration_ms_setting;
extern int lease_first_id;  // snowflake.lease_machine_ids; -1 unless it is a valid range
extern int lease_last_id;

// snowflake.lease_conninfo is set: the machine id comes from a lease, not from snowflake.machine_id.
bool LeaseMode();

// From _PG_init, in this order: refuse a bad snowflake.machine_id (before it is defined: PostgreSQL
// would only warn and use the default), define every setting, then refuse a lease mode without a
// range or with a static machine id too. The refusals stop the server (FATAL).
void RefuseInvalidMachineId();
void DefineSettings();
void RefuseInvalidLeaseSettings();

enum class MachineIdSource {
  kNone,     // snowflake.machine_id unset, no lease mode: no IDs
  kSetting,  // snowflake.machine_id
  kLease,    // lease mode: the id leased now, if any
};

// The machine id this server issues IDs with now, where it came from, and the milliseconds its IDs
// may carry (kUnleased unless leased).
struct IssuingMachineId {
  MachineIdSource source;
  int32 machine_id;  // kMachineIdUnset when there is none (unset, or no lease held)
  IdLeaseBound bound;
};

// Where this server's machine id comes from: the settings alone decide, so no lock is needed.
MachineIdSource ConfiguredMachineIdSource();

// Every reader of "this server's machine id" asks here. In lease mode it reads the shared lease:
// the caller holds generator_lock (shared or exclusive).
IssuingMachineId IssuingMachineIdLocked();

// "setting", "lease", or nullptr (kNone), as snowflake_status() reports it.
const char* MachineIdSourceName(MachineIdSource source);

}  // namespace snowflake
