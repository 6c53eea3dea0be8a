// The generator's shared memory: requested by _PG_init, made by the postmaster, found by every backend.
#include "shmem.hpp"

#include <cstring>

#include "mark/mark.hpp"

namespace snowflake {

SharedGenerator* shared_generator = nullptr;
LWLock* generator_lock = nullptr;

namespace {

constexpr const char* kTrancheName = "snowflake";

shmem_request_hook_type previous_shmem_request_hook = nullptr;
shmem_startup_hook_type previous_shmem_startup_hook = nullptr;

void ShmemRequest() {
  if (previous_shmem_request_hook) previous_shmem_request_hook();
  RequestAddinShmemSpace(sizeof(SharedGenerator));
  RequestNamedLWLockTranche(kTrancheName, 1);
}

void InitLease(SharedLease* lease) {
  memset(lease, 0, sizeof(SharedLease));
  lease->state = LeaseState::kClaiming;
  lease->machine_id = -1;
  lease->last_machine_id = -1;
  lease->bound = IdLeaseBound{-1, -1};
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
    InitLease(&shared_generator->lease);
    LoadMark(shared_generator);
  }
  generator_lock = &GetNamedLWLockTranche(kTrancheName)->lock;
  LWLockRelease(AddinShmemInitLock);
  if (!IsUnderPostmaster) on_shmem_exit(SaveMarkAtShutdown, 0);
}

}  // namespace

void RequestSharedMemory() {
  previous_shmem_request_hook = shmem_request_hook;
  shmem_request_hook = ShmemRequest;
  previous_shmem_startup_hook = shmem_startup_hook;
  shmem_startup_hook = ShmemStartup;
}

void RequirePreloaded(const char* function) {
  if (IsBinaryUpgrade)
    ereport(ERROR,
            (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
             errmsg("%s is not available during a binary upgrade", function),
             errdetail("pg_upgrade runs the server in binary-upgrade mode, where no snowflake IDs are issued.")));
  if (shared_generator == nullptr)
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("%s requires snowflake to be loaded via shared_preload_libraries", function),
                    errhint("Add snowflake to shared_preload_libraries in postgresql.conf and restart the server.")));
}

}  // namespace snowflake
