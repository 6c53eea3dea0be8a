// The durable high-water mark on disk: $PGDATA/pg_snowflake/mark, one decimal millisecond since 2024-01-01Z.
#pragma once

#include <cstddef>
#include <cstdint>

#include "durable_file.hpp"
#include "layout.hpp"

namespace snowflake {

constexpr const char* kMarkDir = kSnowflakeDir;
constexpr const char* kMarkPath = "pg_snowflake/mark";

enum class MarkRead {
  kFound,       // millis holds the mark
  kMissing,     // nothing at the path: a server that never issued an ID
  kUnreadable,  // the file could not be opened or read: error holds errno
  kNotAFile,    // something other than a regular file is there: file_type holds its S_IFMT bits (0: a
                // symbolic link that leads nowhere)
  kNotAMark,    // a regular file whose contents are no mark
};

// Plain data: the server keeps it in shared memory to report it.
struct MarkReadResult {
  MarkRead status;
  int64_t millis;  // kFound
  int error;       // kUnreadable
  int file_type;   // kNotAFile
};

// What the server writes ("123\n") and what an operator writes by hand: decimal digits, with any
// spaces, tabs or line ends around them. Nothing else: no sign, no second number, no more than fits
// in 63 bits.
bool ParseMark(const char* text, size_t length, int64_t* millis) noexcept;

// Reads dir/mark. Anything at the path that is not a regular readable file holding a mark is not
// kMissing: a mark that cannot be read must stop the generator, never let it start without a floor.
MarkReadResult ReadMarkFile(const char* dir) noexcept;
inline MarkReadResult ReadMarkFile() noexcept { return ReadMarkFile(kMarkDir); }

// Why a read did not find a mark, in words for a message ("Permission denied", "a directory", ...).
const char* MarkReadProblem(const MarkReadResult& result) noexcept;

// Writes dir/mark through WriteFileDurably (durable_file.hpp): 0, or errno. A crash at any point
// leaves the old or the new mark.
int WriteMarkFile(const char* dir, int64_t millis) noexcept;
inline int WriteMarkFile(int64_t millis) noexcept { return WriteMarkFile(kMarkDir, millis); }

enum class MarkCheck {
  kUsable,       // the generator restores it and waits out at most a short gap
  kPastRange,    // later than any mark a generator writes: not a mark this layout can have made
  kTooFarAhead,  // more than kMaxMarkAheadMillis ahead of the clock: the clock is wrong now, or was
                 // set ahead while IDs were issued; refused until an operator decides (SF005)
};

// Whether a mark read at start-up may be restored, with the wall clock at now_millis.
MarkCheck CheckRestoredMark(int64_t mark, int64_t now_millis) noexcept;

}  // namespace snowflake
