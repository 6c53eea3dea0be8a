// The lease worker: claims, renews and releases this server's machine id at the coordination database.
//
// It talks to the coordination database with libpq, asynchronously (the postgres_fdw/dblink and
// walreceiver pattern: PQconnectStartParams/PQconnectPoll and PQsendQueryParams under
// WaitLatchOrSocket), so SIGTERM and postmaster death are seen at once and no call waits longer
// than kCallTimeoutMs. It publishes to the generator only what the coordination database has
// committed: a lease end the node never learnt of is never used, which is the safe direction.
// Plain data and char buffers only: an ERROR here ends the worker, which the postmaster restarts.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "shared.hpp"

namespace snowflake {

// This run of the server: chosen by the postmaster at start (it survives crash reinitialisation,
// like the leases the run holds), so the worker's restarts keep claiming as the same run.
char lease_incarnation[37];

namespace {

constexpr const char* kNodeIdDir = "pg_snowflake";
constexpr const char* kNodeIdPath = "pg_snowflake/node_id";
constexpr const char* kNodeIdTempPath = "pg_snowflake/node_id.tmp";
constexpr int64 kCallTimeoutMs = 5000;

volatile sig_atomic_t got_sigterm = false;

void HandleSigterm(SIGNAL_ARGS) {
  const int save_errno = errno;
  got_sigterm = true;
  SetLatch(MyLatch);
  errno = save_errno;
}

// A random (version 4) uuid as text, from the server's strong random source.
void RandomUuid(char* out) {
  uint8 bytes[16];
  if (!pg_strong_random(bytes, sizeof(bytes)))
    ereport(ERROR, (errmsg("snowflake: could not generate a random node identity")));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  static const char kHex[] = "0123456789abcdef";
  int at = 0;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[at++] = '-';
    out[at++] = kHex[bytes[i] >> 4];
    out[at++] = kHex[bytes[i] & 0x0f];
  }
  out[at] = '\0';
}

// Writes the node identity durably (temporary file, fsync, rename, fsync of the directory).
void WriteNodeId(const char* id) {
  if (mkdir(kNodeIdDir, S_IRWXU) != 0 && errno != EEXIST)
    ereport(ERROR, (errcode_for_file_access(), errmsg("snowflake: could not create directory \"%s\": %m", kNodeIdDir)));
  const int fd = open(kNodeIdTempPath, O_WRONLY | O_CREAT | O_TRUNC, S_IRUSR | S_IWUSR);
  if (fd < 0)
    ereport(ERROR, (errcode_for_file_access(), errmsg("snowflake: could not create \"%s\": %m", kNodeIdTempPath)));
  char text[40];
  const size_t length = strlen(id);
  memcpy(text, id, length);
  text[length] = '\n';
  const bool ok = write(fd, text, length + 1) == static_cast<ssize_t>(length + 1) && fsync(fd) == 0;
  const int error = errno;
  close(fd);
  if (!ok || rename(kNodeIdTempPath, kNodeIdPath) != 0) {
    errno = ok ? errno : error;
    ereport(ERROR, (errcode_for_file_access(), errmsg("snowflake: could not write \"%s\": %m", kNodeIdPath)));
  }
  const int dir = open(kNodeIdDir, O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    (void)fsync(dir);
    close(dir);
  }
}

// The node identity: made at the first start and kept in the data directory, so a restarted
// server claims its own id back. A copy of the data directory carries it too; the coordination
// database tells the two apart (see Claim) and the copy then takes a new one.
void LoadNodeId(char* id) {
  const int fd = open(kNodeIdPath, O_RDONLY);
  if (fd >= 0) {
    char text[64];
    const ssize_t length = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (length == 37 && text[36] == '\n') {
      memcpy(id, text, 36);
      id[36] = '\0';
      return;
    }
    ereport(ERROR, (errmsg("snowflake: \"%s\" is not a node identity", kNodeIdPath),
                    errhint("Remove it: this server then takes a new identity and a new machine id.")));
  }
  if (errno != ENOENT)
    ereport(ERROR, (errcode_for_file_access(), errmsg("snowflake: could not read \"%s\": %m", kNodeIdPath)));
  RandomUuid(id);
  WriteNodeId(id);
  ereport(LOG, (errmsg("snowflake: this server's node identity is %s", id)));
}

void CopyError(char* error, const char* text) {
  strlcpy(error, text, sizeof(SharedLease::detail));
  // libpq's messages end with a newline and indent with tabs; the detail goes into one line.
  for (char* p = error; *p != '\0'; ++p)
    if (*p == '\n' || *p == '\t') *p = (p[1] == '\0') ? '\0' : ' ';
}

// Waits for the socket (or the latch); false on timeout or SIGTERM.
bool WaitSocket(PGconn* conn, int event, int64 deadline) {
  for (;;) {
    if (got_sigterm) return false;
    const int64 remaining = deadline - MonotonicMillis();
    if (remaining <= 0) return false;
    const int rc = WaitLatchOrSocket(MyLatch, WL_EXIT_ON_PM_DEATH | WL_LATCH_SET | WL_TIMEOUT | event, PQsocket(conn),
                                     static_cast<long>(remaining), PG_WAIT_EXTENSION);
    if (rc & WL_LATCH_SET) {
      ResetLatch(MyLatch);
      CHECK_FOR_INTERRUPTS();
    }
    if (rc & event) return true;
  }
}

// A connection to the coordination database, or nullptr with *error.
PGconn* Connect(char* error) {
  const char* keys[] = {"dbname", "fallback_application_name", nullptr};
  const char* values[] = {lease_conninfo_setting, "snowflake lease worker", nullptr};
  PGconn* conn = PQconnectStartParams(keys, values, 1);
  if (conn == nullptr) {
    CopyError(error, "out of memory");
    return nullptr;
  }
  const int64 deadline = MonotonicMillis() + kCallTimeoutMs;
  PostgresPollingStatusType status = PQstatus(conn) == CONNECTION_BAD ? PGRES_POLLING_FAILED : PGRES_POLLING_WRITING;
  while (status == PGRES_POLLING_READING || status == PGRES_POLLING_WRITING) {
    const int event = status == PGRES_POLLING_READING ? WL_SOCKET_READABLE : WL_SOCKET_WRITEABLE;
    if (!WaitSocket(conn, event, deadline)) {
      CopyError(error, got_sigterm ? "shutting down" : "timed out connecting to the coordination database");
      PQfinish(conn);
      return nullptr;
    }
    status = PQconnectPoll(conn);
  }
  if (status != PGRES_POLLING_OK) {
    CopyError(error, PQerrorMessage(conn));
    PQfinish(conn);
    return nullptr;
  }
  return conn;
}

// Runs one statement and waits for its whole outcome, commit included (with the extended
// protocol the commit comes after the rows, at Sync): its one row, or nullptr with *error.
PGresult* Call(PGconn* conn, const char* sql, int count, const char* const* params, char* error) {
  if (!PQsendQueryParams(conn, sql, count, nullptr, params, nullptr, nullptr, 0)) {
    CopyError(error, PQerrorMessage(conn));
    return nullptr;
  }
  const int64 deadline = MonotonicMillis() + kCallTimeoutMs;
  PGresult* row = nullptr;
  bool failed = false;
  for (;;) {
    while (PQisBusy(conn)) {
      if (!WaitSocket(conn, WL_SOCKET_READABLE, deadline)) {
        CopyError(error, got_sigterm ? "shutting down" : "timed out waiting for the coordination database");
        PQclear(row);
        return nullptr;
      }
      if (!PQconsumeInput(conn)) {
        CopyError(error, PQerrorMessage(conn));
        PQclear(row);
        return nullptr;
      }
    }
    PGresult* result = PQgetResult(conn);
    if (result == nullptr) break;
    if (PQresultStatus(result) == PGRES_TUPLES_OK && row == nullptr && PQntuples(result) == 1) {
      row = result;
      continue;
    }
    if (!failed) {
      failed = true;
      CopyError(error, PQresultStatus(result) == PGRES_TUPLES_OK ? "unexpected answer" : PQresultErrorMessage(result));
    }
    PQclear(result);
  }
  if (failed) {
    PQclear(row);
    return nullptr;
  }
  if (row == nullptr) CopyError(error, "no answer");
  return row;
}

// Pins the coordination connection's search_path to the extension's schema (then pg_catalog), so
// the unqualified calls below reach the extension's functions and nothing a role planted
// elsewhere. false with *error when the extension is not installed there.
bool PinSearchPath(PGconn* conn, char* error) {
  PGresult* row = Call(conn,
                       "SELECT pg_catalog.set_config('search_path', pg_catalog.quote_ident(n.nspname) || "
                       "', pg_catalog, pg_temp', false) "
                       "FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace "
                       "WHERE e.extname = 'snowflake'",
                       0, nullptr, error);
  if (row == nullptr) {
    if (strcmp(error, "unexpected answer") == 0)
      CopyError(error, "the snowflake extension is not installed in the coordination database");
    return false;
  }
  PQclear(row);
  return true;
}

// A connection to the coordination database with its search_path pinned, or nullptr with *error.
PGconn* ConnectPinned(char* error) {
  PGconn* conn = Connect(error);
  if (conn != nullptr && !PinSearchPath(conn, error)) {
    PQfinish(conn);
    return nullptr;
  }
  return conn;
}

int64 ToInt64(const char* text) { return text[0] == '\0' ? -1 : strtoll(text, nullptr, 10); }

// Records why the worker has no lease or could not renew; logs a change of reason.
void RecordFailure(const char* error, bool* logged) {
  LWLockAcquire(generator_lock, LW_EXCLUSIVE);
  SharedLease& lease = shared_generator->lease;
  lease.renewal_failing = true;
  strlcpy(lease.detail, error, sizeof(lease.detail));
  const LeaseState state = lease.state;
  const int32 machine_id = lease.machine_id;
  const int64 until = lease.bound.until_millis;
  LWLockRelease(generator_lock);
  if (*logged) return;
  *logged = true;
  if (state == LeaseState::kHeld)
    ereport(WARNING, (errmsg("snowflake: could not renew the lease on machine id %d: %s", machine_id, error),
                      errdetail("IDs are issued until the lease ends at %s, then fail until a renewal succeeds.",
                                timestamptz_to_str(MillisToTimestamp(until)))));
  else
    ereport(WARNING, (errmsg("snowflake: could not claim a machine id: %s", error)));
}

struct Worker {
  char holder[37];
  char host[256];
  char system_identifier[32];
  char busy_renewed_at[64];  // the first 'busy' answer's renewal time, to see whether it moves
  bool failure_logged;
};

// Claims an id; returns how long to wait before the next step.
int64 Claim(Worker& w, PGconn* conn, char* error) {
  char first[16], last[16], proposed[32], duration[16];
  pg_ltoa(lease_first_id, first);
  pg_ltoa(lease_last_id, last);
  pg_lltoa(WallClockMillis() + lease_duration_ms_setting, proposed);
  pg_ltoa(lease_duration_ms_setting, duration);
  const char* params[] = {w.holder, lease_incarnation, first, last, proposed, duration, w.host, w.system_identifier};
  PGresult* row = Call(conn,
                       "SELECT status, machine_id, lease_end_ms, previous_end_ms, renewed_at "
                       "FROM snowflake_lease_claim($1::uuid, $2::uuid, $3::int, $4::int, $5::bigint, $6::int, $7, $8)",
                       8, params, error);
  if (row == nullptr) return -1;
  char status[16];
  strlcpy(status, PQgetvalue(row, 0, 0), sizeof(status));
  const int32 machine_id = static_cast<int32>(ToInt64(PQgetvalue(row, 0, 1)));
  const int64 end = ToInt64(PQgetvalue(row, 0, 2));
  const int64 previous_end = ToInt64(PQgetvalue(row, 0, 3));
  char renewed_at[64];
  strlcpy(renewed_at, PQgetvalue(row, 0, 4), sizeof(renewed_at));
  PQclear(row);

  if (strcmp(status, "granted") == 0) {
    const TimestampTz now = GetCurrentTimestamp();
    LWLockAcquire(generator_lock, LW_EXCLUSIVE);
    SharedLease& lease = shared_generator->lease;
    if (lease.last_machine_id >= 0 && lease.last_machine_id != machine_id) ChangeMachineId(shared_generator->state);
    lease.state = LeaseState::kHeld;
    lease.machine_id = machine_id;
    lease.last_machine_id = machine_id;
    lease.bound = IdLeaseBound{previous_end, end};
    lease.claimed_at = now;
    lease.renewed_at = now;
    lease.renewal_failing = false;
    lease.detail[0] = '\0';
    LWLockRelease(generator_lock);
    w.busy_renewed_at[0] = '\0';
    w.failure_logged = false;
    ereport(LOG,
            (errmsg("snowflake: leased machine id %d until %s", machine_id, timestamptz_to_str(MillisToTimestamp(end))),
             previous_end >= 0 ? errdetail("IDs start after the previous holder's lease end, %s.",
                                           timestamptz_to_str(MillisToTimestamp(previous_end)))
                               : 0));
    return IdLeaseRenewalDue(end, lease_duration_ms_setting) - WallClockMillis();
  }
  if (strcmp(status, "busy") == 0) {
    // Another run of this node identity holds the id. A restart: the old run renews no more and
    // its lease goes stale within its duration. A copy of the data directory running beside
    // it: the lease keeps being renewed, and this server is a new node.
    if (w.busy_renewed_at[0] != '\0' && strcmp(w.busy_renewed_at, renewed_at) != 0) {
      char old_holder[37];
      strlcpy(old_holder, w.holder, sizeof(old_holder));
      RandomUuid(w.holder);
      WriteNodeId(w.holder);
      w.busy_renewed_at[0] = '\0';
      ereport(LOG, (errmsg("snowflake: machine id %d of node %s is renewed by another running server: this server "
                           "is a copy of its data directory and becomes node %s",
                           machine_id, old_holder, w.holder)));
      return 0;
    }
    if (w.busy_renewed_at[0] == '\0')
      ereport(LOG, (errmsg("snowflake: machine id %d of this node was renewed at %s by another run: waiting to see "
                           "whether that run is gone (a restart) or still renews it (a copy of this data directory)",
                           machine_id, renewed_at)));
    strlcpy(w.busy_renewed_at, renewed_at, sizeof(w.busy_renewed_at));
    LWLockAcquire(generator_lock, LW_EXCLUSIVE);
    strlcpy(shared_generator->lease.detail,
            "Machine id of this node identity is still renewed by another run: waiting for it to go stale.",
            sizeof(shared_generator->lease.detail));
    LWLockRelease(generator_lock);
    return lease_duration_ms_setting + 100;
  }
  LWLockAcquire(generator_lock, LW_EXCLUSIVE);
  const bool first_time = shared_generator->lease.state != LeaseState::kExhausted;
  shared_generator->lease.state = LeaseState::kExhausted;
  LWLockRelease(generator_lock);
  if (first_time)
    ereport(WARNING, (errmsg("snowflake: no machine id from %d to %d is free at the coordination database",
                             lease_first_id, lease_last_id),
                      errhint("Widen snowflake.lease_machine_ids, or release leases of servers gone for good.")));
  return lease_duration_ms_setting;
}

// Renews the lease on machine_id; returns how long to wait before the next step.
int64 Renew(Worker& w, PGconn* conn, int32 machine_id, char* error) {
  char id[16], proposed[32];
  pg_ltoa(machine_id, id);
  pg_lltoa(WallClockMillis() + lease_duration_ms_setting, proposed);
  const char* params[] = {id, w.holder, lease_incarnation, proposed};
  PGresult* row =
      Call(conn, "SELECT status, lease_end_ms FROM snowflake_lease_renew($1::int, $2::uuid, $3::uuid, $4::bigint)", 4,
           params, error);
  if (row == nullptr) return -1;
  const bool renewed = strcmp(PQgetvalue(row, 0, 0), "renewed") == 0;
  const int64 end = ToInt64(PQgetvalue(row, 0, 1));
  PQclear(row);
  LWLockAcquire(generator_lock, LW_EXCLUSIVE);
  SharedLease& lease = shared_generator->lease;
  const int64 old_end = lease.bound.until_millis;
  if (renewed) {
    if (end > lease.bound.until_millis) lease.bound.until_millis = end;
    lease.renewed_at = GetCurrentTimestamp();
    lease.renewal_failing = false;
    lease.detail[0] = '\0';
  } else {
    lease.state = LeaseState::kLost;
    lease.machine_id = -1;
    lease.renewal_failing = false;
    strlcpy(lease.detail, "The lease was taken over or released at the coordination database.", sizeof(lease.detail));
  }
  LWLockRelease(generator_lock);
  if (!renewed) {
    ereport(WARNING,
            (errmsg("snowflake: the lease on machine id %d was taken over or released: no more IDs of it", machine_id),
             errdetail("None was issued past its end, %s. Claiming another machine id.",
                       timestamptz_to_str(MillisToTimestamp(old_end)))));
    return 0;
  }
  if (w.failure_logged) ereport(LOG, (errmsg("snowflake: renewed the lease on machine id %d again", machine_id)));
  w.failure_logged = false;
  return IdLeaseRenewalDue(end, lease_duration_ms_setting) - WallClockMillis();
}

// A clean stop: no ID past the last millisecond used from now on, and the coordination database
// told so, so that whoever takes the id next (this node after a restart) need not wait out the lease.
// Takes over conn (nullptr: connects again) and closes it.
void Release(Worker& w, PGconn* conn) {
  LWLockAcquire(generator_lock, LW_EXCLUSIVE);
  SharedLease& lease = shared_generator->lease;
  const int32 machine_id = lease.state == LeaseState::kHeld ? lease.machine_id : -1;
  int64 final_end = -1;
  if (machine_id >= 0) {
    final_end = Max(shared_generator->state.last_millis, lease.bound.after_millis);
    if (final_end > lease.bound.until_millis) final_end = lease.bound.until_millis;
    lease.bound.until_millis = final_end;
    strlcpy(lease.detail, "This server is shutting down.", sizeof(lease.detail));
  }
  LWLockRelease(generator_lock);
  if (machine_id < 0) {
    if (conn != nullptr) PQfinish(conn);
    return;
  }
  got_sigterm = false;  // let these last calls run (each bounded by kCallTimeoutMs)
  char id[16], end[32], error[sizeof(SharedLease::detail)];
  if (conn == nullptr) conn = ConnectPinned(error);  // SIGTERM may have cut the connection short
  if (conn == nullptr) {
    ereport(LOG, (errmsg("snowflake: could not release the lease on machine id %d: %s", machine_id, error)));
    return;
  }
  pg_ltoa(machine_id, id);
  pg_lltoa(final_end, end);
  const char* params[] = {id, w.holder, lease_incarnation, end};
  PGresult* row =
      Call(conn, "SELECT snowflake_lease_release($1::int, $2::uuid, $3::uuid, $4::bigint)", 4, params, error);
  PQfinish(conn);
  if (row == nullptr) {
    ereport(LOG, (errmsg("snowflake: could not release the lease on machine id %d: %s", machine_id, error)));
    return;
  }
  PQclear(row);
  ereport(LOG, (errmsg("snowflake: released the lease on machine id %d at %s", machine_id,
                       timestamptz_to_str(MillisToTimestamp(final_end)))));
}

}  // namespace

void ChooseLeaseIncarnation() { RandomUuid(lease_incarnation); }

}  // namespace snowflake

extern "C" {

PGDLLEXPORT void snowflake_lease_worker(Datum);

void snowflake_lease_worker(Datum) {
  using namespace snowflake;
  pqsignal(SIGTERM, HandleSigterm);
  BackgroundWorkerUnblockSignals();

  Worker w;
  memset(&w, 0, sizeof(w));
  LoadNodeId(w.holder);
  if (gethostname(w.host, sizeof(w.host)) != 0) w.host[0] = '\0';
  w.host[sizeof(w.host) - 1] = '\0';
  w.system_identifier[pg_ulltoa_n(GetSystemIdentifier(), w.system_identifier)] = '\0';

  PGconn* conn = nullptr;
  char error[sizeof(SharedLease::detail)];
  const int64 retry = Max(50, Min(1000, lease_duration_ms_setting / 10));
  for (;;) {
    if (got_sigterm) {
      if (conn != nullptr && PQstatus(conn) != CONNECTION_OK) {
        PQfinish(conn);
        conn = nullptr;
      }
      Release(w, conn);
      proc_exit(0);
    }
    int64 wait = retry;
    if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
      if (conn != nullptr) PQfinish(conn);
      conn = ConnectPinned(error);
    }
    if (conn != nullptr) {
      LWLockAcquire(generator_lock, LW_SHARED);
      const bool held = shared_generator->lease.state == LeaseState::kHeld;
      const int32 machine_id = shared_generator->lease.machine_id;
      const int64 until = shared_generator->lease.bound.until_millis;
      LWLockRelease(generator_lock);
      const int64 due = held ? IdLeaseRenewalDue(until, lease_duration_ms_setting) - WallClockMillis() : 0;
      wait = !held ? Claim(w, conn, error) : due <= 0 ? Renew(w, conn, machine_id, error) : due;
      if (wait < 0) {  // the call failed: a fresh connection next time
        PQfinish(conn);
        conn = nullptr;
      }
    }
    if (conn == nullptr) {
      if (got_sigterm) continue;
      RecordFailure(error, &w.failure_logged);
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
