-- The migration toolkit's state and who may see and change it: created by a fresh install and, after
-- it has set aside and dropped 1.0's state, by the update from 1.0 (src/sql/update).

-- ===========================================================================================
-- Migrating a table from a uuid primary key to a snowflake key (docs/migration.md). Phases: start -> backfill -> indexes (CONCURRENTLY, run by the user) -> cut-over;
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
CREATE TABLE snowflake_internal.snowflake_migration (
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
CREATE TABLE snowflake_internal.snowflake_migration_step (
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
CREATE TABLE snowflake_internal.snowflake_migration_map (
    relation text NOT NULL,
    n        bigint NOT NULL,
    key      uuid NOT NULL,
    new_id   bigint NOT NULL,
    PRIMARY KEY (relation, n)
);

-- A dump taken in the middle of a migration must carry its state: the restore resumes it.
SELECT pg_catalog.pg_extension_config_dump('snowflake_internal.snowflake_migration', '');
SELECT pg_catalog.pg_extension_config_dump('snowflake_internal.snowflake_migration_step', '');
SELECT pg_catalog.pg_extension_config_dump('snowflake_internal.snowflake_migration_map', '');

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

ALTER TABLE snowflake_internal.snowflake_migration ENABLE ROW LEVEL SECURITY;
ALTER TABLE snowflake_internal.snowflake_migration_step ENABLE ROW LEVEL SECURITY;
ALTER TABLE snowflake_internal.snowflake_migration_map ENABLE ROW LEVEL SECURITY;
CREATE POLICY owner_only ON snowflake_internal.snowflake_migration USING (@extschema@._snowflake_owns(relation));
CREATE POLICY owner_only ON snowflake_internal.snowflake_migration_step USING (@extschema@._snowflake_owns(relation));
CREATE POLICY owner_only ON snowflake_internal.snowflake_migration_map USING (@extschema@._snowflake_owns(relation));
GRANT SELECT, INSERT, UPDATE, DELETE ON snowflake_internal.snowflake_migration, snowflake_internal.snowflake_migration_step, snowflake_internal.snowflake_migration_map TO PUBLIC;

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
    FROM snowflake_internal.snowflake_migration m WHERE m.phase <> 'done';
    IF busy IS NOT NULL THEN
        RAISE EXCEPTION 'cannot drop extension snowflake while a migration is under way: %', busy
            USING ERRCODE = 'object_in_use',
            DETAIL = 'Its tables carry columns, triggers and constraints that only snowflake_migration_abort() or the cut-over removes; without them inserts would fail.',
            HINT = format('Abort each first: %s', (SELECT string_agg(format('SELECT snowflake_migration_abort(%L);', m.relation), ' ' ORDER BY m.relation)
                                                  FROM snowflake_internal.snowflake_migration m WHERE m.phase <> 'done'));
    END IF;
END
$$;
CREATE EVENT TRIGGER snowflake_refuse_drop ON ddl_command_start WHEN TAG IN ('DROP EXTENSION')
    EXECUTE FUNCTION _snowflake_refuse_drop();
