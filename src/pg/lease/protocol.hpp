// The lease protocol: claim, renew and release a machine id at the coordination database, and
// publish to the generator only what the coordination database has committed.
#pragma once

#include "../shmem.hpp"
#include "client.hpp"
#include "node_id.hpp"

namespace snowflake {

// What the worker knows of itself between steps.
struct LeaseHolder {
  char node_id[kUuidLength + 1];
  char host[256];
  char system_identifier[32];
  char busy_renewed_at[64];  // the first 'busy' answer's renewal time, to see whether it moves
  bool failure_logged;
};

// A connection to the coordination database with its search_path pinned, or nullptr with *error.
PGconn* ConnectPinned(char* error);

// One step each; each returns how long to wait before the next (-1: the call failed, *error says why).
int64 Claim(LeaseHolder& holder, PGconn* conn, char* error);
int64 Renew(LeaseHolder& holder, PGconn* conn, int32 machine_id, char* error);

// Records why the worker has no lease or could not renew; logs the first of a run of failures.
void RecordFailure(const char* error, bool* logged);

// A clean stop: no ID past the last millisecond used from now on, and the coordination database
// told so, so that whoever takes the id next (this node after a restart) need not wait out the
// lease. Takes over conn (nullptr: connects again) and closes it.
void Release(LeaseHolder& holder, PGconn* conn);

}  // namespace snowflake
