// The column type snowflake's output function: bigint's, reached through this library so that
// PostgreSQL's JSON code, which looks an output function up again for every value, finds it fast.
#include "postgres.hpp"

extern "C" {

PG_FUNCTION_INFO_V1(snowflake_out);

// snowflake_out(snowflake) RETURNS cstring: int8out on the same Datum (the type is bigint's bits).
// Locks nothing; raises nothing of its own.
Datum snowflake_out(PG_FUNCTION_ARGS) { return int8out(fcinfo); }

}  // extern "C"
