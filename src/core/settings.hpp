// Reading snowflake.machine_id from its text: exactly what a person means by a machine id, nothing looser.
#pragma once

#include <cstdint>

namespace snowflake {

// True for "-1" (unset) and for a plain decimal 0..1023 written without sign, leading zero, space,
// fraction or unit ("0", "7", "1023"), with the value in *machine_id. PostgreSQL's own integer
// parser reads "010" as octal 8, "0x10" as 16, "1.5" as 2 and " 7" as 7: a machine id must never
// be something other than what its reader sees, so every such form is refused.
bool ParseMachineIdSetting(const char* text, int32_t* machine_id) noexcept;

// snowflake.lease_machine_ids: "first-last" or "n", each written as ParseMachineIdSetting wants a
// machine id (never -1), first no greater than last; true with the range in *first and *last.
bool ParseMachineIdRangeSetting(const char* text, int32_t* first, int32_t* last) noexcept;

}  // namespace snowflake
