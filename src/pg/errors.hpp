// snowflake's own SQLSTATEs, class SF (classes from I to Z are left to implementations). This list
// is the code's one statement of what each means; docs/errors.md is the user's.
#pragma once

#include "postgres.hpp"

namespace snowflake {

// SF001: the clock is behind the last millisecond used, beyond snowflake.rollback_tolerance_ms.
constexpr int kErrClockMovedBackwards = MAKE_SQLSTATE('S', 'F', '0', '0', '1');
// SF002: a wait for the clock (or for another session's mark) outlasted snowflake.max_wait_ms.
constexpr int kErrClockStalled = MAKE_SQLSTATE('S', 'F', '0', '0', '2');
// SF003: the durable mark could not be written.
constexpr int kErrMarkNotWritten = MAKE_SQLSTATE('S', 'F', '0', '0', '3');
// SF004: the durable mark could not be read at start-up.
constexpr int kErrMarkUnreadable = MAKE_SQLSTATE('S', 'F', '0', '0', '4');
// SF005: the durable mark read at start-up is past the layout or too far ahead of the clock.
constexpr int kErrMarkOutOfReach = MAKE_SQLSTATE('S', 'F', '0', '0', '5');
// SF010: the collision guard met a replicated row carrying this server's own machine id.
constexpr int kErrOwnMachineId = MAKE_SQLSTATE('S', 'F', '0', '1', '0');
// SF030: lease mode, and no machine id is leased.
constexpr int kErrNoLease = MAKE_SQLSTATE('S', 'F', '0', '3', '0');
// SF031: the machine-id lease ended and was not renewed.
constexpr int kErrLeaseEnded = MAKE_SQLSTATE('S', 'F', '0', '3', '1');
// SF032: the clock does not pass the previous holder's lease end within snowflake.max_wait_ms.
constexpr int kErrLeaseNotStarted = MAKE_SQLSTATE('S', 'F', '0', '3', '2');

// The range of the layout's milliseconds, for the details of errors about it.
constexpr const char* kRangeDetail = "Snowflake IDs cover 2024-01-01 00:00:00 UTC to 2093-09-06 15:47:35.551 UTC.";

}  // namespace snowflake
