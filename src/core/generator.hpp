// One step of the ID generator: given the shared state and the clock, issue an ID or say what to do first.
#pragma once

#include <cstdint>

#include "layout.hpp"

namespace snowflake {

// What the generator has seen since the server started; read by snowflake_status().
struct Counters {
  uint64_t ids_issued;
  uint64_t sequence_waits;   // 4096 used in a millisecond: waited for the next
  uint64_t rollback_waits;   // clock behind, within what may be waited out
  uint64_t rollback_errors;  // clock behind, beyond it: no ID
  uint64_t mark_writes;
};

// Plain data with no pointers: it lives in PostgreSQL shared memory, mapped at different addresses.
struct GeneratorState {
  int64_t last_millis;  // millisecond of the last ID issued (or the restored mark); -1 before any
  int32_t sequence;     // sequence of the last ID issued in last_millis
  int64_t mark_millis;  // durable high-water mark: no ID past it until a higher one is on disk; -1: none
  bool restored;        // last_millis is the mark read at start-up, possibly the look-ahead past any real ID
  bool renewing;        // one caller is writing a new mark outside the lock
  // The mark's durable copies must be written again before the next ID, though it has not run out (the
  // server sets it when its WAL record of the mark precedes the last checkpoint's redo point).
  bool mark_stale;
  Counters counters;
};

struct Policy {
  int64_t mark_lookahead_millis;      // how far ahead of the clock a new durable mark is set
  int64_t rollback_tolerance_millis;  // a backward step up to this is waited out; beyond it, an error
};

// State after start-up: with no mark on disk (-1) a fresh generator, else one that issues nothing at or
// below the mark, which bounds every ID issued before the restart or crash.
GeneratorState Restore(int64_t durable_mark) noexcept;

enum class StepStatus {
  kIssued,             // id holds the new ID; if mark >= 0, also renew the mark (write it, then MarkWritten)
  kWriteMark,          // write `mark` durably, then MarkWritten (or MarkFailed), then step again (also when
                       // mark_stale: then `mark` is at least the current one)
  kWait,               // step again once the clock reads at least wait_until (-1: after a short pause)
  kClockBehind,        // the clock is behind_millis behind the last millisecond used: no ID
  kClockOutOfRange,    // the clock is before 2024-01-01Z or past the 41-bit range: no ID
  kIdLeaseNotStarted,  // (id_lease.hpp) the clock is at or before the previous holder's end: wait until wait_until
  kIdLeaseEnded,       // (id_lease.hpp) the clock is past the leased machine id's end: no ID until it is renewed
};

struct StepResult {
  StepStatus status;
  int64_t id;             // kIssued
  int64_t mark;           // kWriteMark, or kIssued with an early renewal due; else -1
  int64_t wait_until;     // kWait
  int64_t behind_millis;  // kClockBehind, and kWait when the clock is behind
};

// now_millis: the wall clock in milliseconds since kEpochUnixMillis; machine_id must be valid.
// The caller serialises calls on one state (the server holds an LWLock), and writes marks without it.
StepResult Step(GeneratorState& state, int32_t machine_id, int64_t now_millis, const Policy& policy) noexcept;

// A mark learnt from elsewhere (the server replays it from the WAL): from now on, as after Restore,
// nothing at or below it is issued. A lower mark changes nothing.
void RaiseMark(GeneratorState& state, int64_t mark) noexcept;

// After a kWriteMark or renewal: the mark is durable (MarkWritten) or could not be written (MarkFailed).
void MarkWritten(GeneratorState& state, int64_t mark) noexcept;
void MarkFailed(GeneratorState& state) noexcept;

}  // namespace snowflake
