-- Migrating a live schema from uuid keys to snowflake keys: several referencing tables, a self-reference,
-- a composite foreign key, ON DELETE CASCADE / SET NULL, indexes; writes between every phase.
CREATE EXTENSION IF NOT EXISTS snowflake;
-- Errors show their SQLSTATE (echoed after them), not the PL/pgSQL line they come from.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';

CREATE TABLE authors (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant     int NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    name       text NOT NULL,
    mentor_id  uuid REFERENCES authors (id),            -- self-reference
    UNIQUE (tenant, id)                                 -- target of a composite foreign key
);
CREATE TABLE posts (
    pid       bigserial PRIMARY KEY,
    author_id uuid NOT NULL REFERENCES authors (id) ON DELETE CASCADE,
    body      text
);
CREATE INDEX posts_author_id_idx ON posts (author_id);
CREATE TABLE comments (
    cid       bigserial PRIMARY KEY,
    tenant    int,
    author_id uuid,
    body      text,
    FOREIGN KEY (tenant, author_id) REFERENCES authors (tenant, id) ON DELETE SET NULL
);
-- A join table whose own primary key contains the reference.
CREATE TABLE favourites (
    author_id uuid REFERENCES authors (id) ON DELETE CASCADE,
    label     text,
    PRIMARY KEY (author_id, label)
);
-- Not touched: it references nothing of authors.
CREATE TABLE unrelated (id uuid PRIMARY KEY DEFAULT gen_random_uuid());

-- 3000 authors whose creation times are not in insertion order, 2 or 3 to a millisecond, each a
-- distinct microsecond; a mentor for most; 2 posts, 1 comment (some with a NULL tenant, which the
-- composite key does not check) and 1 favourite each.
INSERT INTO authors (tenant, created_at, name)
SELECT n % 4, timestamptz '2024-05-01 00:00:00+00' + ((n * 7919) % 3000) * interval '400 microseconds', 'author ' || n
FROM generate_series(1, 3000) n;
UPDATE authors a SET mentor_id = m.id
FROM authors m WHERE m.name = 'author ' || (split_part(a.name, ' ', 2)::int % 97 + 1) AND split_part(a.name, ' ', 2)::int > 97;
INSERT INTO posts (author_id, body) SELECT id, name || ' post ' || g FROM authors, generate_series(1, 2) g;
INSERT INTO comments (tenant, author_id, body)
SELECT CASE WHEN split_part(name, ' ', 2)::int % 10 = 0 THEN NULL ELSE tenant END, id, name || ' comment' FROM authors;
INSERT INTO favourites SELECT id, 'fav of ' || name FROM authors;

-- What the application sees, joined through the keys, before the migration.
CREATE TABLE joined_before AS
SELECT a.id::text AS author, a.name, a.created_at, m.id::text AS mentor, p.pid, p.body AS post, c.cid, c.body AS comment, f.label
FROM authors a
LEFT JOIN authors m ON m.id = a.mentor_id
JOIN posts p ON p.author_id = a.id
JOIN comments c ON c.author_id = a.id
JOIN favourites f ON f.author_id = a.id;
SELECT count(*) AS joined_rows FROM joined_before;

-- A helper: the schema of the four tables as text, to compare before and after.
CREATE FUNCTION schema_of_authors() RETURNS TABLE (item text) LANGUAGE sql AS $$
    SELECT format('%s column %s %s%s%s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                  CASE WHEN a.attnotnull THEN ' not null' ELSE '' END, ' default ' || pg_get_expr(d.adbin, d.adrelid))
    FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
    WHERE c.relname IN ('authors', 'posts', 'comments', 'favourites')
    UNION ALL
    SELECT format('%s constraint %s %s', c.relname, k.conname, pg_get_constraintdef(k.oid))
    FROM pg_class c JOIN pg_constraint k ON k.conrelid = c.oid
    -- NOT NULL shows in the column lines; PostgreSQL 18 also catalogs it as a constraint.
    WHERE c.relname IN ('authors', 'posts', 'comments', 'favourites') AND k.contype <> 'n'
    UNION ALL
    SELECT format('%s index %s', c.relname, pg_get_indexdef(i.indexrelid))
    FROM pg_class c JOIN pg_index i ON i.indrelid = c.oid
    WHERE c.relname IN ('authors', 'posts', 'comments', 'favourites')
    UNION ALL
    SELECT format('%s trigger %s', c.relname, t.tgname)
    FROM pg_class c JOIN pg_trigger t ON t.tgrelid = c.oid AND NOT t.tgisinternal
    WHERE c.relname IN ('authors', 'posts', 'comments', 'favourites')
    UNION ALL
    SELECT format('function %s', p.oid::regprocedure) FROM pg_proc p WHERE p.proname LIKE 'snowflake_fill_%'
$$;
CREATE TABLE schema_before AS SELECT * FROM schema_of_authors();

-- ---- The dry run: every step, nothing changed ----
SELECT step, phase, target, statement, status FROM snowflake_migration_plan('authors');
SELECT DISTINCT target AS tables_touched FROM snowflake_migration_plan('authors') ORDER BY 1;
SELECT count(*) AS schema_changes_by_the_dry_run
FROM ((SELECT * FROM schema_before EXCEPT SELECT * FROM schema_of_authors())
      UNION ALL (SELECT * FROM schema_of_authors() EXCEPT SELECT * FROM schema_before)) d;

-- ---- Start ----
SELECT snowflake_migration_start('authors');
SELECT phase, count(*) AS steps, count(*) FILTER (WHERE status = 'done') AS done
FROM snowflake_migration_plan('authors') GROUP BY phase ORDER BY min(step);
-- The table was not rewritten: its file is the same (ADD COLUMN without default, then SET DEFAULT).
SELECT relfilenode = (SELECT relfilenode FROM pg_class WHERE relname = 'authors') AS same_file
FROM (SELECT relfilenode FROM pg_class WHERE relname = 'authors') s;

-- The application goes on: new authors get a snowflake ID at once; their posts carry it.
INSERT INTO authors (tenant, name, mentor_id) SELECT 1, 'live author 1', id FROM authors WHERE name = 'author 5';
INSERT INTO authors (id, tenant, name) VALUES ('00000000-0000-4000-8000-000000000001', 2, 'live author 2');
UPDATE authors SET mentor_id = id WHERE name = 'live author 2';   -- its own mentor
INSERT INTO posts (author_id, body) SELECT id, name || ' post' FROM authors WHERE name LIKE 'live author %';
INSERT INTO posts (author_id, body) SELECT id, 'late post of ' || name FROM authors WHERE name = 'author 6';
INSERT INTO comments (tenant, author_id, body) SELECT tenant, id, name || ' comment' FROM authors WHERE name LIKE 'live author %';
INSERT INTO favourites SELECT id, 'fav of ' || name FROM authors WHERE name LIKE 'live author %';
SELECT a.name, snowflake_machine_id(a.id_snowflake) AS machine_id, a.mentor_id_snowflake = a.id_snowflake AS own_mentor,
       p.author_id_snowflake = a.id_snowflake AS post_carries_it
FROM authors a JOIN posts p ON p.author_id = a.id WHERE a.name LIKE 'live author %' ORDER BY a.name;
-- A post of an old author: its author has no snowflake ID yet, so neither has the post (the backfill fills it).
SELECT author_id_snowflake FROM posts WHERE body = 'late post of author 6';

-- ---- Backfill, in batches (progress NOTICEs silenced here; migration_time shows them) ----
SET client_min_messages = warning;
-- Inside a transaction block the batches cannot commit: refused, nothing done.
BEGIN;
CALL snowflake_migration_backfill('authors', time_column => 'created_at', batch_size => 1000);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT status FROM snowflake_migration_plan('authors') WHERE statement LIKE 'UPDATE public.authors p%';
CALL snowflake_migration_backfill('authors', time_column => 'created_at', batch_size => 1000);
RESET client_min_messages;
SELECT phase, source, source_value, machine_ids, pre_epoch, map_rows FROM snowflake_internal.snowflake_migration;
SELECT step, status FROM snowflake_migration_plan('authors') WHERE phase = 'backfill' ORDER BY step;
-- Calling it again changes nothing.
CALL snowflake_migration_backfill('authors');

-- Backfilled IDs: machine id 1023, the creation time to the millisecond, in creation order, distinct.
SELECT count(*) AS backfilled, count(DISTINCT id_snowflake) AS distinct_ids,
       min(snowflake_machine_id(id_snowflake)) AS machine_min, max(snowflake_machine_id(id_snowflake)) AS machine_max,
       bool_and(snowflake_timestamp(id_snowflake) = date_trunc('milliseconds', created_at)) AS decode_to_creation_ms
FROM authors WHERE name NOT LIKE 'live author %';
SELECT count(*) AS out_of_creation_order
FROM (SELECT created_at, lag(created_at) OVER (ORDER BY id_snowflake) AS prev FROM authors WHERE name NOT LIKE 'live author %') s
WHERE created_at < prev;
-- Two or three in a millisecond: sequences 0, 1, 2 in creation order within it.
SELECT name, created_at, id_snowflake, (snowflake_decode(id_snowflake)).*
FROM authors WHERE created_at < '2024-05-01 00:00:00.002+00' ORDER BY id_snowflake;
-- Below every live ID (those carry machine id 42 and today's time).
SELECT max(id_snowflake) FILTER (WHERE name NOT LIKE 'live author %') < min(id_snowflake) FILTER (WHERE name LIKE 'live author %') AS below_live,
       count(*) FILTER (WHERE snowflake_machine_id(id_snowflake) = 42) AS live_ids
FROM authors;
-- Every reference carries the new key of the row it references.
SELECT (SELECT count(*) FROM posts p JOIN authors a ON a.id = p.author_id WHERE p.author_id_snowflake IS DISTINCT FROM a.id_snowflake) AS posts_wrong,
       (SELECT count(*) FROM comments c JOIN authors a ON a.id = c.author_id WHERE c.author_id_snowflake IS DISTINCT FROM a.id_snowflake) AS comments_wrong,
       (SELECT count(*) FROM favourites f JOIN authors a ON a.id = f.author_id WHERE f.author_id_snowflake IS DISTINCT FROM a.id_snowflake) AS favourites_wrong,
       (SELECT count(*) FROM authors c JOIN authors a ON a.id = c.mentor_id WHERE c.mentor_id_snowflake IS DISTINCT FROM a.id_snowflake) AS mentors_wrong,
       (SELECT count(*) FROM comments WHERE author_id_snowflake IS NULL) AS comments_without;
-- Writes after the backfill: the triggers keep the twins right, also when a reference changes.
INSERT INTO posts (author_id, body) SELECT id, 'post after backfill' FROM authors WHERE name = 'author 7';
UPDATE posts SET author_id = (SELECT id FROM authors WHERE name = 'author 8') WHERE body = 'author 9 post 1';
SELECT p.body, p.author_id_snowflake = a.id_snowflake AS right_twin
FROM posts p JOIN authors a ON a.id = p.author_id WHERE p.body IN ('post after backfill', 'author 9 post 1') ORDER BY 1;
-- The CHECKs refuse a row that would miss its twin (a trigger disabled by hand, say).
ALTER TABLE posts DISABLE TRIGGER USER;
\set VERBOSITY terse
INSERT INTO posts (author_id, body) SELECT id, 'no twin' FROM authors WHERE name = 'author 7';
\set VERBOSITY default
ALTER TABLE posts ENABLE TRIGGER USER;

-- ---- Cut-over: refused until the indexes are built ----
CALL snowflake_migration_cutover('authors');
\echo :LAST_ERROR_SQLSTATE
SELECT statement FROM snowflake_migration_plan('authors') WHERE phase = 'index' \gexec
SELECT step, status FROM snowflake_migration_plan('authors') WHERE phase = 'index';
-- More writes right before the cut-over.
INSERT INTO authors (tenant, name) VALUES (3, 'live author 3');
INSERT INTO posts (author_id, body) SELECT id, name || ' post' FROM authors WHERE name = 'live author 3';
CALL snowflake_migration_cutover('authors');
SELECT phase FROM snowflake_internal.snowflake_migration;
SELECT count(*) AS map_rows_left FROM snowflake_internal.snowflake_migration_map;

-- The schema after: bigint keys under the old names, the uuids kept, foreign keys with their actions.
SELECT * FROM schema_of_authors() ORDER BY 1;

-- No row lost, no reference changed: the joined data before, through the new keys, is the same.
CREATE TABLE joined_after AS
SELECT a.id_uuid::text AS author, a.name, a.created_at, m.id_uuid::text AS mentor, p.pid, p.body AS post, c.cid, c.body AS comment, f.label
FROM authors a
LEFT JOIN authors m ON m.id = a.mentor_id
JOIN posts p ON p.author_id = a.id
JOIN comments c ON c.author_id = a.id
JOIN favourites f ON f.author_id = a.id;
-- The one difference is the post moved from author 9 to author 8 during the migration.
SELECT name, post FROM (SELECT * FROM joined_before EXCEPT SELECT * FROM joined_after) d;
SELECT name, post FROM (SELECT * FROM joined_after EXCEPT SELECT * FROM joined_before) d
WHERE author IN (SELECT author FROM joined_before) ORDER BY 1, 2;
-- The rows written during the migration are there and joined through the new keys.
SELECT a.name, count(DISTINCT p.pid) AS posts, count(DISTINCT c.cid) AS comments, count(DISTINCT f.label) AS favourites,
       bool_and(m.name IS NOT DISTINCT FROM CASE a.name WHEN 'live author 1' THEN 'author 5' WHEN 'live author 2' THEN 'live author 2' END) AS mentor
FROM authors a LEFT JOIN authors m ON m.id = a.mentor_id
LEFT JOIN posts p ON p.author_id = a.id LEFT JOIN comments c ON c.author_id = a.id LEFT JOIN favourites f ON f.author_id = a.id
WHERE a.name LIKE 'live author %' GROUP BY a.name ORDER BY a.name;
-- No ID duplicated, none dangling.
SELECT count(*) AS authors, count(DISTINCT id) AS ids FROM authors;
SELECT (SELECT count(*) FROM posts WHERE author_id NOT IN (SELECT id FROM authors)) AS dangling_posts,
       (SELECT count(*) FROM comments WHERE author_id NOT IN (SELECT id FROM authors)) AS dangling_comments,
       (SELECT count(*) FROM authors WHERE mentor_id NOT IN (SELECT id FROM authors)) AS dangling_mentors;

-- After the cut-over: new rows need no uuid; the actions work on the new keys.
INSERT INTO authors (tenant, name) VALUES (1, 'after');
INSERT INTO posts (author_id, body) SELECT id, 'after post' FROM authors WHERE name = 'after';
SELECT snowflake_machine_id(a.id) AS machine_id, a.id_uuid IS NOT NULL AS has_uuid, p.author_id_uuid IS NULL AS post_without_uuid
FROM authors a JOIN posts p ON p.author_id = a.id WHERE a.name = 'after';
SELECT (SELECT count(*) FROM posts WHERE body LIKE 'author 501 post%') AS posts,
       (SELECT count(*) FROM favourites WHERE label = 'fav of author 501') AS favourites,
       (SELECT count(*) FROM comments WHERE body = 'author 501 comment' AND author_id IS NOT NULL) AS comments;
DELETE FROM authors WHERE name = 'author 501';   -- mentor of nobody: posts and favourites cascade, comments set null
SELECT (SELECT count(*) FROM posts WHERE body LIKE 'author 501 post%') AS posts_left,
       (SELECT count(*) FROM favourites WHERE label = 'fav of author 501') AS favourites_left,
       (SELECT count(*) FROM comments WHERE body = 'author 501 comment' AND author_id IS NULL AND tenant IS NULL) AS comments_set_null;
DELETE FROM authors WHERE name = 'author 5';     -- a mentor: the self-reference still refuses
-- The composite key still checks the tenant.
INSERT INTO comments (tenant, author_id, body) SELECT tenant + 1, id, 'wrong tenant' FROM authors WHERE name = 'author 7';
INSERT INTO posts (author_id, body) VALUES (12345, 'orphan');
-- Primary key range scans by time through the new key.
-- (Seq and bitmap scans off so the plan does not depend on statistics: what is checked is that the
-- bounds fold to constants the primary key's index takes as its range.)
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT id, name FROM authors
WHERE id >= snowflake_compose('2024-05-01 00:00:00.100+00') AND id < snowflake_compose('2024-05-01 00:00:00.200+00');
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT count(*) AS in_100ms, count(*) FILTER (WHERE created_at >= '2024-05-01 00:00:00.100+00' AND created_at < '2024-05-01 00:00:00.200+00') AS by_time
FROM authors WHERE id >= snowflake_compose('2024-05-01 00:00:00.100+00') AND id < snowflake_compose('2024-05-01 00:00:00.200+00');

-- Done: neither abort nor a second start.
SELECT snowflake_migration_abort('authors');
\echo :LAST_ERROR_SQLSTATE
CALL snowflake_migration_cutover('authors');
DROP TABLE favourites, comments, posts, authors, unrelated, joined_before, joined_after, schema_before;
DROP FUNCTION schema_of_authors();
DELETE FROM snowflake_internal.snowflake_migration;
DELETE FROM snowflake_internal.snowflake_migration_step;
