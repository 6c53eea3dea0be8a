// The durable high-water mark on disk: $PGDATA/pg_snowflake/mark, one decimal millisecond.
#pragma once

#include <cstdint>

namespace snowflake {

constexpr const char* kMarkPath = "pg_snowflake/mark";  // relative: servers run in the data directory

enum class MarkRead { kFound, kMissing, kUnreadable };

// Reads the mark into *millis; kUnreadable sets *error to errno, or 0 for contents that are no mark.
MarkRead ReadMarkFile(int64_t* millis, int* error) noexcept;

// Writes the mark durably (temporary file, fsync, rename, fsync of the directory): 0, or errno.
// Plain POSIX calls, no ereport: callers hold state that must be put right before any error is raised.
int WriteMarkFile(int64_t millis) noexcept;

}  // namespace snowflake
