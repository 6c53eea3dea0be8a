// Small files in the data directory written so that a crash at any point leaves the old or the new contents.
#pragma once

#include <cstddef>

#include "layout.hpp"

namespace snowflake {

// The folder of snowflake's files in the data directory (the mark, the node identity). Relative:
// servers run in the data directory.
constexpr const char* kSnowflakeDir = "pg_snowflake";

constexpr size_t kPathSize = 1024;

// dir + "/" + name + suffix into path; false if it does not fit.
bool JoinPath(char (&path)[kPathSize], const char* dir, const char* name, const char* suffix = "") noexcept;

// Writes text to dir/name durably: a temporary file (name.tmp) written and fsynced, renamed over
// name, and the directory fsynced (which it creates if missing), so the rename survives a crash.
// Returns 0 or errno. Plain POSIX calls, no ereport: callers may hold state to put right first.
int WriteFileDurably(const char* dir, const char* name, const char* text, size_t length) noexcept;

}  // namespace snowflake
