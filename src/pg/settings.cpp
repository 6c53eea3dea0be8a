// The snowflake.* settings, and the one answer to "which machine id does this server issue with?".
#include "settings.hpp"

#include <cstdlib>

#include "shmem.hpp"

namespace snowflake {

int machine_id_setting = kMachineIdUnset;
int max_wait_ms_setting = kDefaultMaxWaitMs;
int rollback_tolerance_ms_setting = kDefaultRollbackToleranceMs;
char* lease_conninfo_setting = nullptr;
int lease_duration_ms_setting = kDefaultIdLeaseDurationMs;
int lease_first_id = -1;
int lease_last_id = -1;

bool LeaseMode() { return lease_conninfo_setting != nullptr && lease_conninfo_setting[0] != '\0'; }

namespace {

constexpr const char* kMachineIdName = "snowflake.machine_id";
constexpr const char* kMachineIdRule =
    "%s must be a plain decimal integer from 0 to %d, without sign, leading zero, space, fraction or unit "
    "(or -1: unset).";

// The texts of the string settings; PostgreSQL owns them. Their values are read once, by the check
// hooks, and handed to the assign hooks as `extra`.
char* machine_id_text = nullptr;
char* lease_machine_ids_text = nullptr;

// What the check hook of snowflake.lease_machine_ids read: any text passes the hook, since outside
// lease mode the setting means nothing; RefuseInvalidLeaseSettings refuses a bad range in lease mode.
struct MachineIdRange {
  bool valid;
  int32 first;
  int32 last;
};

// A check hook's `extra`: PostgreSQL frees it with free() up to 15 and from its own memory context
// from 16 on, and each wants it allocated to match.
void* GucExtra(size_t size) {
#if PG_VERSION_NUM >= 160000
  return guc_malloc(LOG, size);
#else
  return malloc(size);
#endif
}

}  // namespace
}  // namespace snowflake

extern "C" {

// GUC check hook of snowflake.machine_id. The setting is a string so that the hook sees the text
// as written: an integer setting's hook gets the number PostgreSQL already read ("010" as 8, "1.5"
// as 2), too late to tell. So ALTER SYSTEM refuses a bad value at once, not at the next restart.
static bool snowflake_check_machine_id(char** newval, void** extra, GucSource) {
  using namespace snowflake;
  int32_t machine_id = kMachineIdUnset;
  if (!ParseMachineIdSetting(*newval, &machine_id)) {
    GUC_check_errdetail(kMachineIdRule, kMachineIdName, kMaxMachineId);
    return false;
  }
  auto* parsed = static_cast<int32*>(GucExtra(sizeof(int32)));
  if (parsed == nullptr) return false;
  *parsed = machine_id;
  *extra = parsed;
  return true;
}

static void snowflake_assign_machine_id(const char*, void* extra) {
  snowflake::machine_id_setting = extra != nullptr ? *static_cast<int32*>(extra) : snowflake::kMachineIdUnset;
}

static bool snowflake_check_lease_machine_ids(char** newval, void** extra, GucSource) {
  using namespace snowflake;
  auto* range = static_cast<MachineIdRange*>(GucExtra(sizeof(MachineIdRange)));
  if (range == nullptr) return false;
  range->valid = ParseMachineIdRangeSetting(*newval, &range->first, &range->last);
  *extra = range;
  return true;
}

static void snowflake_assign_lease_machine_ids(const char*, void* extra) {
  using namespace snowflake;
  const auto* range = static_cast<const MachineIdRange*>(extra);
  const bool valid = range != nullptr && range->valid;
  lease_first_id = valid ? range->first : -1;
  lease_last_id = valid ? range->last : -1;
}

}  // extern "C"

namespace snowflake {

// PostgreSQL only warns about a bad value of an extension's setting and then uses the default; an
// ID generator running with a machine id nobody chose could collide, so a bad value stops start-up.
// Read from the placeholder, which still holds the text as written (file, -c or ALTER SYSTEM).
void RefuseInvalidMachineId() {
  const char* raw = GetConfigOption(kMachineIdName, true, false);
  int32_t machine_id = kMachineIdUnset;
  if (raw == nullptr || ParseMachineIdSetting(raw, &machine_id)) return;
  ereport(FATAL, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                  errmsg("invalid value for parameter \"%s\": \"%s\"", kMachineIdName, raw),
                  errdetail(kMachineIdRule, kMachineIdName, kMaxMachineId),
                  errhint("Give this server a machine id no other server writing the same data uses, "
                          "in postgresql.conf or with -c %s=N.",
                          kMachineIdName)));
}

void DefineSettings() {
  DefineCustomStringVariable(
      kMachineIdName, "Machine id written into every snowflake ID this server issues.",
      "A plain decimal integer from 0 to 1023, unique among the servers whose IDs meet; -1 (the default) means "
      "unset, and snowflake_next() then fails.",
      &machine_id_text, "-1", PGC_POSTMASTER, 0, snowflake_check_machine_id, snowflake_assign_machine_id, nullptr);
  DefineCustomIntVariable(
      "snowflake.max_wait_ms", "Longest a snowflake_next() call waits for the clock before failing.",
      "Bounds the wait for the next millisecond when 4096 IDs are used, for a clock within the rollback "
      "tolerance, and for a clock behind the durable mark after a restart or promotion, so a stalled clock never "
      "hangs a session.",
      &max_wait_ms_setting, kDefaultMaxWaitMs, kMinMaxWaitMs, kMaxMaxWaitMs, PGC_USERSET, GUC_UNIT_MS, nullptr, nullptr,
      nullptr);
  DefineCustomIntVariable(
      "snowflake.rollback_tolerance_ms", "Backward clock steps up to this are waited out instead of failing.",
      "0 (the default): any backward step fails at once with SQLSTATE SF001. The wait is also bounded by "
      "snowflake.max_wait_ms.",
      &rollback_tolerance_ms_setting, kDefaultRollbackToleranceMs, 0, kMaxRollbackToleranceMs, PGC_SIGHUP, GUC_UNIT_MS,
      nullptr, nullptr, nullptr);
  DefineCustomStringVariable(
      "snowflake.lease_conninfo", "Coordination database this server leases its machine id from; empty: off.",
      "A libpq connection string. When set, snowflake.machine_id must be unset and snowflake.lease_machine_ids set.",
      &lease_conninfo_setting, "", PGC_POSTMASTER, GUC_SUPERUSER_ONLY, nullptr, nullptr, nullptr);
  DefineCustomStringVariable("snowflake.lease_machine_ids", "Range of machine ids this server may lease, e.g. 100-199.",
                             nullptr, &lease_machine_ids_text, "", PGC_POSTMASTER, 0, snowflake_check_lease_machine_ids,
                             snowflake_assign_lease_machine_ids, nullptr);
  DefineCustomIntVariable(
      "snowflake.lease_duration_ms", "How far ahead of this server's clock a machine-id lease reaches.",
      "Renewed when two thirds of it are left. Without the coordination database, IDs are issued for up to "
      "this long; a server killed without releasing its lease gets its id back only past the old lease's end.",
      &lease_duration_ms_setting, kDefaultIdLeaseDurationMs, kMinIdLeaseDurationMs, kMaxIdLeaseDurationMs,
      PGC_POSTMASTER, GUC_UNIT_MS, nullptr, nullptr, nullptr);
  MarkGUCPrefixReserved("snowflake");
}

// Lease mode needs a range, and excludes a static machine id: one server, one source of its id.
void RefuseInvalidLeaseSettings() {
  if (!LeaseMode()) return;
  if (machine_id_setting != kMachineIdUnset)
    ereport(FATAL, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("snowflake.machine_id and snowflake.lease_conninfo are both set"),
                    errdetail("A server takes its machine id either from snowflake.machine_id or from a lease, "
                              "never both."),
                    errhint("Remove one of them and start the server again.")));
  if (lease_first_id < 0)
    ereport(FATAL, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("invalid value for parameter \"snowflake.lease_machine_ids\": \"%s\"",
                           lease_machine_ids_text != nullptr ? lease_machine_ids_text : ""),
                    errdetail("With snowflake.lease_conninfo set, snowflake.lease_machine_ids must be the range of "
                              "machine ids this server may lease, such as 100-199 (0 to %d).",
                              kMaxMachineId)));
}

MachineIdSource ConfiguredMachineIdSource() {
  if (LeaseMode()) return MachineIdSource::kLease;
  return machine_id_setting == kMachineIdUnset ? MachineIdSource::kNone : MachineIdSource::kSetting;
}

IssuingMachineId IssuingMachineIdLocked() {
  const MachineIdSource source = ConfiguredMachineIdSource();
  if (source != MachineIdSource::kLease) return IssuingMachineId{source, machine_id_setting, kUnleased};
  if (shared_generator == nullptr || shared_generator->lease.state != LeaseState::kHeld)
    return IssuingMachineId{MachineIdSource::kLease, kMachineIdUnset, kUnleased};
  const SharedLease& lease = shared_generator->lease;
  return IssuingMachineId{MachineIdSource::kLease, lease.machine_id, lease.bound};
}

const char* MachineIdSourceName(MachineIdSource source) {
  switch (source) {
    case MachineIdSource::kSetting:
      return "setting";
    case MachineIdSource::kLease:
      return "lease";
    case MachineIdSource::kNone:
      break;
  }
  return nullptr;
}

}  // namespace snowflake
