// The durable mark in the WAL: a custom resource manager whose records every replay applies.
#pragma once

#include "postgres.hpp"

namespace snowflake {

// From _PG_init while shared_preload_libraries loads: PostgreSQL accepts a resource manager only then.
void RegisterMarkResourceManager();

// Logs `mark` (milliseconds since 2024-01-01Z) and flushes it to disk; returns the end of the record, or
// InvalidXLogRecPtr when this process may not write WAL (recovery). Never under the generator lock.
XLogRecPtr LogMark(int64 mark);

}  // namespace snowflake
