-- The migration toolkit's state: created by a fresh install; an update script converts an older version's.

-- ===========================================================================================
-- Migrating a table from a uuid primary key to a snowflake key (README: "Migrating from UUID
-- keys"). Phases: start -> backfill -> indexes (CONCURRENTLY, run by the user) -> cut-over;
-- abort undoes everything before the cut-over. The plan is computed from the catalog once, at
-- start, and kept as rows of statements (snowflake_migration_step) so that the dry run, the
-- phases and the abort all read the same plan.
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

-- The plan: every statement of every phase, its undo, and progress for the batched steps.
CREATE TABLE snowflake_migration_step (
    relation  text NOT NULL,
    step      integer NOT NULL,
    phase     text NOT NULL,        -- start | backfill | index | constrain | cutover
    kind      text NOT NULL,        -- ddl | parent_batches | child_batches | index
    target    text NOT NULL,        -- the table the statement touches
    object    text,                 -- the index a kind=index step makes
    statement text NOT NULL,
    undo      text,                 -- what abort runs (idempotent, IF EXISTS)
    finished  boolean NOT NULL DEFAULT false,
    done      bigint NOT NULL DEFAULT 0,   -- rows (parent) or blocks (children) handled
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
