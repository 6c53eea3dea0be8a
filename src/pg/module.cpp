// Module start-up: the settings, the generator's shared memory and lock, and the lease worker.
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "mark_file.hpp"
#include "shared.hpp"

namespace snowflake {

int machine_id_setting = kMachineIdUnset;
int max_wait_ms_setting = kDefaultMaxWaitMs;
int rollback_tolerance_ms_setting = kDefaultRollbackToleranceMs;
char* lease_conninfo_setting = nullptr;
char* lease_machine_ids_setting = nullptr;
int lease_duration_ms_setting = kDefaultLeaseDurationMs;
int lease_first_id = -1;
int lease_last_id = -1;
SharedGenerator* shared_generator = nullptr;
LWLock* generator_lock = nullptr;

bool LeaseMode() { return lease_conninfo_setting != nullptr && lease_conninfo_setting[0] != '\0'; }

namespace {

constexpr const char* kMachineIdName = "snowflake.machine_id";
constexpr const char* kTrancheName = "snowflake";

shmem_request_hook_type previous_shmem_request_hook = nullptr;
shmem_startup_hook_type previous_shmem_startup_hook = nullptr;

// PostgreSQL only warns about a bad value of an extension's setting and then uses the default; an
// ID generator running with a machine id nobody chose could collide, so a bad value stops start-up.
void RefuseInvalidMachineId() {
  const char* raw = GetConfigOption(kMachineIdName, true, false);
  if (raw == nullptr) return;
  // Stricter than PostgreSQL's parse_int, which would round "1.5" to 2: only a whole decimal number.
  char* end = nullptr;
  errno = 0;
  const long value = strtol(raw, &end, 10);
  while (end != raw && isspace(static_cast<unsigned char>(*end))) ++end;
  const bool whole_number = end != raw && *end == '\0' && errno == 0;
  if (whole_number && (value == kMachineIdUnset || ValidMachineId(value))) return;
  ereport(FATAL, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                  errmsg("invalid value for parameter \"%s\": \"%s\"", kMachineIdName, raw),
                  errdetail("%s must be an integer from 0 to %d.", kMachineIdName, kMaxMachineId),
                  errhint("Give this server a machine id no other server writing the same data uses, "
                          "in postgresql.conf or with -c %s=N.",
                          kMachineIdName)));
}

// "100-199" or "7": a range of machine ids, else false.
bool ParseMachineIdRange(const char* text, int* first, int* last) {
  char* end = nullptr;
  errno = 0;
  const long low = strtol(text, &end, 10);
  if (end == text || errno != 0) return false;
  long high = low;
  while (isspace(static_cast<unsigned char>(*end))) ++end;
  if (*end == '-') {
    const char* rest = end + 1;
    high = strtol(rest, &end, 10);
    if (end == rest || errno != 0) return false;
    while (isspace(static_cast<unsigned char>(*end))) ++end;
  }
  if (*end != '\0' || !ValidMachineId(low) || !ValidMachineId(high) || low > high) return false;
  *first = static_cast<int>(low);
  *last = static_cast<int>(high);
  return true;
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
  const char* range = lease_machine_ids_setting != nullptr ? lease_machine_ids_setting : "";
  if (!ParseMachineIdRange(range, &lease_first_id, &lease_last_id))
    ereport(FATAL, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("invalid value for parameter \"snowflake.lease_machine_ids\": \"%s\"", range),
                    errdetail("With snowflake.lease_conninfo set, snowflake.lease_machine_ids must be the range of "
                              "machine ids this server may lease, such as 100-199 (0 to %d).",
                              kMaxMachineId)));
}

void RegisterLeaseWorker() {
  BackgroundWorker worker;
  memset(&worker, 0, sizeof(worker));
  worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
  // A standby issues no IDs and needs no lease; a promoted one claims its own.
  worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
  worker.bgw_restart_time = 1;
  strlcpy(worker.bgw_library_name, "snowflake", BGW_MAXLEN);
  strlcpy(worker.bgw_function_name, "snowflake_lease_worker", BGW_MAXLEN);
  strlcpy(worker.bgw_name, "snowflake lease worker", BGW_MAXLEN);
  strlcpy(worker.bgw_type, "snowflake lease worker", BGW_MAXLEN);
  RegisterBackgroundWorker(&worker);
}

void ShmemRequest() {
  if (previous_shmem_request_hook) previous_shmem_request_hook();
  RequestAddinShmemSpace(sizeof(SharedGenerator));
  RequestNamedLWLockTranche(kTrancheName, 1);
}

// Starts the generator from the durable mark, which bounds every ID issued before a restart or crash.
void LoadMark(SharedGenerator* shared) {
  int64 mark = -1;
  int error = 0;
  switch (ReadMarkFile(&mark, &error)) {
    case MarkRead::kFound:
      ereport(LOG, (errmsg("snowflake: resuming above the durable mark %lld ms", (long long)mark)));
      break;
    case MarkRead::kMissing:
      break;
    case MarkRead::kUnreadable:
      shared->mark_unreadable = true;
      shared->mark_read_error = error;
      const char* reason = error != 0 ? strerror(error) : "not a mark";
      ereport(WARNING, (errmsg("snowflake: could not read the durable mark \"%s\": %s: snowflake_next() will fail",
                               kMarkPath, reason)));
      break;
  }
  shared->state = Restore(mark);
}

// A clean shutdown records the exact last millisecond, so the next start need not wait out a lease.
// After a crash (code != 0) the state may be mid-step: the mark on disk stays the bound.
void ShmemShutdown(int code, Datum) {
  if (code != 0 || shared_generator == nullptr || shared_generator->mark_unreadable) return;
  const GeneratorState& state = shared_generator->state;
  if (state.last_millis < 0 || state.last_millis >= state.mark_millis) return;
  if (const int error = WriteMarkFile(state.last_millis)) {
    errno = error;
    ereport(LOG, (errmsg("snowflake: could not record the last millisecond at shutdown: %m")));
  }
}

// Runs in the postmaster at start and again after every crash reinitialisation.
void ShmemStartup() {
  if (previous_shmem_startup_hook) previous_shmem_startup_hook();
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  bool found = false;
  shared_generator = static_cast<SharedGenerator*>(ShmemInitStruct(kTrancheName, sizeof(SharedGenerator), &found));
  if (!found) {
    shared_generator->mark_unreadable = false;
    shared_generator->mark_read_error = 0;
    pg_atomic_init_u64(&shared_generator->stall_errors, 0);
    pg_atomic_init_u64(&shared_generator->mark_write_errors, 0);
    memset(&shared_generator->lease, 0, sizeof(SharedLease));
    shared_generator->lease.state = LeaseState::kClaiming;
    shared_generator->lease.machine_id = -1;
    shared_generator->lease.last_machine_id = -1;
    shared_generator->lease.bound = LeaseBound{-1, -1};
    LoadMark(shared_generator);
  }
  generator_lock = &GetNamedLWLockTranche(kTrancheName)->lock;
  LWLockRelease(AddinShmemInitLock);
  if (!IsUnderPostmaster) on_shmem_exit(ShmemShutdown, 0);
}

}  // namespace
}  // namespace snowflake

extern "C" {

PG_MODULE_MAGIC;

void _PG_init(void);

void _PG_init(void) {
  using namespace snowflake;
  // A PGC_POSTMASTER setting can only be defined at server start; loaded later (CREATE EXTENSION
  // alone), decode and compose work and snowflake_next() explains what is missing.
  if (!process_shared_preload_libraries_in_progress) return;
  RefuseInvalidMachineId();

  DefineCustomIntVariable(
      kMachineIdName, "Machine id written into every snowflake ID this server issues.",
      "An integer from 0 to 1023, unique among the servers whose IDs meet; -1 (the default) means unset, "
      "and snowflake_next() then fails.",
      &machine_id_setting, kMachineIdUnset, kMachineIdUnset, kMaxMachineId, PGC_POSTMASTER, 0, nullptr, nullptr,
      nullptr);
  DefineCustomIntVariable(
      "snowflake.max_wait_ms", "Longest a snowflake_next() call waits for the clock before failing.",
      "Bounds the wait for the next millisecond when 4096 IDs are used, for a clock within the rollback "
      "tolerance, and for the lease after a restart, so a stalled clock never hangs a session.",
      &max_wait_ms_setting, kDefaultMaxWaitMs, 1, 60000, PGC_USERSET, GUC_UNIT_MS, nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "snowflake.rollback_tolerance_ms", "Backward clock steps up to this are waited out instead of failing.",
      "0 (the default): any backward step fails at once with SQLSTATE SF001. The wait is also bounded by "
      "snowflake.max_wait_ms.",
      &rollback_tolerance_ms_setting, kDefaultRollbackToleranceMs, 0, 60000, PGC_SIGHUP, GUC_UNIT_MS, nullptr, nullptr,
      nullptr);
  DefineCustomStringVariable(
      "snowflake.lease_conninfo", "Coordination database this server leases its machine id from; empty: off.",
      "A libpq connection string. When set, snowflake.machine_id must be unset and snowflake.lease_machine_ids set.",
      &lease_conninfo_setting, "", PGC_POSTMASTER, GUC_SUPERUSER_ONLY, nullptr, nullptr, nullptr);
  DefineCustomStringVariable("snowflake.lease_machine_ids", "Range of machine ids this server may lease, e.g. 100-199.",
                             nullptr, &lease_machine_ids_setting, "", PGC_POSTMASTER, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "snowflake.lease_duration_ms", "How far ahead of this server's clock a machine-id lease reaches.",
      "Renewed when two thirds of it are left. Without the coordination database, IDs are issued for up to "
      "this long; a server killed without releasing its lease gets its id back only past the old lease's end.",
      &lease_duration_ms_setting, kDefaultLeaseDurationMs, 100, 3600000, PGC_POSTMASTER, GUC_UNIT_MS, nullptr,
      nullptr, nullptr);
  MarkGUCPrefixReserved("snowflake");
  RefuseInvalidLeaseSettings();

  if (LeaseMode()) {
    ereport(LOG, (errmsg("snowflake: leasing a machine id from %d to %d from the coordination database",
                         lease_first_id, lease_last_id)));
    ChooseLeaseIncarnation();
    RegisterLeaseWorker();
  } else if (machine_id_setting == kMachineIdUnset)
    ereport(WARNING, (errmsg("%s is not set: snowflake_next() will fail until it is", kMachineIdName),
                      errhint("Set %s to an integer from 0 to %d in postgresql.conf and restart.", kMachineIdName,
                              kMaxMachineId)));
  else
    ereport(LOG, (errmsg("snowflake: issuing IDs with machine id %d", machine_id_setting)));

  previous_shmem_request_hook = shmem_request_hook;
  shmem_request_hook = ShmemRequest;
  previous_shmem_startup_hook = shmem_startup_hook;
  shmem_startup_hook = ShmemStartup;
}

}  // extern "C"
