// The lease protocol: claim, renew and release a machine id at the coordination database, and
// publish to the generator only what the coordination database has committed (a lease end the
// node never learnt of is never used, which is the safe direction).
#include "protocol.hpp"

#include <cstring>

#include "../settings.hpp"
#include "../timestamp.hpp"

namespace snowflake {
namespace {

static_assert(sizeof(SharedLease::detail) == kClientErrorSize, "a client's error is a lease's detail");

// Pins the coordination connection's search_path to the schema of the lease functions (then
// pg_catalog), so the unqualified calls below reach them and nothing a role planted elsewhere.
// They belong to extension snowflake_coordination (from 1.2), or still to snowflake on a
// coordination database at 1.1 or updated from it and not yet taken over (a node updated first
// keeps leasing). false with *error when neither has them there.
bool PinSearchPath(PGconn* conn, char* error) {
  PGresult* row = Call(conn,
                       "SELECT pg_catalog.set_config('search_path', pg_catalog.quote_ident(n.nspname) || "
                       "', pg_catalog, pg_temp', false) "
                       "FROM pg_catalog.pg_proc p "
                       "JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass "
                       "AND d.objid = p.oid AND d.deptype = 'e' "
                       "JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid "
                       "AND e.extname IN ('snowflake_coordination', 'snowflake') "
                       "JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace "
                       "WHERE p.proname = 'snowflake_lease_claim' "
                       "ORDER BY e.extname = 'snowflake_coordination' DESC LIMIT 1",
                       0, nullptr, error);
  if (row == nullptr) {
    if (strcmp(error, "unexpected answer") == 0)
      CopyError(error, "the snowflake_coordination extension is not installed in the coordination database");
    return false;
  }
  PQclear(row);
  return true;
}

int64 ToInt64(const char* text) { return text[0] == '\0' ? -1 : strtoll(text, nullptr, 10); }

// The answer of snowflake_lease_claim.
struct ClaimAnswer {
  char status[16];
  int32 machine_id;
  int64 end;
  int64 previous_end;
  char renewed_at[64];
};

// The furthest ahead of this server's clock a lease end the coordination database grants can be:
// its duration plus the skew it allows (60 s), with room for this server's clock being behind.
int64 FurthestEnd() { return WallClockMillis() + lease_duration_ms_setting + 3600000; }

// An answer is used only if it is one the coordination database's functions can give: a known
// status; a granted or busy id inside this server's range (within 0-1023); ends in range, the
// previous holder's not after this one's, and not further ahead than a lease reaches. Anything
// else (a tampered or foreign coordination database) is a failure, never a lease.
bool CheckClaimAnswer(const ClaimAnswer& answer, int64 machine_id, char* error) {
  const bool granted = strcmp(answer.status, "granted") == 0;
  const bool busy = strcmp(answer.status, "busy") == 0;
  if (!granted && !busy && strcmp(answer.status, "exhausted") != 0) {
    client_failure = ClientFailure::kAnswer;
    CopyError(error, "the coordination database answered a claim with an unknown status");
    return false;
  }
  if ((granted || busy) && (machine_id < lease_first_id || machine_id > lease_last_id || machine_id < 0 ||
                            machine_id > kMaxMachineId)) {
    client_failure = ClientFailure::kAnswer;
    snprintf(error, kClientErrorSize,
             "the coordination database granted machine id %lld, outside snowflake.lease_machine_ids (%d-%d): "
             "not used",
             (long long)machine_id, lease_first_id, lease_last_id);
    return false;
  }
  if (granted && (answer.end < 0 || answer.end > kMaxMillis || answer.previous_end < -1 ||
                  answer.previous_end > answer.end || answer.end > FurthestEnd())) {
    client_failure = ClientFailure::kAnswer;
    snprintf(error, kClientErrorSize,
             "the coordination database granted machine id %lld with an invalid lease end (%lld, after %lld): "
             "not used",
             (long long)machine_id, (long long)answer.end, (long long)answer.previous_end);
    return false;
  }
  return true;
}

bool AskClaim(const LeaseHolder& holder, PGconn* conn, ClaimAnswer* answer, char* error) {
  char first[16], last[16], proposed[32], duration[16];
  pg_ltoa(lease_first_id, first);
  pg_ltoa(lease_last_id, last);
  pg_lltoa(WallClockMillis() + lease_duration_ms_setting, proposed);
  pg_ltoa(lease_duration_ms_setting, duration);
  const char* params[] = {holder.node_id, lease_incarnation, first,       last,
                          proposed,       duration,          holder.host, holder.system_identifier};
  PGresult* row = Call(conn,
                       "SELECT status, machine_id, lease_end_ms, previous_end_ms, renewed_at "
                       "FROM snowflake_lease_claim($1::uuid, $2::uuid, $3::integer, $4::integer, $5::bigint, "
                       "$6::integer, $7::text, $8::text)",
                       8, params, error);
  if (row == nullptr) return false;
  strlcpy(answer->status, PQgetvalue(row, 0, 0), sizeof(answer->status));
  const int64 machine_id = ToInt64(PQgetvalue(row, 0, 1));
  answer->machine_id = static_cast<int32>(Max(-1, Min(machine_id, 1 << 20)));
  answer->end = ToInt64(PQgetvalue(row, 0, 2));
  answer->previous_end = ToInt64(PQgetvalue(row, 0, 3));
  strlcpy(answer->renewed_at, PQgetvalue(row, 0, 4), sizeof(answer->renewed_at));
  PQclear(row);
  return CheckClaimAnswer(*answer, machine_id, error);
}

int64 Granted(LeaseHolder& holder, const ClaimAnswer& answer) {
  const TimestampTz now = GetCurrentTimestamp();
  LWLockAcquire(generator_lock, LW_EXCLUSIVE);
  SharedLease& lease = shared_generator->lease;
  if (lease.last_machine_id >= 0 && lease.last_machine_id != answer.machine_id)
    ChangeMachineId(shared_generator->state);
  lease.state = LeaseState::kHeld;
  lease.machine_id = answer.machine_id;
  lease.last_machine_id = answer.machine_id;
  lease.bound = IdLeaseBound{answer.previous_end, answer.end};
  lease.claimed_at = now;
  lease.renewed_at = now;
  lease.renewal_failing = false;
  lease.detail[0] = '\0';
  LWLockRelease(generator_lock);
  holder.busy_renewed_at[0] = '\0';
  holder.failure_logged = false;
  ereport(LOG, (errmsg("snowflake: leased machine id %d until %s", answer.machine_id,
                       timestamptz_to_str(MillisToTimestamp(answer.end))),
                answer.previous_end >= 0 ? errdetail("IDs start after the previous holder's lease end, %s.",
                                                     timestamptz_to_str(MillisToTimestamp(answer.previous_end)))
                                         : 0));
  return IdLeaseRenewalDue(answer.end, lease_duration_ms_setting) - WallClockMillis();
}

// Another run of this node identity holds the id. A restart: the old run renews no more and its
// lease goes stale within its duration. A copy of the data directory running beside it: the lease
// keeps being renewed, and this server is a new node.
int64 Busy(LeaseHolder& holder, const ClaimAnswer& answer) {
  if (holder.busy_renewed_at[0] != '\0' && strcmp(holder.busy_renewed_at, answer.renewed_at) != 0) {
    char old_node_id[kUuidLength + 1];
    strlcpy(old_node_id, holder.node_id, sizeof(old_node_id));
    NewNodeId(holder.node_id);
    holder.busy_renewed_at[0] = '\0';
    ereport(LOG, (errmsg("snowflake: machine id %d of node %s is renewed by another running server: this server "
                         "is a copy of its data directory and becomes node %s",
                         answer.machine_id, old_node_id, holder.node_id)));
    return 0;
  }
  if (holder.busy_renewed_at[0] == '\0')
    ereport(LOG, (errmsg("snowflake: machine id %d of this node was renewed at %s by another run: waiting to see "
                         "whether that run is gone (a restart) or still renews it (a copy of this data directory)",
                         answer.machine_id, answer.renewed_at)));
  strlcpy(holder.busy_renewed_at, answer.renewed_at, sizeof(holder.busy_renewed_at));
  LWLockAcquire(generator_lock, LW_EXCLUSIVE);
  strlcpy(shared_generator->lease.detail,
          "Machine id of this node identity is still renewed by another run: waiting for it to go stale.",
          sizeof(shared_generator->lease.detail));
  LWLockRelease(generator_lock);
  return lease_duration_ms_setting + 100;
}

int64 Exhausted() {
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

// Ends the lease in shared memory at the last millisecond used: the machine id released, or -1.
int32 EndLeaseForRelease(int64* final_end) {
  LWLockAcquire(generator_lock, LW_EXCLUSIVE);
  SharedLease& lease = shared_generator->lease;
  const int32 machine_id = lease.state == LeaseState::kHeld ? lease.machine_id : -1;
  if (machine_id >= 0) {
    *final_end = Max(shared_generator->state.last_millis, lease.bound.after_millis);
    if (*final_end > lease.bound.until_millis) *final_end = lease.bound.until_millis;
    lease.bound.until_millis = *final_end;
    strlcpy(lease.detail, "This server is shutting down.", sizeof(lease.detail));
  }
  LWLockRelease(generator_lock);
  return machine_id;
}

}  // namespace

PGconn* ConnectPinned(char* error) {
  PGconn* conn = Connect(lease_conninfo_setting, "snowflake lease worker", error);
  if (conn != nullptr && !PinSearchPath(conn, error)) {
    PQfinish(conn);
    return nullptr;
  }
  return conn;
}

int64 Claim(LeaseHolder& holder, PGconn* conn, char* error) {
  ClaimAnswer answer;
  if (!AskClaim(holder, conn, &answer, error)) return -1;
  if (strcmp(answer.status, "granted") == 0) return Granted(holder, answer);
  if (strcmp(answer.status, "busy") == 0) return Busy(holder, answer);
  return Exhausted();
}

int64 Renew(LeaseHolder& holder, PGconn* conn, int32 machine_id, char* error) {
  char id[16], proposed[32];
  pg_ltoa(machine_id, id);
  pg_lltoa(WallClockMillis() + lease_duration_ms_setting, proposed);
  const char* params[] = {id, holder.node_id, lease_incarnation, proposed};
  PGresult* row = Call(
      conn, "SELECT status, lease_end_ms FROM snowflake_lease_renew($1::integer, $2::uuid, $3::uuid, $4::bigint)", 4,
      params, error);
  if (row == nullptr) return -1;
  const bool renewed = strcmp(PQgetvalue(row, 0, 0), "renewed") == 0;
  const bool lost = strcmp(PQgetvalue(row, 0, 0), "lost") == 0;
  const int64 end = ToInt64(PQgetvalue(row, 0, 1));
  PQclear(row);
  if ((!renewed && !lost) || (renewed && (end < 0 || end > kMaxMillis || end > FurthestEnd()))) {
    client_failure = ClientFailure::kAnswer;
    snprintf(error, kClientErrorSize,
             "the coordination database answered the renewal of machine id %d with an invalid %s: not used",
             machine_id, renewed ? "lease end" : "status");
    return -1;
  }
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
  if (holder.failure_logged) ereport(LOG, (errmsg("snowflake: renewed the lease on machine id %d again", machine_id)));
  holder.failure_logged = false;
  return IdLeaseRenewalDue(end, lease_duration_ms_setting) - WallClockMillis();
}

// What any role may see of a failure (SF030's and SF031's detail): never libpq's or the server's
// message, which can quote snowflake.lease_conninfo; those go to the server log (RecordFailure).
static void PublicDetail(const char* error, char* detail) {
  switch (client_failure) {
    case ClientFailure::kUnreachable:
      strlcpy(detail,
              "The coordination database could not be reached: check snowflake.lease_conninfo, the network and "
              "the coordination server; the server log has the connection error.",
              kClientErrorSize);
      return;
    case ClientFailure::kTimeout:
      strlcpy(detail, "The coordination database did not answer in time; the server log has more.", kClientErrorSize);
      return;
    case ClientFailure::kStopping:
      strlcpy(detail, "This server is shutting down.", kClientErrorSize);
      return;
    case ClientFailure::kRefused:
      snprintf(detail, kClientErrorSize,
               "The coordination database refused the lease call (SQLSTATE %s); the server log has its message.",
               client_failure_sqlstate);
      return;
    case ClientFailure::kAnswer:
      strlcpy(detail, error, kClientErrorSize);  // our own words (an unexpected or invalid answer)
      return;
  }
}

void RecordFailure(const char* error, bool* logged) {
  char detail[kClientErrorSize];
  PublicDetail(error, detail);
  LWLockAcquire(generator_lock, LW_EXCLUSIVE);
  SharedLease& lease = shared_generator->lease;
  lease.renewal_failing = true;
  strlcpy(lease.detail, detail, sizeof(lease.detail));
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

void Release(LeaseHolder& holder, PGconn* conn) {
  int64 final_end = -1;
  const int32 machine_id = EndLeaseForRelease(&final_end);
  if (machine_id < 0) {
    if (conn != nullptr) PQfinish(conn);
    return;
  }
  client_stopping = false;  // let these last calls run (each bounded by kCallTimeoutMs)
  char id[16], end[32], error[kClientErrorSize];
  if (conn == nullptr) conn = ConnectPinned(error);  // SIGTERM may have cut the connection short
  PGresult* row = nullptr;
  if (conn != nullptr) {
    pg_ltoa(machine_id, id);
    pg_lltoa(final_end, end);
    const char* params[] = {id, holder.node_id, lease_incarnation, end};
    row = Call(conn, "SELECT snowflake_lease_release($1::integer, $2::uuid, $3::uuid, $4::bigint)", 4, params,
               error);
    PQfinish(conn);
  }
  if (row == nullptr) {
    ereport(LOG, (errmsg("snowflake: could not release the lease on machine id %d: %s", machine_id, error)));
    return;
  }
  PQclear(row);
  ereport(LOG, (errmsg("snowflake: released the lease on machine id %d at %s", machine_id,
                       timestamptz_to_str(MillisToTimestamp(final_end)))));
}

}  // namespace snowflake
