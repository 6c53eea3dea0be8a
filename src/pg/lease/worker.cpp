// The lease worker: a background worker that claims, renews and releases this server's machine id.
// Plain data and char buffers only: an ERROR here ends the worker, which the postmaster restarts.
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "../settings.hpp"
#include "protocol.hpp"

namespace snowflake {
namespace {

void HandleSigterm(SIGNAL_ARGS) {
  const int save_errno = errno;
  client_stopping = true;
  SetLatch(MyLatch);
  errno = save_errno;
}

void IdentifyHolder(LeaseHolder* holder) {
  memset(holder, 0, sizeof(*holder));
  LoadNodeId(holder->node_id);
  if (gethostname(holder->host, sizeof(holder->host)) != 0) holder->host[0] = '\0';
  holder->host[sizeof(holder->host) - 1] = '\0';
  holder->system_identifier[pg_ulltoa_n(GetSystemIdentifier(), holder->system_identifier)] = '\0';
}

// One step on a connection: claim, or renew once due; how long to wait before the next (-1: failed).
int64 LeaseStep(LeaseHolder& holder, PGconn* conn, char* error) {
  LWLockAcquire(generator_lock, LW_SHARED);
  const bool held = shared_generator->lease.state == LeaseState::kHeld;
  const int32 machine_id = shared_generator->lease.machine_id;
  const int64 until = shared_generator->lease.bound.until_millis;
  LWLockRelease(generator_lock);
  if (!held) return Claim(holder, conn, error);
  const int64 due = IdLeaseRenewalDue(until, lease_duration_ms_setting) - WallClockMillis();
  return due <= 0 ? Renew(holder, conn, machine_id, error) : due;
}

}  // namespace
}  // namespace snowflake

extern "C" {

PGDLLEXPORT void snowflake_lease_worker(Datum);

/*
 * The lease worker (background worker "snowflake lease worker", lease mode only): claims a machine id
 * from snowflake.lease_conninfo, renews it once two thirds of its duration is left, and releases it
 * on SIGTERM. Takes the generator's LWLock to publish what the coordination database answered.
 */
void snowflake_lease_worker(Datum) {
  using namespace snowflake;
  pqsignal(SIGTERM, HandleSigterm);
  BackgroundWorkerUnblockSignals();
  LeaseHolder holder;
  IdentifyHolder(&holder);
  PGconn* conn = nullptr;
  char error[kClientErrorSize];
  const int64 retry = Max(50, Min(1000, lease_duration_ms_setting / 10));
  for (;;) {
    if (client_stopping) {
      if (conn != nullptr && PQstatus(conn) != CONNECTION_OK) {
        PQfinish(conn);
        conn = nullptr;
      }
      Release(holder, conn);
      proc_exit(0);
    }
    int64 wait = retry;
    if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
      if (conn != nullptr) PQfinish(conn);
      conn = ConnectPinned(error);
    }
    if (conn != nullptr) {
      wait = LeaseStep(holder, conn, error);
      if (wait < 0) {  // the call failed: a fresh connection next time
        PQfinish(conn);
        conn = nullptr;
      }
    }
    if (conn == nullptr) {
      if (client_stopping) continue;
      RecordFailure(error, &holder.failure_logged);
      wait = retry;
    }
    if (wait > 0) {
      (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, static_cast<long>(Min(wait, 60000)),
                      PG_WAIT_EXTENSION);
      ResetLatch(MyLatch);
    }
    CHECK_FOR_INTERRUPTS();
  }
}

}  // extern "C"
