-- snowflake 1.1, built by make from src/sql: edit those files, not this one.
\echo Use "CREATE EXTENSION snowflake" to load this file. \quit

-- ---- src/sql/migration/state.sql
-- The migration toolkit's state and who may see and change it: created by a fresh install and, after
-- it has set aside and dropped 1.0's state, by the update from 1.0 (src/sql/update).

-- ===========================================================================================
-- Migrating a table from a uuid primary key to a snowflake key (README: "Migrating from UUID
-- keys"). Phases: start -> backfill -> indexes (CONCURRENTLY, run by the user) -> cut-over;
-- abort undoes everything before the cut-over. Every phase computes the statements it runs from
-- the catalog when it runs (_snowflake_migration_steps); these tables keep only data: names,
-- options, counters, the ID map, and the shape of the plan at the start, to notice a schema that
-- changed under the migration. No statement is stored, so none can be read back and executed.
--
-- Who sees what: row-level security. A role sees and writes the rows of the migrations of tables
-- it owns (is a member of the owner, as ALTER TABLE requires); a superuser sees all. The migration
-- functions run as their caller (SECURITY INVOKER), so the identity checked is the caller's own,
-- which a SECURITY DEFINER function could not see. An owner who edits her own rows by hand can
-- only disturb her own migration: the statements come from the catalog, not from these rows.
-- ===========================================================================================

-- One row per migration under way (or done), keyed by the table's schema-qualified, quoted name
-- (text, not regclass: pg_upgrade refuses reg* columns, and names survive dump/restore).
CREATE TABLE snowflake_migration (
    relation     text PRIMARY KEY,
    key_column   text NOT NULL,                 -- the uuid primary-key column
    new_column   text NOT NULL,                 -- its bigint twin while the migration runs
    phase        text NOT NULL CHECK (phase IN ('started', 'backfilled', 'constrained', 'done')),
    -- fixed by the first backfill call
    source       text,                          -- 'column', 'uuid' or 'order'
    source_value text,                          -- the time column or the ORDER BY expression
    machine_ids  int4range,                     -- reserved for backfilled IDs
    pre_epoch    text,                          -- 'refuse' or 'pack'
    map_rows     bigint,                        -- rows numbered by the map; NULL until built
    started_at   timestamptz NOT NULL DEFAULT now(),
    cut_over_at  timestamptz
);

-- The plan as it was at the start, step by step (what each does, to which table and object, no
-- statement: those are computed when they run), and the progress of each.
CREATE TABLE snowflake_migration_step (
    relation  text NOT NULL,
    step      integer NOT NULL,
    phase     text NOT NULL,        -- start | backfill | index | constrain | cutover
    kind      text NOT NULL,        -- ddl | parent_batches | child_batches | index
    target    text NOT NULL,        -- the table the statement touches
    object    text,                 -- the index a kind=index step makes
    finished  boolean NOT NULL DEFAULT false,
    done      bigint NOT NULL DEFAULT 0,   -- rows (parent) or blocks (children) handled
    batch     bigint,                      -- rows or blocks per batch, fixed by the first batch
    total     bigint,
    PRIMARY KEY (relation, step)
);

-- Old key -> backfilled ID, numbered in ID order so that batches are ranges of n. Built in one
-- transaction before the first batch, so every batch and every resumption agree on the IDs.
CREATE TABLE snowflake_migration_map (
    relation text NOT NULL,
    n        bigint NOT NULL,
    key      uuid NOT NULL,
    new_id   bigint NOT NULL,
    PRIMARY KEY (relation, n)
);

-- A dump taken in the middle of a migration must carry its state: the restore resumes it.
SELECT pg_catalog.pg_extension_config_dump('snowflake_migration', '');
SELECT pg_catalog.pg_extension_config_dump('snowflake_migration_step', '');
SELECT pg_catalog.pg_extension_config_dump('snowflake_migration_map', '');

-- _snowflake_owns(relation text) -> boolean: whether the current user may act on the migration of
-- relation: relation is the canonical (schema-qualified, quoted) name of an existing table whose
-- owner the current user has the privileges of. The policies below call it. Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_owns(relation text) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce((SELECT pg_catalog.pg_has_role(c.relowner, 'USAGE')
                            AND relation OPERATOR(pg_catalog.=) pg_catalog.format('%I.%I', n.nspname, c.relname)
                     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
                     WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(relation)), false)
$$;
REVOKE ALL ON FUNCTION _snowflake_owns(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION _snowflake_owns(text) TO PUBLIC;

ALTER TABLE snowflake_migration ENABLE ROW LEVEL SECURITY;
ALTER TABLE snowflake_migration_step ENABLE ROW LEVEL SECURITY;
ALTER TABLE snowflake_migration_map ENABLE ROW LEVEL SECURITY;
CREATE POLICY owner_only ON snowflake_migration USING (@extschema@._snowflake_owns(relation));
CREATE POLICY owner_only ON snowflake_migration_step USING (@extschema@._snowflake_owns(relation));
CREATE POLICY owner_only ON snowflake_migration_map USING (@extschema@._snowflake_owns(relation));
GRANT SELECT, INSERT, UPDATE, DELETE ON snowflake_migration, snowflake_migration_step, snowflake_migration_map TO PUBLIC;

-- DROP EXTENSION while a migration is under way would leave tables that refuse inserts (the
-- CHECKs of the backfill) or columns, triggers and functions nothing can undo: refuse it.
-- _snowflake_refuse_drop() is the event trigger (ddl_command_start, DROP EXTENSION); event
-- triggers cannot see which extension a DROP names, so it reads the statement: a DROP EXTENSION
-- naming snowflake while snowflake_migration has a migration before its cut-over raises 55006.
CREATE OR REPLACE FUNCTION _snowflake_refuse_drop() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    q text := lower(regexp_replace(regexp_replace(current_query(), '/\*.*?\*/', ' ', 'g'), '--[^\n]*', ' ', 'g'));
    busy text;
BEGIN
    IF q !~ 'drop\s+extension(\s+if\s+exists)?\s+([^;]*[\s,])?"?snowflake"?($|[\s,;])' THEN
        RETURN;
    END IF;
    SELECT string_agg(m.relation, ', ' ORDER BY m.relation) INTO busy
    FROM @extschema@.snowflake_migration m WHERE m.phase <> 'done';
    IF busy IS NOT NULL THEN
        RAISE EXCEPTION 'cannot drop extension snowflake while a migration is under way: %', busy
            USING ERRCODE = 'object_in_use',
            DETAIL = 'Its tables carry columns, triggers and constraints that only snowflake_migration_abort() or the cut-over removes; without them inserts would fail.',
            HINT = format('Abort each first: %s', (SELECT string_agg(format('SELECT snowflake_migration_abort(%L);', m.relation), ' ' ORDER BY m.relation)
                                                  FROM @extschema@.snowflake_migration m WHERE m.phase <> 'done'));
    END IF;
END
$$;
CREATE EVENT TRIGGER snowflake_refuse_drop ON ddl_command_start WHEN TAG IN ('DROP EXTENSION')
    EXECUTE FUNCTION _snowflake_refuse_drop();

-- ---- src/sql/lease_state.sql
-- Machine-id leases, kept on a coordination database (README: "Running many nodes", leases). New in 1.1.
--
-- Times of two kinds, never mixed:
-- * *_ms: milliseconds since 2024-01-01 UTC, the scale of the IDs themselves. A holder never issues
--   an ID of its machine id with a millisecond past lease_end_ms, and it issues only IDs with a
--   millisecond after previous_end_ms. Both are compared with the millisecond inside an ID, so they
--   keep the IDs of successive holders apart whatever either server's clock says. The node proposes
--   them from its own clock: it is the clock its IDs carry.
-- * timestamptz: this database's own clock (clock_timestamp()), only to decide when a holder that
--   stopped renewing is gone (liveness), never for uniqueness.

-- One row per machine id ever leased. Rows are never deleted: a row's lease_end_ms is the bound
-- the next holder must start after.
CREATE TABLE snowflake_lease (
    machine_id        integer PRIMARY KEY CHECK (machine_id BETWEEN 0 AND 1023),
    holder            uuid NOT NULL,         -- the node identity kept in the node's data directory
    incarnation       uuid NOT NULL,         -- one run of the node's server (new at each start)
    holder_role       name NOT NULL,         -- the role that claimed it: only it may renew or release
    system_identifier text,                  -- the node's pg_control system identifier (information)
    host              text,                  -- the node's host name (information)
    duration_ms       integer NOT NULL CHECK (duration_ms > 0),  -- how far ahead the node renews
    started_at        timestamptz NOT NULL,  -- this holder's claim
    renewed_at        timestamptz NOT NULL,  -- its last claim or renewal
    released_at       timestamptz,           -- a clean stop; the id is free again
    lease_end_ms      bigint NOT NULL,       -- no ID of machine_id past this millisecond from this holder
    previous_end_ms   bigint NOT NULL,       -- the lease end of the previous holders (-1: none)
    CHECK (lease_end_ms >= previous_end_ms)
);

-- At most one row: when the id of a holder that stopped renewing may go to another node. Empty
-- means 10 minutes (no row from the script, so that a dump's row restores without a conflict):
--   INSERT INTO snowflake_lease_settings VALUES (true, '1 hour')
--       ON CONFLICT (one) DO UPDATE SET reclaim_after = excluded.reclaim_after;
CREATE TABLE snowflake_lease_settings (
    one           boolean PRIMARY KEY DEFAULT true CHECK (one),
    reclaim_after interval NOT NULL CHECK (reclaim_after >= interval '0')
);

-- Optional: the ids each node role may lease. Empty (the default): a role granted the functions
-- may lease any id of the range it asks for. With rows: a role claims and renews only ids inside
-- its own ranges (a range withdrawn makes its holder's next renewal answer 'lost').
CREATE TABLE snowflake_lease_grant (
    holder_role name NOT NULL,
    machine_ids int4range NOT NULL CHECK (NOT isempty(machine_ids) AND machine_ids <@ int4range(0, 1023, '[]')),
    PRIMARY KEY (holder_role, machine_ids)
);

-- Leases, grants and the reclaim setting are the coordination database's state: a dump carries them.
SELECT pg_catalog.pg_extension_config_dump('snowflake_lease', '');
SELECT pg_catalog.pg_extension_config_dump('snowflake_lease_settings', '');
SELECT pg_catalog.pg_extension_config_dump('snowflake_lease_grant', '');

REVOKE ALL ON snowflake_lease, snowflake_lease_settings, snowflake_lease_grant FROM PUBLIC;

-- ---- src/sql/generator.sql
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

-- ---- src/sql/type.sql
-- The column type snowflake: bigint's bits, order, hashing and wire format, with a JSON form that is a string.

-- Why a type and not a domain: PostgreSQL's JSON code (json_categorize_type, for to_json,
-- row_to_json, json_agg, json_build_object and jsonb alike) looks through domains to their base
-- type, so a domain over bigint is still a JSON number; a base type of an extension with no cast
-- to json is written through its output function as a JSON string. No cast to json is defined on
-- purpose: one would be called for every value instead of the output function, and a cast that
-- returned a number would bring the hazard back.
--
-- Every function below is one of bigint's own (LANGUAGE internal, the same C function under
-- another SQL signature): values are stored, compared, hashed, sent and received exactly as
-- bigint, so bigint and snowflake convert WITHOUT FUNCTION (binary coercible, no rewrite on
-- ALTER COLUMN ... TYPE), binary COPY and send/recv are bigint's, and a negative value is
-- accepted as bigint accepts it (decoding one is the error 22023). Nothing here locks or raises
-- beyond bigint's own errors (22P02, 22003).
--
-- The one exception is the output function, snowflake_out in snowflake.so (it calls int8out):
-- the JSON code calls a non-built-in type's output function through OidOutputFunctionCall, which
-- looks the function up again for every value, and for a LANGUAGE internal function whose OID is
-- not built in that lookup is a linear search of the built-in functions by name (fmgr_lookupByName):
-- json_agg(id) measured 6x bigint's time that way, and the same as bigint's with a C function,
-- which fmgr finds through its hash table of C functions. Everywhere else (COPY, result rows,
-- record_out) the output function is looked up once per query.

CREATE TYPE snowflake;

CREATE FUNCTION snowflake_in(cstring) RETURNS snowflake
    AS 'int8in' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION snowflake_out(snowflake) RETURNS cstring
    AS 'MODULE_PATHNAME', 'snowflake_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION snowflake_recv(internal) RETURNS snowflake
    AS 'int8recv' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION snowflake_send(snowflake) RETURNS bytea
    AS 'int8send' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;

-- Category N (numeric) like bigint, so that UNION/CASE/COALESCE of snowflake and bigint resolve
-- to bigint; not preferred, so it never wins a tie over a built-in type.
CREATE TYPE snowflake (
    INPUT = snowflake_in, OUTPUT = snowflake_out, RECEIVE = snowflake_recv, SEND = snowflake_send,
    INTERNALLENGTH = 8, PASSEDBYVALUE, ALIGNMENT = double, STORAGE = plain,
    CATEGORY = 'N', PREFERRED = false
);

-- Casts. snowflake -> bigint is implicit, so every function and operator of bigint accepts a
-- snowflake (snowflake_decode(id), id + 1, a foreign key from a snowflake column to a bigint
-- key); its result is bigint. bigint -> snowflake is an assignment cast (DEFAULT
-- snowflake_next(), INSERT and UPDATE of bigint values, partition bounds) but not implicit:
-- implicit both ways would make every mixed operator call ambiguous. integer and smallint
-- convert implicitly (they fit, and it is not a cycle: snowflake never becomes an integer
-- implicitly), so that COALESCE(id, 0), CASE ... ELSE 0 and INSERT ... VALUES (5) keep the type.
CREATE CAST (snowflake AS bigint) WITHOUT FUNCTION AS IMPLICIT;
CREATE CAST (bigint AS snowflake) WITHOUT FUNCTION AS ASSIGNMENT;
CREATE FUNCTION snowflake(integer) RETURNS snowflake
    AS 'int48' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION snowflake(smallint) RETURNS snowflake
    AS 'int28' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE CAST (integer AS snowflake) WITH FUNCTION snowflake(integer) AS IMPLICIT;
CREATE CAST (smallint AS snowflake) WITH FUNCTION snowflake(smallint) AS IMPLICIT;

-- Comparison operators of snowflake with snowflake, bigint, integer and smallint on either side.
-- Each pair has its own operators (bigint's functions under our signatures) in one B-tree and
-- one hash family, so that "id = $1" with a bigint, integer or smallint parameter, or a literal,
-- is one exact operator that an index on a snowflake column can use. Without the integer and
-- smallint pairs, "id = 5" would be ambiguous between snowflake = bigint and bigint = integer
-- (both one exact argument away).

CREATE FUNCTION snowflake_eq(snowflake, snowflake) RETURNS boolean
    AS 'int8eq' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_ne(snowflake, snowflake) RETURNS boolean
    AS 'int8ne' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_lt(snowflake, snowflake) RETURNS boolean
    AS 'int8lt' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_le(snowflake, snowflake) RETURNS boolean
    AS 'int8le' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_gt(snowflake, snowflake) RETURNS boolean
    AS 'int8gt' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_ge(snowflake, snowflake) RETURNS boolean
    AS 'int8ge' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_cmp(snowflake, snowflake) RETURNS integer
    AS 'btint8cmp' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE OPERATOR = (LEFTARG = snowflake, RIGHTARG = snowflake, FUNCTION = snowflake_eq, COMMUTATOR = =, NEGATOR = <>,
    RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
CREATE OPERATOR <> (LEFTARG = snowflake, RIGHTARG = snowflake, FUNCTION = snowflake_ne, COMMUTATOR = <>, NEGATOR = =,
    RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR < (LEFTARG = snowflake, RIGHTARG = snowflake, FUNCTION = snowflake_lt, COMMUTATOR = >, NEGATOR = >=,
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR <= (LEFTARG = snowflake, RIGHTARG = snowflake, FUNCTION = snowflake_le, COMMUTATOR = >=, NEGATOR = >,
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR > (LEFTARG = snowflake, RIGHTARG = snowflake, FUNCTION = snowflake_gt, COMMUTATOR = <, NEGATOR = <=,
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR >= (LEFTARG = snowflake, RIGHTARG = snowflake, FUNCTION = snowflake_ge, COMMUTATOR = <=, NEGATOR = <,
    RESTRICT = scalargesel, JOIN = scalargejoinsel);

CREATE FUNCTION snowflake_eq(snowflake, bigint) RETURNS boolean
    AS 'int8eq' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_ne(snowflake, bigint) RETURNS boolean
    AS 'int8ne' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_lt(snowflake, bigint) RETURNS boolean
    AS 'int8lt' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_le(snowflake, bigint) RETURNS boolean
    AS 'int8le' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_gt(snowflake, bigint) RETURNS boolean
    AS 'int8gt' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_ge(snowflake, bigint) RETURNS boolean
    AS 'int8ge' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_cmp(snowflake, bigint) RETURNS integer
    AS 'btint8cmp' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE OPERATOR = (LEFTARG = snowflake, RIGHTARG = bigint, FUNCTION = snowflake_eq, COMMUTATOR = =, NEGATOR = <>,
    RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
CREATE OPERATOR <> (LEFTARG = snowflake, RIGHTARG = bigint, FUNCTION = snowflake_ne, COMMUTATOR = <>, NEGATOR = =,
    RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR < (LEFTARG = snowflake, RIGHTARG = bigint, FUNCTION = snowflake_lt, COMMUTATOR = >, NEGATOR = >=,
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR <= (LEFTARG = snowflake, RIGHTARG = bigint, FUNCTION = snowflake_le, COMMUTATOR = >=, NEGATOR = >,
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR > (LEFTARG = snowflake, RIGHTARG = bigint, FUNCTION = snowflake_gt, COMMUTATOR = <, NEGATOR = <=,
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR >= (LEFTARG = snowflake, RIGHTARG = bigint, FUNCTION = snowflake_ge, COMMUTATOR = <=, NEGATOR = <,
    RESTRICT = scalargesel, JOIN = scalargejoinsel);

CREATE FUNCTION snowflake_eq(bigint, snowflake) RETURNS boolean
    AS 'int8eq' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_ne(bigint, snowflake) RETURNS boolean
    AS 'int8ne' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_lt(bigint, snowflake) RETURNS boolean
    AS 'int8lt' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_le(bigint, snowflake) RETURNS boolean
    AS 'int8le' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_gt(bigint, snowflake) RETURNS boolean
    AS 'int8gt' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_ge(bigint, snowflake) RETURNS boolean
    AS 'int8ge' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_cmp(bigint, snowflake) RETURNS integer
    AS 'btint8cmp' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE OPERATOR = (LEFTARG = bigint, RIGHTARG = snowflake, FUNCTION = snowflake_eq, COMMUTATOR = =, NEGATOR = <>,
    RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
CREATE OPERATOR <> (LEFTARG = bigint, RIGHTARG = snowflake, FUNCTION = snowflake_ne, COMMUTATOR = <>, NEGATOR = =,
    RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR < (LEFTARG = bigint, RIGHTARG = snowflake, FUNCTION = snowflake_lt, COMMUTATOR = >, NEGATOR = >=,
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR <= (LEFTARG = bigint, RIGHTARG = snowflake, FUNCTION = snowflake_le, COMMUTATOR = >=, NEGATOR = >,
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR > (LEFTARG = bigint, RIGHTARG = snowflake, FUNCTION = snowflake_gt, COMMUTATOR = <, NEGATOR = <=,
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR >= (LEFTARG = bigint, RIGHTARG = snowflake, FUNCTION = snowflake_ge, COMMUTATOR = <=, NEGATOR = <,
    RESTRICT = scalargesel, JOIN = scalargejoinsel);

CREATE FUNCTION snowflake_eq(snowflake, integer) RETURNS boolean
    AS 'int84eq' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_ne(snowflake, integer) RETURNS boolean
    AS 'int84ne' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_lt(snowflake, integer) RETURNS boolean
    AS 'int84lt' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_le(snowflake, integer) RETURNS boolean
    AS 'int84le' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_gt(snowflake, integer) RETURNS boolean
    AS 'int84gt' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_ge(snowflake, integer) RETURNS boolean
    AS 'int84ge' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_cmp(snowflake, integer) RETURNS integer
    AS 'btint84cmp' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE OPERATOR = (LEFTARG = snowflake, RIGHTARG = integer, FUNCTION = snowflake_eq, COMMUTATOR = =, NEGATOR = <>,
    RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
CREATE OPERATOR <> (LEFTARG = snowflake, RIGHTARG = integer, FUNCTION = snowflake_ne, COMMUTATOR = <>, NEGATOR = =,
    RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR < (LEFTARG = snowflake, RIGHTARG = integer, FUNCTION = snowflake_lt, COMMUTATOR = >, NEGATOR = >=,
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR <= (LEFTARG = snowflake, RIGHTARG = integer, FUNCTION = snowflake_le, COMMUTATOR = >=, NEGATOR = >,
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR > (LEFTARG = snowflake, RIGHTARG = integer, FUNCTION = snowflake_gt, COMMUTATOR = <, NEGATOR = <=,
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR >= (LEFTARG = snowflake, RIGHTARG = integer, FUNCTION = snowflake_ge, COMMUTATOR = <=, NEGATOR = <,
    RESTRICT = scalargesel, JOIN = scalargejoinsel);

CREATE FUNCTION snowflake_eq(integer, snowflake) RETURNS boolean
    AS 'int48eq' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_ne(integer, snowflake) RETURNS boolean
    AS 'int48ne' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_lt(integer, snowflake) RETURNS boolean
    AS 'int48lt' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_le(integer, snowflake) RETURNS boolean
    AS 'int48le' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_gt(integer, snowflake) RETURNS boolean
    AS 'int48gt' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_ge(integer, snowflake) RETURNS boolean
    AS 'int48ge' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_cmp(integer, snowflake) RETURNS integer
    AS 'btint48cmp' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE OPERATOR = (LEFTARG = integer, RIGHTARG = snowflake, FUNCTION = snowflake_eq, COMMUTATOR = =, NEGATOR = <>,
    RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
CREATE OPERATOR <> (LEFTARG = integer, RIGHTARG = snowflake, FUNCTION = snowflake_ne, COMMUTATOR = <>, NEGATOR = =,
    RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR < (LEFTARG = integer, RIGHTARG = snowflake, FUNCTION = snowflake_lt, COMMUTATOR = >, NEGATOR = >=,
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR <= (LEFTARG = integer, RIGHTARG = snowflake, FUNCTION = snowflake_le, COMMUTATOR = >=, NEGATOR = >,
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR > (LEFTARG = integer, RIGHTARG = snowflake, FUNCTION = snowflake_gt, COMMUTATOR = <, NEGATOR = <=,
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR >= (LEFTARG = integer, RIGHTARG = snowflake, FUNCTION = snowflake_ge, COMMUTATOR = <=, NEGATOR = <,
    RESTRICT = scalargesel, JOIN = scalargejoinsel);

CREATE FUNCTION snowflake_eq(snowflake, smallint) RETURNS boolean
    AS 'int82eq' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_ne(snowflake, smallint) RETURNS boolean
    AS 'int82ne' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_lt(snowflake, smallint) RETURNS boolean
    AS 'int82lt' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_le(snowflake, smallint) RETURNS boolean
    AS 'int82le' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_gt(snowflake, smallint) RETURNS boolean
    AS 'int82gt' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_ge(snowflake, smallint) RETURNS boolean
    AS 'int82ge' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_cmp(snowflake, smallint) RETURNS integer
    AS 'btint82cmp' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE OPERATOR = (LEFTARG = snowflake, RIGHTARG = smallint, FUNCTION = snowflake_eq, COMMUTATOR = =, NEGATOR = <>,
    RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
CREATE OPERATOR <> (LEFTARG = snowflake, RIGHTARG = smallint, FUNCTION = snowflake_ne, COMMUTATOR = <>, NEGATOR = =,
    RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR < (LEFTARG = snowflake, RIGHTARG = smallint, FUNCTION = snowflake_lt, COMMUTATOR = >, NEGATOR = >=,
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR <= (LEFTARG = snowflake, RIGHTARG = smallint, FUNCTION = snowflake_le, COMMUTATOR = >=, NEGATOR = >,
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR > (LEFTARG = snowflake, RIGHTARG = smallint, FUNCTION = snowflake_gt, COMMUTATOR = <, NEGATOR = <=,
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR >= (LEFTARG = snowflake, RIGHTARG = smallint, FUNCTION = snowflake_ge, COMMUTATOR = <=, NEGATOR = <,
    RESTRICT = scalargesel, JOIN = scalargejoinsel);

CREATE FUNCTION snowflake_eq(smallint, snowflake) RETURNS boolean
    AS 'int28eq' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_ne(smallint, snowflake) RETURNS boolean
    AS 'int28ne' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_lt(smallint, snowflake) RETURNS boolean
    AS 'int28lt' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_le(smallint, snowflake) RETURNS boolean
    AS 'int28le' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_gt(smallint, snowflake) RETURNS boolean
    AS 'int28gt' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_ge(smallint, snowflake) RETURNS boolean
    AS 'int28ge' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_cmp(smallint, snowflake) RETURNS integer
    AS 'btint28cmp' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE OPERATOR = (LEFTARG = smallint, RIGHTARG = snowflake, FUNCTION = snowflake_eq, COMMUTATOR = =, NEGATOR = <>,
    RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
CREATE OPERATOR <> (LEFTARG = smallint, RIGHTARG = snowflake, FUNCTION = snowflake_ne, COMMUTATOR = <>, NEGATOR = =,
    RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR < (LEFTARG = smallint, RIGHTARG = snowflake, FUNCTION = snowflake_lt, COMMUTATOR = >, NEGATOR = >=,
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR <= (LEFTARG = smallint, RIGHTARG = snowflake, FUNCTION = snowflake_le, COMMUTATOR = >=, NEGATOR = >,
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR > (LEFTARG = smallint, RIGHTARG = snowflake, FUNCTION = snowflake_gt, COMMUTATOR = <, NEGATOR = <=,
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR >= (LEFTARG = smallint, RIGHTARG = snowflake, FUNCTION = snowflake_ge, COMMUTATOR = <=, NEGATOR = <,
    RESTRICT = scalargesel, JOIN = scalargejoinsel);

CREATE FUNCTION snowflake_hash(snowflake) RETURNS integer
    AS 'hashint8' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION snowflake_hash_extended(snowflake, bigint) RETURNS bigint
    AS 'hashint8extended' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;

-- The B-tree family: the default operator class of snowflake (sort support and deduplication
-- as bigint's), the cross-type pairs above, and PostgreSQL's own operators among bigint, integer
-- and smallint, so that the family is complete (amvalidate) and the planner can derive
-- "a = c" from "a = b AND b = c" across the four types. A foreign key from a bigint column to a
-- snowflake key needs "snowflake = bigint" and "bigint = bigint" in the key's family; a foreign
-- key from a snowflake column to a bigint key uses the implicit cast to bigint.
CREATE OPERATOR FAMILY snowflake_ops USING btree;
CREATE OPERATOR CLASS snowflake_ops DEFAULT FOR TYPE snowflake USING btree FAMILY snowflake_ops AS
    OPERATOR 1 < , OPERATOR 2 <= , OPERATOR 3 = , OPERATOR 4 >= , OPERATOR 5 > ,
    FUNCTION 1 snowflake_cmp(snowflake, snowflake),
    FUNCTION 2 (snowflake, snowflake) pg_catalog.btint8sortsupport(internal),
    FUNCTION 4 (snowflake, snowflake) pg_catalog.btequalimage(oid);
ALTER OPERATOR FAMILY snowflake_ops USING btree ADD
    OPERATOR 1 < (snowflake, bigint), OPERATOR 2 <= (snowflake, bigint), OPERATOR 3 = (snowflake, bigint),
    OPERATOR 4 >= (snowflake, bigint), OPERATOR 5 > (snowflake, bigint), FUNCTION 1 snowflake_cmp(snowflake, bigint);
ALTER OPERATOR FAMILY snowflake_ops USING btree ADD
    OPERATOR 1 < (bigint, snowflake), OPERATOR 2 <= (bigint, snowflake), OPERATOR 3 = (bigint, snowflake),
    OPERATOR 4 >= (bigint, snowflake), OPERATOR 5 > (bigint, snowflake), FUNCTION 1 snowflake_cmp(bigint, snowflake);
ALTER OPERATOR FAMILY snowflake_ops USING btree ADD
    OPERATOR 1 < (snowflake, integer), OPERATOR 2 <= (snowflake, integer), OPERATOR 3 = (snowflake, integer),
    OPERATOR 4 >= (snowflake, integer), OPERATOR 5 > (snowflake, integer), FUNCTION 1 snowflake_cmp(snowflake, integer);
ALTER OPERATOR FAMILY snowflake_ops USING btree ADD
    OPERATOR 1 < (integer, snowflake), OPERATOR 2 <= (integer, snowflake), OPERATOR 3 = (integer, snowflake),
    OPERATOR 4 >= (integer, snowflake), OPERATOR 5 > (integer, snowflake), FUNCTION 1 snowflake_cmp(integer, snowflake);
ALTER OPERATOR FAMILY snowflake_ops USING btree ADD
    OPERATOR 1 < (snowflake, smallint), OPERATOR 2 <= (snowflake, smallint), OPERATOR 3 = (snowflake, smallint),
    OPERATOR 4 >= (snowflake, smallint), OPERATOR 5 > (snowflake, smallint), FUNCTION 1 snowflake_cmp(snowflake, smallint);
ALTER OPERATOR FAMILY snowflake_ops USING btree ADD
    OPERATOR 1 < (smallint, snowflake), OPERATOR 2 <= (smallint, snowflake), OPERATOR 3 = (smallint, snowflake),
    OPERATOR 4 >= (smallint, snowflake), OPERATOR 5 > (smallint, snowflake), FUNCTION 1 snowflake_cmp(smallint, snowflake);
ALTER OPERATOR FAMILY snowflake_ops USING btree ADD
    OPERATOR 1 pg_catalog.< (bigint, bigint), OPERATOR 2 pg_catalog.<= (bigint, bigint), OPERATOR 3 pg_catalog.= (bigint, bigint),
    OPERATOR 4 pg_catalog.>= (bigint, bigint), OPERATOR 5 pg_catalog.> (bigint, bigint), FUNCTION 1 pg_catalog.btint8cmp(bigint, bigint);
ALTER OPERATOR FAMILY snowflake_ops USING btree ADD
    OPERATOR 1 pg_catalog.< (bigint, integer), OPERATOR 2 pg_catalog.<= (bigint, integer), OPERATOR 3 pg_catalog.= (bigint, integer),
    OPERATOR 4 pg_catalog.>= (bigint, integer), OPERATOR 5 pg_catalog.> (bigint, integer), FUNCTION 1 pg_catalog.btint84cmp(bigint, integer);
ALTER OPERATOR FAMILY snowflake_ops USING btree ADD
    OPERATOR 1 pg_catalog.< (bigint, smallint), OPERATOR 2 pg_catalog.<= (bigint, smallint), OPERATOR 3 pg_catalog.= (bigint, smallint),
    OPERATOR 4 pg_catalog.>= (bigint, smallint), OPERATOR 5 pg_catalog.> (bigint, smallint), FUNCTION 1 pg_catalog.btint82cmp(bigint, smallint);
ALTER OPERATOR FAMILY snowflake_ops USING btree ADD
    OPERATOR 1 pg_catalog.< (integer, bigint), OPERATOR 2 pg_catalog.<= (integer, bigint), OPERATOR 3 pg_catalog.= (integer, bigint),
    OPERATOR 4 pg_catalog.>= (integer, bigint), OPERATOR 5 pg_catalog.> (integer, bigint), FUNCTION 1 pg_catalog.btint48cmp(integer, bigint);
ALTER OPERATOR FAMILY snowflake_ops USING btree ADD
    OPERATOR 1 pg_catalog.< (integer, integer), OPERATOR 2 pg_catalog.<= (integer, integer), OPERATOR 3 pg_catalog.= (integer, integer),
    OPERATOR 4 pg_catalog.>= (integer, integer), OPERATOR 5 pg_catalog.> (integer, integer), FUNCTION 1 pg_catalog.btint4cmp(integer, integer);
ALTER OPERATOR FAMILY snowflake_ops USING btree ADD
    OPERATOR 1 pg_catalog.< (integer, smallint), OPERATOR 2 pg_catalog.<= (integer, smallint), OPERATOR 3 pg_catalog.= (integer, smallint),
    OPERATOR 4 pg_catalog.>= (integer, smallint), OPERATOR 5 pg_catalog.> (integer, smallint), FUNCTION 1 pg_catalog.btint42cmp(integer, smallint);
ALTER OPERATOR FAMILY snowflake_ops USING btree ADD
    OPERATOR 1 pg_catalog.< (smallint, bigint), OPERATOR 2 pg_catalog.<= (smallint, bigint), OPERATOR 3 pg_catalog.= (smallint, bigint),
    OPERATOR 4 pg_catalog.>= (smallint, bigint), OPERATOR 5 pg_catalog.> (smallint, bigint), FUNCTION 1 pg_catalog.btint28cmp(smallint, bigint);
ALTER OPERATOR FAMILY snowflake_ops USING btree ADD
    OPERATOR 1 pg_catalog.< (smallint, integer), OPERATOR 2 pg_catalog.<= (smallint, integer), OPERATOR 3 pg_catalog.= (smallint, integer),
    OPERATOR 4 pg_catalog.>= (smallint, integer), OPERATOR 5 pg_catalog.> (smallint, integer), FUNCTION 1 pg_catalog.btint24cmp(smallint, integer);
ALTER OPERATOR FAMILY snowflake_ops USING btree ADD
    OPERATOR 1 pg_catalog.< (smallint, smallint), OPERATOR 2 pg_catalog.<= (smallint, smallint), OPERATOR 3 pg_catalog.= (smallint, smallint),
    OPERATOR 4 pg_catalog.>= (smallint, smallint), OPERATOR 5 pg_catalog.> (smallint, smallint), FUNCTION 1 pg_catalog.btint2cmp(smallint, smallint);

-- The hash family: bigint's hash, which gives an integer or smallint the same hash as the same
-- bigint value (that is how PostgreSQL's own integer_ops hash family works), so hash joins and
-- hash partitions mix the types.
CREATE OPERATOR FAMILY snowflake_ops USING hash;
CREATE OPERATOR CLASS snowflake_ops DEFAULT FOR TYPE snowflake USING hash FAMILY snowflake_ops AS
    OPERATOR 1 = ,
    FUNCTION 1 snowflake_hash(snowflake),
    FUNCTION 2 snowflake_hash_extended(snowflake, bigint);
ALTER OPERATOR FAMILY snowflake_ops USING hash ADD
    OPERATOR 1 = (snowflake, bigint), OPERATOR 1 = (bigint, snowflake),
    OPERATOR 1 = (snowflake, integer), OPERATOR 1 = (integer, snowflake),
    OPERATOR 1 = (snowflake, smallint), OPERATOR 1 = (smallint, snowflake),
    OPERATOR 1 pg_catalog.= (bigint, bigint), OPERATOR 1 pg_catalog.= (integer, integer),
    OPERATOR 1 pg_catalog.= (smallint, smallint),
    OPERATOR 1 pg_catalog.= (bigint, integer), OPERATOR 1 pg_catalog.= (integer, bigint),
    OPERATOR 1 pg_catalog.= (bigint, smallint), OPERATOR 1 pg_catalog.= (smallint, bigint),
    OPERATOR 1 pg_catalog.= (integer, smallint), OPERATOR 1 pg_catalog.= (smallint, integer),
    FUNCTION 1 pg_catalog.hashint8(bigint), FUNCTION 2 pg_catalog.hashint8extended(bigint, bigint),
    FUNCTION 1 pg_catalog.hashint4(integer), FUNCTION 2 pg_catalog.hashint4extended(integer, bigint),
    FUNCTION 1 pg_catalog.hashint2(smallint), FUNCTION 2 pg_catalog.hashint2extended(smallint, bigint);

-- min() and max() that keep the type (through the implicit cast they would return bigint, a JSON
-- number again). SORTOP lets the planner answer them from an index.
CREATE FUNCTION snowflake_larger(snowflake, snowflake) RETURNS snowflake
    AS 'int8larger' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION snowflake_smaller(snowflake, snowflake) RETURNS snowflake
    AS 'int8smaller' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE max(snowflake) (SFUNC = snowflake_larger, STYPE = snowflake, COMBINEFUNC = snowflake_larger,
                                 SORTOP = >, PARALLEL = SAFE);
CREATE AGGREGATE min(snowflake) (SFUNC = snowflake_smaller, STYPE = snowflake, COMBINEFUNC = snowflake_smaller,
                                 SORTOP = <, PARALLEL = SAFE);

COMMENT ON TYPE snowflake IS 'a snowflake ID: stored, sorted and hashed as bigint; a string in JSON';

-- ---- src/sql/guard.sql
-- The collision guard: refusing replicated rows made under this server's own machine id (README, "Running many nodes").

-- snowflake_guard_replicated() RETURNS trigger, used as
--   CREATE TRIGGER snowflake_guard BEFORE INSERT OR UPDATE ON t
--       FOR EACH ROW EXECUTE FUNCTION snowflake_guard_replicated(['column', ...]);
--   ALTER TABLE t ENABLE REPLICA TRIGGER snowflake_guard;
-- As a REPLICA trigger it fires only where session_replication_role = replica, i.e. for rows that
-- logical replication applies (initial copy included), never for this server's own writes. It
-- refuses a row whose ID (column "id", or the columns named as trigger arguments) carries this
-- server's own machine id: only another server with the same machine id can have made it, and
-- that server's IDs can equal this server's. Updates are checked only when the key changes, so
-- an update made elsewhere to a row this server made (two-way replication) passes.
-- Errors: SF010 on such a row; 42703 for a named column the table lacks and 42804 for one that is
-- not bigint, at the first row it fires on; 39P01 if not attached as a BEFORE ROW trigger for
-- INSERT or UPDATE. Locks nothing. In C (src/pg/guard.cpp): it reads only the key columns of each
-- row. No SET search_path: it looks nothing up by name (no operator or function a schema on the
-- caller's path could shadow), and a SET clause would cost every row a settings save and restore.
CREATE OR REPLACE FUNCTION snowflake_guard_replicated() RETURNS trigger
    AS 'MODULE_PATHNAME', 'snowflake_guard_replicated'
    LANGUAGE C;

-- snowflake_shared_machine_ids(node_names text[], machine_ids integer[])
--   RETURNS TABLE (machine_id integer, nodes text[])
-- The machine ids that more than one of the listed nodes uses, each with those nodes (in the
-- order given), by machine id. The caller collects each node's current_setting('snowflake.machine_id')
-- (psql, dblink, a config-management inventory); the function only compares. A NULL or -1 (unset)
-- id is left out: such a node issues no IDs. Errors: 22023 if the arrays differ in length or a
-- node is named twice (it would be reported as sharing an id with itself); 22003 for an id outside
-- -1..1023. Locks nothing.
CREATE OR REPLACE FUNCTION snowflake_shared_machine_ids(node_names text[], machine_ids integer[])
    RETURNS TABLE (machine_id integer, nodes text[])
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    bad integer;
    twice text;
BEGIN
    IF cardinality(node_names) <> cardinality(machine_ids) THEN
        RAISE EXCEPTION 'node_names has % elements but machine_ids has %', cardinality(node_names), cardinality(machine_ids)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT n INTO twice FROM unnest(node_names) AS n GROUP BY n HAVING count(*) > 1 ORDER BY n LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'node "%" is named more than once', twice
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Name each node once, with the machine id it uses.';
    END IF;
    SELECT m INTO bad FROM unnest(machine_ids) AS m WHERE m < -1 OR m > 1023 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'machine_id % is out of range for a snowflake ID', bad
            USING ERRCODE = 'numeric_value_out_of_range';
    END IF;
    RETURN QUERY
        SELECT n.m, array_agg(n.name ORDER BY n.ord)
        FROM unnest(node_names, machine_ids) WITH ORDINALITY AS n(name, m, ord)
        WHERE n.m >= 0
        GROUP BY n.m
        HAVING count(*) > 1
        ORDER BY n.m;
END
$$;

COMMENT ON FUNCTION snowflake_guard_replicated() IS 'replica trigger: refuses replicated rows whose snowflake ID carries this server''s own machine id (SQLSTATE SF010)';
COMMENT ON FUNCTION snowflake_shared_machine_ids(text[], integer[]) IS 'the machine ids used by more than one of the listed nodes';

-- ---- src/sql/migration/plan.sql
-- The migration toolkit, phase 0: the plan, computed from the catalog whenever it is needed, the checks
-- every phase makes first, and the dry run (README: "Migrating from UUID keys", "Security").

-- snowflake_uuid_time(u uuid) -> timestamptz: the creation time inside a time-based uuid:
-- version 7 (48-bit Unix milliseconds), version 1 and version 6 (60-bit count of 100 ns since
-- 1582-10-15, truncated to the microsecond). NULL for other versions (v4 is random) and for
-- uuids that are not of the RFC 9562 variant. Raises nothing.
CREATE OR REPLACE FUNCTION snowflake_uuid_time(u uuid) RETURNS timestamptz
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    -- Whole hours, then the rest: interval * float8 is exact only for small factors.
    SELECT CASE
        WHEN substr(h, 17, 1) NOT IN ('8', '9', 'a', 'b') THEN NULL
        WHEN substr(h, 13, 1) = '7' THEN
            timestamptz '1970-01-01 00:00:00+00' + make_interval(hours => (ms / 3600000)::int)
              + (ms % 3600000) * interval '1 millisecond'
        WHEN substr(h, 13, 1) IN ('1', '6') THEN
            timestamptz '1582-10-15 00:00:00+00' + make_interval(hours => (us / 3600000000)::int)
              + (us % 3600000000) * interval '1 microsecond'
    END
    FROM (SELECT encode(uuid_send(u), 'hex') AS h) s,
         LATERAL (SELECT ('x' || substr(h, 1, 12))::bit(48)::bigint AS ms,
                         ('x' || CASE substr(h, 13, 1)
                                     WHEN '1' THEN substr(h, 14, 3) || substr(h, 9, 4) || substr(h, 1, 8)
                                     ELSE substr(h, 1, 12) || substr(h, 14, 3) END)::bit(60)::bigint / 10 AS us) t
$$;

-- The schema-qualified, quoted name of a table, whatever the search_path.
CREATE OR REPLACE FUNCTION _snowflake_qname(rel regclass) RETURNS text
LANGUAGE sql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
    SELECT format('%I.%I', n.nspname, c.relname)
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = rel
$$;

-- _snowflake_migration_dependents(rels oid[], atts int2[]) -> table (kind, object, action,
-- refused, before_sql, after_sql): every object that depends on one of the migrated columns
-- (tables rels, columns atts), except what the migration handles itself (indexes, primary,
-- unique and foreign keys, its own CHECKs and triggers, the column's own default), and what the
-- cut-over does to it. Views (not materialized, with nothing depending on them) are dropped in
-- the cut-over's transaction (before_sql) and created again after the renames (after_sql: the
-- same definition, owner, options, privileges and comment), so that their columns follow the
-- names to the bigint columns; row-level security policies are altered onto the new columns with
-- the same expressions. Everything else is refused: rules, materialized views, views other views
-- depend on, triggers with WHEN or UPDATE OF, CHECK and exclusion constraints, generated columns
-- and defaults of other columns, statistics objects, publication column lists. PL/pgSQL
-- functions that declare a variable of a migrated column's type (%TYPE) are listed for review.
-- Statements are computed from the catalog by the call that runs them. Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_migration_dependents(rels oid[], atts int2[])
RETURNS TABLE (kind text, object text, action text, refused boolean, before_sql text, after_sql text[])
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    d record;
    v record;
    p record;
    col text;
BEGIN
    FOR d IN
        SELECT DISTINCT ON (x.classid, x.objid) x.* FROM (
        SELECT dep.classid, dep.objid, u.r, u.a
        FROM unnest(rels, atts) u(r, a)
        JOIN pg_depend dep ON dep.refclassid = 'pg_class'::regclass AND dep.refobjid = u.r AND dep.refobjsubid = u.a
        UNION
        -- a view grouped by the key depends on the primary key itself
        SELECT dep.classid, dep.objid, u.r, u.a
        FROM unnest(rels, atts) u(r, a)
        JOIN pg_constraint con ON con.conrelid = u.r AND u.a = ANY (con.conkey) AND con.contype IN ('p', 'u')
        JOIN pg_depend dep ON dep.refclassid = 'pg_constraint'::regclass AND dep.refobjid = con.oid AND dep.classid = 'pg_rewrite'::regclass
        ) x  -- one row per object, however many of the columns it uses
        ORDER BY x.classid, x.objid, x.r, x.a
    LOOP
        col := format('%s.%I', @extschema@._snowflake_qname(d.r::regclass),
                      (SELECT att.attname FROM pg_attribute att WHERE att.attrelid = d.r AND att.attnum = d.a));
        object := pg_describe_object(d.classid, d.objid, 0);
        before_sql := NULL; after_sql := NULL; refused := true;
        IF d.classid = 'pg_class'::regclass THEN
            CONTINUE WHEN (SELECT c.relkind FROM pg_class c WHERE c.oid = d.objid) IN ('i', 'I', 'S');
            kind := 'relation'; action := format('refused: depends on %s', col);
        ELSIF d.classid = 'pg_constraint'::regclass THEN
            SELECT con.contype, con.conname INTO p FROM pg_constraint con WHERE con.oid = d.objid;
            -- 'n': PostgreSQL 18 catalogs NOT NULL as a constraint; the migration carries nullability itself.
            CONTINUE WHEN p.contype IN ('p', 'u', 'f', 'n') OR p.conname LIKE '%\_snowflake\_filled';
            kind := 'constraint';
            action := format('refused: a %s constraint over %s stays on the uuid column; drop it before the migration and add it again after',
                             CASE p.contype WHEN 'c' THEN 'CHECK' WHEN 'x' THEN 'exclusion' ELSE p.contype::text END, col);
        ELSIF d.classid = 'pg_attrdef'::regclass THEN
            CONTINUE WHEN (SELECT ad.adnum FROM pg_attrdef ad WHERE ad.oid = d.objid) = d.a;
            kind := 'column';
            action := format('refused: a generated column or default uses %s; drop it before the migration and add it again after', col);
        ELSIF d.classid = 'pg_trigger'::regclass THEN
            CONTINUE WHEN (SELECT t.tgname FROM pg_trigger t WHERE t.oid = d.objid) LIKE 'snowflake\_fill\_%';
            kind := 'trigger';
            action := format('refused: its WHEN clause or UPDATE OF list names %s; drop it before the migration and create it again after', col);
        ELSIF d.classid = 'pg_policy'::regclass THEN
            SELECT pol.polname, pol.polrelid, pg_get_expr(pol.polqual, pol.polrelid) AS qual,
                   pg_get_expr(pol.polwithcheck, pol.polrelid) AS chk INTO p
            FROM pg_policy pol WHERE pol.oid = d.objid;
            kind := 'policy'; refused := false;
            action := format('carried: altered at the cut-over to use the bigint column that takes the name of %s, with the same expressions', col);
            after_sql := ARRAY[format('ALTER POLICY %I ON %s%s%s', p.polname, @extschema@._snowflake_qname(p.polrelid::regclass),
                                      ' USING (' || p.qual || ')', ' WITH CHECK (' || p.chk || ')')];
        ELSIF d.classid = 'pg_rewrite'::regclass THEN
            SELECT r.ev_class, r.rulename, c.relkind, c.relname, c.reloptions, c.relacl, pg_get_userbyid(c.relowner) AS owner,
                   @extschema@._snowflake_qname(r.ev_class::regclass) AS q INTO v
            FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class WHERE r.oid = d.objid;
            CONTINUE WHEN v.ev_class = ANY (rels) AND v.rulename = '_RETURN';
            object := CASE v.relkind WHEN 'v' THEN 'view ' WHEN 'm' THEN 'materialized view ' ELSE 'rule ' || quote_ident(v.rulename) || ' on ' END || v.q;
            kind := CASE v.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' ELSE 'rule' END;
            IF v.relkind = 'v' AND v.rulename = '_RETURN'
               AND NOT EXISTS (SELECT 1 FROM pg_depend d2 JOIN pg_rewrite r2 ON r2.oid = d2.objid
                               WHERE d2.classid = 'pg_rewrite'::regclass AND d2.refclassid = 'pg_class'::regclass
                                 AND d2.refobjid = v.ev_class AND r2.ev_class <> v.ev_class)
               AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = v.ev_class)
               AND NOT EXISTS (SELECT 1 FROM pg_rewrite r3 WHERE r3.ev_class = v.ev_class AND r3.rulename <> '_RETURN') THEN
                refused := false;
                action := format('carried: created again at the cut-over with the same definition, so that it reads the bigint column that takes the name of %s', col);
                before_sql := format('DROP VIEW %s', v.q);
                after_sql := ARRAY[format('CREATE VIEW %s%s AS %s', v.q,
                                          CASE WHEN v.reloptions IS NOT NULL THEN format(' WITH (%s)', array_to_string(v.reloptions, ', ')) ELSE '' END,
                                          rtrim(pg_get_viewdef(v.ev_class), E'; \n')),
                                   format('ALTER VIEW %s OWNER TO %I', v.q, v.owner)]
                    || ARRAY(SELECT format('GRANT %s ON %s TO %s%s', g.privilege_type, v.q,
                                           CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(g.grantee)) END,
                                           CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
                             FROM aclexplode(v.relacl) g ORDER BY g.grantee, g.privilege_type)
                    || ARRAY(SELECT format('COMMENT ON VIEW %s IS %L', v.q, obj_description(v.ev_class, 'pg_class'))
                             WHERE obj_description(v.ev_class, 'pg_class') IS NOT NULL);
            ELSE
                action := format('refused: %s uses %s; drop it before the migration and create it again after',
                                 CASE WHEN v.relkind = 'm' THEN 'a materialized view (its data would have to be computed again)'
                                      WHEN v.relkind = 'v' THEN 'a view that other views, rules or triggers depend on'
                                      ELSE 'a rule' END, col);
            END IF;
        ELSE
            kind := (SELECT c.relname FROM pg_class c WHERE c.oid = d.classid);
            action := format('refused: depends on %s; drop it before the migration and create it again after', col);
        END IF;
        RETURN NEXT;
    END LOOP;
    -- Publications of the migrated tables (a column list is refused above): subscribers hold
    -- copies of these tables, which must get the same columns before the cut-over reaches them.
    FOR p IN
        SELECT DISTINCT pub.pubname, r.r
        FROM unnest(rels) r(r)
        JOIN pg_publication pub ON pub.puballtables
                                OR EXISTS (SELECT 1 FROM pg_publication_rel pr WHERE pr.prpubid = pub.oid AND pr.prrelid = r.r)
                                OR EXISTS (SELECT 1 FROM pg_publication_namespace pn JOIN pg_class c ON c.relnamespace = pn.pnnspid
                                           WHERE pn.pnpubid = pub.oid AND c.oid = r.r)
        ORDER BY 1, 2
    LOOP
        kind := 'publication'; object := format('publication %I of %s', p.pubname, @extschema@._snowflake_qname(p.r::regclass));
        refused := false; before_sql := NULL; after_sql := NULL;
        action := 'review: subscribers get the new columns only if their tables get them too (migrate the subscriber''s copy first, or add the columns there); the cut-over renames columns under the publication';
        RETURN NEXT;
    END LOOP;
    -- Not in pg_depend: PL/pgSQL variables declared with a migrated column's type.
    FOR p IN
        SELECT pr.oid, u.r, att.attname, c.relname
        FROM unnest(rels, atts) u(r, a)
        JOIN pg_class c ON c.oid = u.r
        JOIN pg_attribute att ON att.attrelid = u.r AND att.attnum = u.a
        JOIN pg_proc pr ON pr.prosrc ~* ('\m' || c.relname || '\s*\.\s*' || att.attname || '\s*%\s*type')
        JOIN pg_language l ON l.oid = pr.prolang AND l.lanname = 'plpgsql'
        ORDER BY pr.oid
    LOOP
        kind := 'function'; object := 'function ' || p.oid::regprocedure::text; refused := false;
        action := format('review: declares a variable of type %s.%s%%TYPE, which stays uuid in sessions that compiled it before the cut-over; replace the function (CREATE OR REPLACE) after it',
                         quote_ident(p.relname), quote_ident(p.attname));
        before_sql := NULL; after_sql := NULL;
        RETURN NEXT;
    END LOOP;
END
$fn$;

-- _snowflake_migration_dependents_of(tbl regclass): _snowflake_migration_dependents() for the key
-- of tbl and the columns of the foreign keys that reference it (the columns a migration of tbl
-- changes). Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_migration_dependents_of(tbl regclass)
RETURNS TABLE (kind text, object text, action text, refused boolean, before_sql text, after_sql text[])
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH pk AS (SELECT con.conkey[1] AS a FROM pg_constraint con WHERE con.conrelid = tbl AND con.contype = 'p'),
    cols AS (SELECT tbl::oid AS r, pk.a FROM pk
             UNION
             SELECT con.conrelid, con.conkey[array_position(con.confkey, pk.a)]
             FROM pg_constraint con, pk
             WHERE con.contype = 'f' AND con.confrelid = tbl AND pk.a = ANY (con.confkey) AND con.conparentid = 0)
    SELECT d.*
    FROM (SELECT array_agg(cols.r) AS rr, array_agg(cols.a) AS aa FROM cols) c,
         @extschema@._snowflake_migration_dependents(c.rr, c.aa) d
    WHERE c.rr IS NOT NULL
$$;

-- _snowflake_migration_context(tbl regclass, started boolean) -> one row: what every phase of
-- the plan needs, from the catalog: the table, its key, and the migrated columns (the key, then
-- one per referencing table and column) in parallel arrays, with their twins, the CHECK condition
-- of a nullable reference, the fill trigger's name, schema and owner; the foreign keys. Raises the
-- plan's errors about the shape of the tables and the names it needs. Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_migration_context(tbl regclass, started boolean)
RETURNS TABLE (parent_q_ text, key_att_ int2, key_col_ text, new_col_ text, parent_owner_ name, rels_ oid[], fks_ oid[],
               m_rel_ oid[], m_att_ int2[], m_col_ text[], m_new_ text[], m_notnull_ boolean[], m_check_ text[],
               m_fill_ text[], m_nsp_ text[], m_owner_ text[])
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    rel record;
    pk record;
    fk record;
    key_att int2;
    key_col text;
    new_col text;
    parent_q text;
    -- migrated columns, in parallel arrays: table, attnum, its bigint twin, the CHECK, trigger
    m_rel oid[] := '{}';
    m_att int2[] := '{}';
    m_col text[] := '{}';
    m_new text[] := '{}';
    m_notnull boolean[] := '{}';
    m_check text[] := '{}';
    m_fill text[] := '{}';
    m_nsp text[] := '{}';              -- the schema of the table (where its fill function lives)
    m_owner text[] := '{}';            -- its owner (who owns its fill function)
    rels oid[];
    fks oid[] := '{}';
    i int;
    pos int;
    a int2;
    nm text;
    cond text;
    parent_owner name;
BEGIN
    SELECT c.oid, c.relkind, c.relname, n.nspname INTO rel
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = tbl;
    IF rel.relkind <> 'r' THEN
        RAISE EXCEPTION '%.% is not an ordinary table', quote_ident(rel.nspname), quote_ident(rel.relname) USING ERRCODE = 'feature_not_supported',
            HINT = 'Partitioned tables, views and foreign tables cannot be migrated by snowflake_migration_start().';
    END IF;
    parent_q := format('%I.%I', rel.nspname, rel.relname);
    SELECT pg_get_userbyid(c.relowner) INTO parent_owner FROM pg_class c WHERE c.oid = tbl;

    SELECT con.conname, con.conkey, con.conindid INTO pk
    FROM pg_constraint con WHERE con.conrelid = tbl AND con.contype = 'p';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'table % has no primary key', parent_q USING ERRCODE = 'feature_not_supported';
    END IF;
    IF cardinality(pk.conkey) <> 1 THEN
        RAISE EXCEPTION 'the primary key of % has % columns; only a single uuid column can be migrated',
            parent_q, cardinality(pk.conkey) USING ERRCODE = 'feature_not_supported';
    END IF;
    key_att := pk.conkey[1];
    SELECT att.attname INTO key_col FROM pg_attribute att WHERE att.attrelid = tbl AND att.attnum = key_att;
    IF (SELECT att.atttypid FROM pg_attribute att WHERE att.attrelid = tbl AND att.attnum = key_att) <> 'uuid'::regtype THEN
        RAISE EXCEPTION 'primary key column % of % is of type %, not uuid', key_col, parent_q,
            (SELECT format_type(att.atttypid, att.atttypmod) FROM pg_attribute att WHERE att.attrelid = tbl AND att.attnum = key_att)
            USING ERRCODE = 'datatype_mismatch';
    END IF;

    -- The parent key first, then one column per (referencing table, referencing column).
    m_rel := m_rel || tbl::oid;
    m_att := m_att || key_att;
    m_col := m_col || key_col;
    m_notnull := m_notnull || true;
    m_check := m_check || NULL::text;
    FOR fk IN
        SELECT con.oid, con.conname, con.conrelid, con.conkey, con.confkey, cc.relkind,
               format('%I.%I', cn.nspname, cc.relname) AS child_q
        FROM pg_constraint con
        JOIN pg_class cc ON cc.oid = con.conrelid
        JOIN pg_namespace cn ON cn.oid = cc.relnamespace
        WHERE con.contype = 'f' AND con.confrelid = tbl AND key_att = ANY (con.confkey)
          AND con.conparentid = 0
        ORDER BY con.conrelid <> tbl, format('%I.%I', cn.nspname, cc.relname), con.conname
    LOOP
        IF fk.relkind <> 'r' THEN
            RAISE EXCEPTION 'foreign key % on % references %, but % is not an ordinary table',
                fk.conname, fk.child_q, parent_q, fk.child_q USING ERRCODE = 'feature_not_supported';
        END IF;
        fks := fks || fk.oid;
        pos := array_position(fk.confkey, key_att);
        a := fk.conkey[pos];
        IF EXISTS (SELECT 1 FROM unnest(m_rel, m_att) u(r, t) WHERE u.r = fk.conrelid AND u.t = a) THEN
            CONTINUE;  -- a column shared by two foreign keys gets one twin
        END IF;
        m_rel := m_rel || fk.conrelid;
        m_att := m_att || a;
        m_col := m_col || (SELECT att.attname::text FROM pg_attribute att WHERE att.attrelid = fk.conrelid AND att.attnum = a);
        m_notnull := m_notnull || (SELECT att.attnotnull FROM pg_attribute att WHERE att.attrelid = fk.conrelid AND att.attnum = a);
        -- Every row must get the twin once its parent exists; a row the foreign key does not
        -- check (MATCH SIMPLE, some referencing column NULL) need not.
        SELECT string_agg(format('%I IS NULL', att.attname), ' OR ' ORDER BY att.attnum) INTO cond
        FROM pg_attribute att
        WHERE att.attrelid = fk.conrelid AND att.attnum = ANY (fk.conkey) AND NOT att.attnotnull;
        m_check := m_check || cond;
    END LOOP;

    FOR i IN 1 .. cardinality(m_rel) LOOP
        m_new := m_new || (m_col[i] || '_snowflake');
        m_fill := m_fill || ('snowflake_fill_' || left(md5(@extschema@._snowflake_qname(m_rel[i]::regclass) || '.' || m_col[i]), 12));
        m_nsp := m_nsp || (SELECT n.nspname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = m_rel[i]);
        m_owner := m_owner || (SELECT pg_get_userbyid(c.relowner)::text FROM pg_class c WHERE c.oid = m_rel[i]);
        -- The fill function of a referencing table runs as that table's owner and reads the parent.
        IF i > 1 AND m_owner[i] <> parent_owner AND NOT has_table_privilege(m_owner[i], tbl, 'SELECT') THEN
            RAISE EXCEPTION 'role % (owner of %) cannot read %, which its trigger must do during the migration',
                m_owner[i], @extschema@._snowflake_qname(m_rel[i]::regclass), parent_q USING ERRCODE = 'insufficient_privilege',
                HINT = format('GRANT SELECT ON %s TO %I, or give both tables one owner.', parent_q, m_owner[i]);
        END IF;
        IF octet_length(m_col[i] || '_snowflake') > 63 THEN
            RAISE EXCEPTION 'column name %_snowflake is too long', m_col[i] USING ERRCODE = 'name_too_long',
                HINT = 'Rename the column to at most 53 bytes first.';
        END IF;
        FOREACH nm IN ARRAY CASE WHEN started THEN ARRAY[m_col[i] || '_uuid'] ELSE ARRAY[m_col[i] || '_snowflake', m_col[i] || '_uuid'] END LOOP
            IF EXISTS (SELECT 1 FROM pg_attribute att WHERE att.attrelid = m_rel[i] AND att.attname = nm AND NOT att.attisdropped) THEN
                RAISE EXCEPTION 'column % of % already exists', nm, @extschema@._snowflake_qname(m_rel[i]::regclass)
                    USING ERRCODE = 'duplicate_column',
                    HINT = 'The migration needs this name (<column>_snowflake while it runs, <column>_uuid after the cut-over); a migration may already be under way: SELECT * FROM snowflake_migration_plan(...).';
            END IF;
        END LOOP;
    END LOOP;
    new_col := m_new[1];
    rels := ARRAY(SELECT r FROM unnest(m_rel) WITH ORDINALITY u(r, o) GROUP BY r ORDER BY min(o));
    parent_q_ := parent_q; key_att_ := key_att; key_col_ := key_col; new_col_ := new_col; parent_owner_ := parent_owner;
    rels_ := rels; fks_ := fks; m_rel_ := m_rel; m_att_ := m_att; m_col_ := m_col; m_new_ := m_new;
    m_notnull_ := m_notnull; m_check_ := m_check; m_fill_ := m_fill; m_nsp_ := m_nsp; m_owner_ := m_owner;
    RETURN NEXT;
END
$fn$;

-- _snowflake_migration_steps_start(tbl, started): phase 1's statements (see _snowflake_migration_steps).
CREATE OR REPLACE FUNCTION _snowflake_migration_steps_start(tbl regclass, started boolean)
RETURNS TABLE (step integer, phase text, kind text, target text, object text, statement text, undo text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    key_att int2;
    key_col text;
    new_col text;
    parent_q text;
    -- migrated columns, in parallel arrays: table, attnum, its bigint twin, the CHECK, trigger
    m_rel oid[] := '{}';
    m_att int2[] := '{}';
    m_col text[] := '{}';
    m_new text[] := '{}';
    m_notnull boolean[] := '{}';
    m_check text[] := '{}';
    m_fill text[] := '{}';
    m_nsp text[] := '{}';              -- the schema of the table (where its fill function lives)
    m_owner text[] := '{}';            -- its owner (who owns its fill function)
    rels oid[];
    fks oid[] := '{}';
    i int;
    a int2;
    parent_owner name;
    ctx record;
BEGIN
    step := 0;
    SELECT * INTO ctx FROM @extschema@._snowflake_migration_context(tbl, started);
    parent_q := ctx.parent_q_; key_att := ctx.key_att_; key_col := ctx.key_col_; new_col := ctx.new_col_;
    parent_owner := ctx.parent_owner_; rels := ctx.rels_; fks := ctx.fks_;
    m_rel := ctx.m_rel_; m_att := ctx.m_att_; m_col := ctx.m_col_; m_new := ctx.m_new_; m_notnull := ctx.m_notnull_;
    m_check := ctx.m_check_; m_fill := ctx.m_fill_; m_nsp := ctx.m_nsp_; m_owner := ctx.m_owner_;
    -- ---- start: one short transaction; new rows get snowflake IDs from its commit on ----
    phase := 'start'; kind := 'ddl'; object := NULL;
    FOR i IN 1 .. cardinality(m_rel) LOOP
        target := @extschema@._snowflake_qname(m_rel[i]::regclass);
        -- Nullable, no default: ADD COLUMN is then a catalog change, not a table rewrite.
        step := step + 1;
        statement := format('ALTER TABLE %s ADD COLUMN %I bigint', target, m_new[i]);
        undo := format('ALTER TABLE %s DROP COLUMN IF EXISTS %I', target, m_new[i]);
        RETURN NEXT;
        IF i = 1 THEN
            step := step + 1;
            statement := format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT @extschema@.snowflake_next()', target, new_col);
            undo := NULL;
            RETURN NEXT;
        ELSE
            -- A referencing row written from now on carries its parent's new key. The writer may
            -- have no right to read the parent (INSERT on the referencing table was enough
            -- before): the function runs as the owner of the table it is attached to (SECURITY
            -- DEFINER, lookups pinned). EXECUTE is revoked from PUBLIC once the trigger is made,
            -- so no other role can attach it elsewhere.
            step := step + 1;
            statement := format($f$CREATE FUNCTION %1$I.%2$I() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$
BEGIN
  IF NEW.%3$I IS NULL THEN
    NEW.%4$I := NULL;%8$s
  ELSIF TG_OP OPERATOR(pg_catalog.=) 'INSERT' OR NEW.%4$I IS NULL OR NEW.%3$I IS DISTINCT FROM OLD.%3$I THEN
    NEW.%4$I := (SELECT p.%5$I FROM %6$s p WHERE p.%7$I OPERATOR(pg_catalog.=) NEW.%3$I);
  END IF;
  RETURN NEW;
END $body$$f$, m_nsp[i], m_fill[i], m_col[i], m_new[i], new_col, parent_q, key_col,
                CASE WHEN m_rel[i] = tbl::oid THEN format(E'\n  ELSIF NEW.%I OPERATOR(pg_catalog.=) NEW.%I THEN\n    NEW.%I := NEW.%I;', m_col[i], key_col, m_new[i], new_col) ELSE '' END);
            undo := format('DROP FUNCTION IF EXISTS %I.%I()', m_nsp[i], m_fill[i]);
            RETURN NEXT;
            step := step + 1;
            statement := format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION %I.%I()',
                                m_fill[i], target, m_nsp[i], m_fill[i]);
            undo := format('DROP TRIGGER IF EXISTS %I ON %s', m_fill[i], target);
            RETURN NEXT;
            step := step + 1; undo := NULL;
            statement := format('REVOKE ALL ON FUNCTION %I.%I() FROM PUBLIC', m_nsp[i], m_fill[i]);
            RETURN NEXT;
            step := step + 1;
            statement := format('ALTER FUNCTION %I.%I() OWNER TO %I', m_nsp[i], m_fill[i], m_owner[i]);
            RETURN NEXT;
        END IF;
    END LOOP;

END
$fn$;

-- _snowflake_migration_steps_backfill(tbl, started): phases 2-3's statements: batches and CHECKs.
CREATE OR REPLACE FUNCTION _snowflake_migration_steps_backfill(tbl regclass, started boolean)
RETURNS TABLE (step integer, phase text, kind text, target text, object text, statement text, undo text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    key_att int2;
    key_col text;
    new_col text;
    parent_q text;
    -- migrated columns, in parallel arrays: table, attnum, its bigint twin, the CHECK, trigger
    m_rel oid[] := '{}';
    m_att int2[] := '{}';
    m_col text[] := '{}';
    m_new text[] := '{}';
    m_notnull boolean[] := '{}';
    m_check text[] := '{}';
    m_fill text[] := '{}';
    m_nsp text[] := '{}';              -- the schema of the table (where its fill function lives)
    m_owner text[] := '{}';            -- its owner (who owns its fill function)
    rels oid[];
    fks oid[] := '{}';
    i int;
    nm text;
    parent_owner name;
    ctx record;
BEGIN
    step := 0;
    SELECT * INTO ctx FROM @extschema@._snowflake_migration_context(tbl, started);
    parent_q := ctx.parent_q_; key_att := ctx.key_att_; key_col := ctx.key_col_; new_col := ctx.new_col_;
    parent_owner := ctx.parent_owner_; rels := ctx.rels_; fks := ctx.fks_;
    m_rel := ctx.m_rel_; m_att := ctx.m_att_; m_col := ctx.m_col_; m_new := ctx.m_new_; m_notnull := ctx.m_notnull_;
    m_check := ctx.m_check_; m_fill := ctx.m_fill_; m_nsp := ctx.m_nsp_; m_owner := ctx.m_owner_;
    -- ---- backfill: batches, each its own transaction; CHECKs prove completeness ----
    phase := 'backfill';
    FOR i IN 1 .. cardinality(m_rel) LOOP
        target := @extschema@._snowflake_qname(m_rel[i]::regclass);
        nm := left(m_new[i], 53) || '_filled';
        IF NOT started AND EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conrelid = m_rel[i] AND con.conname = nm) THEN
            RAISE EXCEPTION 'constraint % of % already exists', nm, target USING ERRCODE = 'duplicate_object';
        END IF;
        IF i = 1 THEN
            step := step + 1; kind := 'parent_batches'; undo := NULL;
            statement := format('UPDATE %s p SET %I = m.new_id FROM @extschema@.snowflake_migration_map m WHERE m.relation = $1 AND m.n >= $2 AND m.n < $3 AND p.%I = m.key AND p.%I IS NULL',
                                target, new_col, key_col, new_col);
            object := new_col;
            RETURN NEXT;
            object := NULL;
            -- Added once the batches are done: before, old rows without an ID could not be updated.
            step := step + 1; kind := 'ddl';
            statement := format('ALTER TABLE %s ADD CONSTRAINT %I CHECK (%I IS NOT NULL) NOT VALID', target, nm, new_col);
            undo := format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', target, nm);
            RETURN NEXT;
        ELSE
            -- Added before the pass: from then on every write must carry the twin (the trigger
            -- fills it), so rows the application moves during the pass need no second sweep.
            step := step + 1; kind := 'ddl';
            statement := format('ALTER TABLE %s ADD CONSTRAINT %I CHECK (%s%I IS NOT NULL) NOT VALID', target, nm,
                                coalesce(m_check[i] || ' OR ', ''), m_new[i]);
            undo := format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', target, nm);
            RETURN NEXT;
            step := step + 1; kind := 'child_batches'; undo := NULL;
            statement := format('UPDATE %s c SET %I = p.%I FROM %s p WHERE c.ctid >= $1 AND c.ctid < $2 AND c.%I IS NULL AND p.%I = c.%I',
                                target, m_new[i], new_col, parent_q, m_new[i], key_col, m_col[i]);
            object := m_new[i];
            RETURN NEXT;
            object := NULL;
        END IF;
        step := step + 1; kind := 'ddl'; undo := NULL;
        statement := format('ALTER TABLE %s VALIDATE CONSTRAINT %I', target, nm);
        RETURN NEXT;
    END LOOP;

END
$fn$;

-- _snowflake_migration_steps_index(tbl, started, moves): the twins of the indexes over migrated
-- columns and the unique index on the old primary-key columns; with moves, instead, what the cut-over
-- does with them (kinds pk, rename, unique), for _snowflake_migration_steps_cutover().
CREATE OR REPLACE FUNCTION _snowflake_migration_steps_index(tbl regclass, started boolean, moves boolean)
RETURNS TABLE (step integer, phase text, kind text, target text, object text, statement text, undo text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    pk record;
    ix record;
    key_att int2;
    key_col text;
    new_col text;
    parent_q text;
    -- migrated columns, in parallel arrays: table, attnum, its bigint twin, the CHECK, trigger
    m_rel oid[] := '{}';
    m_att int2[] := '{}';
    m_col text[] := '{}';
    m_new text[] := '{}';
    m_notnull boolean[] := '{}';
    m_check text[] := '{}';
    m_fill text[] := '{}';
    m_nsp text[] := '{}';              -- the schema of the table (where its fill function lives)
    m_owner text[] := '{}';            -- its owner (who owns its fill function)
    rels oid[];
    fks oid[] := '{}';
    i int;
    j int;
    a int2;
    cols text;
    incl text;
    nm text;
    parent_owner name;
    twin_of_pk text;
    idx_renames text[] := '{}';
    idx_rename_tables text[] := '{}';
    uq record;
    uq_moves text[] := '{}';
    uq_move_tables text[] := '{}';
    ctx record;
BEGIN
    step := 0;
    SELECT * INTO ctx FROM @extschema@._snowflake_migration_context(tbl, started);
    parent_q := ctx.parent_q_; key_att := ctx.key_att_; key_col := ctx.key_col_; new_col := ctx.new_col_;
    parent_owner := ctx.parent_owner_; rels := ctx.rels_; fks := ctx.fks_;
    m_rel := ctx.m_rel_; m_att := ctx.m_att_; m_col := ctx.m_col_; m_new := ctx.m_new_; m_notnull := ctx.m_notnull_;
    m_check := ctx.m_check_; m_fill := ctx.m_fill_; m_nsp := ctx.m_nsp_; m_owner := ctx.m_owner_;
    -- ---- index: twins of every index over a migrated column, built CONCURRENTLY by the user ----
    phase := 'index'; kind := 'index';
    FOR ix IN
        SELECT x.indexrelid, x.indrelid, x.indisunique, x.indisprimary, x.indnullsnotdistinct, x.indnkeyatts,
               ARRAY(SELECT unnest(x.indkey::int2[])) AS indkey, ARRAY(SELECT unnest(x.indoption::int2[])) AS indoption, x.indexprs IS NOT NULL OR x.indpred IS NOT NULL AS complex,
               am.amname, ic.relname, n.nspname
        FROM pg_index x
        JOIN pg_class ic ON ic.oid = x.indexrelid
        JOIN pg_namespace n ON n.oid = ic.relnamespace
        JOIN pg_am am ON am.oid = ic.relam
        WHERE x.indrelid = ANY (rels)
          AND EXISTS (SELECT 1 FROM unnest(m_rel, m_att) u(r, t) WHERE u.r = x.indrelid AND u.t = ANY (x.indkey::int2[]))
          -- not the lookup index on the uuids that the migration builds beside the primary key
          AND NOT EXISTS (SELECT 1 FROM pg_constraint pc JOIN pg_class pi ON pi.oid = pc.conindid
                          WHERE pc.conrelid = x.indrelid AND pc.contype = 'p' AND left(pi.relname, 58) || '_uuid' = ic.relname)
        ORDER BY array_position(rels, x.indrelid), NOT x.indisprimary, ic.relname
    LOOP
        target := @extschema@._snowflake_qname(ix.indrelid::regclass);
        IF ix.complex OR ix.amname NOT IN ('btree', 'hash') THEN
            IF ix.indisunique OR ix.indisprimary THEN
                RAISE EXCEPTION 'unique index %.% on a migrated column has expressions, a predicate or access method %',
                    ix.nspname, ix.relname, ix.amname USING ERRCODE = 'feature_not_supported';
            END IF;
            CONTINUE WHEN moves;
            RAISE NOTICE 'index %.% is not copied to the bigint key: it %; recreate it after the cut-over',
                ix.nspname, ix.relname,
                concat_ws(' and ', CASE WHEN (SELECT x.indexprs IS NOT NULL FROM pg_index x WHERE x.indexrelid = ix.indexrelid) THEN 'has expressions' END,
                                   CASE WHEN (SELECT x.indpred IS NOT NULL FROM pg_index x WHERE x.indexrelid = ix.indexrelid) THEN 'is partial (has a WHERE clause)' END,
                                   CASE WHEN ix.amname NOT IN ('btree', 'hash') THEN format('uses access method %s', ix.amname) END);
            CONTINUE;
        END IF;
        cols := NULL; incl := NULL;
        FOR j IN 1 .. cardinality(ix.indkey) LOOP
            a := ix.indkey[j];
            SELECT coalesce(u.nw, att.attname::text) INTO nm
            FROM pg_attribute att
            LEFT JOIN unnest(m_rel, m_att, m_new) u(r, t, nw) ON u.r = att.attrelid AND u.t = att.attnum
            WHERE att.attrelid = ix.indrelid AND att.attnum = a;
            IF j <= ix.indnkeyatts THEN
                cols := concat_ws(', ', cols, quote_ident(nm)
                    || CASE WHEN ix.amname = 'btree' AND ix.indoption[j] & 1 = 1 THEN ' DESC' ELSE '' END
                    || CASE WHEN ix.amname = 'btree' AND ix.indoption[j] & 2 = 2 AND ix.indoption[j] & 1 = 0 THEN ' NULLS FIRST'
                            WHEN ix.amname = 'btree' AND ix.indoption[j] & 2 = 0 AND ix.indoption[j] & 1 = 1 THEN ' NULLS LAST'
                            ELSE '' END);
            ELSE
                incl := concat_ws(', ', incl, quote_ident(nm));
            END IF;
        END LOOP;
        nm := left(ix.relname, 53) || '_snowflake';
        IF NOT started AND to_regclass(format('%I.%I', ix.nspname, nm)) IS NOT NULL THEN
            RAISE EXCEPTION 'relation %.% already exists', ix.nspname, nm USING ERRCODE = 'duplicate_table';
        END IF;
        step := step + 1;
        object := format('%I.%I', ix.nspname, nm);
        statement := format('CREATE %sINDEX CONCURRENTLY %I ON %s USING %s (%s)%s%s',
                            CASE WHEN ix.indisunique THEN 'UNIQUE ' ELSE '' END, nm, target, ix.amname, cols,
                            CASE WHEN incl IS NOT NULL THEN format(' INCLUDE (%s)', incl) ELSE '' END,
                            CASE WHEN ix.indnullsnotdistinct THEN ' NULLS NOT DISTINCT' ELSE '' END);
        undo := format('DROP INDEX IF EXISTS %s', object);
        IF NOT moves THEN RETURN NEXT; END IF;
        IF ix.indisprimary THEN
            IF ix.indrelid <> tbl::oid AND EXISTS (SELECT 1 FROM pg_constraint con WHERE con.contype = 'f' AND con.conindid = ix.indexrelid) THEN
                RAISE EXCEPTION 'the primary key of % contains a migrated column and is referenced by foreign keys', target
                    USING ERRCODE = 'feature_not_supported', HINT = 'Migrate that table''s own key first.';
            END IF;
            twin_of_pk := concat_ws(E'\n', twin_of_pk, format('%s|%I|%I', target,
                (SELECT con.conname FROM pg_constraint con WHERE con.conindid = ix.indexrelid AND con.contype = 'p'), nm));
            -- The primary key's index goes with the constraint at the cut-over: a unique index on
            -- the old columns, built now, keeps lookups by the uuids (<column>_uuid) fast.
            nm := left(ix.relname, 58) || '_uuid';
            IF NOT started AND to_regclass(format('%I.%I', ix.nspname, nm)) IS NOT NULL THEN
                RAISE EXCEPTION 'relation %.% already exists', ix.nspname, nm USING ERRCODE = 'duplicate_table';
            END IF;
            step := step + 1;
            object := format('%I.%I', ix.nspname, nm);
            statement := format('CREATE UNIQUE INDEX CONCURRENTLY %I ON %s USING btree (%s)', nm, target,
                                (SELECT string_agg(quote_ident(att.attname), ', ' ORDER BY k.o)
                                 FROM unnest(ix.indkey) WITH ORDINALITY k(a, o)
                                 JOIN pg_attribute att ON att.attrelid = ix.indrelid AND att.attnum = k.a));
            undo := format('DROP INDEX IF EXISTS %s', object);
            IF NOT moves THEN RETURN NEXT; END IF;
        ELSIF EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = ix.indexrelid AND con.contype = 'u' AND con.conrelid = ix.indrelid) THEN
            -- A UNIQUE constraint stays a constraint with its name and options on the new
            -- columns; the old one is kept, renamed <name>_uuid, for lookups by the uuids.
            SELECT con.conname, con.condeferrable, con.condeferred INTO uq
            FROM pg_constraint con WHERE con.conindid = ix.indexrelid AND con.contype = 'u' AND con.conrelid = ix.indrelid;
            IF octet_length(uq.conname) > 58 OR (NOT started AND EXISTS (
                    SELECT 1 FROM pg_constraint con WHERE con.conrelid = ix.indrelid AND con.conname = uq.conname || '_uuid'))
               OR to_regclass(format('%I.%I', ix.nspname, uq.conname || '_uuid')) IS NOT NULL THEN
                RAISE EXCEPTION 'constraint % of % cannot be renamed to %_uuid at the cut-over', uq.conname, target, uq.conname
                    USING ERRCODE = 'duplicate_object';
            END IF;
            uq_moves := uq_moves || format('ALTER TABLE %s RENAME CONSTRAINT %I TO %I', target, uq.conname, uq.conname || '_uuid')
                                 || format('ALTER TABLE %s ADD CONSTRAINT %I UNIQUE USING INDEX %I%s', target, uq.conname, left(ix.relname, 53) || '_snowflake',
                                           CASE WHEN uq.condeferrable THEN ' DEFERRABLE' || CASE WHEN uq.condeferred THEN ' INITIALLY DEFERRED' ELSE '' END ELSE '' END);
            uq_move_tables := uq_move_tables || target || target;
        ELSE
            IF octet_length(ix.relname) > 58 OR to_regclass(format('%I.%I', ix.nspname, ix.relname || '_uuid')) IS NOT NULL THEN
                RAISE EXCEPTION 'index %.% cannot be renamed to %_uuid at the cut-over', ix.nspname, ix.relname, ix.relname
                    USING ERRCODE = 'duplicate_table';
            END IF;
            idx_renames := idx_renames || format('ALTER INDEX %I.%I RENAME TO %I', ix.nspname, ix.relname, ix.relname || '_uuid')
                                       || format('ALTER INDEX %I.%I RENAME TO %I', ix.nspname, nm, ix.relname);
            idx_rename_tables := idx_rename_tables || target || target;
        END IF;
    END LOOP;
    object := NULL;

    -- What the cut-over does with these indexes, for _snowflake_migration_steps_cutover().
    IF moves THEN
        FOR ix IN SELECT split_part(l, '|', 1) AS t, split_part(l, '|', 2) AS con, split_part(l, '|', 3) AS twin
                  FROM unnest(string_to_array(twin_of_pk, E'\n')) l
        LOOP
            step := step + 1; kind := 'pk'; target := ix.t; object := ix.con; statement := ix.twin;
            RETURN NEXT;
        END LOOP;
        FOR i IN 1 .. cardinality(idx_renames) LOOP
            step := step + 1; kind := 'rename'; target := idx_rename_tables[i]; object := NULL; statement := idx_renames[i];
            RETURN NEXT;
        END LOOP;
        FOR i IN 1 .. cardinality(uq_moves) LOOP
            step := step + 1; kind := 'unique'; target := uq_move_tables[i]; object := NULL; statement := uq_moves[i];
            RETURN NEXT;
        END LOOP;
    END IF;
END
$fn$;

-- _snowflake_migration_steps_constrain(tbl, started): the foreign keys on the twins.
CREATE OR REPLACE FUNCTION _snowflake_migration_steps_constrain(tbl regclass, started boolean)
RETURNS TABLE (step integer, phase text, kind text, target text, object text, statement text, undo text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    fk record;
    key_att int2;
    key_col text;
    new_col text;
    parent_q text;
    -- migrated columns, in parallel arrays: table, attnum, its bigint twin, the CHECK, trigger
    m_rel oid[] := '{}';
    m_att int2[] := '{}';
    m_col text[] := '{}';
    m_new text[] := '{}';
    m_notnull boolean[] := '{}';
    m_check text[] := '{}';
    m_fill text[] := '{}';
    m_nsp text[] := '{}';              -- the schema of the table (where its fill function lives)
    m_owner text[] := '{}';            -- its owner (who owns its fill function)
    rels oid[];
    fks oid[] := '{}';
    a int2;
    nm text;
    parent_owner name;
    ctx record;
BEGIN
    step := 0;
    SELECT * INTO ctx FROM @extschema@._snowflake_migration_context(tbl, started);
    parent_q := ctx.parent_q_; key_att := ctx.key_att_; key_col := ctx.key_col_; new_col := ctx.new_col_;
    parent_owner := ctx.parent_owner_; rels := ctx.rels_; fks := ctx.fks_;
    m_rel := ctx.m_rel_; m_att := ctx.m_att_; m_col := ctx.m_col_; m_new := ctx.m_new_; m_notnull := ctx.m_notnull_;
    m_check := ctx.m_check_; m_fill := ctx.m_fill_; m_nsp := ctx.m_nsp_; m_owner := ctx.m_owner_;
    -- ---- constrain: the foreign keys again, on the bigint twins; NOT VALID, then VALIDATE ----
    phase := 'constrain'; kind := 'ddl';
    FOR fk IN
        SELECT con.*, format('%I.%I', cn.nspname, cc.relname) AS child_q
        FROM pg_constraint con
        JOIN pg_class cc ON cc.oid = con.conrelid JOIN pg_namespace cn ON cn.oid = cc.relnamespace
        WHERE con.oid = ANY (fks)
        ORDER BY array_position(fks, con.oid)
    LOOP
        target := fk.child_q;
        nm := left(fk.conname, 53) || '_snowflake';
        IF NOT started AND EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conrelid = fk.conrelid AND con.conname = nm) THEN
            RAISE EXCEPTION 'constraint % of % already exists', nm, target USING ERRCODE = 'duplicate_object';
        END IF;
        step := step + 1;
        statement := format('ALTER TABLE %s ADD CONSTRAINT %I FOREIGN KEY (%s) REFERENCES %s (%s)%s ON UPDATE %s ON DELETE %s%s%s NOT VALID',
            target, nm,
            (SELECT string_agg(quote_ident(coalesce(u.nw, att.attname::text)), ', ' ORDER BY k.o)
             FROM unnest(fk.conkey) WITH ORDINALITY k(att_no, o)
             JOIN pg_attribute att ON att.attrelid = fk.conrelid AND att.attnum = k.att_no
             LEFT JOIN unnest(m_rel, m_att, m_new) u(r, t, nw) ON u.r = att.attrelid AND u.t = att.attnum),
            parent_q,
            (SELECT string_agg(quote_ident(CASE WHEN k.att_no = key_att THEN new_col ELSE att.attname::text END), ', ' ORDER BY k.o)
             FROM unnest(fk.confkey) WITH ORDINALITY k(att_no, o)
             JOIN pg_attribute att ON att.attrelid = tbl AND att.attnum = k.att_no),
            CASE fk.confmatchtype WHEN 'f' THEN ' MATCH FULL' ELSE '' END,
            CASE fk.confupdtype WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' ELSE 'SET DEFAULT' END,
            CASE fk.confdeltype WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' ELSE 'SET DEFAULT' END,
            CASE WHEN fk.confdelsetcols IS NOT NULL AND cardinality(fk.confdelsetcols) > 0 THEN
                (SELECT format(' (%s)', string_agg(quote_ident(coalesce(u.nw, att.attname::text)), ', ' ORDER BY k.o))
                 FROM unnest(fk.confdelsetcols) WITH ORDINALITY k(att_no, o)
                 JOIN pg_attribute att ON att.attrelid = fk.conrelid AND att.attnum = k.att_no
                 LEFT JOIN unnest(m_rel, m_att, m_new) u(r, t, nw) ON u.r = att.attrelid AND u.t = att.attnum)
                ELSE '' END,
            CASE WHEN fk.condeferrable THEN ' DEFERRABLE' || CASE WHEN fk.condeferred THEN ' INITIALLY DEFERRED' ELSE '' END ELSE '' END);
        undo := format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', target, nm);
        RETURN NEXT;
        step := step + 1;
        statement := format('ALTER TABLE %s VALIDATE CONSTRAINT %I', target, nm);
        undo := NULL;
        RETURN NEXT;
    END LOOP;

END
$fn$;

-- _snowflake_migration_steps_cutover(tbl, started): the swap's statements.
CREATE OR REPLACE FUNCTION _snowflake_migration_steps_cutover(tbl regclass, started boolean)
RETURNS TABLE (step integer, phase text, kind text, target text, object text, statement text, undo text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    pk record;
    fk record;
    ix record;
    key_att int2;
    key_col text;
    new_col text;
    parent_q text;
    -- migrated columns, in parallel arrays: table, attnum, its bigint twin, the CHECK, trigger
    m_rel oid[] := '{}';
    m_att int2[] := '{}';
    m_col text[] := '{}';
    m_new text[] := '{}';
    m_notnull boolean[] := '{}';
    m_check text[] := '{}';
    m_fill text[] := '{}';
    m_nsp text[] := '{}';              -- the schema of the table (where its fill function lives)
    m_owner text[] := '{}';            -- its owner (who owns its fill function)
    rels oid[];
    fks oid[] := '{}';
    i int;
    a int2;
    lock_list text;
    parent_owner name;
    twin_of_pk text;
    idx_renames text[] := '{}';
    idx_rename_tables text[] := '{}';
    uq_moves text[] := '{}';
    uq_move_tables text[] := '{}';
    dep record;
    ctx record;
BEGIN
    step := 0;
    SELECT * INTO ctx FROM @extschema@._snowflake_migration_context(tbl, started);
    parent_q := ctx.parent_q_; key_att := ctx.key_att_; key_col := ctx.key_col_; new_col := ctx.new_col_;
    parent_owner := ctx.parent_owner_; rels := ctx.rels_; fks := ctx.fks_;
    m_rel := ctx.m_rel_; m_att := ctx.m_att_; m_col := ctx.m_col_; m_new := ctx.m_new_; m_notnull := ctx.m_notnull_;
    m_check := ctx.m_check_; m_fill := ctx.m_fill_; m_nsp := ctx.m_nsp_; m_owner := ctx.m_owner_;
    -- ---- cutover: one transaction of catalog changes; no statement scans a table ----
    -- The index phase says which indexes and constraints move.
    twin_of_pk := (SELECT string_agg(concat_ws('|', x.target, x.object, x.statement), E'\n' ORDER BY x.step)
                   FROM @extschema@._snowflake_migration_steps_index(tbl, started, true) x WHERE x.kind = 'pk');
    SELECT coalesce(array_agg(x.statement ORDER BY x.step), '{}'), coalesce(array_agg(x.target ORDER BY x.step), '{}')
    INTO idx_renames, idx_rename_tables
    FROM @extschema@._snowflake_migration_steps_index(tbl, started, true) x WHERE x.kind = 'rename';
    SELECT coalesce(array_agg(x.statement ORDER BY x.step), '{}'), coalesce(array_agg(x.target ORDER BY x.step), '{}')
    INTO uq_moves, uq_move_tables
    FROM @extschema@._snowflake_migration_steps_index(tbl, started, true) x WHERE x.kind = 'unique';
    phase := 'cutover'; kind := 'ddl'; undo := NULL;
    SELECT string_agg(@extschema@._snowflake_qname(r::regclass), ', ' ORDER BY o) INTO lock_list FROM unnest(rels) WITH ORDINALITY u(r, o);
    step := step + 1; target := parent_q;
    statement := format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', lock_list);
    RETURN NEXT;
    -- Views over the key: dropped now, created again at the end over the bigint columns.
    FOR dep IN SELECT dd.object, dd.before_sql FROM @extschema@._snowflake_migration_dependents(m_rel, m_att) dd
               WHERE dd.before_sql IS NOT NULL AND NOT dd.refused ORDER BY dd.object
    LOOP
        step := step + 1; target := dep.object;
        statement := dep.before_sql;
        RETURN NEXT;
    END LOOP;
    target := parent_q;
    FOR fk IN
        SELECT con.conname, format('%I.%I', cn.nspname, cc.relname) AS child_q
        FROM pg_constraint con
        JOIN pg_class cc ON cc.oid = con.conrelid JOIN pg_namespace cn ON cn.oid = cc.relnamespace
        WHERE con.oid = ANY (fks) ORDER BY array_position(fks, con.oid)
    LOOP
        step := step + 1; target := fk.child_q;
        statement := format('ALTER TABLE %s DROP CONSTRAINT %I', target, fk.conname);
        RETURN NEXT;
    END LOOP;
    -- Primary keys over a migrated column move to their twins; SET NOT NULL is proved by the
    -- validated CHECK, so it does not scan.
    FOR i IN 1 .. cardinality(m_rel) LOOP
        IF i = 1 OR (m_notnull[i] AND m_check[i] IS NULL) THEN
            step := step + 1; target := @extschema@._snowflake_qname(m_rel[i]::regclass);
            statement := format('ALTER TABLE %s ALTER COLUMN %I SET NOT NULL', target, m_new[i]);
            RETURN NEXT;
        END IF;
    END LOOP;
    FOR ix IN SELECT split_part(l, '|', 1) AS t, split_part(l, '|', 2) AS con, split_part(l, '|', 3) AS twin
              FROM unnest(string_to_array(twin_of_pk, E'\n')) l
    LOOP
        step := step + 1; target := ix.t;
        statement := format('ALTER TABLE %s DROP CONSTRAINT %s', ix.t, ix.con);
        RETURN NEXT;
        step := step + 1;
        statement := format('ALTER TABLE %s ADD CONSTRAINT %s PRIMARY KEY USING INDEX %s', ix.t, ix.con, ix.twin);
        RETURN NEXT;
    END LOOP;
    FOR i IN 1 .. cardinality(m_rel) LOOP
        target := @extschema@._snowflake_qname(m_rel[i]::regclass);
        -- New rows will not fill the old column: it must accept NULL.
        IF m_notnull[i] THEN
            step := step + 1;
            statement := format('ALTER TABLE %s ALTER COLUMN %I DROP NOT NULL', target, m_col[i]);
            RETURN NEXT;
        END IF;
        step := step + 1;
        statement := format('ALTER TABLE %s RENAME COLUMN %I TO %I', target, m_col[i], m_col[i] || '_uuid');
        RETURN NEXT;
        step := step + 1;
        statement := format('ALTER TABLE %s RENAME COLUMN %I TO %I', target, m_new[i], m_col[i]);
        RETURN NEXT;
        step := step + 1;
        statement := format('ALTER TABLE %s DROP CONSTRAINT %I', target, left(m_new[i], 53) || '_filled');
        RETURN NEXT;
        IF i > 1 THEN
            step := step + 1;
            statement := format('DROP TRIGGER %I ON %s', m_fill[i], target);
            RETURN NEXT;
            step := step + 1;
            statement := format('DROP FUNCTION %I.%I()', m_nsp[i], m_fill[i]);
            RETURN NEXT;
        END IF;
    END LOOP;
    FOR fk IN
        SELECT con.conname, format('%I.%I', cn.nspname, cc.relname) AS child_q
        FROM pg_constraint con
        JOIN pg_class cc ON cc.oid = con.conrelid JOIN pg_namespace cn ON cn.oid = cc.relnamespace
        WHERE con.oid = ANY (fks) ORDER BY array_position(fks, con.oid)
    LOOP
        step := step + 1; target := fk.child_q;
        statement := format('ALTER TABLE %s RENAME CONSTRAINT %I TO %I', target, left(fk.conname, 53) || '_snowflake', fk.conname);
        RETURN NEXT;
    END LOOP;
    FOR i IN 1 .. cardinality(idx_renames) LOOP
        step := step + 1;
        target := idx_rename_tables[i];
        statement := idx_renames[i];
        RETURN NEXT;
    END LOOP;
    FOR i IN 1 .. cardinality(uq_moves) LOOP
        step := step + 1;
        target := uq_move_tables[i];
        statement := uq_moves[i];
        RETURN NEXT;
    END LOOP;
    -- Column privileges go with the name: whoever could insert, update, select or reference the
    -- uuid column by name can do the same with the bigint column that takes its name. Last, and
    -- of their own kind: grants made during the migration are carried as they are at the cut-over.
    kind := 'grant';
    FOR i IN 1 .. cardinality(m_rel) LOOP
        target := @extschema@._snowflake_qname(m_rel[i]::regclass);
        FOR ix IN
            SELECT g.privilege_type, g.is_grantable,
                   CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(g.grantee)) END AS grantee
            FROM pg_attribute att, aclexplode(att.attacl) g
            WHERE att.attrelid = m_rel[i] AND att.attnum = m_att[i]
            ORDER BY 3, 1
        LOOP
            step := step + 1;
            statement := format('GRANT %s (%I) ON %s TO %s%s', ix.privilege_type, m_col[i], target, ix.grantee,
                                CASE WHEN ix.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
            RETURN NEXT;
        END LOOP;
    END LOOP;
    -- Views created again and policies altered, now that the old names are the bigint columns.
    kind := 'carry';
    FOR dep IN SELECT dd.object, a.sql FROM @extschema@._snowflake_migration_dependents(m_rel, m_att) dd,
                      unnest(dd.after_sql) WITH ORDINALITY a(sql, o)
               WHERE NOT dd.refused ORDER BY dd.object, a.o
    LOOP
        step := step + 1; target := dep.object;
        statement := dep.sql;
        RETURN NEXT;
    END LOOP;
END
$fn$;

-- _snowflake_migration_steps(tbl regclass, started boolean): the whole plan, computed from the
-- catalog by the call that runs it; every phase calls it again, so no statement is ever read
-- back from a table. With started, the objects the migration itself has added are expected
-- (the plan of a migration under way is the same plan). Identifiers go through %I and
-- _snowflake_qname, values through USING. Locks nothing. Raises 0A000 for shapes it cannot
-- migrate, 42804 for a key that is not a uuid, 42701/42P07/42622 for names it needs that are
-- taken or too long.
CREATE OR REPLACE FUNCTION _snowflake_migration_steps(tbl regclass, started boolean DEFAULT false)
RETURNS TABLE (step integer, phase text, kind text, target text, object text, statement text, undo text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    r record;
BEGIN
    step := 0;
    FOR r IN
        SELECT 1 AS p, x.step AS s, x.phase, x.kind, x.target, x.object, x.statement, x.undo FROM @extschema@._snowflake_migration_steps_start(tbl, started) x
        UNION ALL SELECT 2, x.step, x.phase, x.kind, x.target, x.object, x.statement, x.undo FROM @extschema@._snowflake_migration_steps_backfill(tbl, started) x
        UNION ALL SELECT 3, x.step, x.phase, x.kind, x.target, x.object, x.statement, x.undo FROM @extschema@._snowflake_migration_steps_index(tbl, started, false) x
        UNION ALL SELECT 4, x.step, x.phase, x.kind, x.target, x.object, x.statement, x.undo FROM @extschema@._snowflake_migration_steps_constrain(tbl, started) x
        UNION ALL SELECT 5, x.step, x.phase, x.kind, x.target, x.object, x.statement, x.undo FROM @extschema@._snowflake_migration_steps_cutover(tbl, started) x
        ORDER BY 1, 2
    LOOP
        step := step + 1;
        phase := r.phase; kind := r.kind; target := r.target; object := r.object; statement := r.statement; undo := r.undo;
        RETURN NEXT;
    END LOOP;
END
$fn$;

-- _snowflake_order_by(tbl regclass, order_by text) -> text: order_by parsed into a whitelist: a
-- comma-separated list of columns of tbl ("quoted" or plain, folded to lower case as SQL does),
-- each with optional ASC or DESC and NULLS FIRST or NULLS LAST. Returns it rebuilt from quoted
-- identifiers and those keywords (which parses to itself again); nothing of the input reaches SQL.
-- Raises 22023 for anything else, 42703 for a column tbl lacks. Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_order_by(tbl regclass, order_by text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    rest text := order_by;
    tok text[];
    col text;
    items text[] := '{}';
BEGIN
    IF rest IS NULL OR btrim(rest, E' \t\r\n') = '' THEN
        RAISE EXCEPTION 'order_by is empty' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Give columns of the table, e.g. order_by => ''name, rank DESC NULLS LAST''.';
    END IF;
    LOOP
        rest := ltrim(rest, E' \t\r\n');
        tok := regexp_match(rest, '^"((?:[^"]|"")+)"');
        IF tok IS NOT NULL THEN
            col := replace(tok[1], '""', '"');
            rest := substr(rest, length(tok[1]) + 3);
        ELSE
            tok := regexp_match(rest, '^([A-Za-z_][A-Za-z0-9_$]*)');
            IF tok IS NULL THEN
                RAISE EXCEPTION 'order_by must be a list of columns of %, each with optional ASC or DESC and NULLS FIRST or NULLS LAST', tbl::text
                    USING ERRCODE = 'invalid_parameter_value',
                    DETAIL = format('Expected a column name at: %s', left(rest, 40)),
                    HINT = 'Expressions are not accepted; add a column computed from them first if you need one.';
            END IF;
            col := lower(tok[1]);
            rest := substr(rest, length(tok[1]) + 1);
        END IF;
        tok := regexp_match(rest, '^(?:\s+(asc|desc))?(?:\s+nulls\s+(first|last))?\s*(,|$)', 'i');
        IF tok IS NULL THEN
            RAISE EXCEPTION 'order_by must be a list of columns of %, each with optional ASC or DESC and NULLS FIRST or NULLS LAST', tbl::text
                USING ERRCODE = 'invalid_parameter_value',
                DETAIL = format('Unexpected after %s: %s', quote_ident(col), left(rest, 40)),
                HINT = 'Expressions are not accepted; add a column computed from them first if you need one.';
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped) THEN
            RAISE EXCEPTION 'column % of % does not exist', quote_ident(col), tbl::text USING ERRCODE = 'undefined_column';
        END IF;
        items := items || (quote_ident(col) || coalesce(' ' || upper(tok[1]), '') || coalesce(' NULLS ' || upper(tok[2]), ''));
        rest := substr(rest, length((regexp_match(rest, '^(?:\s+(?:asc|desc))?(?:\s+nulls\s+(?:first|last))?\s*(?:,|$)', 'i'))[1]) + 1);
        EXIT WHEN tok[3] = '';
    END LOOP;
    RETURN array_to_string(items, ', ');
END
$fn$;

-- _snowflake_migration_owner_check(tbl regclass): raises 42501 unless the caller has the
-- privileges of the table's owner (as ALTER TABLE requires); the migration functions call it
-- first, so that a role learns nothing of, and changes nothing in, another owner's migration.
CREATE OR REPLACE FUNCTION _snowflake_migration_owner_check(tbl regclass) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF NOT coalesce((SELECT pg_has_role(c.relowner, 'USAGE') FROM pg_class c WHERE c.oid = tbl), false) THEN
        RAISE EXCEPTION 'must be owner of table %', tbl::text USING ERRCODE = 'insufficient_privilege',
            HINT = 'A migration is run by the owner of the table (or a member of the owning role).';
    END IF;
END
$fn$;

-- _snowflake_migration_writer_check(tbl regclass): the backfill writes every row of the tables
-- it touches, which runs the code attached to them (triggers, CHECK constraints, index
-- expressions, the sort order of a type) with the rights of the writer. Raises 42501 unless both
-- the current user and the session user (whom RESET ROLE returns to) are the owner of each of
-- those tables, or the owner is a superuser: a superuser's session never runs code that a table's
-- owner wrote. Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_migration_writer_check(tbl regclass) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT DISTINCT g.target, c.relowner
             FROM @extschema@._snowflake_migration_steps(tbl, true) g
             JOIN pg_class c ON c.oid = to_regclass(g.target)
             WHERE g.phase = 'backfill'
    LOOP
        IF NOT (SELECT a.rolsuper FROM pg_roles a WHERE a.oid = r.relowner)
           AND (current_user <> pg_get_userbyid(r.relowner) OR session_user <> pg_get_userbyid(r.relowner)) THEN
            RAISE EXCEPTION 'the backfill writes the rows of %, and must run as its owner %', r.target, pg_get_userbyid(r.relowner)
                USING ERRCODE = 'insufficient_privilege',
                DETAIL = format('Writing rows runs the code attached to the table (triggers, constraints, index expressions) with the rights of the writer; this session is %s as %s.', session_user, current_user),
                HINT = format('Connect as %s and call it again (SET ROLE is not enough: code the table runs could RESET ROLE).', quote_ident(pg_get_userbyid(r.relowner)));
        END IF;
    END LOOP;
END
$fn$;

-- _snowflake_outside_block(what text, tbl regclass): the procedures commit as they go, which
-- they cannot do inside a transaction block; PostgreSQL then says only "invalid transaction
-- termination". This says what to do instead (25001) when it can tell: when the transaction
-- around the CALL has already written something. (A block that has only read is told by
-- PostgreSQL's own error at the first COMMIT, before any work.)
CREATE OR REPLACE FUNCTION _snowflake_outside_block(what text, tbl regclass) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
        RAISE EXCEPTION '% must be called outside a transaction block', what
            USING ERRCODE = 'active_sql_transaction',
            DETAIL = 'It commits as it goes (each batch, each constraint, the swap); inside BEGIN ... COMMIT or a function it cannot.',
            HINT = format('End the transaction (COMMIT or ROLLBACK), then CALL %s(%L, ...) on its own.', what, tbl::text);
    END IF;
END
$fn$;

-- _snowflake_migration_verify(tbl regclass): the plan computed now must have the shape of the
-- plan recorded at the start, step for step (what each step does, to which table and object),
-- up to the cut-over (whose statements are computed when it runs, views and grants included).
-- Raises 55000 naming the first difference: a foreign key, an index or a column added or dropped
-- since the start.
CREATE OR REPLACE FUNCTION _snowflake_migration_verify(tbl regclass) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    d record;
    added text;
    gone text;
BEGIN
    SELECT string_agg(DISTINCT g.target, ', ') INTO added FROM @extschema@._snowflake_migration_steps(tbl, true) g
    WHERE g.phase <> 'cutover' AND g.target NOT IN (SELECT x.target FROM @extschema@.snowflake_migration_step x WHERE x.relation = mig);
    SELECT string_agg(DISTINCT x.target, ', ') INTO gone FROM @extschema@.snowflake_migration_step x
    WHERE x.relation = mig AND x.phase <> 'cutover'
      AND x.target NOT IN (SELECT g.target FROM @extschema@._snowflake_migration_steps(tbl, true) g);
    SELECT * INTO d FROM (
        (SELECT 'planned at the start' AS side, x.step, x.phase, x.kind, x.target, x.object
         FROM @extschema@.snowflake_migration_step x WHERE x.relation = mig AND x.phase <> 'cutover'
         EXCEPT
         SELECT 'planned at the start', g.step, g.phase, g.kind, g.target, g.object
         FROM @extschema@._snowflake_migration_steps(tbl, true) g WHERE g.phase <> 'cutover')
        UNION ALL
        (SELECT 'planned now', g.step, g.phase, g.kind, g.target, g.object
         FROM @extschema@._snowflake_migration_steps(tbl, true) g WHERE g.phase <> 'cutover'
         EXCEPT
         SELECT 'planned now', x.step, x.phase, x.kind, x.target, x.object
         FROM @extschema@.snowflake_migration_step x WHERE x.relation = mig AND x.phase <> 'cutover')) diff
    ORDER BY diff.step, diff.side LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'the schema of % changed since its migration started', mig
            USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = coalesce('Tables that reference it now and did not at the start: ' || added || '. ', '')
                  || coalesce('Tables it changed at the start that do not reference it now: ' || gone || '. ', '')
                  || format('First difference: step %s (%s, %s on %s%s), %s only.', d.step, d.phase, d.kind, d.target, coalesce(', ' || d.object, ''), d.side),
            HINT = format('Undo the change, or abort the migration (SELECT snowflake_migration_abort(%L)) and start it again.', mig);
    END IF;
END
$fn$;

-- snowflake_migration_plan(tbl regclass) -> table (step, phase, target, statement, status): the
-- dry run. Before the start it computes the plan from the catalog and changes nothing (status
-- 'planned'); once started it computes the same plan again (statements are never stored, so
-- what it shows, and what psql's \gexec runs from it, is derived from the catalog now) with each
-- step's recorded status; once cut over, the steps without statements. Locks nothing. Raises
-- 42501 for a table the caller does not own, and what
-- snowflake_migration_start() would raise for a table it cannot migrate.
CREATE OR REPLACE FUNCTION snowflake_migration_plan(tbl regclass)
RETURNS TABLE (step integer, phase text, target text, statement text, status text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    m record;
    done boolean;
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    SELECT * INTO m FROM @extschema@.snowflake_migration x WHERE x.relation = mig;
    done := FOUND AND m.phase = 'done';
    IF done THEN
        RETURN QUERY SELECT s.step, s.phase, s.target, NULL::text, 'done'::text
                     FROM @extschema@.snowflake_migration_step s WHERE s.relation = mig ORDER BY s.step;
    ELSIF FOUND THEN
        RETURN QUERY
        SELECT g.step, g.phase, g.target, g.statement,
               CASE WHEN g.phase = 'cutover' THEN 'pending'
                    WHEN s.step IS NULL THEN 'not in the plan of the start'
                    WHEN s.finished THEN 'done'
                    WHEN g.kind = 'index' THEN
                        CASE (SELECT x.indisvalid FROM pg_index x WHERE x.indexrelid = to_regclass(g.object))
                            WHEN true THEN 'done' WHEN false THEN 'invalid: drop it and run again' ELSE 'to run' END
                    WHEN g.kind = 'parent_batches' AND s.total IS NOT NULL THEN format('%s of %s rows', s.done, s.total)
                    WHEN g.kind = 'child_batches' AND s.total IS NOT NULL THEN format('%s of %s blocks', s.done, s.total)
                    ELSE 'pending' END
        FROM @extschema@._snowflake_migration_steps(tbl, true) g
        LEFT JOIN @extschema@.snowflake_migration_step s ON s.relation = mig AND s.step = g.step
        ORDER BY g.step;
    ELSE
        RETURN QUERY SELECT g.step, g.phase, g.target, g.statement, 'planned'::text
                     FROM @extschema@._snowflake_migration_steps(tbl) g ORDER BY g.step;
    END IF;
    -- The objects that use the key or a referencing column, and what the cut-over does to each.
    IF NOT done THEN
        RETURN QUERY SELECT NULL::integer, 'dependent'::text, d.object,
                            nullif(concat_ws(E';\n', d.before_sql, array_to_string(d.after_sql, E';\n')), ''), d.action
                     FROM @extschema@._snowflake_migration_dependents_of(tbl) d ORDER BY d.object;
    END IF;
END
$fn$;

COMMENT ON FUNCTION snowflake_uuid_time(uuid) IS 'the creation time inside a version 7, 1 or 6 uuid; NULL for other uuids';
COMMENT ON FUNCTION snowflake_migration_plan(regclass) IS 'dry run and progress of a migration from a uuid key to a snowflake key';

-- ---- src/sql/migration/start.sql
-- The migration toolkit, phase 1: the bigint twins, their default and the triggers that fill them.

-- snowflake_migration_start(tbl regclass): phase 1, one short transaction. Adds the bigint twin
-- of the key (nullable, no default: no rewrite) and sets its default to snowflake_next(); adds a
-- twin to every referencing column with a trigger that fills it. Takes ACCESS EXCLUSIVE locks on
-- the table and the referencing tables for catalog changes only, the way the cut-over does: one
-- order, referenced table first, each attempt waiting at most lock_wait, retried with back-off
-- until give_up_after (then 55P03, nothing changed). Raises 42501
-- for a table the caller does not own, 55000 if a migration of the table exists or the generator
-- cannot issue IDs, and the plan's errors.
CREATE OR REPLACE FUNCTION snowflake_migration_start(tbl regclass, lock_wait interval DEFAULT '100 ms',
                                                     give_up_after interval DEFAULT '10 min') RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    s record;
    key_col text;
    touched text;
    attempt integer := 0;
    since timestamptz := clock_timestamp();
    caller_lock_timeout text := current_setting('lock_timeout');
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    SELECT x.phase INTO s FROM @extschema@.snowflake_migration x WHERE x.relation = mig;
    IF FOUND AND s.phase = 'done' THEN
        RAISE EXCEPTION '% was migrated already: its key is a snowflake bigint', mig
            USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'Its record stays in snowflake_migration; nothing is left to do.';
    ELSIF FOUND THEN
        RAISE EXCEPTION 'a migration of % is already under way (phase %)', mig, s.phase
            USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = format('See SELECT * FROM snowflake_migration_plan(%L); snowflake_migration_abort(%L) undoes it before the cut-over.', mig, mig);
    END IF;
    -- Objects over the key or the referencing columns that the migration cannot carry: refused
    -- with the list before anything changes.
    SELECT string_agg(format('%s: %s', d.object, d.action), E'\n' ORDER BY d.object) INTO touched
    FROM @extschema@._snowflake_migration_dependents_of(tbl) d WHERE d.refused;
    IF touched IS NOT NULL THEN
        RAISE EXCEPTION 'objects that use the key of % or its references cannot be carried through the migration', mig
            USING ERRCODE = 'feature_not_supported', DETAIL = touched,
            HINT = format('SELECT target, status FROM snowflake_migration_plan(%L) WHERE phase = ''dependent'' lists them all.', mig);
    END IF;
    -- The new default must work: this raises if snowflake is not preloaded or has no machine id.
    PERFORM @extschema@.snowflake_next();

    INSERT INTO @extschema@.snowflake_migration_step (relation, step, phase, kind, target, object)
    SELECT mig, g.step, g.phase, g.kind, g.target, g.object
    FROM @extschema@._snowflake_migration_steps(tbl) g;
    SELECT a.attname INTO key_col
    FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
    WHERE c.conrelid = tbl AND c.contype = 'p';
    INSERT INTO @extschema@.snowflake_migration (relation, key_column, new_column, phase)
    VALUES (mig, key_col, key_col || '_snowflake', 'started');

    -- The statements the plan computed a moment ago, in this call: none is read back. Their
    -- locks are taken first, the referenced table first, giving way to writers as the cut-over
    -- does (_snowflake_lock_all); an attempt that gives way is rolled back and tried again.
    LOOP
        BEGIN
            PERFORM @extschema@._snowflake_lock_all(
                ARRAY(SELECT g.target FROM @extschema@._snowflake_migration_steps(tbl) g
                      WHERE g.phase = 'start' GROUP BY g.target ORDER BY g.target <> mig, g.target),
                'ACCESS EXCLUSIVE', lock_wait);
            PERFORM set_config('lock_timeout', @extschema@._snowflake_ms(lock_wait), true);
            FOR s IN SELECT g.statement FROM @extschema@._snowflake_migration_steps(tbl) g
                     WHERE g.phase = 'start' ORDER BY g.step
            LOOP
                EXECUTE s.statement;
            END LOOP;
            EXIT;
        EXCEPTION WHEN lock_not_available OR deadlock_detected THEN
            attempt := attempt + 1;
            PERFORM @extschema@._snowflake_give_way(mig, 'the start', SQLERRM, attempt, lock_wait, give_up_after, since);
        END;
    END LOOP;
    PERFORM set_config('lock_timeout', caller_lock_timeout, true);
    UPDATE @extschema@.snowflake_migration_step x SET finished = true WHERE x.relation = mig AND x.phase = 'start';

    SELECT string_agg(DISTINCT x.target, ', ') INTO touched
    FROM @extschema@.snowflake_migration_step x WHERE x.relation = mig;
    RAISE NOTICE 'snowflake: migrating %: new rows get snowflake IDs in column %; tables touched: %',
        mig, quote_ident(key_col || '_snowflake'), touched
        USING HINT = format('Next: CALL snowflake_migration_backfill(%L, time_column => ... | uuid_time => true | order_by => ...).', mig);
END
$fn$;

COMMENT ON FUNCTION snowflake_migration_start(regclass, interval, interval) IS 'migration phase 1: new rows get snowflake keys in a bigint twin of the uuid key';

-- ---- src/sql/migration/backfill.sql
-- The migration toolkit, phases 2-3: the ID map, then the existing rows and their references, in batches.

-- _snowflake_migration_build_map(tbl regclass) -> bigint: numbers the rows of the table that
-- have no snowflake ID yet and records the ID each will get; returns how many. Runs in the first
-- backfill transaction (one scan of the table under ACCESS SHARE). Every check happens before
-- anything is written: 22004 (a row has no time), 22008 (a time a snowflake ID cannot hold),
-- 54000 (more rows in one millisecond than the reserved machine ids can number), 55000 (live
-- IDs of the table already use a reserved machine id).
--
-- The ID of a backfilled row: milliseconds of its time, a machine id from the reserved range,
-- and its rank among the rows of that millisecond (ordered by time, then by the old key): rank r
-- goes to machine id lo + r / 4096, sequence r % 4096, so IDs still sort by rank when a
-- millisecond holds more than 4096 rows. Rows without a time (order_by) and, with pre_epoch =>
-- 'pack', rows dated before 2024 are "packed": the k-th gets millisecond k / capacity of the
-- epoch and slot k % capacity, in order, below every dated row; dated rows of those first
-- milliseconds take the slots after them.
CREATE OR REPLACE FUNCTION _snowflake_migration_build_map(tbl regclass) RETURNS bigint
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    m record;
    lo bigint;
    cap bigint;
    epoch constant timestamptz := '2024-01-01 00:00:00+00';
    last_ms constant timestamptz := '2093-09-06 15:47:35.551+00';
    st record;
    ov record;
    npacked bigint := 0;
    n bigint;
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    SELECT * INTO m FROM @extschema@.snowflake_migration x WHERE x.relation = mig;
    lo := lower(m.machine_ids);
    cap := 4096 * (upper(m.machine_ids) - lower(m.machine_ids));

    EXECUTE format('SELECT count(*) FROM %s WHERE %I IS NOT NULL AND @extschema@.snowflake_machine_id(%I) <@ $1',
                   mig, m.new_column, m.new_column) INTO n USING m.machine_ids;
    IF n > 0 THEN
        RAISE EXCEPTION '% rows of % already have IDs made with a machine id in %, the range reserved for the backfill', n, mig, m.machine_ids
            USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'Some server issues IDs with a reserved machine id; call it again with backfill_machine_ids no server uses.';
    END IF;

    CREATE TEMP TABLE _snowflake_src (key uuid, t timestamptz, k bigint) ON COMMIT DROP;
    IF m.source = 'order' THEN
        -- The order, parsed again into quoted columns and keywords: no stored text reaches SQL.
        EXECUTE format('INSERT INTO pg_temp._snowflake_src SELECT %1$I, NULL, row_number() OVER (ORDER BY %3$s, %1$I) - 1 FROM %4$s WHERE %2$I IS NULL',
                       m.key_column, m.new_column, @extschema@._snowflake_order_by(tbl, m.source_value), mig);
        GET DIAGNOSTICS npacked = ROW_COUNT;
    ELSE
        EXECUTE format('INSERT INTO pg_temp._snowflake_src SELECT %1$I, %3$s, NULL FROM %4$s WHERE %2$I IS NULL',
                       m.key_column, m.new_column,
                       CASE m.source WHEN 'uuid' THEN format('@extschema@.snowflake_uuid_time(%I)', m.key_column)
                                     ELSE format('%I::timestamptz', m.source_value) END,
                       mig);
        SELECT count(*) FILTER (WHERE s.t IS NULL) AS no_time, min(s.key::text) FILTER (WHERE s.t IS NULL) AS no_time_key,
               count(*) FILTER (WHERE s.t < epoch) AS early, min(s.t) AS earliest,
               count(*) FILTER (WHERE date_trunc('milliseconds', s.t) > last_ms) AS late, max(s.t) AS latest
        INTO st FROM _snowflake_src s;
        IF st.no_time > 0 THEN
            IF m.source = 'uuid' THEN
                RAISE EXCEPTION '% rows of % have a uuid without a time (for example %)', st.no_time, mig, st.no_time_key
                    USING ERRCODE = 'null_value_not_allowed',
                    DETAIL = 'Only version 1, 6 and 7 uuids carry their creation time; version 4 is random.',
                    HINT = 'Call it again with a time column (time_column => ...) or an order you choose (order_by => ...).';
            END IF;
            RAISE EXCEPTION '% rows of % have no time in column % (for example %)', st.no_time, mig, m.source_value, st.no_time_key
                USING ERRCODE = 'null_value_not_allowed',
                HINT = 'Fill the column in for those rows, or call it again with an order you choose (order_by => ...).';
        END IF;
        IF st.late > 0 THEN
            RAISE EXCEPTION '% rows of % are dated after 2093-09-06 15:47:35.551 UTC (the latest at %), which a snowflake ID cannot hold',
                st.late, mig, st.latest USING ERRCODE = 'datetime_field_overflow';
        END IF;
        IF st.early > 0 AND m.pre_epoch = 'refuse' THEN
            RAISE EXCEPTION '% rows of % are dated before 2024-01-01 00:00:00 UTC (the earliest at %), which a snowflake ID cannot hold',
                st.early, mig, st.earliest USING ERRCODE = 'datetime_field_overflow',
                HINT = 'Call it again with pre_epoch => ''pack'' to give them IDs in the first milliseconds of 2024, in time order, below every later row.';
        END IF;
        npacked := st.early;
    END IF;

    -- The packed rows must stay below every live ID, which are all younger than the migration.
    IF npacked > 0 AND (npacked - 1) / cap >= @extschema@.snowflake_compose(m.started_at) >> 22 THEN
        RAISE EXCEPTION '% rows of % cannot be packed below the IDs made since %', npacked, mig, m.started_at
            USING ERRCODE = 'program_limit_exceeded', HINT = 'Reserve more machine ids for the backfill.';
    END IF;

    SELECT g.ms, g.cnt + o.occ AS cnt, count(*) OVER () AS crowded INTO ov
    FROM (SELECT @extschema@.snowflake_compose(s.t) >> 22 AS ms, count(*) AS cnt
          FROM _snowflake_src s WHERE s.t >= epoch GROUP BY 1) g,
         LATERAL (SELECT greatest(0, least(cap, npacked - g.ms * cap)) AS occ) o
    WHERE g.cnt + o.occ > cap
    ORDER BY g.ms LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION '% rows of % fall in the millisecond %, more than the machine ids % reserved for the backfill can number',
            ov.cnt, mig, (@extschema@.snowflake_decode(ov.ms << 22)).ts, m.machine_ids
            USING ERRCODE = 'program_limit_exceeded',
            DETAIL = format('%s milliseconds are that crowded; each reserved machine id numbers 4096 rows per millisecond.', ov.crowded),
            HINT = format('Call it again with %s machine ids reserved, e.g. backfill_machine_ids => ''[%s,%s]''.',
                          (ov.cnt + 4095) / 4096, greatest(0, upper(m.machine_ids) - (ov.cnt + 4095) / 4096), upper(m.machine_ids) - 1);
    END IF;

    INSERT INTO @extschema@.snowflake_migration_map (relation, n, key, new_id)
    SELECT mig, row_number() OVER (ORDER BY z.new_id), z.key, z.new_id
    FROM (
        SELECT p.key, (p.k / cap) * 4194304 + lo * 4096 + p.k % cap AS new_id
        FROM (SELECT s.key, CASE WHEN m.source = 'order' THEN s.k
                                 ELSE row_number() OVER (ORDER BY s.t, s.key) - 1 END AS k
              FROM _snowflake_src s WHERE m.source = 'order' OR s.t < epoch) p
        UNION ALL
        SELECT y.key, y.ms * 4194304 + lo * 4096 + y.r + greatest(0, least(cap, npacked - y.ms * cap))
        FROM (SELECT x.key, x.ms, row_number() OVER (PARTITION BY x.ms ORDER BY x.t, x.key) - 1 AS r
              FROM (SELECT s.key, s.t, @extschema@.snowflake_compose(s.t) >> 22 AS ms
                    FROM _snowflake_src s WHERE s.t >= epoch) x) y
    ) z;
    GET DIAGNOSTICS n = ROW_COUNT;
    DROP TABLE _snowflake_src;
    -- Only its owner may analyze the map (a table owner migrating her own table would get a warning).
    IF pg_has_role((SELECT c.relowner FROM pg_class c WHERE c.oid = '@extschema@.snowflake_migration_map'::regclass), 'USAGE') THEN
        ANALYZE @extschema@.snowflake_migration_map;
    END IF;
    RETURN n;
END
$fn$;

-- snowflake_migration_backfill(tbl, ...): phases 2 and 3, a procedure: CALL it outside a
-- transaction block; every batch commits. The first call fixes where IDs come from (exactly one
-- of time_column, uuid_time => true, order_by), the machine ids reserved for them (default
-- [1023,1023]) and what happens to rows dated before 2024 (pre_epoch: 'refuse' or 'pack');
-- numbers the rows (see _snowflake_migration_build_map; the options are fixed once that commits,
-- so a first call refused by a check can be repeated with other options); then fills the table, then every
-- referencing table (ranges of blocks), proving each with a validated CHECK. Resumable: call it
-- again after an error or a cancel. Locks: ROW EXCLUSIVE per batch; brief ACCESS EXCLUSIVE to
-- add each CHECK. Raises 22023 for bad options, 55000 out of order, and the map's errors.
-- _snowflake_backfill_prepare(tbl, ...) -> boolean: the first transaction of a backfill call:
-- checks the caller, the plan and the options; on the first call fixes the options and builds the
-- map. False when the backfill is done already. Raises what snowflake_migration_backfill() lists.
CREATE OR REPLACE FUNCTION _snowflake_backfill_prepare(
    tbl regclass,
    time_column name,
    uuid_time boolean,
    order_by text,
    backfill_machine_ids int4range,
    pre_epoch text,
    batch_size integer)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    m record;
    s record;
    src text;
    live text;
    n bigint;
    tries int;
    sample bigint;
    per_batch bigint;
    upto bigint;
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    IF batch_size IS NULL OR batch_size < 1 THEN
        RAISE EXCEPTION 'batch_size must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO m FROM @extschema@.snowflake_migration x WHERE x.relation = mig;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no migration of % is under way', mig USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = format('Start one with SELECT snowflake_migration_start(%L).', mig);
    END IF;
    IF m.phase <> 'started' THEN
        RAISE NOTICE 'snowflake: the backfill of % is done (phase %)', mig, m.phase;
        RETURN false;
    END IF;
    PERFORM @extschema@._snowflake_migration_verify(tbl);
    PERFORM @extschema@._snowflake_migration_writer_check(tbl);
    -- Parsed into a whitelist of the table's columns before anything is written.
    IF order_by IS NOT NULL THEN
        order_by := @extschema@._snowflake_order_by(tbl, order_by);
    END IF;
    IF num_nonnulls(time_column, CASE WHEN uuid_time THEN true END, order_by) > 1 THEN
        RAISE EXCEPTION 'give only one of time_column, uuid_time => true and order_by' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    src := CASE WHEN time_column IS NOT NULL THEN 'column' WHEN uuid_time THEN 'uuid' WHEN order_by IS NOT NULL THEN 'order' END;

    IF m.map_rows IS NOT NULL THEN
        IF (src IS NOT NULL AND (src, coalesce(time_column::text, order_by)) IS DISTINCT FROM (m.source, m.source_value))
           OR backfill_machine_ids <> m.machine_ids OR pre_epoch <> m.pre_epoch THEN
            RAISE EXCEPTION 'the backfill of % was started with other options', mig
                USING ERRCODE = 'object_not_in_prerequisite_state',
                DETAIL = format('source %s %s, backfill_machine_ids %s, pre_epoch %s', m.source, coalesce(m.source_value, ''), m.machine_ids, m.pre_epoch),
                HINT = format('Resume with CALL snowflake_migration_backfill(%L), or abort the migration to change them.', mig);
        END IF;
    ELSE
        IF src IS NULL THEN
            RAISE EXCEPTION 'say where the IDs of existing rows come from' USING ERRCODE = 'invalid_parameter_value',
                HINT = 'Pass time_column => ''created_at'', uuid_time => true (version 7, 1 or 6 uuids) or order_by => ''an expression''.';
        END IF;
        m.machine_ids := coalesce(backfill_machine_ids, int4range(1023, 1023, '[]'));
        IF isempty(m.machine_ids) OR lower_inf(m.machine_ids) OR upper_inf(m.machine_ids)
           OR lower(m.machine_ids) < 0 OR upper(m.machine_ids) > 1024 THEN
            RAISE EXCEPTION 'backfill_machine_ids % must be a non-empty range within [0,1023]', m.machine_ids
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        m.pre_epoch := coalesce(pre_epoch, 'refuse');
        IF m.pre_epoch NOT IN ('refuse', 'pack') THEN
            RAISE EXCEPTION 'pre_epoch must be ''refuse'' or ''pack'', not %', quote_literal(m.pre_epoch)
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF src = 'column' AND NOT EXISTS (
            SELECT 1 FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = time_column AND a.attnum > 0 AND NOT a.attisdropped) THEN
            RAISE EXCEPTION 'column % of % does not exist', time_column, mig USING ERRCODE = 'undefined_column';
        END IF;
        IF src = 'column' AND (SELECT a.atttypid FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = time_column)
                              NOT IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype) THEN
            RAISE EXCEPTION 'column % of % is of type %, not a timestamp', time_column, mig,
                (SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = time_column)
                USING ERRCODE = 'datatype_mismatch';
        END IF;
        m.source := src;
        m.source_value := coalesce(time_column::text, order_by);
    END IF;

    -- Checked at every call: the server may have been restarted with another machine id.
    live := current_setting('snowflake.machine_id', true);
    IF live IS NOT NULL AND live::int >= 0 AND live::int <@ m.machine_ids THEN
        RAISE EXCEPTION 'backfill_machine_ids % contain snowflake.machine_id %, the machine id of live IDs', m.machine_ids, live
            USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Reserve for the backfill machine ids that no server issues IDs with.';
    END IF;

    IF m.map_rows IS NULL THEN
        UPDATE @extschema@.snowflake_migration x
        SET source = m.source, source_value = m.source_value, machine_ids = m.machine_ids, pre_epoch = m.pre_epoch
        WHERE x.relation = mig;
        n := @extschema@._snowflake_migration_build_map(tbl);
        UPDATE @extschema@.snowflake_migration x SET map_rows = n WHERE x.relation = mig;
        UPDATE @extschema@.snowflake_migration_step x SET total = n WHERE x.relation = mig AND x.kind = 'parent_batches';
        RAISE NOTICE 'snowflake: %: % rows to backfill, IDs from %', mig, n,
            CASE m.source WHEN 'uuid' THEN 'the uuids' WHEN 'column' THEN 'column ' || quote_ident(m.source_value) ELSE 'the order ' || m.source_value END;
    END IF;
    RETURN true;
END
$fn$;


-- _snowflake_backfill_next(tbl regclass, batch_size integer) -> boolean: one unit of backfill work,
-- for one transaction: the next DDL step or the next batch of the first unfinished step, its
-- statement computed from the catalog now, its progress recorded. False when nothing is left
-- (the phase is then 'backfilled'). Locks: ROW EXCLUSIVE per batch; ACCESS EXCLUSIVE briefly to
-- add a CHECK. A deadlock, serialization failure or lock timeout is retried up to 5 times.
CREATE OR REPLACE FUNCTION _snowflake_backfill_next(tbl regclass, batch_size integer) RETURNS boolean
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    s record;
    n bigint;
    tries int;
    sample bigint;
    per_batch bigint;
    upto bigint;
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    -- The next unfinished step: its statement computed now from the catalog, its progress recorded.
    SELECT g.step, g.kind, g.target, g.object, g.statement, x.done, x.total, x.batch INTO s
    FROM @extschema@._snowflake_migration_steps(tbl, true) g
    JOIN @extschema@.snowflake_migration_step x ON x.relation = mig AND x.step = g.step
    WHERE g.phase = 'backfill' AND NOT x.finished ORDER BY g.step LIMIT 1;
    IF NOT FOUND THEN
        UPDATE @extschema@.snowflake_migration x SET phase = 'backfilled' WHERE x.relation = mig;
        RAISE NOTICE 'snowflake: %: backfill done', mig
            USING HINT = format('Next, outside a transaction block: SELECT statement FROM snowflake_migration_plan(%L) WHERE phase = ''index'' \gexec, then CALL snowflake_migration_cutover(%L).', mig, mig);
        RETURN false;
    END IF;
    IF s.kind = 'child_batches' AND s.total IS NULL THEN
        s.total := pg_relation_size(s.target::regclass) / current_setting('block_size')::bigint;
        UPDATE @extschema@.snowflake_migration_step x SET total = s.total WHERE x.relation = mig AND x.step = s.step;
    END IF;
    IF s.kind <> 'ddl' AND s.done >= s.total THEN
        UPDATE @extschema@.snowflake_migration_step x SET finished = true WHERE x.relation = mig AND x.step = s.step;
        RETURN true;
    END IF;
    IF s.batch IS NOT NULL THEN
        per_batch := s.batch;
    ELSIF s.kind = 'child_batches' THEN
        -- The batch in blocks, from the rows in the first blocks before the first batch (a
        -- deterministic estimate, kept for the rest of the step).
        EXECUTE format('SELECT count(*) FROM %s WHERE ctid < $1', s.target) INTO sample
            USING format('(%s,0)', least(16, s.total))::tid;
        per_batch := greatest(1, batch_size / greatest(1, ceil(sample::numeric / greatest(1, least(16, s.total))))::bigint);
    ELSE
        per_batch := batch_size;
    END IF;
    upto := least(s.done + per_batch, s.total);
    tries := 0;
    LOOP
        BEGIN
            IF s.kind = 'ddl' THEN
                -- ADD CONSTRAINT takes ACCESS EXCLUSIVE: give way rather than queue writers.
                PERFORM set_config('lock_timeout', '200ms', true);
                EXECUTE s.statement;
            ELSIF s.kind = 'parent_batches' THEN
                EXECUTE s.statement USING mig, s.done + 1, upto + 1;
            ELSE
                EXECUTE s.statement USING format('(%s,0)', s.done)::tid,
                    CASE WHEN upto >= s.total THEN '(4294967295,0)'::tid ELSE format('(%s,0)', upto)::tid END;
            END IF;
            GET DIAGNOSTICS n = ROW_COUNT;
            EXIT;
        EXCEPTION WHEN deadlock_detected OR serialization_failure OR lock_not_available THEN
            tries := tries + 1;
            IF tries >= 5 THEN
                RAISE EXCEPTION '%', SQLERRM USING ERRCODE = SQLSTATE,
                    DETAIL = format('The step was tried %s times: %s', tries, s.statement),
                    HINT = format('Nothing of this step was written. CALL snowflake_migration_backfill(%L) again resumes it.', mig);
            END IF;
            RAISE NOTICE 'snowflake: %: retrying after %', mig, SQLERRM;
            PERFORM pg_sleep(0.05 * power(2, tries) * random());
        END;
    END LOOP;
    IF s.kind = 'ddl' THEN
        UPDATE @extschema@.snowflake_migration_step x SET finished = true WHERE x.relation = mig AND x.step = s.step;
        RETURN true;
    END IF;
    UPDATE @extschema@.snowflake_migration_step x SET done = upto, finished = upto >= s.total, batch = per_batch
    WHERE x.relation = mig AND x.step = s.step;
    IF s.kind = 'parent_batches' THEN
        RAISE NOTICE 'snowflake: %: % of % rows backfilled', s.target, upto, s.total;
    ELSE
        RAISE NOTICE 'snowflake: %.%: % of % blocks done (% rows filled)', s.target, quote_ident(s.object), upto, s.total, n;
    END IF;
    RETURN true;
END
$fn$;

CREATE OR REPLACE PROCEDURE snowflake_migration_backfill(
    tbl regclass,
    time_column name DEFAULT NULL,
    uuid_time boolean DEFAULT NULL,
    order_by text DEFAULT NULL,
    backfill_machine_ids int4range DEFAULT NULL,
    pre_epoch text DEFAULT NULL,
    batch_size integer DEFAULT 10000)
LANGUAGE plpgsql AS $fn$
-- A procedure cannot pin its search_path (a SET clause forbids COMMIT): this one only calls the
-- extension's functions, schema-qualified with their exact argument types, and commits between
-- them; each of them pins its own.
BEGIN
    -- Fails at once inside a transaction block, before any work.
    PERFORM @extschema@._snowflake_outside_block('snowflake_migration_backfill', tbl);
    COMMIT;
    IF NOT @extschema@._snowflake_backfill_prepare(tbl, time_column, uuid_time, order_by, backfill_machine_ids, pre_epoch, batch_size) THEN
        RETURN;
    END IF;
    COMMIT;
    LOOP
        EXIT WHEN NOT @extschema@._snowflake_backfill_next(tbl, batch_size);
        COMMIT;
    END LOOP;
    COMMIT;
END
$fn$;

COMMENT ON PROCEDURE snowflake_migration_backfill(regclass, name, boolean, text, int4range, text, integer) IS 'migration phases 2-3: give existing rows and referencing rows their snowflake keys, in batches';

-- ---- src/sql/migration/cutover.sql
-- The migration toolkit, phase 4: foreign keys on the twins, then the swap in one short transaction.

-- snowflake_migration_cutover(tbl regclass, lock_wait interval, give_up_after interval): phase 4,
-- a procedure: CALL it outside a transaction block. Adds the foreign keys on the bigint columns
-- NOT VALID and validates them (each its own transaction, writes go on), then swaps in one
-- transaction of catalog changes only: primary key, UNIQUE constraints and foreign keys move to
-- the bigint columns, which take the old names; the uuid columns stay as <column>_uuid with a
-- unique index; views over the key are created again and policies altered onto the new columns;
-- every session's cached plans are invalidated so that PL/pgSQL code replans against the new
-- columns. Every statement is computed from the catalog when it runs.
-- Locks: each table in one order, the referenced table first (as a writer that inserts a parent
-- and then its children does), each attempt waiting at most lock_wait (lock_timeout) so that
-- writers queue behind it no longer than that; an attempt that times out or deadlocks is rolled
-- back (nothing changed) and retried with back-off until give_up_after has passed, then 55P03
-- (nothing changed by the swap: call it again). The ID map is deleted after the swap commits.
-- Raises 42501 for a table the caller does not own, 55000 before the backfill is done, while an
-- index it needs is missing or invalid, or when the schema changed since the start; 0A000 for an
-- object over the key it cannot carry; 25001 inside a transaction block.
-- _snowflake_cutover_prepare(tbl regclass) -> boolean: the checks before a cut-over: the
-- caller, the phase, the plan, the indexes. False when it is cut over already.
CREATE OR REPLACE FUNCTION _snowflake_cutover_prepare(tbl regclass) RETURNS boolean
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    m record;
    missing text;
    refused text;
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    SELECT * INTO m FROM @extschema@.snowflake_migration x WHERE x.relation = mig;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no migration of % is under way', mig USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF m.phase = 'done' THEN
        RAISE NOTICE 'snowflake: % is cut over already', mig;
        RETURN false;
    END IF;
    IF m.phase = 'started' THEN
        RAISE EXCEPTION 'the backfill of % is not done', mig USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = format('CALL snowflake_migration_backfill(%L) first.', mig);
    END IF;
    PERFORM @extschema@._snowflake_migration_verify(tbl);
    SELECT string_agg(g.statement, E';\n' ORDER BY g.step) INTO missing
    FROM @extschema@._snowflake_migration_steps(tbl, true) g
    WHERE g.kind = 'index'
      AND NOT coalesce((SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass(g.object)), false);
    -- Objects created since the start that the cut-over could not carry.
    SELECT string_agg(format('%s: %s', d.object, d.action), E'\n' ORDER BY d.object) INTO refused
    FROM @extschema@._snowflake_migration_dependents_of(tbl) d WHERE d.refused;
    IF refused IS NOT NULL THEN
        RAISE EXCEPTION 'objects that use the key of % or its references cannot be carried through the cut-over', mig
            USING ERRCODE = 'feature_not_supported', DETAIL = refused,
            HINT = 'Drop them, call it again, and create them after the cut-over; or abort the migration.';
    END IF;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'indexes the cut-over of % needs are missing or invalid', mig
            USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = missing,
            HINT = format('Run them outside a transaction block (drop an invalid one first): SELECT statement FROM snowflake_migration_plan(%L) WHERE phase = ''index'' AND status <> ''done'' \gexec', mig);
    END IF;
    RETURN true;
END
$fn$;

-- _snowflake_cutover_constrain_next(tbl regclass) -> boolean: the next foreign key on the bigint
-- columns (added NOT VALID, then validated: each its own transaction, writes go on), computed
-- now. False when all are there (the phase is then 'constrained').
CREATE OR REPLACE FUNCTION _snowflake_cutover_constrain_next(tbl regclass, lock_wait interval, give_up_after interval, since timestamptz)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    s record;
    attempt integer := 0;
    caller_lock_timeout text := current_setting('lock_timeout');
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    SELECT g.step, g.statement, g.target INTO s
    FROM @extschema@._snowflake_migration_steps(tbl, true) g
    JOIN @extschema@.snowflake_migration_step x ON x.relation = mig AND x.step = g.step
    WHERE g.phase = 'constrain' AND NOT x.finished ORDER BY g.step LIMIT 1;
    IF NOT FOUND THEN
        UPDATE @extschema@.snowflake_migration x SET phase = 'constrained' WHERE x.relation = mig;
        RETURN false;
    END IF;
    LOOP
        BEGIN
            -- ADD FOREIGN KEY takes SHARE ROW EXCLUSIVE on both tables, the referencing one
            -- first: taken here beforehand, referenced table first, as writers do (VALIDATE
            -- takes nothing that blocks writers).
            IF s.statement NOT LIKE '% VALIDATE CONSTRAINT %' THEN
                PERFORM @extschema@._snowflake_lock_all(ARRAY[mig, s.target], 'SHARE ROW EXCLUSIVE', lock_wait);
            END IF;
            PERFORM set_config('lock_timeout', @extschema@._snowflake_ms(lock_wait), true);
            EXECUTE s.statement;
            PERFORM set_config('lock_timeout', caller_lock_timeout, true);
            EXIT;
        EXCEPTION WHEN lock_not_available OR deadlock_detected THEN
            attempt := attempt + 1;
            PERFORM @extschema@._snowflake_give_way(mig, 'the cut-over (' || s.statement || ')', SQLERRM, attempt, lock_wait, give_up_after, since);
        END;
    END LOOP;
    UPDATE @extschema@.snowflake_migration_step x SET finished = true WHERE x.relation = mig AND x.step = s.step;
    RETURN true;
END
$fn$;

-- _snowflake_cutover_swap(tbl regclass, lock_wait, give_up_after, since): the swap, in the
-- caller's transaction: catalog changes only, computed now, under ACCESS EXCLUSIVE locks taken
-- referenced table first; each attempt in a subtransaction that gives way after lock_wait (see
-- _snowflake_give_way). Then invalidates every session's cached plans: creating and dropping an
-- operator (in pg_temp) makes every backend of the database reset its plan cache when it reads
-- the invalidation, as any change to pg_operator does, so PL/pgSQL statements written against
-- the uuid columns are planned again against the bigint ones at their next execution.
CREATE OR REPLACE FUNCTION _snowflake_cutover_swap(tbl regclass, lock_wait interval, give_up_after interval, since timestamptz)
RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    s record;
    attempt integer := 0;
    caller_lock_timeout text := current_setting('lock_timeout');
    state text;
    msg text;
    detail text;
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    LOOP
        BEGIN
            PERFORM @extschema@._snowflake_lock_all(
                ARRAY(SELECT g.target FROM @extschema@._snowflake_migration_steps(tbl, true) g
                      WHERE g.phase = 'start' GROUP BY g.target ORDER BY g.target <> mig, g.target),
                'ACCESS EXCLUSIVE', lock_wait);
            PERFORM set_config('lock_timeout', @extschema@._snowflake_ms(lock_wait), true);
            FOR s IN SELECT g.statement FROM @extschema@._snowflake_migration_steps(tbl, true) g
                     WHERE g.phase = 'cutover' ORDER BY g.step
            LOOP
                BEGIN
                    EXECUTE s.statement;
                EXCEPTION WHEN lock_not_available OR deadlock_detected THEN
                    RAISE;
                WHEN OTHERS THEN
                    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
                    RAISE EXCEPTION 'the cut-over of % failed: %', mig, msg
                        USING ERRCODE = state, DETAIL = concat_ws(E'\n', nullif(detail, ''), 'At: ' || s.statement),
                              HINT = 'Nothing changed. Fix what the statement needs (a view or policy over the key that does not work with bigint must be changed), then call it again; or abort.';
                END;
            END LOOP;
            PERFORM set_config('lock_timeout', caller_lock_timeout, true);
            EXIT;
        EXCEPTION WHEN lock_not_available OR deadlock_detected THEN
            attempt := attempt + 1;
            PERFORM @extschema@._snowflake_give_way(mig, 'the cut-over', SQLERRM, attempt, lock_wait, give_up_after, since);
        END;
    END LOOP;
    UPDATE @extschema@.snowflake_migration_step x SET finished = true WHERE x.relation = mig;
    UPDATE @extschema@.snowflake_migration x SET phase = 'done', cut_over_at = now() WHERE x.relation = mig;
    BEGIN
        CREATE OPERATOR pg_temp.@#@#@ (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = pg_catalog.int8eq);
        DROP OPERATOR pg_temp.@#@#@ (bigint, bigint);
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE WARNING 'snowflake: %: could not invalidate the plans cached by other sessions (%)', mig, SQLERRM
            USING HINT = 'Sessions opened before the cut-over that run PL/pgSQL code over these tables must run DISCARD PLANS (or reconnect).';
    END;
END
$fn$;

-- _snowflake_give_way(mig, what, why, attempt, lock_wait, give_up_after, since): after an attempt
-- that timed out waiting for a lock or deadlocked (and was rolled back): raises 55P03 once
-- give_up_after has passed since the call began; otherwise sleeps a random time of up to
-- lock_wait * 2^attempt (at most 1 s) so that the writers it made wait get through first.
CREATE OR REPLACE FUNCTION _snowflake_give_way(mig text, what text, why text, attempt integer, lock_wait interval,
                                               give_up_after interval, since timestamptz) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF clock_timestamp() - since >= give_up_after THEN
        RAISE EXCEPTION 'snowflake: % could not take the locks of % within %', what, mig, give_up_after
            USING ERRCODE = 'lock_not_available',
            DETAIL = format('%s attempts, each waiting at most %s, gave way to other transactions; the last: %s', attempt, lock_wait, why),
            HINT = format('Nothing changed by %s. Call it again (it resumes), at a quieter time or with a larger give_up_after.', what);
    END IF;
    RAISE NOTICE 'snowflake: %: gave way to other transactions (%), attempt %', mig, why, attempt;
    PERFORM pg_sleep(least(1.0, extract(epoch FROM lock_wait)::float8 * power(2, least(attempt, 10))) * random());
END
$fn$;

-- _snowflake_lock_all(tables text[], mode text, lock_wait interval): locks the tables (canonical
-- names, the referenced table first) in mode within the current transaction, the way that
-- stalls writers least. First without queueing: every millisecond for up to lock_wait, all of
-- them NOWAIT at once, which only succeeds at an instant when no transaction holds any of them
-- (writers never wait behind this). If that never happens, once in order, queueing: the first
-- table waits at most lock_wait; the others 20 ms, because a writer that locked a referencing
-- table first and waits for the referenced one would deadlock with this: it gives way at once.
-- Raises lock_not_available (55P03) when that fails too; the caller rolls back and retries.
CREATE OR REPLACE FUNCTION _snowflake_lock_all(tables text[], mode text, lock_wait interval) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    t text;
    deadline timestamptz := clock_timestamp() + lock_wait;
    list text := (SELECT string_agg(@extschema@._snowflake_qname(x::regclass), ', ' ORDER BY o) FROM unnest(tables) WITH ORDINALITY u(x, o));
BEGIN
    IF mode NOT IN ('ACCESS EXCLUSIVE', 'SHARE ROW EXCLUSIVE') THEN
        RAISE EXCEPTION 'lock mode % is not one the migration takes', mode USING ERRCODE = 'invalid_parameter_value';
    END IF;
    LOOP
        BEGIN
            EXECUTE format('LOCK TABLE %s IN %s MODE NOWAIT', list, mode);
            RETURN;
        EXCEPTION WHEN lock_not_available THEN
            EXIT WHEN clock_timestamp() >= deadline;
            PERFORM pg_sleep(0.001);
        END;
    END LOOP;
    PERFORM set_config('lock_timeout', @extschema@._snowflake_ms(lock_wait), true);
    FOREACH t IN ARRAY tables LOOP
        EXECUTE format('LOCK TABLE %s IN %s MODE', @extschema@._snowflake_qname(t::regclass), mode);
        PERFORM set_config('lock_timeout', @extschema@._snowflake_ms(least(lock_wait, interval '20 ms')), true);
    END LOOP;
END
$fn$;

-- _snowflake_ms(i interval) -> text: an interval as whole milliseconds, for lock_timeout.
CREATE OR REPLACE FUNCTION _snowflake_ms(i interval) RETURNS text
LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
    SELECT greatest(1, ceil(extract(epoch FROM i) * 1000))::bigint::text
$$;

-- _snowflake_cutover_finish(tbl regclass): after the swap has committed: deletes the ID map (no
-- work for the swap's locks) and says what happened.
CREATE OR REPLACE FUNCTION _snowflake_cutover_finish(tbl regclass) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    m record;
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    SELECT * INTO m FROM @extschema@.snowflake_migration x WHERE x.relation = mig;
    DELETE FROM @extschema@.snowflake_migration_map x WHERE x.relation = mig;
    RAISE NOTICE 'snowflake: % cut over: % is the bigint primary key; the uuids stay in %', mig,
        quote_ident(m.key_column), quote_ident(m.key_column || '_uuid');
END
$fn$;

CREATE OR REPLACE PROCEDURE snowflake_migration_cutover(tbl regclass, lock_wait interval DEFAULT '100 ms',
                                                       give_up_after interval DEFAULT '10 min')
LANGUAGE plpgsql AS $fn$
-- No SET clause (it would forbid COMMIT): only schema-qualified calls of the extension's own
-- functions, which pin their search_path, and COMMITs between them.
DECLARE
    since timestamptz := pg_catalog.clock_timestamp();
BEGIN
    PERFORM @extschema@._snowflake_outside_block('snowflake_migration_cutover', tbl);
    COMMIT;
    IF NOT @extschema@._snowflake_cutover_prepare(tbl) THEN
        RETURN;
    END IF;
    COMMIT;
    LOOP
        EXIT WHEN NOT @extschema@._snowflake_cutover_constrain_next(tbl, lock_wait, give_up_after, since);
        COMMIT;
    END LOOP;
    COMMIT;
    PERFORM @extschema@._snowflake_cutover_swap(tbl, lock_wait, give_up_after, since);
    COMMIT;
    PERFORM @extschema@._snowflake_cutover_finish(tbl);
    COMMIT;
END
$fn$;

COMMENT ON PROCEDURE snowflake_migration_cutover(regclass, interval, interval) IS 'migration phase 4: swap primary and foreign keys to the snowflake keys in one short transaction';

-- ---- src/sql/migration/abort.sql
-- The migration toolkit: undoing a migration before its cut-over.

-- snowflake_migration_abort(tbl regclass): undoes a migration before its cut-over, in one
-- transaction: drops every column, trigger, function, constraint and index it added (DROP INDEX
-- and DROP COLUMN take ACCESS EXCLUSIVE locks briefly) and forgets its state. What it drops is
-- computed from the catalog now (IF EXISTS: from any phase). Raises 42501 for a table the caller
-- does not own, 55000 when there is no migration of the table or its cut-over is done.
CREATE OR REPLACE FUNCTION snowflake_migration_abort(tbl regclass) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    m record;
    s record;
    quiet text;
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    SELECT * INTO m FROM @extschema@.snowflake_migration x WHERE x.relation = mig;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no migration of % is under way', mig USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF m.phase = 'done' THEN
        RAISE EXCEPTION 'the migration of % is cut over; it cannot be aborted', mig
            USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = format('The uuids are kept in column %s.', quote_ident(m.key_column || '_uuid'));
    END IF;
    -- Undo everything, done or not: the statements say IF EXISTS; their "skipping" notices are noise.
    quiet := current_setting('client_min_messages');
    PERFORM set_config('client_min_messages', 'warning', true);
    FOR s IN SELECT g.undo FROM @extschema@._snowflake_migration_steps(tbl, true) g
             WHERE g.undo IS NOT NULL ORDER BY g.step DESC
    LOOP
        EXECUTE s.undo;
    END LOOP;
    PERFORM set_config('client_min_messages', quiet, true);
    DELETE FROM @extschema@.snowflake_migration_map x WHERE x.relation = mig;
    DELETE FROM @extschema@.snowflake_migration_step x WHERE x.relation = mig;
    DELETE FROM @extschema@.snowflake_migration x WHERE x.relation = mig;
    RAISE NOTICE 'snowflake: migration of % aborted', mig;
END
$fn$;

COMMENT ON FUNCTION snowflake_migration_abort(regclass) IS 'undo a migration before its cut-over';

-- ---- src/sql/lease.sql
-- Machine-id leases on a coordination database: claim, renew, release, and a view of every lease.
-- The tables and the two kinds of time are described in lease_state.sql. A node's background
-- worker calls these functions over libpq (src/pg/lease_worker.cpp); no preloading is needed here.
--
-- Security: a node logs in with a role of its own that may only EXECUTE these functions (and read
-- the view); it has no privilege on the tables. The functions run as the extension's owner
-- (SECURITY DEFINER), pin search_path, and identify the caller by session_user, which SET ROLE
-- does not change: a node can claim a free id and renew or release only leases its role holds.
-- Each is one statement, so one transaction; they lock the rows they change (FOR UPDATE, and the
-- primary key for a first claim), so two claims cannot both take one id at any isolation level:
-- under REPEATABLE READ or SERIALIZABLE the loser gets a serialization failure and retries.

-- snowflake_lease_claim(holder uuid, incarnation uuid, first_id integer, last_id integer,
--     proposed_end_ms bigint, duration_ms integer, host text, system_identifier text,
--     OUT status text, OUT machine_id integer, OUT lease_end_ms bigint, OUT previous_end_ms bigint,
--     OUT renewed_at timestamptz) RETURNS record
-- Gives the caller, in order of preference: its own id back (same holder and role); an id never
-- leased; the free id (released, or not renewed for snowflake_lease_settings.reclaim_after) whose
-- lease ended longest ago. status 'granted': the caller may issue IDs of machine_id with a
-- millisecond in (previous_end_ms, lease_end_ms]. 'busy': its own id is held by another run of the
-- same holder that renewed within its duration (a copy of its data directory, or a restart faster
-- than the old run's lease): machine_id and renewed_at say which; ask again after duration_ms.
-- 'exhausted': no free id in the range (or, with rows in snowflake_lease_grant, none of the
-- caller's ranges). Locks the rows it changes.
-- Errors: 22023 for invalid arguments; 42501 when not granted EXECUTE.
CREATE OR REPLACE FUNCTION snowflake_lease_claim(holder uuid, incarnation uuid, first_id integer, last_id integer,
                                                 proposed_end_ms bigint, duration_ms integer,
                                                 host text DEFAULT NULL, system_identifier text DEFAULT NULL,
                                                 OUT status text, OUT machine_id integer, OUT lease_end_ms bigint,
                                                 OUT previous_end_ms bigint, OUT renewed_at timestamptz)
    RETURNS record
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    caller name := session_user;
    now_ts timestamptz := clock_timestamp();
    reclaim interval;
    restricted boolean := EXISTS (SELECT FROM @extschema@.snowflake_lease_grant);
    l @extschema@.snowflake_lease;
    m integer;
BEGIN
    IF holder IS NULL OR incarnation IS NULL OR first_id IS NULL OR last_id IS NULL OR proposed_end_ms IS NULL
       OR duration_ms IS NULL THEN
        RAISE EXCEPTION 'snowflake_lease_claim: only host and system_identifier may be NULL'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF first_id < 0 OR last_id > 1023 OR first_id > last_id THEN
        RAISE EXCEPTION 'invalid machine id range %-%', first_id, last_id
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Machine ids are 0-1023, the first no greater than the last.';
    END IF;
    IF proposed_end_ms < 0 OR proposed_end_ms > 2199023255551 OR duration_ms <= 0 THEN
        RAISE EXCEPTION 'invalid lease end % ms or duration % ms', proposed_end_ms, duration_ms
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT s.reclaim_after INTO reclaim FROM @extschema@.snowflake_lease_settings s;
    reclaim := coalesce(reclaim, interval '10 minutes');

    -- 1. Its own id back.
    SELECT * INTO l FROM @extschema@.snowflake_lease x
    WHERE x.holder = snowflake_lease_claim.holder AND x.holder_role = caller
      AND x.machine_id BETWEEN first_id AND last_id
      AND (NOT restricted OR EXISTS (SELECT FROM @extschema@.snowflake_lease_grant r
                                     WHERE r.holder_role = caller AND r.machine_ids @> x.machine_id))
    ORDER BY x.renewed_at DESC LIMIT 1
    FOR UPDATE;
    IF FOUND THEN
        IF l.incarnation IS DISTINCT FROM snowflake_lease_claim.incarnation AND l.released_at IS NULL
           AND l.renewed_at > now_ts - make_interval(secs => l.duration_ms / 1000.0) THEN
            status := 'busy'; machine_id := l.machine_id; renewed_at := l.renewed_at;
            RETURN;
        END IF;
        -- The same run asking again (its worker restarted) keeps its start; another run starts
        -- after everything the old one may have issued.
        UPDATE @extschema@.snowflake_lease x
        SET incarnation = snowflake_lease_claim.incarnation,
            previous_end_ms = CASE WHEN x.incarnation = snowflake_lease_claim.incarnation
                                   THEN x.previous_end_ms ELSE x.lease_end_ms END,
            lease_end_ms = greatest(x.lease_end_ms, proposed_end_ms),
            started_at = CASE WHEN x.incarnation = snowflake_lease_claim.incarnation THEN x.started_at ELSE now_ts END,
            renewed_at = now_ts, released_at = NULL, duration_ms = snowflake_lease_claim.duration_ms,
            host = snowflake_lease_claim.host, system_identifier = snowflake_lease_claim.system_identifier
        WHERE x.machine_id = l.machine_id
        RETURNING 'granted', x.machine_id, x.lease_end_ms, x.previous_end_ms, x.renewed_at
        INTO status, machine_id, lease_end_ms, previous_end_ms, renewed_at;
        RETURN;
    END IF;

    -- 2. An id never leased: the primary key decides between concurrent claims.
    FOR m IN SELECT g FROM generate_series(first_id, last_id) g
             WHERE NOT EXISTS (SELECT FROM @extschema@.snowflake_lease x WHERE x.machine_id = g)
               AND (NOT restricted OR EXISTS (SELECT FROM @extschema@.snowflake_lease_grant r
                                              WHERE r.holder_role = caller AND r.machine_ids @> g))
             ORDER BY g LOOP
        INSERT INTO @extschema@.snowflake_lease AS x
            (machine_id, holder, incarnation, holder_role, system_identifier, host, duration_ms,
             started_at, renewed_at, released_at, lease_end_ms, previous_end_ms)
        VALUES (m, snowflake_lease_claim.holder, snowflake_lease_claim.incarnation, caller,
                snowflake_lease_claim.system_identifier, snowflake_lease_claim.host, snowflake_lease_claim.duration_ms,
                now_ts, now_ts, NULL, proposed_end_ms, -1)
        ON CONFLICT ON CONSTRAINT snowflake_lease_pkey DO NOTHING
        RETURNING 'granted', x.machine_id, x.lease_end_ms, x.previous_end_ms, x.renewed_at
        INTO status, machine_id, lease_end_ms, previous_end_ms, renewed_at;
        IF FOUND THEN
            RETURN;
        END IF;
    END LOOP;

    -- 3. A free id, the one whose lease ended longest ago (the new holder waits least for its
    -- clock to pass it). The lock re-reads the row, and the UPDATE checks again that it is free.
    LOOP
        SELECT * INTO l FROM @extschema@.snowflake_lease x
        WHERE x.machine_id BETWEEN first_id AND last_id
          AND (x.released_at IS NOT NULL OR x.renewed_at < now_ts - reclaim)
          AND (NOT restricted OR EXISTS (SELECT FROM @extschema@.snowflake_lease_grant r
                                         WHERE r.holder_role = caller AND r.machine_ids @> x.machine_id))
        ORDER BY x.lease_end_ms, x.machine_id LIMIT 1
        FOR UPDATE SKIP LOCKED;
        EXIT WHEN NOT FOUND;
        UPDATE @extschema@.snowflake_lease x
        SET holder = snowflake_lease_claim.holder, incarnation = snowflake_lease_claim.incarnation,
            holder_role = caller, system_identifier = snowflake_lease_claim.system_identifier,
            host = snowflake_lease_claim.host, duration_ms = snowflake_lease_claim.duration_ms,
            started_at = now_ts, renewed_at = now_ts, released_at = NULL,
            previous_end_ms = x.lease_end_ms, lease_end_ms = greatest(x.lease_end_ms, proposed_end_ms)
        WHERE x.machine_id = l.machine_id AND (x.released_at IS NOT NULL OR x.renewed_at < now_ts - reclaim)
        RETURNING 'granted', x.machine_id, x.lease_end_ms, x.previous_end_ms, x.renewed_at
        INTO status, machine_id, lease_end_ms, previous_end_ms, renewed_at;
        IF FOUND THEN
            RETURN;
        END IF;
    END LOOP;
    status := 'exhausted';
END;
$$;

-- snowflake_lease_renew(machine_id integer, holder uuid, incarnation uuid, proposed_end_ms bigint,
--     OUT status text, OUT lease_end_ms bigint, OUT renewed_at timestamptz) RETURNS record
-- 'renewed': the lease end is now the greater of the old one and proposed_end_ms (it never moves
-- back: the next holder starts after the highest end this holder was ever given). 'lost': the
-- lease is not this run's any more (taken over or released, or, with rows in
-- snowflake_lease_grant, no range of the caller's holds the id any more); the caller issues
-- nothing past the end it last had. Locks the lease's row. Errors: 22023 for invalid arguments.
CREATE OR REPLACE FUNCTION snowflake_lease_renew(machine_id integer, holder uuid, incarnation uuid, proposed_end_ms bigint,
                                                 OUT status text, OUT lease_end_ms bigint, OUT renewed_at timestamptz)
    RETURNS record
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF proposed_end_ms IS NULL OR proposed_end_ms < 0 OR proposed_end_ms > 2199023255551 THEN
        RAISE EXCEPTION 'invalid lease end % ms', proposed_end_ms USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE @extschema@.snowflake_lease x
    SET lease_end_ms = greatest(x.lease_end_ms, proposed_end_ms), renewed_at = clock_timestamp()
    WHERE x.machine_id = snowflake_lease_renew.machine_id AND x.holder = snowflake_lease_renew.holder
      AND x.incarnation = snowflake_lease_renew.incarnation AND x.holder_role = session_user
      AND x.released_at IS NULL
      AND (NOT EXISTS (SELECT FROM @extschema@.snowflake_lease_grant)
           OR EXISTS (SELECT FROM @extschema@.snowflake_lease_grant r
                      WHERE r.holder_role = session_user AND r.machine_ids @> x.machine_id))
    RETURNING 'renewed', x.lease_end_ms, x.renewed_at INTO status, lease_end_ms, renewed_at;
    IF NOT FOUND THEN
        status := 'lost';
    END IF;
END;
$$;

-- snowflake_lease_release(machine_id integer, holder uuid, incarnation uuid DEFAULT NULL,
--     final_end_ms bigint DEFAULT NULL) RETURNS boolean
-- Frees a lease the caller's role holds (of one run, or of any run when incarnation is NULL: a
-- node taken out of service). final_end_ms, from a node stopping cleanly, lowers the lease end to
-- the last millisecond it used, so whoever takes the id next (itself after a restart) need not
-- wait for the rest of the lease. true if a lease was released. Locks the lease's row.
CREATE OR REPLACE FUNCTION snowflake_lease_release(machine_id integer, holder uuid, incarnation uuid DEFAULT NULL,
                                                   final_end_ms bigint DEFAULT NULL)
    RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE @extschema@.snowflake_lease x
    SET released_at = clock_timestamp(),
        lease_end_ms = CASE WHEN final_end_ms IS NULL THEN x.lease_end_ms
                            ELSE greatest(x.previous_end_ms, least(x.lease_end_ms, final_end_ms)) END
    WHERE x.machine_id = snowflake_lease_release.machine_id AND x.holder = snowflake_lease_release.holder
      AND (snowflake_lease_release.incarnation IS NULL OR x.incarnation = snowflake_lease_release.incarnation)
      AND x.holder_role = session_user AND x.released_at IS NULL;
    RETURN FOUND;
END;
$$;

-- Every lease, for people: times of the coordination database's clock, and the lease ends as
-- the millisecond inside an ID (previous_end NULL: the first holder).
CREATE OR REPLACE VIEW snowflake_leases AS
SELECT l.machine_id, l.holder, l.holder_role, l.host, l.system_identifier, l.started_at,
       @extschema@.snowflake_timestamp(l.lease_end_ms << 22) AS lease_end, l.renewed_at,
       CASE WHEN l.previous_end_ms >= 0 THEN @extschema@.snowflake_timestamp(l.previous_end_ms << 22) END AS previous_end,
       l.released_at,
       CASE WHEN l.released_at IS NOT NULL THEN 'released'
            WHEN l.renewed_at < clock_timestamp() - coalesce((SELECT s.reclaim_after FROM @extschema@.snowflake_lease_settings s),
                                                              interval '10 minutes') THEN 'expired'
            ELSE 'held' END AS state
FROM @extschema@.snowflake_lease l;

REVOKE ALL ON FUNCTION snowflake_lease_claim(uuid, uuid, integer, integer, bigint, integer, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION snowflake_lease_renew(integer, uuid, uuid, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION snowflake_lease_release(integer, uuid, uuid, bigint) FROM PUBLIC;
REVOKE ALL ON snowflake_leases FROM PUBLIC;

COMMENT ON FUNCTION snowflake_lease_claim(uuid, uuid, integer, integer, bigint, integer, text, text) IS 'coordination database: lease a machine id to the calling node (its own back, else a free one)';
COMMENT ON FUNCTION snowflake_lease_renew(integer, uuid, uuid, bigint) IS 'coordination database: extend the calling node''s lease, unless it was taken over';
COMMENT ON FUNCTION snowflake_lease_release(integer, uuid, uuid, bigint) IS 'coordination database: free a lease the calling role holds';
COMMENT ON VIEW snowflake_leases IS 'coordination database: every machine-id lease, its holder and its times';
