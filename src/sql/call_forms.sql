-- Exact-match overloads and operators for the call forms the documentation shows (new in 1.2).
--
-- Why: PostgreSQL picks an exact match of the argument types before anything else, wherever it is
-- on the search_path (pg_catalog first does not help), and among inexact candidates it prefers
-- text for a string literal. So where a role can create in a schema on the caller's path, a
-- function it plants with the exact types of a call (snowflake_decode(snowflake) for a snowflake
-- column, snowflake_compose(text) for a string literal, >>(snowflake, integer) for max(id) >> 22)
-- is a better match than ours, and the caller runs its code. Here the extension defines those
-- signatures itself, in its own schema: a planted twin cannot be created beside them, and one
-- elsewhere is never better (at best equal, and then the schema earlier on the path wins, which
-- is the caller's choice). See docs/security.md.
--
-- Each overload converts its argument with an explicit CAST (pg_cast, no name lookup) and calls
-- the function of the declared type, schema-qualified, with every argument of its exact type.
-- The snowflake overloads are the same C functions (a snowflake is a bigint's bits).
--
-- Errors: those of the conversion (22P02 for text that is not a number, a time or a uuid, 42P01
-- for a table name that does not resolve) and of the function called.

-- ---- IDs as snowflake, integer (a literal) and text (a quoted literal) ----
CREATE OR REPLACE FUNCTION snowflake_decode(id snowflake, OUT ts timestamptz, OUT machine_id integer, OUT sequence integer)
    RETURNS record AS 'MODULE_PATHNAME', 'snowflake_decode' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION snowflake_timestamp(id snowflake) RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'snowflake_timestamp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION snowflake_machine_id(id snowflake) RETURNS integer
    AS 'MODULE_PATHNAME', 'snowflake_machine_id' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OR REPLACE FUNCTION snowflake_decode(id integer, OUT ts timestamptz, OUT machine_id integer, OUT sequence integer)
    RETURNS record LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$ SELECT d.ts, d.machine_id, d.sequence FROM @extschema@.snowflake_decode(CAST($1 AS pg_catalog.int8)) d $$;
CREATE OR REPLACE FUNCTION snowflake_timestamp(id integer) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$ SELECT @extschema@.snowflake_timestamp(CAST($1 AS pg_catalog.int8)) $$;
CREATE OR REPLACE FUNCTION snowflake_machine_id(id integer) RETURNS integer
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$ SELECT @extschema@.snowflake_machine_id(CAST($1 AS pg_catalog.int8)) $$;

CREATE OR REPLACE FUNCTION snowflake_decode(id text, OUT ts timestamptz, OUT machine_id integer, OUT sequence integer)
    RETURNS record LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$ SELECT d.ts, d.machine_id, d.sequence FROM @extschema@.snowflake_decode(CAST($1 AS pg_catalog.int8)) d $$;
CREATE OR REPLACE FUNCTION snowflake_timestamp(id text) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$ SELECT @extschema@.snowflake_timestamp(CAST($1 AS pg_catalog.int8)) $$;
CREATE OR REPLACE FUNCTION snowflake_machine_id(id text) RETURNS integer
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$ SELECT @extschema@.snowflake_machine_id(CAST($1 AS pg_catalog.int8)) $$;

-- ---- A time as a string literal ----
-- IMMUTABLE like the timestamptz form, although reading a literal without an offset depends on
-- TimeZone: it reproduces what the literal did before this overload existed (converted once, when
-- the statement is planned, as the literal was when it was parsed), so the planner still folds
-- snowflake_compose('2025-03-01 00:00:00+00') to a constant for index ranges and partition pruning.
CREATE OR REPLACE FUNCTION snowflake_compose(ts text, machine_id integer DEFAULT 0, sequence integer DEFAULT 0)
    RETURNS bigint LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$ SELECT @extschema@.snowflake_compose(CAST($1 AS pg_catalog.timestamptz), $2, $3) $$;

-- ---- A uuid as a string literal ----
CREATE OR REPLACE FUNCTION snowflake_uuid_time(u text) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$ SELECT @extschema@.snowflake_uuid_time(CAST($1 AS pg_catalog.uuid)) $$;

-- ---- A table as a string literal ----
-- No SET search_path, on purpose: the name resolves on the caller's search_path, exactly as the
-- literal 'authors' resolved to a regclass before. Nothing else in them is looked up by name:
-- the cast is pg_cast's, the one call is schema-qualified with exact argument types, and the
-- function called pins its own search_path. The procedures could not carry a SET clause anyway
-- (it forbids COMMIT).
CREATE OR REPLACE FUNCTION snowflake_migration_plan(tbl text)
    RETURNS TABLE (step integer, phase text, target text, statement text, status text)
    LANGUAGE sql STABLE
AS $$ SELECT * FROM @extschema@.snowflake_migration_plan(CAST($1 AS pg_catalog.regclass)) $$;
CREATE OR REPLACE FUNCTION snowflake_migration_start(tbl text, lock_wait interval DEFAULT '100 ms',
                                                     give_up_after interval DEFAULT '10 min') RETURNS void
    LANGUAGE sql VOLATILE
AS $$ SELECT @extschema@.snowflake_migration_start(CAST($1 AS pg_catalog.regclass), $2, $3) $$;
CREATE OR REPLACE FUNCTION snowflake_migration_abort(tbl text, lock_wait interval DEFAULT '100 ms',
                                                     give_up_after interval DEFAULT '10 min') RETURNS void
    LANGUAGE sql VOLATILE
AS $$ SELECT @extschema@.snowflake_migration_abort(CAST($1 AS pg_catalog.regclass), $2, $3) $$;
CREATE OR REPLACE PROCEDURE snowflake_migration_backfill(
    tbl text,
    time_column name DEFAULT NULL,
    uuid_time boolean DEFAULT NULL,
    order_by text DEFAULT NULL,
    backfill_machine_ids int4range DEFAULT NULL,
    pre_epoch text DEFAULT NULL,
    batch_size integer DEFAULT 10000)
LANGUAGE plpgsql AS $fn$
BEGIN
    CALL @extschema@.snowflake_migration_backfill(CAST(tbl AS pg_catalog.regclass), time_column, uuid_time, order_by,
                                                  backfill_machine_ids, pre_epoch, batch_size);
END
$fn$;
CREATE OR REPLACE PROCEDURE snowflake_migration_cutover(tbl text, lock_wait interval DEFAULT '100 ms',
                                                       give_up_after interval DEFAULT '10 min')
LANGUAGE plpgsql AS $fn$
BEGIN
    CALL @extschema@.snowflake_migration_cutover(CAST(tbl AS pg_catalog.regclass), lock_wait, give_up_after);
END
$fn$;

COMMENT ON FUNCTION snowflake_decode(snowflake) IS 'the time, machine id and sequence inside a snowflake ID';
COMMENT ON FUNCTION snowflake_decode(integer) IS 'the time, machine id and sequence inside a snowflake ID';
COMMENT ON FUNCTION snowflake_decode(text) IS 'the time, machine id and sequence inside a snowflake ID (as text)';
COMMENT ON FUNCTION snowflake_timestamp(snowflake) IS 'the millisecond a snowflake ID was made';
COMMENT ON FUNCTION snowflake_timestamp(integer) IS 'the millisecond a snowflake ID was made';
COMMENT ON FUNCTION snowflake_timestamp(text) IS 'the millisecond a snowflake ID (as text) was made';
COMMENT ON FUNCTION snowflake_machine_id(snowflake) IS 'the machine id inside a snowflake ID';
COMMENT ON FUNCTION snowflake_machine_id(integer) IS 'the machine id inside a snowflake ID';
COMMENT ON FUNCTION snowflake_machine_id(text) IS 'the machine id inside a snowflake ID (as text)';
COMMENT ON FUNCTION snowflake_compose(text, integer, integer) IS 'snowflake_compose of a time written as text';
COMMENT ON FUNCTION snowflake_uuid_time(text) IS 'snowflake_uuid_time of a uuid written as text';
COMMENT ON FUNCTION snowflake_migration_plan(text) IS 'snowflake_migration_plan of a table named by text (on the caller''s search_path)';
COMMENT ON FUNCTION snowflake_migration_start(text, interval, interval) IS 'snowflake_migration_start of a table named by text (on the caller''s search_path)';
COMMENT ON FUNCTION snowflake_migration_abort(text, interval, interval) IS 'snowflake_migration_abort of a table named by text (on the caller''s search_path)';
COMMENT ON PROCEDURE snowflake_migration_backfill(text, name, boolean, text, int4range, text, integer) IS 'snowflake_migration_backfill of a table named by text (on the caller''s search_path)';
COMMENT ON PROCEDURE snowflake_migration_cutover(text, interval, interval) IS 'snowflake_migration_cutover of a table named by text (on the caller''s search_path)';
