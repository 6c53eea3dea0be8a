-- The column type snowflake: bigint's storage, order and hashing, casts, operators, indexes, keys, partitions, COPY, JSON.
CREATE EXTENSION IF NOT EXISTS snowflake;
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';

-- Stored exactly as bigint: 8 bytes, by value, double-aligned, never toasted.
SELECT t.typname, t.typlen, t.typbyval, t.typalign, t.typstorage, t.typcategory, t.typispreferred
FROM pg_type t WHERE t.typname IN ('int8', 'snowflake') ORDER BY 1;
-- Every function behind the type is one of bigint's own (LANGUAGE internal), with bigint's labels;
-- the output function is int8out called from snowflake.so (the JSON code looks it up per value).
SELECT p.oid::regprocedure, l.lanname, p.prosrc, p.provolatile, p.proisstrict, p.proparallel
FROM pg_type t JOIN pg_proc p ON p.oid = t.typoutput JOIN pg_language l ON l.oid = p.prolang WHERE t.typname = 'snowflake';
SELECT count(*) AS functions,
       bool_and(provolatile = 'i' AND proisstrict AND proparallel = 's') AS immutable_strict_parallel_safe,
       count(*) FILTER (WHERE proleakproof) AS leakproof_comparisons
FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'snowflake'
WHERE p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'internal') AND p.prokind = 'f';
SELECT p.oid::regprocedure AS aggregate, p.proparallel, a.aggsortop::regoperator AS sortop
FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
WHERE a.aggtranstype = 'snowflake'::regtype ORDER BY 1;
-- The operator families are complete (no missing cross-type operator or support function).
SELECT c.opcname, a.amname, amvalidate(c.oid) FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
WHERE c.opcintype = 'snowflake'::regtype ORDER BY 2;

-- Casts: to bigint implicitly and without a function; from bigint on assignment, without one.
SELECT castsource::regtype AS source, casttarget::regtype AS target, castcontext AS context, castmethod AS method
FROM pg_cast WHERE 'snowflake'::regtype IN (castsource, casttarget) ORDER BY 1::text, 2::text;

-- Input and output are bigint's. A negative value is stored as bigint would store it; decoding one is an error.
SELECT '383970069501210625'::snowflake AS id, ' 42 '::snowflake AS spaces, '-1'::snowflake AS negative,
       '9223372036854775807'::snowflake AS max;
\set VERBOSITY terse
SELECT '9223372036854775808'::snowflake;
SELECT 'abc'::snowflake;
SELECT ''::snowflake;
SELECT * FROM snowflake_decode('-1'::snowflake);
\set VERBOSITY default
-- The binary form is bigint's (binary COPY, drivers' binary mode).
SELECT snowflake_send('383970069501210625') AS send, snowflake_send('383970069501210625') = int8send(383970069501210625) AS same_as_bigint;

-- JSON: a string wherever PostgreSQL writes JSON; bigint stays a number.
CREATE TABLE j (id snowflake PRIMARY KEY, n bigint);
INSERT INTO j VALUES (383970069501210625, 383970069501210625), (383970069501210626, 383970069501210626);
SELECT to_json(id) AS to_json, to_jsonb(id) AS to_jsonb, to_json(n) AS bigint_to_json FROM j ORDER BY id LIMIT 1;
SELECT row_to_json(j) FROM j ORDER BY id;
SELECT json_agg(j ORDER BY id) AS json_agg FROM j;
SELECT jsonb_agg(id ORDER BY id) AS jsonb_agg, json_build_object('id', min(id), 'n', min(n)) AS json_build_object FROM j;
SELECT jsonb_build_object('ids', array_agg(id ORDER BY id)) AS array_in_jsonb, json_object_agg(id, n ORDER BY id) AS keys FROM j;
SELECT jsonb_typeof(to_jsonb(id)) AS snowflake, jsonb_typeof(to_jsonb(n)) AS bigint FROM j LIMIT 1;
-- And back: from a JSON string or number, through the type's input.
SELECT (to_jsonb(j.id) #>> '{}')::snowflake = j.id AS string_back, r.*
FROM j, jsonb_populate_record(NULL::j, '{"id": "383970069501210625", "n": 1}') r ORDER BY j.id LIMIT 1;
SELECT * FROM json_populate_recordset(NULL::j, '[{"id": 383970069501210627}, {"id": "383970069501210628"}]');

-- Converting to and from bigint: a default of snowflake_next(), bigint and integer values, the
-- implicit cast that gives bigint's functions (decode) the type.
CREATE TABLE posts (id snowflake PRIMARY KEY DEFAULT snowflake_next(), body text);
INSERT INTO posts (body) VALUES ('fresh');
INSERT INTO posts VALUES (snowflake_compose('2025-03-01 12:00:00+00', 3, 7), 'composed'), (4198401::bigint, 'bigint'),
                         (5, 'integer'), (6::smallint, 'smallint'), ('7', 'text');
SELECT pg_typeof(id), id > snowflake_compose('2026-01-01 00:00:00+00') AS fresh_is_recent FROM posts WHERE body = 'fresh';
SELECT id, body, d.* FROM posts, snowflake_decode(posts.id) d WHERE body <> 'fresh' AND id > 4096 ORDER BY id;
SELECT snowflake_timestamp(id), snowflake_machine_id(id) FROM posts WHERE body = 'composed';
SELECT pg_typeof(max(id)) AS max, pg_typeof(min(id)) AS min, pg_typeof(id + 1) AS plus, pg_typeof(coalesce(id, 0)) AS coalesce,
       pg_typeof(CASE WHEN id > 0 THEN id ELSE 0 END) AS "case", pg_typeof(id::bigint) AS cast
FROM posts GROUP BY id LIMIT 1;
SELECT pg_typeof(x) AS union_with_bigint FROM (SELECT id AS x FROM posts UNION ALL SELECT 1::bigint) u LIMIT 1;

-- Operators: every comparison against snowflake, bigint, integer, smallint and a literal resolves
-- to one operator of the family (no ambiguity), and agrees with bigint.
SELECT o.oprleft::regtype AS left, o.oprright::regtype AS right, string_agg(o.oprname, ' ' ORDER BY o.oprname) AS operators
FROM pg_operator o JOIN pg_depend d ON d.objid = o.oid AND d.classid = 'pg_operator'::regclass AND d.deptype = 'e'
GROUP BY 1, 2 ORDER BY 1::text, 2::text;
SELECT v, '5'::snowflake = v AS eq, '5'::snowflake <> v AS ne, '5'::snowflake < v AS lt, '5'::snowflake <= v AS le,
       '5'::snowflake > v AS gt, '5'::snowflake >= v AS ge, v < '5'::snowflake AS reversed_lt
FROM (VALUES (4::bigint), (5), (6)) x(v);
SELECT '5'::snowflake = 5 AS int4, '5'::snowflake = 5::smallint AS int2, 5 = '5'::snowflake AS int4_left,
       '5'::snowflake = '5' AS unknown, '5'::snowflake IN (1, 5) AS "in", '5'::snowflake BETWEEN 1 AND 9 AS between;
\set VERBOSITY terse
SELECT '5'::snowflake = 5.0;
\set VERBOSITY default

-- Indexes: comparisons with bigint, integer and smallint parameters and literals are index conditions.
INSERT INTO posts (body) SELECT 'bulk' FROM generate_series(1, 2000);
ANALYZE posts;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SET plan_cache_mode = force_generic_plan;
PREPARE by_bigint(bigint) AS SELECT body FROM posts WHERE id = $1;
PREPARE by_int(integer) AS SELECT body FROM posts WHERE id = $1;
PREPARE by_smallint(smallint) AS SELECT body FROM posts WHERE id = $1;
PREPARE since(bigint) AS SELECT count(*) FROM posts WHERE id >= $1;
PREPARE by_unknown AS SELECT body FROM posts WHERE id = $1;
EXPLAIN (COSTS OFF) EXECUTE by_bigint(4198401);
EXPLAIN (COSTS OFF) EXECUTE by_int(5);
EXPLAIN (COSTS OFF) EXECUTE by_smallint(6);
EXPLAIN (COSTS OFF) EXECUTE since(0);
EXPLAIN (COSTS OFF) EXECUTE by_unknown('7');
EXECUTE by_bigint(4198401);
EXECUTE by_int(5);
EXECUTE by_smallint(6);
EXECUTE by_unknown('7');
EXPLAIN (COSTS OFF) SELECT body FROM posts WHERE id = 383970069501210625;
EXPLAIN (COSTS OFF) SELECT count(*) FROM posts WHERE id >= snowflake_compose('2025-03-01 00:00:00+00') AND id < snowflake_compose('2025-03-02 00:00:00+00');
-- max(id) reads the primary key backwards; the plan's other lines differ between PostgreSQL versions.
DO $$
DECLARE
    line text;
    backward boolean := false;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) SELECT max(id) FROM posts' LOOP
        backward := backward OR line ~ 'Index Only Scan Backward using posts_pkey on posts';
    END LOOP;
    RAISE NOTICE 'max(id) by a backward scan of posts_pkey: %', backward;
END
$$;
EXPLAIN (COSTS OFF) SELECT id FROM posts ORDER BY id DESC LIMIT 1;
-- A session whose search_path lacks the extension's schema resolves comparisons to bigint's own
-- operators (through the implicit cast); they are in the family too, so the index still serves.
SET search_path = pg_catalog;
EXPLAIN (COSTS OFF) SELECT body FROM public.posts WHERE id = 5;
EXPLAIN (COSTS OFF) SELECT body FROM public.posts WHERE id >= 4198401::bigint;
RESET search_path;
RESET plan_cache_mode;
RESET enable_bitmapscan;
-- A hash index, and the B-tree keeps bigint's deduplication (equalimage).
CREATE INDEX posts_body_id_hash ON posts USING hash (id);
EXPLAIN (COSTS OFF) SELECT body FROM posts WHERE id = 5::bigint AND body = 'integer';
SELECT body FROM posts WHERE id = 5::bigint AND body = 'integer';
RESET enable_seqscan;
-- Few distinct values, many rows: a deduplicated B-tree is as small as bigint's, a fraction of one without.
CREATE TABLE dup (s snowflake, b bigint);
INSERT INTO dup SELECT g % 10, g % 10 FROM generate_series(1, 20000) g;
CREATE INDEX dup_s ON dup (s);
CREATE INDEX dup_b ON dup (b);
CREATE INDEX dup_b_nodedup ON dup (b) WITH (deduplicate_items = off);
SELECT pg_relation_size('dup_s') = pg_relation_size('dup_b') AS same_as_bigint,
       pg_relation_size('dup_s') * 2 < pg_relation_size('dup_b_nodedup') AS deduplicated;

-- Joins of snowflake and bigint columns: merge, hash and nested loop agree.
CREATE TABLE refs (post_id bigint);
INSERT INTO refs SELECT id FROM posts WHERE body IN ('bigint', 'integer', 'composed');
SET enable_hashjoin = off; SET enable_nestloop = off;
SELECT count(*) AS merge_join FROM posts p JOIN refs r ON p.id = r.post_id;
RESET enable_hashjoin; SET enable_mergejoin = off;
SELECT count(*) AS hash_join FROM posts p JOIN refs r ON p.id = r.post_id;
RESET enable_mergejoin; RESET enable_nestloop;

-- Foreign keys between snowflake and bigint, both ways, enforced both ways.
CREATE TABLE authors (id snowflake PRIMARY KEY);
CREATE TABLE books (id bigint PRIMARY KEY, author_id bigint REFERENCES authors);
CREATE TABLE legacy (id bigint PRIMARY KEY);
CREATE TABLE notes (id snowflake PRIMARY KEY DEFAULT snowflake_next(), legacy_id snowflake REFERENCES legacy);
INSERT INTO authors VALUES (383970069501210625);
INSERT INTO books VALUES (1, 383970069501210625);
INSERT INTO legacy VALUES (383970069501210626);
INSERT INTO notes (legacy_id) VALUES (383970069501210626);
\set VERBOSITY terse
INSERT INTO books VALUES (2, 383970069501210699);
INSERT INTO notes (legacy_id) VALUES (383970069501210699);
DELETE FROM authors;
DELETE FROM legacy;
\set VERBOSITY default
SELECT count(*) AS notes FROM notes JOIN legacy ON legacy.id = notes.legacy_id;

-- Changing a bigint column to snowflake and back keeps the table's file (no rewrite) and rebuilds the key.
CREATE TABLE migrating (id bigint PRIMARY KEY DEFAULT snowflake_next(), v int);
CREATE TABLE migrating_child (id bigint PRIMARY KEY, parent bigint REFERENCES migrating);
INSERT INTO migrating (v) SELECT g FROM generate_series(1, 100) g;
INSERT INTO migrating_child SELECT v, id FROM migrating;
CREATE TEMP TABLE before AS SELECT pg_relation_filenode('migrating') AS heap, (SELECT array_agg(id ORDER BY id) FROM migrating) AS ids;
ALTER TABLE migrating ALTER COLUMN id TYPE snowflake;
SELECT pg_relation_filenode('migrating') = heap AS no_rewrite, (SELECT array_agg(id::bigint ORDER BY id) FROM migrating) = ids AS same_ids,
       format_type(atttypid, NULL) AS type, pg_get_expr(adbin, adrelid) AS default
FROM before, pg_attribute JOIN pg_attrdef ON adrelid = attrelid AND adnum = attnum
WHERE attrelid = 'migrating'::regclass AND attname = 'id';
INSERT INTO migrating (v) VALUES (101);
SELECT count(*), count(DISTINCT id) FROM migrating;
-- The bigint foreign key that references it was re-checked and still holds.
SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'migrating_child'::regclass AND contype = 'f';
\set VERBOSITY terse
INSERT INTO migrating_child VALUES (1000, 1);
\set VERBOSITY default

-- Partitions by range of the key, with snowflake_compose bounds; a month reads one partition.
CREATE TABLE events (id snowflake NOT NULL DEFAULT snowflake_next(), kind text) PARTITION BY RANGE (id);
CREATE TABLE events_2025_02 PARTITION OF events FOR VALUES FROM (snowflake_compose('2025-02-01 00:00:00+00')) TO (snowflake_compose('2025-03-01 00:00:00+00'));
CREATE TABLE events_2025_03 PARTITION OF events FOR VALUES FROM (snowflake_compose('2025-03-01 00:00:00+00')) TO (snowflake_compose('2025-04-01 00:00:00+00'));
CREATE TABLE events_default PARTITION OF events DEFAULT;
ALTER TABLE events ADD PRIMARY KEY (id);
INSERT INTO events (id, kind)
SELECT snowflake_compose(t, m, s), to_char(t, 'YYYY-MM-DD HH24:MI:SS.MS')
FROM unnest(ARRAY[timestamptz '2025-02-01 00:00:00+00', '2025-02-28 23:59:59.999+00', '2025-03-01 00:00:00+00']) t,
     (VALUES (0, 0), (1023, 4095)) ms(m, s);
INSERT INTO events (kind) VALUES ('now');
SELECT tableoid::regclass AS partition, kind, count(*) FROM events GROUP BY 1, 2 ORDER BY 1, 2;
EXPLAIN (COSTS OFF) SELECT * FROM events
WHERE id >= snowflake_compose('2025-02-01 00:00:00+00') AND id < snowflake_compose('2025-03-01 00:00:00+00');
-- Hash partitions: a snowflake and a bigint with the same value land in the same partition.
CREATE TABLE hs (id snowflake) PARTITION BY HASH (id);
CREATE TABLE hs_0 PARTITION OF hs FOR VALUES WITH (MODULUS 4, REMAINDER 0);
CREATE TABLE hs_1 PARTITION OF hs FOR VALUES WITH (MODULUS 4, REMAINDER 1);
CREATE TABLE hs_2 PARTITION OF hs FOR VALUES WITH (MODULUS 4, REMAINDER 2);
CREATE TABLE hs_3 PARTITION OF hs FOR VALUES WITH (MODULUS 4, REMAINDER 3);
CREATE TABLE hb (id bigint) PARTITION BY HASH (id);
CREATE TABLE hb_0 PARTITION OF hb FOR VALUES WITH (MODULUS 4, REMAINDER 0);
CREATE TABLE hb_1 PARTITION OF hb FOR VALUES WITH (MODULUS 4, REMAINDER 1);
CREATE TABLE hb_2 PARTITION OF hb FOR VALUES WITH (MODULUS 4, REMAINDER 2);
CREATE TABLE hb_3 PARTITION OF hb FOR VALUES WITH (MODULUS 4, REMAINDER 3);
INSERT INTO hs SELECT id FROM posts; INSERT INTO hb SELECT id FROM posts;
SELECT count(*) AS rows, count(*) FILTER (WHERE right(s.tableoid::regclass::text, 1) = right(b.tableoid::regclass::text, 1)) AS same_partition
FROM hs s JOIN hb b ON s.id = b.id;

-- COPY in text form, out and in.
CREATE TABLE copied (id snowflake PRIMARY KEY, note text);
COPY copied FROM stdin;
383970069501210625	a
4198401	b
\.
COPY copied TO stdout;
COPY (SELECT id, to_json(id) FROM copied ORDER BY id) TO stdout;

DROP TABLE j, posts, refs, dup, books, authors, notes, legacy, migrating_child, migrating, events, hs, hb, copied;
