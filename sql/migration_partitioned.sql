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

-- ---- The partitioned table itself: PRIMARY KEY (id, created_at), referenced by notes through a
-- composite foreign key (order_id, order_created_at) ----
CREATE TABLE notes (id bigserial PRIMARY KEY, order_id uuid NOT NULL, order_created_at timestamptz NOT NULL, body text,
                    FOREIGN KEY (order_id, order_created_at) REFERENCES orders (id, created_at) ON DELETE CASCADE);
CREATE INDEX notes_order_idx ON notes (order_id, order_created_at);
INSERT INTO notes (order_id, order_created_at, body) SELECT id, created_at, 'n' FROM orders, generate_series(1, 2);
CREATE OR REPLACE FUNCTION schema_of_shop() RETURNS TABLE (item text) LANGUAGE sql AS $$
    SELECT format('%s column %s %s%s%s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                  CASE WHEN a.attnotnull THEN ' not null' ELSE '' END, ' default ' || pg_get_expr(d.adbin, d.adrelid))
    FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
    WHERE c.relnamespace = 'shop'::regnamespace AND c.relkind IN ('r', 'p')
    UNION ALL
    -- the parents' constraints (the partitions' are checked by the same statements; PostgreSQL
    -- before 18 leaves internal ones of a validated foreign key marked not validated)
    SELECT format('%s constraint %s %s%s', c.relname, k.conname, pg_get_constraintdef(k.oid), CASE WHEN k.convalidated THEN '' ELSE ' (not validated)' END)
    FROM pg_class c JOIN pg_constraint k ON k.conrelid = c.oid
    WHERE c.relnamespace = 'shop'::regnamespace AND k.contype <> 'n' AND k.conparentid = 0
    UNION ALL
    SELECT format('%s constraint %s %s (of the parent''s)', c.relname, k.conname, regexp_replace(pg_get_constraintdef(k.oid), ' NOT VALID$', ''))
    FROM pg_class c JOIN pg_constraint k ON k.conrelid = c.oid
    WHERE c.relnamespace = 'shop'::regnamespace AND k.contype <> 'n' AND k.conparentid <> 0
    UNION ALL
    SELECT format('%s index %s%s%s', c.relname, pg_get_indexdef(i.indexrelid), CASE WHEN i.indisvalid THEN '' ELSE ' (invalid)' END,
                  ' attached to ' || (SELECT h.inhparent::regclass::text FROM pg_inherits h WHERE h.inhrelid = i.indexrelid))
    FROM pg_class c JOIN pg_index i ON i.indrelid = c.oid WHERE c.relnamespace = 'shop'::regnamespace
    UNION ALL
    SELECT format('%s trigger %s', c.relname, t.tgname)
    FROM pg_class c JOIN pg_trigger t ON t.tgrelid = c.oid AND NOT t.tgisinternal WHERE c.relnamespace = 'shop'::regnamespace
    UNION ALL
    SELECT format('function %s', p.oid::regprocedure) FROM pg_proc p WHERE p.proname LIKE 'snowflake_fill_%'
$$;
TRUNCATE schema_before;
INSERT INTO schema_before SELECT * FROM schema_of_shop();
-- Each partition's twin of the primary key is built CONCURRENTLY on its own; the cut-over makes
-- each partition's primary key of it, then the parent's (ON ONLY), and attaches them; the
-- composite reference finds its parent row by both columns; its foreign key is added NOT VALID
-- by the swap and validated after it.
SELECT step, phase, target, statement FROM snowflake_migration_plan('shop.orders') WHERE phase IN ('index', 'cutover') ORDER BY step;
SELECT statement FROM snowflake_migration_plan('shop.orders') WHERE phase = 'start' AND statement LIKE 'CREATE FUNCTION%';
SELECT snowflake_migration_start('shop.orders');
CALL snowflake_migration_backfill('shop.orders', time_column => 'created_at');
SELECT count(*) AS twins_wrong FROM notes n WHERE n.order_id_snowflake IS DISTINCT FROM
    (SELECT o.id_snowflake FROM orders o WHERE o.id = n.order_id AND o.created_at = n.order_created_at);
SELECT statement FROM snowflake_migration_plan('shop.orders') WHERE phase = 'index' AND status <> 'done' \gexec
SELECT snowflake_migration_abort('shop.orders');
SELECT * FROM schema_diff ORDER BY 1, 2;
SELECT snowflake_migration_start('shop.orders');
CALL snowflake_migration_backfill('shop.orders', time_column => 'created_at');
-- The referencing table's index twin left out: the cut-over refuses before its swap, naming it.
SELECT statement FROM snowflake_migration_plan('shop.orders') WHERE phase = 'index' AND status <> 'done' AND target <> 'shop.notes' \gexec
CALL snowflake_migration_cutover('shop.orders');
SELECT statement FROM snowflake_migration_plan('shop.orders') WHERE phase = 'index' AND status <> 'done' \gexec
CALL snowflake_migration_cutover('shop.orders');
SELECT * FROM schema_diff WHERE item LIKE 'orders %' OR item LIKE 'notes %' ORDER BY 1, 2;
SELECT count(*) AS notes_on_their_orders FROM notes n JOIN orders o ON (o.id, o.created_at) = (n.order_id, n.order_created_at) AND o.id_uuid = n.order_id_uuid;
INSERT INTO orders (created_at, account_id) SELECT '2024-02-10', id FROM accounts WHERE name = 'a1' RETURNING id IS NOT NULL AS new_key;
DELETE FROM orders WHERE (id, created_at) IN (SELECT order_id, order_created_at FROM notes ORDER BY id LIMIT 1);
SELECT count(*) AS notes_left FROM notes;

-- ---- Refused: a partition that is partitioned itself ----
CREATE TABLE teams (id uuid PRIMARY KEY);
CREATE TABLE events (team_id uuid REFERENCES teams, at timestamptz NOT NULL, kind int NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01') PARTITION BY LIST (kind);
SELECT * FROM snowflake_migration_plan('teams');
\echo :LAST_ERROR_SQLSTATE

-- ---- A chain (accounts -> orders -> notes) migrated at the same time; a UNIQUE constraint and a
-- unique index of a partitioned table over a migrated column; a view, a policy, triggers and
-- column grants defined on one partition alone ----
CREATE SCHEMA chain;
SET search_path = chain, public;
CREATE TABLE accounts (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), created_at timestamptz NOT NULL);
CREATE TABLE orders (id uuid NOT NULL DEFAULT gen_random_uuid(), created_at timestamptz NOT NULL,
                     account_id uuid NOT NULL REFERENCES accounts, ref int NOT NULL, PRIMARY KEY (id, created_at),
                     CONSTRAINT orders_account_ref_key UNIQUE (account_id, ref, created_at),
                     CONSTRAINT orders_ref_key UNIQUE (id, ref, created_at) DEFERRABLE) PARTITION BY RANGE (created_at);
CREATE TABLE orders_2024_01 PARTITION OF orders FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');
CREATE TABLE orders_2024_02 PARTITION OF orders FOR VALUES FROM ('2024-02-01') TO ('2024-03-01');
CREATE UNIQUE INDEX orders_account_day ON orders (account_id, created_at) INCLUDE (ref);
CREATE TABLE notes (id bigserial PRIMARY KEY, order_id uuid NOT NULL, order_created_at timestamptz NOT NULL,
                    FOREIGN KEY (order_id, order_created_at) REFERENCES orders (id, created_at));
INSERT INTO accounts (created_at) SELECT '2024-01-01'::timestamptz + g * interval '1 minute' FROM generate_series(1, 20) g;
INSERT INTO orders (created_at, account_id, ref)
SELECT '2024-01-01'::timestamptz + g * interval '1 day', a.id, g FROM accounts a, generate_series(1, 50) g;
INSERT INTO notes (order_id, order_created_at) SELECT id, created_at FROM orders;
CREATE FUNCTION schema_of_chain() RETURNS TABLE (item text) LANGUAGE sql AS $$
    SELECT format('%s column %s %s%s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod), CASE WHEN a.attnotnull THEN ' not null' ELSE '' END)
    FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE c.relnamespace = 'chain'::regnamespace AND c.relkind IN ('r', 'p', 'v')
    UNION ALL
    SELECT format('%s constraint %s %s', c.relname, k.conname, regexp_replace(pg_get_constraintdef(k.oid), ' NOT VALID$', ''))
    FROM pg_class c JOIN pg_constraint k ON k.conrelid = c.oid WHERE c.relnamespace = 'chain'::regnamespace AND k.contype <> 'n'
    UNION ALL
    SELECT format('%s index %s%s%s', c.relname, pg_get_indexdef(i.indexrelid), CASE WHEN i.indisvalid THEN '' ELSE ' (invalid)' END,
                  ' attached to ' || (SELECT h.inhparent::regclass::text FROM pg_inherits h WHERE h.inhrelid = i.indexrelid))
    FROM pg_class c JOIN pg_index i ON i.indrelid = c.oid WHERE c.relnamespace = 'chain'::regnamespace
    UNION ALL
    SELECT format('%s trigger %s', c.relname, t.tgname)
    FROM pg_class c JOIN pg_trigger t ON t.tgrelid = c.oid AND NOT t.tgisinternal WHERE c.relnamespace = 'chain'::regnamespace
    UNION ALL
    SELECT format('%s policy %s %s', pol.polrelid::regclass, pol.polname, pg_get_expr(pol.polqual, pol.polrelid)) FROM pg_policy pol
    WHERE pol.polrelid::regclass::text LIKE 'orders%'
    UNION ALL
    SELECT format('%s grant %s (%s) to %s', c.relname, g.privilege_type, a.attname, pg_get_userbyid(g.grantee))
    FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND NOT a.attisdropped, aclexplode(a.attacl) g
    WHERE c.relnamespace = 'chain'::regnamespace
$$;
CREATE TABLE chain_before AS SELECT * FROM schema_of_chain();
CREATE VIEW chain_diff AS
    (SELECT '-' AS side, item FROM chain_before EXCEPT SELECT '-', item FROM schema_of_chain())
    UNION ALL
    (SELECT '+', item FROM schema_of_chain() EXCEPT SELECT '+', item FROM chain_before);

-- The dry run of accounts: the UNIQUE constraint's twin per partition, CONCURRENTLY, made the
-- partitions' constraints and attached to the parent's by the swap; the unique index on the parent
-- alone, then per partition, attached.
SELECT step, phase, target, statement FROM snowflake_migration_plan('chain.accounts') WHERE phase IN ('index', 'cutover') ORDER BY step;

-- An abort after the index phase restores the schema.
SELECT snowflake_migration_start('chain.accounts');
CALL snowflake_migration_backfill('chain.accounts', time_column => 'created_at');
SELECT statement FROM snowflake_migration_plan('chain.accounts') WHERE phase = 'index' AND status <> 'done' \gexec
SELECT snowflake_migration_abort('chain.accounts');
SELECT * FROM chain_diff ORDER BY 1, 2;

-- Objects defined on one partition alone: a view, a policy, a trigger with WHEN, a trigger that
-- writes the reference into a uuid column, column grants, a unique index. The dry run lists them;
-- the start refuses what it cannot carry.
CREATE VIEW jan_orders AS SELECT id, account_id, ref FROM orders_2024_01;
CREATE UNIQUE INDEX jan_account_ref ON orders_2024_01 (account_id, ref);
ALTER TABLE orders_2024_02 ENABLE ROW LEVEL SECURITY;
CREATE POLICY feb_mine ON orders_2024_02 USING (account_id IS NOT NULL AND ref > 0);
CREATE TRIGGER jan_moved BEFORE UPDATE ON orders_2024_01 FOR EACH ROW WHEN (NEW.account_id IS DISTINCT FROM OLD.account_id)
    EXECUTE FUNCTION suppress_redundant_updates_trigger();
CREATE TABLE audit (row_id uuid);
CREATE FUNCTION feb_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO chain.audit (row_id) VALUES (NEW.account_id);
    RETURN NEW;
END $$;
CREATE TRIGGER feb_audit AFTER INSERT ON orders_2024_02 FOR EACH ROW EXECUTE FUNCTION feb_audit();
CREATE ROLE part_reader;
GRANT USAGE ON SCHEMA chain TO part_reader;
GRANT SELECT (id, account_id, ref) ON orders_2024_01 TO part_reader;
SELECT target, status FROM snowflake_migration_plan('chain.accounts') WHERE phase = 'dependent' ORDER BY target;
SELECT statement FROM snowflake_migration_plan('chain.accounts') WHERE statement LIKE 'GRANT%' OR statement LIKE '%jan\_account\_ref%' ORDER BY step;
SELECT snowflake_migration_start('chain.accounts');
DROP TRIGGER jan_moved ON orders_2024_01;
DROP TRIGGER feb_audit ON orders_2024_02;
TRUNCATE chain_before;
INSERT INTO chain_before SELECT * FROM schema_of_chain();

-- Two migrations of the chain at the same time: refused only where one index holds columns of
-- both (each would build and rename its twin), with which order works.
CREATE INDEX orders_account_order ON orders (account_id, id);
SELECT snowflake_migration_start('chain.accounts');
SELECT * FROM snowflake_migration_plan('chain.orders');
SELECT snowflake_migration_start('chain.orders');
SELECT snowflake_migration_abort('chain.accounts');
DROP INDEX orders_account_order;
-- Without it: orders starts before accounts' cut-over, and is cut over first; its own DEFERRABLE
-- UNIQUE constraint over its key is carried as accounts' is over the reference.
SELECT snowflake_migration_start('chain.accounts');
SELECT step, phase, target, statement FROM snowflake_migration_plan('chain.orders') WHERE statement ~ 'ref_(created_at_)?key' ORDER BY step;
SELECT snowflake_migration_start('chain.orders');
INSERT INTO orders (created_at, account_id, ref) SELECT '2024-02-25', id, 1000 FROM accounts ORDER BY created_at LIMIT 1;
INSERT INTO notes (order_id, order_created_at) SELECT id, created_at FROM orders WHERE ref = 1000;
CALL snowflake_migration_backfill('chain.orders', time_column => 'created_at');
CALL snowflake_migration_backfill('chain.accounts', time_column => 'created_at');
SELECT statement FROM snowflake_migration_plan('chain.orders') WHERE phase = 'index' AND status <> 'done' \gexec
SELECT statement FROM snowflake_migration_plan('chain.accounts') WHERE phase = 'index' AND status <> 'done' \gexec
CALL snowflake_migration_cutover('chain.orders');
INSERT INTO orders (created_at, account_id, ref) SELECT '2024-02-26', id, 1001 FROM accounts ORDER BY created_at LIMIT 1;
CALL snowflake_migration_cutover('chain.accounts');
SELECT * FROM chain_diff ORDER BY 1, 2;
SELECT count(*) AS orders_on_their_accounts FROM orders o JOIN accounts a ON a.id = o.account_id AND a.id_uuid = o.account_id_uuid;
SELECT count(*) AS notes_on_their_orders FROM notes n JOIN orders o ON (o.id, o.created_at) = (n.order_id, n.order_created_at) AND o.id_uuid = n.order_id_uuid;
-- The carried constraint and indexes are enforced on the bigint reference, in every partition
-- (terse: the details would show the backfilled IDs).
\set VERBOSITY terse
INSERT INTO orders (created_at, account_id, ref) SELECT created_at, account_id, ref FROM orders WHERE ref = 40 LIMIT 1;
INSERT INTO orders (created_at, account_id, ref) SELECT created_at, account_id, ref + 5000 FROM orders WHERE ref = 40 LIMIT 1;
INSERT INTO orders (created_at, account_id, ref) SELECT '2024-01-31 12:00', account_id, ref FROM orders WHERE ref = 7 LIMIT 1;
\set VERBOSITY default
WITH i AS (INSERT INTO orders (account_id, ref, created_at) SELECT account_id, ref, created_at FROM orders WHERE ref = 40
           ON CONFLICT ON CONSTRAINT orders_account_ref_key DO NOTHING RETURNING 1)
SELECT count(*) AS inserted_despite_conflict FROM i;
SET ROLE part_reader;
SELECT count(*) AS jan_visible FROM orders_2024_01 WHERE account_id > 0;
RESET ROLE;

RESET search_path;
DROP SCHEMA chain CASCADE;
DROP ROLE part_reader;
RESET search_path;
DROP SCHEMA shop CASCADE;

-- A foreign key that references a partitioned migrated table through a UNIQUE constraint (its
-- key and more columns), not through its primary key: its twin references the twin of that
-- constraint's index, made by the index phase and turned into a constraint at the swap.
CREATE SCHEMA uniq;
SET search_path = uniq, public;
CREATE TABLE orders (id uuid NOT NULL DEFAULT gen_random_uuid(), created_at timestamptz NOT NULL, region text NOT NULL,
                     PRIMARY KEY (id, created_at), CONSTRAINT orders_region_key UNIQUE (id, created_at, region))
    PARTITION BY RANGE (created_at);
CREATE TABLE orders_2024_01 PARTITION OF orders FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');
CREATE TABLE orders_2024_02 PARTITION OF orders FOR VALUES FROM ('2024-02-01') TO ('2024-03-01');
CREATE TABLE shipments (id bigserial PRIMARY KEY, order_id uuid NOT NULL, order_created_at timestamptz NOT NULL, region text NOT NULL,
                        CONSTRAINT shipments_order_fkey FOREIGN KEY (order_id, order_created_at, region)
                            REFERENCES orders (id, created_at, region) ON DELETE CASCADE);
INSERT INTO orders (created_at, region)
SELECT timestamptz '2024-01-01 00:00:00+00' + n * interval '10 hours', CASE WHEN n % 2 = 0 THEN 'eu' ELSE 'us' END
FROM generate_series(1, 100) n;
INSERT INTO shipments (order_id, order_created_at, region) SELECT id, created_at, region FROM orders;
SELECT step, phase, target, statement FROM snowflake_migration_plan('uniq.orders') ORDER BY step;
SELECT snowflake_migration_start('uniq.orders');
INSERT INTO orders (created_at, region) VALUES ('2024-02-20', 'eu');
INSERT INTO shipments (order_id, order_created_at, region) SELECT id, created_at, region FROM orders WHERE created_at = '2024-02-20';
CALL snowflake_migration_backfill('uniq.orders', time_column => 'created_at');
SELECT statement FROM snowflake_migration_plan('uniq.orders') WHERE phase = 'index' AND status <> 'done' \gexec
CALL snowflake_migration_cutover('uniq.orders');
SELECT conrelid::regclass, conname, pg_get_constraintdef(oid), convalidated FROM pg_constraint
WHERE conrelid IN ('orders'::regclass, 'shipments'::regclass) AND conparentid = 0 AND contype <> 'n' ORDER BY 1, 2;
SELECT count(*) AS shipments_on_their_orders FROM shipments s
JOIN orders o ON (o.id, o.created_at, o.region) = (s.order_id, s.order_created_at, s.region) AND o.id_uuid = s.order_id_uuid;
-- Enforced on the bigint reference: a shipment of another region than its order's is refused.
\set VERBOSITY terse
INSERT INTO shipments (order_id, order_created_at, region) SELECT id, created_at, 'xx' FROM orders LIMIT 1;
\set VERBOSITY default
DELETE FROM orders WHERE created_at = '2024-02-20';
SELECT count(*) AS shipments_left FROM shipments;
RESET search_path;
DROP SCHEMA uniq CASCADE;
-- The IDs these backfills gave out stay taken; forget them, so that later tests number from the epoch.
DELETE FROM snowflake_internal.snowflake_migration_lane WHERE relation LIKE 'shop.%' OR relation LIKE 'chain.%' OR relation LIKE 'uniq.%';
DELETE FROM snowflake_internal.snowflake_migration_step WHERE relation LIKE 'shop.%' OR relation LIKE 'chain.%' OR relation LIKE 'uniq.%';
DELETE FROM snowflake_internal.snowflake_migration WHERE relation LIKE 'shop.%' OR relation LIKE 'chain.%' OR relation LIKE 'uniq.%';
