// Module start-up: the snowflake.machine_id setting and the generator's shared memory and lock.
#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "mark_file.hpp"
#include "shared.hpp"

namespace snowflake {

int machine_id_setting = kMachineIdUnset;
int max_wait_ms_setting = kDefaultMaxWaitMs;
int rollback_tolerance_ms_setting = kDefaultRollbackToleranceMs;
SharedGenerator* shared_generator = nullptr;
LWLock* generator_lock = nullptr;

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
  // pg_upgrade starts both servers in binary-upgrade mode (-b) only to move the catalog: no ID is
  // issued then, so the generator stays off (no mark read or written, nothing logged).
  if (IsBinaryUpgrade) return;
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
  MarkGUCPrefixReserved("snowflake");

  if (machine_id_setting == kMachineIdUnset)
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
