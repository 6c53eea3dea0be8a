-- The generator's SQL surface: make, decode and compose IDs, and the generator's status.

-- VOLATILE: each call returns a new ID. PARALLEL SAFE like gen_random_uuid(): the generator is
-- server-wide shared memory, which parallel workers reach as well as any backend.
CREATE OR REPLACE FUNCTION snowflake_next() RETURNS bigint
    AS 'MODULE_PATHNAME', 'snowflake_next'
    LANGUAGE C VOLATILE PARALLEL SAFE;

CREATE OR REPLACE FUNCTION snowflake_decode(id bigint,
                                 OUT ts timestamptz, OUT machine_id integer, OUT sequence integer)
    RETURNS record
    AS 'MODULE_PATHNAME', 'snowflake_decode'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OR REPLACE FUNCTION snowflake_compose(ts timestamptz, machine_id integer DEFAULT 0, sequence integer DEFAULT 0)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'snowflake_compose'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OR REPLACE FUNCTION snowflake_timestamp(id bigint) RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'snowflake_timestamp'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OR REPLACE FUNCTION snowflake_machine_id(id bigint) RETURNS integer
    AS 'MODULE_PATHNAME', 'snowflake_machine_id'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- VOLATILE: counters move with every call. One row, readable by any role: nothing in it is secret.
-- machine_id_source: 'setting' (snowflake.machine_id), 'lease', or NULL (unset); lease_state:
-- claiming, held, lost or exhausted; lease_end: no ID past it; lease_renewed_at: this server's
-- clock when the coordination database last confirmed the lease.
CREATE OR REPLACE FUNCTION snowflake_status(OUT machine_id integer, OUT last_ts timestamptz, OUT durable_mark timestamptz,
                                 OUT ids_issued bigint, OUT sequence_waits bigint, OUT rollback_waits bigint,
                                 OUT rollback_errors bigint, OUT stall_errors bigint, OUT mark_writes bigint,
                                 OUT mark_write_errors bigint, OUT machine_id_source text, OUT lease_state text,
                                 OUT lease_end timestamptz, OUT lease_renewed_at timestamptz)
    RETURNS record
    AS 'MODULE_PATHNAME', 'snowflake_status'
    LANGUAGE C VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION snowflake_next() IS 'the next snowflake ID of this server';
COMMENT ON FUNCTION snowflake_decode(bigint) IS 'the time, machine id and sequence inside a snowflake ID';
COMMENT ON FUNCTION snowflake_compose(timestamptz, integer, integer) IS 'the snowflake ID of a millisecond, machine id and sequence; the lowest ID of that millisecond by default';
COMMENT ON FUNCTION snowflake_timestamp(bigint) IS 'the millisecond a snowflake ID was made';
COMMENT ON FUNCTION snowflake_machine_id(bigint) IS 'the machine id inside a snowflake ID';
COMMENT ON FUNCTION snowflake_status() IS 'the generator of this server: machine id and where it came from, last millisecond used, durable mark, counters since start, lease';
