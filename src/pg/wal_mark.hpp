// The durable mark in the WAL: a custom resource manager whose records every replay applies.
#pragma once

#include "postgres.hpp"

namespace snowflake {

// From _PG_init while shared_preload_libraries loads: PostgreSQL accepts a resource manager only then.
void RegisterMarkResourceManager();

// Also from _PG_init: the mark keeper, a background worker that logs the mark again after each checkpoint.
void RegisterMarkKeeper();

// Logs `mark` (milliseconds since 2024-01-01Z) and flushes it to disk; returns the end of the record, or
// InvalidXLogRecPtr when this process may not write WAL (recovery). Never under the generator lock.
// `unimportant`: a record that alone must not make an idle server checkpoint again.
XLogRecPtr LogMark(int64 mark, bool unimportant = false);

}  // namespace snowflake
