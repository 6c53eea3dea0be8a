// Module start-up: the snowflake.* settings, the generator's shared memory and lock, and the lease worker.
#include <cstring>

#include "shared.hpp"
#include "wal_mark.hpp"

namespace snowflake {

int machine_id_setting = kMachineIdUnset;
int max_wait_ms_setting = kDefaultMaxWaitMs;
int rollback_tolerance_ms_setting = kDefaultRollbackToleranceMs;
char* lease_conninfo_setting = nullptr;
char* lease_machine_ids_setting = nullptr;
int lease_duration_ms_setting = kDefaultIdLeaseDurationMs;
int lease_first_id = -1;
int lease_last_id = -1;
SharedGenerator* shared_generator = nullptr;
LWLock* generator_lock = nullptr;

bool LeaseMode() { return lease_conninfo_setting != nullptr && lease_conninfo_setting[0] != '\0'; }

namespace {

constexpr const char* kMachineIdName = "snowflake.machine_id";
constexpr const char* kTrancheName = "snowflake";
constexpr const char* kMachineIdRule =
    "%s must be a plain decimal integer from 0 to %d, without sign, leading zero, space, fraction or unit "
    "(or -1: unset).";

// The text of snowflake.machine_id; machine_id_setting is read from it (see CheckMachineId).
char* machine_id_text = nullptr;

shmem_request_hook_type previous_shmem_request_hook = nullptr;
shmem_startup_hook_type previous_shmem_startup_hook = nullptr;

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
  int32_t first = -1, last = -1;
  if (!ParseMachineIdRangeSetting(range, &first, &last))
    ereport(FATAL, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("invalid value for parameter \"snowflake.lease_machine_ids\": \"%s\"", range),
                    errdetail("With snowflake.lease_conninfo set, snowflake.lease_machine_ids must be the range of "
                              "machine ids this server may lease, such as 100-199 (0 to %d).",
                              kMaxMachineId)));
  lease_first_id = first;
  lease_last_id = last;
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
// A mark that cannot be read, or that cannot be a floor to wait out, stops the generator (not the
// server) until an operator decides: snowflake_next() then fails with SF004 or SF005.
void LoadMark(SharedGenerator* shared) {
  shared->mark_read = ReadMarkFile();
  shared->mark_check = MarkCheck::kUsable;
  shared->clock_at_start = WallClockMillis();
  shared->mark_refused = false;
  const MarkReadResult& read = shared->mark_read;
  switch (read.status) {
    case MarkRead::kFound:
      shared->mark_check = CheckRestoredMark(read.millis, shared->clock_at_start);
      if (shared->mark_check == MarkCheck::kUsable) {
        ereport(LOG, (errmsg("snowflake: resuming above the durable mark %lld ms (%s; the clock reads %lld ms)",
                             (long long)read.millis, timestamptz_to_str(MillisToTimestamp(read.millis)),
                             (long long)shared->clock_at_start)));
      } else {
        shared->mark_refused = true;
        ereport(WARNING, (errmsg("snowflake: the durable mark \"%s\" (%lld ms, %s) is %s: snowflake_next() will fail",
                                 kMarkPath, (long long)read.millis, timestamptz_to_str(MillisToTimestamp(read.millis)),
                                 shared->mark_check == MarkCheck::kPastRange ? "past the range of snowflake IDs"
                                                                             : "too far ahead of the clock"),
                          errhint("See \"Recovering from a clock that was set ahead\" in the snowflake README.")));
      }
      break;
    case MarkRead::kMissing:
      break;
    case MarkRead::kUnreadable:
    case MarkRead::kNotAFile:
    case MarkRead::kNotAMark:
      shared->mark_refused = true;
      ereport(WARNING, (errmsg("snowflake: could not read the durable mark \"%s\": %s: snowflake_next() will fail",
                               kMarkPath, MarkReadProblem(read))));
      break;
  }
  // A refused mark is still shown by snowflake_status(); the generator never steps from it.
  shared->state = Restore(read.status == MarkRead::kFound ? read.millis : -1);
}

// A clean shutdown records the exact last millisecond, so the next start need not wait out a lease.
// After a crash (code != 0) the state may be mid-step: the mark on disk stays the bound. A file that
// no longer holds the mark this server last wrote was changed by someone else while the server ran:
// it is left as it is, and the log says so (README, "The durable mark file").
void ShmemShutdown(int code, Datum) {
  if (code != 0 || shared_generator == nullptr || shared_generator->mark_refused) return;
  const GeneratorState& state = shared_generator->state;
  if (state.last_millis < 0 || state.last_millis >= state.mark_millis) return;
  const MarkReadResult on_disk = ReadMarkFile();
  if (on_disk.status != MarkRead::kFound || on_disk.millis != state.mark_millis) {
    ereport(WARNING,
            (errmsg("snowflake: the durable mark \"%s\" was changed while the server ran: left as it is", kMarkPath),
             on_disk.status == MarkRead::kFound ? errdetail("It holds %lld; this server last wrote %lld.",
                                                            (long long)on_disk.millis, (long long)state.mark_millis)
                                                : errdetail("It is %s; this server last wrote %lld.",
                                                            MarkReadProblem(on_disk), (long long)state.mark_millis),
             errhint("The next start reads the file as it is now.")));
    return;
  }
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
    shared_generator->mark_lsn = InvalidXLogRecPtr;  // so the mark read from the file is logged again
    pg_atomic_init_u64(&shared_generator->stall_errors, 0);
    pg_atomic_init_u64(&shared_generator->mark_write_errors, 0);
    memset(&shared_generator->lease, 0, sizeof(SharedLease));
    shared_generator->lease.state = LeaseState::kClaiming;
    shared_generator->lease.machine_id = -1;
    shared_generator->lease.last_machine_id = -1;
    shared_generator->lease.bound = IdLeaseBound{-1, -1};
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
static bool snowflake_check_machine_id(char** newval, void** extra, GucSource source);
static void snowflake_assign_machine_id(const char* newval, void* extra);

// GUC check hook of snowflake.machine_id. The setting is a string so that the hook sees the text
// as written: an integer setting's hook gets the number PostgreSQL already read ("010" as 8, "1.5"
// as 2), too late to tell. So ALTER SYSTEM refuses a bad value at once, not at the next restart.
static bool snowflake_check_machine_id(char** newval, void**, GucSource) {
  using namespace snowflake;
  int32_t machine_id = kMachineIdUnset;
  if (ParseMachineIdSetting(*newval, &machine_id)) return true;
  GUC_check_errdetail(kMachineIdRule, kMachineIdName, kMaxMachineId);
  return false;
}

static void snowflake_assign_machine_id(const char* newval, void*) {
  using namespace snowflake;
  int32_t machine_id = kMachineIdUnset;
  machine_id_setting = ParseMachineIdSetting(newval, &machine_id) ? machine_id : kMachineIdUnset;
}

void _PG_init(void) {
  using namespace snowflake;
  // A PGC_POSTMASTER setting can only be defined at server start; loaded later (CREATE EXTENSION
  // alone), decode and compose work and snowflake_next() explains what is missing.
  if (!process_shared_preload_libraries_in_progress) return;
  // pg_upgrade runs both servers in binary-upgrade mode: they issue no IDs, so there is neither a
  // generator nor a mark to write, and a machine id that is unset or bad there is no one's concern.
  if (!IsBinaryUpgrade) RefuseInvalidMachineId();
  // Whatever the machine id or mode: replay needs the resource manager of every mark record in the WAL.
  RegisterMarkResourceManager();

  DefineCustomStringVariable(
      kMachineIdName, "Machine id written into every snowflake ID this server issues.",
      "A plain decimal integer from 0 to 1023, unique among the servers whose IDs meet; -1 (the default) means "
      "unset, and snowflake_next() then fails.",
      &machine_id_text, "-1", PGC_POSTMASTER, 0, snowflake_check_machine_id, snowflake_assign_machine_id, nullptr);
  DefineCustomIntVariable(
      "snowflake.max_wait_ms", "Longest a snowflake_next() call waits for the clock before failing.",
      "Bounds the wait for the next millisecond when 4096 IDs are used, for a clock within the rollback "
      "tolerance, and for the lease after a restart, so a stalled clock never hangs a session.",
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
                             nullptr, &lease_machine_ids_setting, "", PGC_POSTMASTER, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "snowflake.lease_duration_ms", "How far ahead of this server's clock a machine-id lease reaches.",
      "Renewed when two thirds of it are left. Without the coordination database, IDs are issued for up to "
      "this long; a server killed without releasing its lease gets its id back only past the old lease's end.",
      &lease_duration_ms_setting, kDefaultIdLeaseDurationMs, kMinIdLeaseDurationMs, kMaxIdLeaseDurationMs,
      PGC_POSTMASTER, GUC_UNIT_MS, nullptr, nullptr, nullptr);
  MarkGUCPrefixReserved("snowflake");

  if (IsBinaryUpgrade) {
    ereport(LOG, (errmsg("snowflake: binary-upgrade mode: no IDs are issued and the durable mark is left alone")));
    return;
  }

  RefuseInvalidLeaseSettings();
  if (LeaseMode()) {
    ereport(LOG, (errmsg("snowflake: leasing a machine id from %d to %d from the coordination database", lease_first_id,
                         lease_last_id)));
    ChooseLeaseIncarnation();
    RegisterLeaseWorker();
  } else if (machine_id_setting == kMachineIdUnset)
    ereport(WARNING, (errmsg("%s is not set: snowflake_next() will fail until it is", kMachineIdName),
                      errhint("Set %s to an integer from 0 to %d in postgresql.conf and restart.", kMachineIdName,
                              kMaxMachineId)));
  else
    ereport(LOG, (errmsg("snowflake: issuing IDs with machine id %d", machine_id_setting)));

  RegisterMarkKeeper();
  previous_shmem_request_hook = shmem_request_hook;
  shmem_request_hook = ShmemRequest;
  previous_shmem_startup_hook = shmem_startup_hook;
  shmem_startup_hook = ShmemStartup;
}

}  // extern "C"
