-- Partitioned tables in a migration: a partitioned table that references the migrated table (orders
-- partitioned by month, ON UPDATE CASCADE to accounts): plan, start, backfill per partition, indexes
-- on the parent alone then per partition attached, foreign keys per partition then on the parent,
-- cut-over; abort restores the schema exactly; partitions attached or detached meanwhile are refused.
CREATE EXTENSION IF NOT EXISTS snowflake;
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET client_min_messages = warning;
CREATE SCHEMA shop;
SET search_path = shop, public;

CREATE TABLE accounts (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE orders (id uuid NOT NULL DEFAULT gen_random_uuid(), created_at timestamptz NOT NULL,
                     account_id uuid NOT NULL REFERENCES accounts ON UPDATE CASCADE, amount int,
                     PRIMARY KEY (id, created_at)) PARTITION BY RANGE (created_at);
CREATE TABLE orders_2024_01 PARTITION OF orders FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');
CREATE TABLE orders_2024_02 PARTITION OF orders FOR VALUES FROM ('2024-02-01') TO ('2024-03-01');
CREATE INDEX orders_account_idx ON orders (account_id, created_at DESC);
INSERT INTO accounts (name, created_at) SELECT 'a' || g, '2024-01-01'::timestamptz + g * interval '1 minute' FROM generate_series(1, 100) g;
INSERT INTO orders (created_at, account_id, amount)
SELECT '2024-01-01'::timestamptz + (g % 50) * interval '1 day', a.id, g FROM generate_series(1, 300) g JOIN accounts a ON a.name = 'a' || (g % 100 + 1);

CREATE FUNCTION schema_of_shop() RETURNS TABLE (item text) LANGUAGE sql AS $$
    SELECT format('%s column %s %s%s%s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                  CASE WHEN a.attnotnull THEN ' not null' ELSE '' END, ' default ' || pg_get_expr(d.adbin, d.adrelid))
    FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
    WHERE (c.relname LIKE 'accounts%' OR c.relname LIKE 'orders%') AND c.relkind IN ('r', 'p')
    UNION ALL
    SELECT format('%s constraint %s %s%s%s', c.relname, k.conname, pg_get_constraintdef(k.oid), CASE WHEN k.convalidated THEN '' ELSE ' (not validated)' END,
                  CASE WHEN k.conparentid <> 0 THEN ' (of the parent''s)' ELSE '' END)
    FROM pg_class c JOIN pg_constraint k ON k.conrelid = c.oid
    WHERE (c.relname LIKE 'accounts%' OR c.relname LIKE 'orders%') AND k.contype <> 'n'
    UNION ALL
    SELECT format('%s index %s%s%s', c.relname, pg_get_indexdef(i.indexrelid), CASE WHEN i.indisvalid THEN '' ELSE ' (invalid)' END,
                  ' attached to ' || (SELECT h.inhparent::regclass::text FROM pg_inherits h WHERE h.inhrelid = i.indexrelid))
    FROM pg_class c JOIN pg_index i ON i.indrelid = c.oid WHERE c.relname LIKE 'accounts%' OR c.relname LIKE 'orders%'
    UNION ALL
    SELECT format('%s trigger %s', c.relname, t.tgname)
    FROM pg_class c JOIN pg_trigger t ON t.tgrelid = c.oid AND NOT t.tgisinternal WHERE c.relname LIKE 'accounts%' OR c.relname LIKE 'orders%'
    UNION ALL
    SELECT format('function %s', p.oid::regprocedure) FROM pg_proc p WHERE p.proname LIKE 'snowflake_fill_%'
$$;
CREATE TABLE schema_before AS SELECT * FROM schema_of_shop();
CREATE VIEW schema_diff AS
    (SELECT '-' AS side, item FROM schema_before EXCEPT SELECT '-', item FROM schema_of_shop())
    UNION ALL
    (SELECT '+', item FROM schema_of_shop() EXCEPT SELECT '+', item FROM schema_before);

-- The dry run: the twin filled in each partition, the index on the parent alone then built and
-- attached per partition, the foreign key per partition then on the parent.
SELECT step, phase, target, statement FROM snowflake_migration_plan('shop.accounts') WHERE phase <> 'start' ORDER BY step;

-- ---- Abort after the start, after the backfill, after the indexes, half-way through an index ----
SELECT snowflake_migration_start('accounts');
SELECT snowflake_migration_abort('accounts');
SELECT * FROM schema_diff ORDER BY 1, 2;
SELECT snowflake_migration_start('accounts');
CALL snowflake_migration_backfill('accounts', time_column => 'created_at');
SELECT count(*) AS unfilled FROM orders WHERE account_id_snowflake IS DISTINCT FROM (SELECT a.id_snowflake FROM accounts a WHERE a.id = orders.account_id);
SELECT snowflake_migration_abort('accounts');
SELECT * FROM schema_diff ORDER BY 1, 2;
SELECT snowflake_migration_start('accounts');
CALL snowflake_migration_backfill('accounts', time_column => 'created_at');
-- the parent's index and one partition's, not attached yet
SELECT statement FROM snowflake_migration_plan('shop.accounts') WHERE phase = 'index' AND step <= 18 \gexec
SELECT step, target, status FROM snowflake_migration_plan('shop.accounts') WHERE phase = 'index' ORDER BY step;
SELECT snowflake_migration_abort('accounts');
SELECT * FROM schema_diff ORDER BY 1, 2;
SELECT snowflake_migration_start('accounts');
CALL snowflake_migration_backfill('accounts', time_column => 'created_at');
SELECT statement FROM snowflake_migration_plan('shop.accounts') WHERE phase = 'index' AND status <> 'done' \gexec
SELECT step, target, status FROM snowflake_migration_plan('shop.accounts') WHERE phase = 'index' ORDER BY step;
SELECT snowflake_migration_abort('accounts');
SELECT * FROM schema_diff ORDER BY 1, 2;

-- ---- A partition attached or detached during the migration is refused by the shape check ----
SELECT snowflake_migration_start('accounts');
CREATE TABLE orders_2024_03 PARTITION OF orders FOR VALUES FROM ('2024-03-01') TO ('2024-04-01');
CALL snowflake_migration_backfill('accounts', time_column => 'created_at');
\echo :LAST_ERROR_SQLSTATE
DROP TABLE orders_2024_03;
CALL snowflake_migration_backfill('accounts', time_column => 'created_at');
SELECT statement FROM snowflake_migration_plan('shop.accounts') WHERE phase = 'index' AND status <> 'done' \gexec
ALTER TABLE orders DETACH PARTITION orders_2024_02;
CALL snowflake_migration_cutover('accounts');
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE orders ATTACH PARTITION orders_2024_02 FOR VALUES FROM ('2024-02-01') TO ('2024-03-01');

-- ---- The cut-over ----
CALL snowflake_migration_cutover('accounts');
SELECT * FROM schema_diff ORDER BY 1, 2;
SELECT count(*) AS joined FROM orders o JOIN accounts a ON a.id = o.account_id;
SELECT count(*) AS same_as_uuid FROM orders o JOIN accounts a ON a.id_uuid = o.account_id_uuid AND a.id = o.account_id;
-- ON UPDATE CASCADE reaches the partitions through the new key
INSERT INTO accounts (name) VALUES ('new');
INSERT INTO orders (created_at, account_id) SELECT '2024-02-03', id FROM accounts WHERE name = 'new';
UPDATE accounts SET id = id + 1 WHERE name = 'new';
SELECT count(*) AS cascaded FROM orders o JOIN accounts a ON a.id = o.account_id WHERE a.name = 'new';
INSERT INTO orders (created_at, account_id) VALUES ('2024-01-05', 42);
\echo :LAST_ERROR_SQLSTATE

-- ---- Refused: a partition that is partitioned itself ----
CREATE TABLE teams (id uuid PRIMARY KEY);
CREATE TABLE events (team_id uuid REFERENCES teams, at timestamptz NOT NULL, kind int NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01') PARTITION BY LIST (kind);
SELECT * FROM snowflake_migration_plan('teams');
\echo :LAST_ERROR_SQLSTATE

RESET search_path;
DROP SCHEMA shop CASCADE;
