// A small asynchronous libpq client for a background worker: no call blocks past its deadline or a SIGTERM.
#pragma once

#include <csignal>

#include "../postgres.hpp"

namespace snowflake {

// The longest a connection attempt or a call may take.
constexpr int64 kCallTimeoutMs = 5000;

// Every error buffer a client function fills holds this many bytes.
constexpr size_t kClientErrorSize = 256;

// Set by the worker's SIGTERM handler (which also sets the latch): waits give up at once, with the
// error "shutting down". The worker clears it to make its last calls before it exits.
extern volatile sig_atomic_t client_stopping;

// What the last failed Connect or Call met, for the SQL-visible detail: libpq's and the server's
// messages can quote snowflake.lease_conninfo (its host, user, even a password in a malformed
// string), so only the server log gets them; any role sees the kind and, for kRefused, the SQLSTATE.
enum class ClientFailure { kUnreachable, kTimeout, kStopping, kRefused, kAnswer };
extern ClientFailure client_failure;
extern char client_failure_sqlstate[6];

// text into error as one line (libpq's messages end with a newline and indent with tabs).
void CopyError(char* error, const char* text);

// A connection to `dbname` (a database name or a connection string), or nullptr with *error.
PGconn* Connect(const char* dbname, const char* application_name, char* error);

// Runs one statement and waits for its whole outcome, commit included (with the extended protocol
// the commit comes after the rows, at Sync): its one row (PQclear it), or nullptr with *error
// ("unexpected answer" for a result other than one row).
PGresult* Call(PGconn* conn, const char* sql, int count, const char* const* params, char* error);

}  // namespace snowflake
