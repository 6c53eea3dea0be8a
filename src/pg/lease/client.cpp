// A small asynchronous libpq client for a background worker: no call blocks past its deadline or a SIGTERM.
//
// The postgres_fdw/dblink and walreceiver pattern: PQconnectStartParams/PQconnectPoll and
// PQsendQueryParams under WaitLatchOrSocket, so SIGTERM and postmaster death are seen at once.
#include "client.hpp"

namespace snowflake {

volatile sig_atomic_t client_stopping = false;
ClientFailure client_failure = ClientFailure::kAnswer;
char client_failure_sqlstate[6] = "";

namespace {

// Waits for the socket (or the latch); false on timeout or SIGTERM.
bool WaitSocket(PGconn* conn, int event, int64 deadline) {
  for (;;) {
    if (client_stopping) return false;
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

// Waits for the whole outcome of the statement sent; see Call.
PGresult* AwaitRow(PGconn* conn, char* error) {
  const int64 deadline = MonotonicMillis() + kCallTimeoutMs;
  PGresult* row = nullptr;
  bool failed = false;
  for (;;) {
    while (PQisBusy(conn)) {
      const bool ready = WaitSocket(conn, WL_SOCKET_READABLE, deadline);
      if (!ready || !PQconsumeInput(conn)) {
        client_failure = ready ? ClientFailure::kUnreachable
                               : client_stopping ? ClientFailure::kStopping : ClientFailure::kTimeout;
        CopyError(error, ready             ? PQerrorMessage(conn)
                         : client_stopping ? "shutting down"
                                           : "timed out waiting for the coordination database");
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
      const bool answered = PQresultStatus(result) == PGRES_TUPLES_OK;
      const char* sqlstate = answered ? nullptr : PQresultErrorField(result, PG_DIAG_SQLSTATE);
      client_failure = answered ? ClientFailure::kAnswer : ClientFailure::kRefused;
      strlcpy(client_failure_sqlstate, sqlstate != nullptr ? sqlstate : "", sizeof(client_failure_sqlstate));
      CopyError(error, answered ? "unexpected answer" : PQresultErrorMessage(result));
    }
    PQclear(result);
  }
  if (failed) {
    PQclear(row);
    return nullptr;
  }
  if (row == nullptr) {
    client_failure = ClientFailure::kAnswer;
    CopyError(error, "no answer");
  }
  return row;
}

}  // namespace

void CopyError(char* error, const char* text) {
  strlcpy(error, text, kClientErrorSize);
  for (char* p = error; *p != '\0'; ++p)
    if (*p == '\n' || *p == '\t') *p = (p[1] == '\0') ? '\0' : ' ';
}

PGconn* Connect(const char* dbname, const char* application_name, char* error) {
  const char* keys[] = {"dbname", "fallback_application_name", nullptr};
  const char* values[] = {dbname, application_name, nullptr};
  PGconn* conn = PQconnectStartParams(keys, values, 1);
  client_failure = ClientFailure::kUnreachable;
  if (conn == nullptr) {
    CopyError(error, "out of memory");
    return nullptr;
  }
  const int64 deadline = MonotonicMillis() + kCallTimeoutMs;
  PostgresPollingStatusType status = PQstatus(conn) == CONNECTION_BAD ? PGRES_POLLING_FAILED : PGRES_POLLING_WRITING;
  while (status == PGRES_POLLING_READING || status == PGRES_POLLING_WRITING) {
    const int event = status == PGRES_POLLING_READING ? WL_SOCKET_READABLE : WL_SOCKET_WRITEABLE;
    if (!WaitSocket(conn, event, deadline)) {
      client_failure = client_stopping ? ClientFailure::kStopping : ClientFailure::kTimeout;
      CopyError(error, client_stopping ? "shutting down" : "timed out connecting to the coordination database");
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

PGresult* Call(PGconn* conn, const char* sql, int count, const char* const* params, char* error) {
  if (!PQsendQueryParams(conn, sql, count, nullptr, params, nullptr, nullptr, 0)) {
    client_failure = ClientFailure::kUnreachable;
    CopyError(error, PQerrorMessage(conn));
    return nullptr;
  }
  return AwaitRow(conn, error);
}

}  // namespace snowflake
