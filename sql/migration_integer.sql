-- Tables keyed by integers through the migration calls: the refusals (another type, a key in the
-- snowflake range, a shared sequence, a default that is no sequence, narrow references, a
-- reference in a partition key), smallint and integer keys widened live (serial, IDENTITY ALWAYS;
-- a partitioned referencing table, policies, constraint names as a fresh table has them, the type
-- snowflake) and the bigint path (bigserial, a sequence default, IDENTITY BY DEFAULT and ALWAYS,
-- no default): old keys kept, new IDs above them, abort after the cut-over.
CREATE EXTENSION IF NOT EXISTS snowflake;
\set SHOW_CONTEXT never
SET timezone = 'UTC';

-- An error's SQLSTATE and message, with the IDs of this instant (15 digits or more) as N.
CREATE FUNCTION int_error_of(query text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE query;
  RETURN 'no error';
EXCEPTION WHEN others THEN
  RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '[0-9]{15,}', 'N', 'g');
END $$;
CREATE FUNCTION int_hint_of(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE d text; h text;
BEGIN
  EXECUTE query;
  RETURN 'no error';
EXCEPTION WHEN others THEN
  GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
  RETURN regexp_replace(concat_ws(' | ', d, h), '[0-9]{15,}', 'N', 'g');
END $$;

-- ---- Refusals ----
CREATE TABLE numeric_key (id numeric PRIMARY KEY);
CREATE SEQUENCE shared_seq;
CREATE TABLE shared_a (id bigint PRIMARY KEY DEFAULT nextval('shared_seq'));
CREATE TABLE shared_b (id bigint PRIMARY KEY DEFAULT nextval('shared_seq'));
CREATE TABLE ahead (id bigserial PRIMARY KEY);              -- a row keyed in the snowflake range
INSERT INTO ahead VALUES (snowflake_compose(now() + interval '1 day', 0, 0));
CREATE TABLE ahead_seq (id bigserial PRIMARY KEY);          -- no row, a sequence set into the range
SELECT setval('ahead_seq_id_seq', snowflake_compose(now() + interval '1 day', 0, 0)) > 0 AS set;
CREATE TABLE odd_default (id bigint PRIMARY KEY DEFAULT 42);
CREATE TABLE narrow_parent (id bigserial PRIMARY KEY);
CREATE TABLE narrow_child (parent_id integer REFERENCES narrow_parent);
CREATE TABLE int_parent (id serial PRIMARY KEY);
CREATE TABLE shared_int (id integer PRIMARY KEY DEFAULT nextval('shared_seq'));   -- widened, but the sequence is shared
CREATE TABLE parted_int (id bigint PRIMARY KEY) PARTITION BY RANGE (id);
CREATE TABLE keyed_parent (id serial PRIMARY KEY);          -- widened, but a reference is a partition key
CREATE TABLE keyed_child (parent_id integer REFERENCES keyed_parent) PARTITION BY RANGE (parent_id);
SELECT t, int_error_of(format('SELECT snowflake_migration_start(%L)', t)) AS start,
       int_error_of(format('SELECT * FROM snowflake_migration_plan(%L)', t)) AS plan
FROM unnest(ARRAY['numeric_key', 'shared_a', 'ahead', 'ahead_seq', 'odd_default', 'narrow_parent', 'shared_int', 'parted_int', 'keyed_parent']) t;
-- With the numbers and what to do.
SELECT t, int_hint_of(format('SELECT snowflake_migration_start(%L)', t))
FROM unnest(ARRAY['shared_a', 'ahead', 'ahead_seq', 'narrow_parent', 'shared_int', 'keyed_parent']) t;
-- Nothing was recorded.
SELECT count(*) AS migrations FROM snowflake_internal.snowflake_migration;
SELECT count(*) AS integer_migrations FROM snowflake_internal.snowflake_migration_integer;
-- The dry run of an integer key: the widening it will take (fill functions named by a hash).
SELECT step, phase, target, regexp_replace(statement, 'snowflake_fill_[0-9a-f]{12}', 'snowflake_fill_H', 'g') AS statement, status
FROM snowflake_migration_plan('int_parent');
DROP TABLE numeric_key, shared_a, shared_b, shared_int, ahead, ahead_seq, odd_default, narrow_child, narrow_parent, int_parent, parted_int, keyed_child, keyed_parent;
DROP SEQUENCE shared_seq;

-- ---- smallint and integer keys, widened ----
CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL);
COMMENT ON COLUMN users.id IS 'user number';
CREATE TABLE posts (id serial PRIMARY KEY, author_id integer NOT NULL REFERENCES users ON DELETE CASCADE,
                    editor_id integer REFERENCES users ON DELETE SET NULL, body text);
CREATE INDEX posts_by_author ON posts (author_id, id);
CREATE TABLE tags (id smallint GENERATED ALWAYS AS IDENTITY (START WITH 5) PRIMARY KEY, label text UNIQUE);
CREATE TABLE post_tags (post_id integer REFERENCES posts, tag_id smallint NOT NULL REFERENCES tags, UNIQUE (post_id, tag_id));
CREATE VIEW user_posts AS SELECT u.id, u.name, p.id AS post_id FROM users u JOIN posts p ON p.author_id = u.id;
CREATE ROLE int_reader;
GRANT SELECT (id, name) ON users TO int_reader;
INSERT INTO users (name) SELECT 'u' || n FROM generate_series(1, 40) n;
INSERT INTO posts (author_id, editor_id, body) SELECT 1 + n % 40, CASE WHEN n % 3 > 0 THEN 1 + n % 7 END, 'p' || n FROM generate_series(1, 120) n;
INSERT INTO tags (label) SELECT 't' || n FROM generate_series(1, 6) n;
INSERT INTO post_tags SELECT p.id, t.id FROM posts p JOIN tags t ON t.id % 3 = p.id % 3;
CREATE TABLE wide_before AS
    SELECT 'users' AS t, id::bigint AS id, name AS v FROM users UNION ALL SELECT 'posts', id, author_id || ':' || coalesce(editor_id::text, '-') FROM posts
    UNION ALL SELECT 'tags', id, label FROM tags UNION ALL SELECT 'post_tags', post_id, tag_id::text FROM post_tags;
-- An abort before the cut-over leaves the tables as they were.
CREATE FUNCTION int_wide_schema() RETURNS TABLE (item text) LANGUAGE sql AS $$
    SELECT format('%s.%s %s%s default %s comment %s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                  CASE WHEN a.attnotnull THEN ' not null' ELSE '' END, pg_get_expr(d.adbin, d.adrelid), col_description(c.oid, a.attnum))
    FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
    WHERE c.relname IN ('users', 'posts', 'tags', 'post_tags')
    UNION ALL
    SELECT format('%s constraint %s %s', c.relname, k.conname, pg_get_constraintdef(k.oid))
    FROM pg_class c JOIN pg_constraint k ON k.conrelid = c.oid WHERE c.relname IN ('users', 'posts', 'tags', 'post_tags') AND k.contype <> 'n'
    UNION ALL
    SELECT format('index %s', pg_get_indexdef(i.indexrelid)) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
    WHERE c.relname IN ('users', 'posts', 'tags', 'post_tags')
    UNION ALL
    SELECT format('trigger %s on %s', t.tgname, t.tgrelid::regclass) FROM pg_trigger t WHERE NOT t.tgisinternal
    ORDER BY 1
$$;
CREATE TABLE wide_schema_before AS SELECT * FROM int_wide_schema();
SET client_min_messages = warning;
SELECT snowflake_migration_start('users');
CALL snowflake_migration_backfill('users');
SELECT snowflake_migration_abort('users');
SET client_min_messages = notice;
SELECT item AS changed_by_the_abort FROM ((SELECT * FROM int_wide_schema() EXCEPT SELECT * FROM wide_schema_before)
                                          UNION ALL (SELECT * FROM wide_schema_before EXCEPT SELECT * FROM int_wide_schema())) x;
-- The same procedure as for any table; writes go on (the twins are filled by the triggers).
SELECT snowflake_migration_start('users');
SELECT snowflake_migration_start('tags');
INSERT INTO users (name) VALUES ('during');
INSERT INTO posts (author_id, body) SELECT id, 'during' FROM users WHERE name = 'during';
CALL snowflake_migration_backfill('users', order_by => 'id');
SET client_min_messages = warning;
CALL snowflake_migration_backfill('users', batch_size => 25);
CALL snowflake_migration_backfill('tags');
SET client_min_messages = notice;
SELECT count(*) FILTER (WHERE id_snowflake IS DISTINCT FROM id) AS users_unfilled FROM users;
SELECT count(*) FILTER (WHERE author_id_snowflake IS DISTINCT FROM author_id OR editor_id_snowflake IS DISTINCT FROM editor_id) AS posts_unfilled FROM posts;
-- A twin written past the trigger (which rewrites it at every write) is refused by the CHECK that proves it.
UPDATE posts SET editor_id_snowflake = 7 WHERE id = 3 RETURNING editor_id, editor_id_snowflake;
SET session_replication_role = replica;
SELECT int_error_of($$UPDATE posts SET editor_id_snowflake = 7 WHERE id = 3$$) AS past_the_trigger;
RESET session_replication_role;
SELECT statement FROM snowflake_migration_plan('users') WHERE phase = 'index' AND status <> 'done' \gexec
SELECT statement FROM snowflake_migration_plan('tags') WHERE phase = 'index' AND status <> 'done' \gexec
SET client_min_messages = warning;
CALL snowflake_migration_cutover('users');
CALL snowflake_migration_cutover('tags');
SET client_min_messages = notice;
-- Every key and reference is bigint, under its old name, with its old values; names of
-- constraints and indexes, the comment, the column grant and the view are carried.
SELECT item FROM int_wide_schema() WHERE item !~ '^trigger' ORDER BY 1;
SELECT count(*) AS values_changed FROM (
    SELECT * FROM wide_before EXCEPT (SELECT 'users', id, name FROM users UNION ALL SELECT 'posts', id, author_id || ':' || coalesce(editor_id::text, '-') FROM posts
                                      UNION ALL SELECT 'tags', id, label FROM tags UNION ALL SELECT 'post_tags', post_id, tag_id::text FROM post_tags)) x;
SELECT has_column_privilege('int_reader', 'users', 'id', 'SELECT') AS reader_keeps_id, count(*) AS view_rows FROM user_posts;
SELECT pg_get_serial_sequence('users', 'id') AS users_sequence, pg_get_serial_sequence('tags', 'id') AS tags_sequence;
-- New rows get IDs of this server's machine id, above every old key; the ALWAYS identity is a
-- default now (explicit values accepted); the references take them.
INSERT INTO users (name) VALUES ('new');
INSERT INTO tags (label) VALUES ('new');
INSERT INTO posts (author_id, body) SELECT id, 'new' FROM users WHERE name = 'new';
INSERT INTO tags (id, label) VALUES (1000, 'explicit');
SELECT t, n.id > i.boundary AS above_boundary, snowflake_machine_id(n.id) AS machine_id, (SELECT max(id) FROM wide_before w WHERE w.t = i.t) < i.boundary AS old_below
FROM (SELECT 'users' AS t, id FROM users WHERE name = 'new' UNION ALL SELECT 'tags', id FROM tags WHERE label = 'new') n
JOIN (SELECT replace(relation, 'public.', '') AS t, boundary FROM snowflake_internal.snowflake_migration_integer) i USING (t);
SELECT count(*) AS new_posts_of_new_user FROM posts p JOIN users u ON u.id = p.author_id WHERE u.name = 'new';
-- Abort after the cut-over: the sequence default and the identity come back (the keys stay bigint).
SELECT snowflake_migration_abort('users');
SELECT snowflake_migration_abort('tags');
SELECT item FROM int_wide_schema() WHERE item ~ '^(users|tags)\.id ';
INSERT INTO tags (label) VALUES ('after abort');
SELECT id FROM tags WHERE label = 'after abort';
DROP VIEW user_posts;
DROP TABLE post_tags, posts, tags, users, wide_before, wide_schema_before;
DROP FUNCTION int_wide_schema();
DROP ROLE int_reader;

-- ---- Widened keys: a partitioned referencing table, row-level security policies, the names ----
-- members (serial) is referenced by visits, partitioned by month, and by notes; a policy reads the
-- key of members, another the reference of notes. After the cut-over every constraint and index
-- has the name it has in a table created with the new columns (schema fresh), NOT NULL
-- constraints included (PostgreSQL 18 records them in pg_constraint, named after the column).
CREATE TABLE members (id serial PRIMARY KEY, name text NOT NULL);
CREATE TABLE visits (id bigserial, member_id integer NOT NULL REFERENCES members ON DELETE CASCADE, visited date NOT NULL,
                     PRIMARY KEY (id, visited)) PARTITION BY RANGE (visited);
CREATE TABLE visits_2024_01 PARTITION OF visits FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');
CREATE TABLE visits_2024_02 PARTITION OF visits FOR VALUES FROM ('2024-02-01') TO ('2024-03-01');
CREATE INDEX visits_member ON visits (member_id, visited);
CREATE TABLE notes (id serial PRIMARY KEY, member_id integer NOT NULL REFERENCES members, body text);
ALTER TABLE members ENABLE ROW LEVEL SECURITY;
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY even_members ON members USING (id % 2 = 0);
CREATE POLICY notes_of_even_members ON notes FOR ALL USING (member_id IN (SELECT m.id FROM members m)) WITH CHECK (member_id % 2 = 0);
ALTER TABLE visits_2024_01 ENABLE ROW LEVEL SECURITY;         -- a policy of one partition
CREATE POLICY first_members_in_january ON visits_2024_01 FOR SELECT USING (member_id < 10);
CREATE ROLE int_member_reader;
GRANT SELECT ON members, notes, visits, visits_2024_01 TO int_member_reader;
GRANT INSERT ON notes TO int_member_reader;
GRANT USAGE ON SEQUENCE notes_id_seq TO int_member_reader;
INSERT INTO members (name) SELECT 'm' || n FROM generate_series(1, 30) n;
INSERT INTO visits (member_id, visited) SELECT 1 + n % 30, date '2024-01-01' + n % 59 FROM generate_series(1, 200) n;
INSERT INTO notes (member_id, body) SELECT 1 + n % 30, 'n' || n FROM generate_series(1, 60) n;
CREATE TABLE members_before AS
    SELECT 'members' AS t, id::bigint AS id, name AS v FROM members UNION ALL SELECT 'visits', id, member_id || ':' || visited FROM visits
    UNION ALL SELECT 'notes', id, member_id || ':' || body FROM notes;
SET ROLE int_member_reader;
SELECT count(*) AS members_seen, (SELECT count(*) FROM notes) AS notes_seen, (SELECT count(*) FROM visits_2024_01) AS january_visits_seen FROM members;
RESET ROLE;
-- The dry run: the partitioned table one partition at a time (as for uuid keys).
SELECT phase, target, regexp_replace(statement, 'snowflake_fill_[0-9a-f]{12}', 'snowflake_fill_H', 'g') AS statement
FROM snowflake_migration_plan('members') WHERE phase IN ('backfill', 'index', 'constrain') AND target LIKE 'public.visits%' ORDER BY step;
SELECT target, status FROM snowflake_migration_plan('members') WHERE phase = 'dependent';
SET client_min_messages = warning;
SELECT snowflake_migration_start('members');
SET client_min_messages = notice;
INSERT INTO visits (member_id, visited) VALUES (3, '2024-02-03');
SET client_min_messages = warning;
CALL snowflake_migration_backfill('members', batch_size => 50);
SET client_min_messages = notice;
SELECT count(*) FILTER (WHERE member_id_snowflake IS DISTINCT FROM member_id) AS visits_unfilled FROM visits;
SELECT statement FROM snowflake_migration_plan('members') WHERE phase = 'index' AND status <> 'done' \gexec
SET client_min_messages = warning;
CALL snowflake_migration_cutover('members');
SET client_min_messages = notice;
SELECT attrelid::regclass AS tbl, attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute
WHERE attrelid IN ('members'::regclass, 'visits'::regclass, 'visits_2024_01'::regclass, 'notes'::regclass) AND attname IN ('id', 'member_id')
ORDER BY 1, 2;
SELECT count(*) AS values_changed FROM (
    SELECT * FROM members_before EXCEPT (SELECT 'members', id, name FROM members UNION ALL SELECT 'visits', id, member_id || ':' || visited FROM visits
                                         UNION ALL SELECT 'notes', id, member_id || ':' || body FROM notes)) x;
-- The policies read the new columns, with the same expressions; they filter as before.
SELECT polname, pg_get_expr(polqual, polrelid) AS using_expr, pg_get_expr(polwithcheck, polrelid) AS check_expr
FROM pg_policy WHERE polrelid IN ('members'::regclass, 'notes'::regclass, 'visits_2024_01'::regclass) ORDER BY 1;
SELECT count(*) AS policies_on_old_columns FROM pg_depend d JOIN pg_policy p ON d.classid = 'pg_policy'::regclass AND d.objid = p.oid
WHERE d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0
  AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = d.refobjid AND a.attnum = d.refobjsubid AND NOT a.attisdropped);
SET ROLE int_member_reader;
SELECT count(*) AS members_seen, (SELECT count(*) FROM notes) AS notes_seen, (SELECT count(*) FROM visits_2024_01) AS january_visits_seen FROM members;
SELECT int_error_of($$INSERT INTO notes (member_id, body) VALUES (3, 'odd')$$) AS odd_member_note;
INSERT INTO notes (member_id, body) VALUES (4, 'even');
RESET ROLE;
-- New members get snowflake IDs, and their visits the references.
INSERT INTO members (name) VALUES ('new');
INSERT INTO visits (member_id, visited) SELECT id, '2024-01-09' FROM members WHERE name = 'new';
SELECT count(*) AS new_visits, bool_and(v.member_id > (SELECT max(id) FROM members_before WHERE t = 'members')) AS above_old_keys
FROM visits v JOIN members m ON m.id = v.member_id WHERE m.name = 'new';
-- The foreign keys are validated, on the parent and each partition.
SELECT conrelid::regclass AS tbl, conname, convalidated FROM pg_constraint WHERE contype = 'f' AND confrelid = 'members'::regclass ORDER BY 1, 2;
-- Names, as a table created with these columns has them.
CREATE SCHEMA fresh;
CREATE TABLE fresh.members (name text NOT NULL, id bigint PRIMARY KEY DEFAULT snowflake_next());
CREATE TABLE fresh.visits (id bigserial, visited date NOT NULL, member_id bigint NOT NULL REFERENCES fresh.members ON DELETE CASCADE,
                           PRIMARY KEY (id, visited)) PARTITION BY RANGE (visited);
CREATE TABLE fresh.visits_2024_01 PARTITION OF fresh.visits FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');
CREATE TABLE fresh.visits_2024_02 PARTITION OF fresh.visits FOR VALUES FROM ('2024-02-01') TO ('2024-03-01');
CREATE INDEX visits_member ON fresh.visits (member_id, visited);
CREATE TABLE fresh.notes (id serial PRIMARY KEY, body text, member_id bigint NOT NULL REFERENCES fresh.members);
CREATE FUNCTION int_names(nsp text) RETURNS TABLE (item text) LANGUAGE sql AS $$
    SELECT format('%s constraint %s %s', c.relname, k.conname, replace(pg_get_constraintdef(k.oid), 'fresh.', ''))
    FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = nsp AND c.relname ~ '^(members|visits|notes)'
    UNION ALL
    SELECT format('%s index %s', c.relname, i.relname)
    FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = nsp AND c.relname ~ '^(members|visits|notes)'
$$;
SELECT count(*) > 10 AS compared, count(*) FILTER (WHERE item ~ 'NOT NULL') = (SELECT count(*) FROM pg_constraint WHERE contype::text = 'n' AND connamespace = 'fresh'::regnamespace) AS not_nulls
FROM int_names('fresh');
SELECT 'migrated' AS side, item FROM (SELECT * FROM int_names('public') EXCEPT SELECT * FROM int_names('fresh')) x
UNION ALL SELECT 'fresh', item FROM (SELECT * FROM int_names('fresh') EXCEPT SELECT * FROM int_names('public')) y ORDER BY 1, 2;
DROP SCHEMA fresh CASCADE;
DROP FUNCTION int_names(text);
SELECT snowflake_migration_abort('members');
DROP TABLE notes, visits, members, members_before;
DROP ROLE int_member_reader;

-- ---- The new key's type snowflake (snowflake_migration.target_type, as for uuid keys) ----
-- A smallint identity and a serial key widened to snowflake, with their references; a bigint key
-- keeps its type, so that choice is refused for it.
SET snowflake_migration.target_type = 'snowflake';
CREATE TABLE badges (id smallint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, label text NOT NULL);
CREATE TABLE rooms (id serial PRIMARY KEY, label text NOT NULL);
CREATE TABLE awards (id serial PRIMARY KEY, badge_id smallint NOT NULL REFERENCES badges, room_id integer REFERENCES rooms);
CREATE INDEX awards_badge ON awards (badge_id DESC);
CREATE TABLE big_keys (id bigserial PRIMARY KEY);
INSERT INTO badges (label) SELECT 'b' || n FROM generate_series(1, 10) n;
INSERT INTO rooms (label) SELECT 'r' || n FROM generate_series(1, 10) n;
INSERT INTO awards (badge_id, room_id) SELECT b, r FROM generate_series(1, 10) b, generate_series(1, 10) r WHERE (b + r) % 3 = 0;
SELECT target, statement FROM snowflake_migration_plan('badges') WHERE statement LIKE '%ADD COLUMN%' ORDER BY step;
SELECT int_error_of($$SELECT * FROM snowflake_migration_plan('big_keys')$$) AS plan, int_error_of($$SELECT snowflake_migration_start('big_keys')$$) AS start;
SELECT int_hint_of($$SELECT snowflake_migration_start('big_keys')$$);
SET client_min_messages = warning;
SELECT snowflake_migration_start('badges');
SELECT snowflake_migration_start('rooms');
RESET snowflake_migration.target_type;   -- a started migration keeps its type
CALL snowflake_migration_backfill('badges');
CALL snowflake_migration_backfill('rooms');
SET client_min_messages = notice;
SELECT statement FROM snowflake_migration_plan('badges') WHERE phase = 'index' AND status <> 'done' \gexec
SELECT statement FROM snowflake_migration_plan('rooms') WHERE phase = 'index' AND status <> 'done' \gexec
SET client_min_messages = warning;
CALL snowflake_migration_cutover('badges');
CALL snowflake_migration_cutover('rooms');
SET client_min_messages = notice;
SELECT attrelid::regclass AS tbl, attname, format_type(atttypid, atttypmod) AS type, pg_get_expr(d.adbin, d.adrelid) AS default
FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE attrelid IN ('badges'::regclass, 'rooms'::regclass, 'awards'::regclass) AND attnum > 0 AND NOT attisdropped AND attname <> 'label'
ORDER BY 1, 2;
SELECT conrelid::regclass AS tbl, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'awards'::regclass AND contype IN ('p', 'f') ORDER BY 2;
SELECT indexrelid::regclass AS index, pg_get_indexdef(indexrelid) AS def FROM pg_index WHERE indrelid = 'awards'::regclass ORDER BY indexrelid::regclass::text;
INSERT INTO badges (label) VALUES ('new');
INSERT INTO awards (badge_id, room_id) SELECT id, 1 FROM badges WHERE label = 'new';
SELECT count(*) AS awards, count(*) FILTER (WHERE to_json(badge_id)::text ~ '^"[0-9]+"$') AS json_strings,
       count(*) FILTER (WHERE badge_id > 10) AS new_badge_awards FROM awards;
SELECT snowflake_machine_id(id) = current_setting('snowflake.machine_id')::int AS own_machine_id FROM badges WHERE label = 'new';
-- Abort after the cut-over: the serial's sequence default comes back on the snowflake key; an
-- identity cannot be of type snowflake: refused, with what to do.
SELECT snowflake_migration_abort('rooms');
SELECT pg_get_expr(adbin, adrelid) AS rooms_default FROM pg_attrdef WHERE adrelid = 'rooms'::regclass;
SELECT int_error_of($$SELECT snowflake_migration_abort('badges')$$);
SELECT int_hint_of($$SELECT snowflake_migration_abort('badges')$$);
DELETE FROM snowflake_internal.snowflake_migration_integer WHERE relation = 'public.badges';
DELETE FROM snowflake_internal.snowflake_migration_step WHERE relation = 'public.badges';
DELETE FROM snowflake_internal.snowflake_migration WHERE relation = 'public.badges';
DROP TABLE awards, badges, rooms, big_keys;

-- ---- bigint keys ----
CREATE TABLE orders (id bigserial PRIMARY KEY, note text);
COMMENT ON COLUMN orders.id IS 'order number';
CREATE TABLE order_items (id bigserial PRIMARY KEY, order_id bigint NOT NULL REFERENCES orders ON DELETE CASCADE, qty int);
CREATE SEQUENCE invoice_numbers START 1000;
CREATE TABLE invoices (id bigint PRIMARY KEY DEFAULT nextval('invoice_numbers'), order_id bigint REFERENCES orders);
CREATE TABLE events_d (id bigint GENERATED BY DEFAULT AS IDENTITY (START WITH 7 INCREMENT BY 3 CACHE 5) PRIMARY KEY, what text);
CREATE TABLE events_a (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, what text);
CREATE TABLE handmade (id bigint PRIMARY KEY, what text);
INSERT INTO orders (note) SELECT 'o' || n FROM generate_series(1, 300) n;
INSERT INTO order_items (order_id, qty) SELECT o.id, n FROM orders o, generate_series(1, 2) n;
INSERT INTO invoices (order_id) SELECT id FROM orders WHERE id % 3 = 0;
INSERT INTO events_d (what) SELECT 'd' || n FROM generate_series(1, 50) n;
INSERT INTO events_a (what) SELECT 'a' || n FROM generate_series(1, 50) n;
INSERT INTO handmade VALUES (1, 'one'), (2, 'two');
CREATE TABLE before_rows AS
    SELECT 'orders' AS t, id, note AS v FROM orders UNION ALL SELECT 'order_items', id, order_id || ':' || qty FROM order_items
    UNION ALL SELECT 'invoices', id, order_id::text FROM invoices UNION ALL SELECT 'events_d', id, what FROM events_d
    UNION ALL SELECT 'events_a', id, what FROM events_a UNION ALL SELECT 'handmade', id, what FROM handmade;

-- The schema of these tables, to compare after an abort.
CREATE FUNCTION int_schema() RETURNS TABLE (item text) LANGUAGE sql AS $$
    SELECT format('%s.%s %s%s identity %s default %s comment %s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                  CASE WHEN a.attnotnull THEN ' not null' ELSE '' END, nullif(a.attidentity, ''), pg_get_expr(d.adbin, d.adrelid),
                  col_description(c.oid, a.attnum))
    FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
    WHERE c.relname IN ('orders', 'order_items', 'invoices', 'events_d', 'events_a', 'handmade')
    UNION ALL
    SELECT format('sequence %s start %s increment %s min %s max %s cache %s cycle %s owned by %s', s.seqrelid::regclass, s.seqstart, s.seqincrement,
                  s.seqmin, s.seqmax, s.seqcache, s.seqcycle,
                  (SELECT d.refobjid::regclass || '.' || d.refobjsubid || ' ' || d.deptype::text FROM pg_depend d
                   WHERE d.classid = 'pg_class'::regclass AND d.objid = s.seqrelid AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))
    FROM pg_sequence s
    UNION ALL
    SELECT format('%s constraint %s %s', c.relname, k.conname, pg_get_constraintdef(k.oid))
    FROM pg_class c JOIN pg_constraint k ON k.conrelid = c.oid
    WHERE c.relname IN ('orders', 'order_items', 'invoices', 'events_d', 'events_a', 'handmade')
    ORDER BY 1
$$;
CREATE TABLE schema_before AS SELECT * FROM int_schema();

-- The dry run: what each phase does, for each kind of key.
SELECT step, phase, target, statement, status FROM snowflake_migration_plan('orders');
SELECT step, phase, target, statement, status FROM snowflake_migration_plan('events_a');
SELECT step, phase, statement FROM snowflake_migration_plan('handmade') WHERE phase = 'cutover';

-- The same procedure for every table: start, backfill, index phase, cut-over.
SET client_min_messages = warning;   -- the notices carry the first ID of this instant
SELECT snowflake_migration_start(t) FROM unnest(ARRAY['orders', 'order_items', 'invoices', 'events_d', 'events_a', 'handmade']) t;
SET client_min_messages = notice;
SELECT relation, key_type, identity, seq_schema, seq_name, old_max FROM snowflake_internal.snowflake_migration_integer ORDER BY 1;
SELECT relation, key_column, new_column, phase FROM snowflake_internal.snowflake_migration ORDER BY 1;
-- Started twice: refused.
SELECT int_error_of($$SELECT snowflake_migration_start('orders')$$);
-- Writes go on with the sequences meanwhile.
INSERT INTO orders (note) VALUES ('during');
CALL snowflake_migration_backfill('orders');
CALL snowflake_migration_backfill('events_a', time_column => 'what');
SELECT step, phase, statement, status FROM snowflake_migration_plan('orders') WHERE phase IN ('backfill', 'index');
-- The index phase has nothing for psql to run.
SELECT count(*) AS index_statements FROM snowflake_migration_plan('orders') WHERE phase = 'index' AND statement IS NOT NULL;
SET client_min_messages = warning;
CALL snowflake_migration_cutover('orders');
CALL snowflake_migration_cutover('order_items');
CALL snowflake_migration_cutover('invoices');
CALL snowflake_migration_cutover('events_d');
CALL snowflake_migration_cutover('events_a');   -- not backfilled: nothing to backfill, so no need
CALL snowflake_migration_cutover('handmade');
SET client_min_messages = notice;
CALL snowflake_migration_cutover('orders');     -- again: says so
SELECT relation, phase, cut_over_at IS NOT NULL AS cut_over FROM snowflake_internal.snowflake_migration ORDER BY 1;
SELECT relation, seq_start, seq_increment, seq_cache, seq_cycle, seq_last, boundary > old_max AS boundary_above_old_keys
FROM snowflake_internal.snowflake_migration_integer ORDER BY 1;
SELECT step, phase, statement, status FROM snowflake_migration_plan('events_d') WHERE phase = 'cutover';
SELECT * FROM int_schema() EXCEPT SELECT * FROM schema_before ORDER BY 1;

-- Old values unchanged; new rows get IDs of this server's machine id, above every old key; the
-- ALWAYS identity is a default now, so explicit values are accepted.
INSERT INTO orders (note) VALUES ('new1'), ('new2');
INSERT INTO order_items (order_id, qty) SELECT id, 1 FROM orders WHERE note LIKE 'new%';
INSERT INTO invoices (order_id) SELECT id FROM orders WHERE note = 'new1';
INSERT INTO events_d (what) VALUES ('new');
INSERT INTO events_a (what) VALUES ('new');
INSERT INTO events_a (id, what) VALUES (-5, 'explicit');
INSERT INTO events_a (id, what) OVERRIDING SYSTEM VALUE VALUES (-7, 'explicit');   -- still parses
INSERT INTO handmade (what) VALUES ('new');
SELECT count(*) AS old_rows_changed FROM before_rows b
WHERE NOT EXISTS (SELECT 1 FROM (
    SELECT 'orders' AS t, id, note AS v FROM orders UNION ALL SELECT 'order_items', id, order_id || ':' || qty FROM order_items
    UNION ALL SELECT 'invoices', id, order_id::text FROM invoices UNION ALL SELECT 'events_d', id, what FROM events_d
    UNION ALL SELECT 'events_a', id, what FROM events_a UNION ALL SELECT 'handmade', id, what FROM handmade) n
    WHERE (n.t, n.id, n.v) = (b.t, b.id, b.v));
SELECT x.t, count(*) AS new_rows,
       bool_and(snowflake_machine_id(x.id) = current_setting('snowflake.machine_id')::int) AS own_machine_id,
       bool_and(x.id > i.boundary - 1 AND x.id > (SELECT max(b.id) FROM before_rows b WHERE b.t = x.t)) AS above_old_keys
FROM (SELECT 'orders' AS t, id FROM orders WHERE note LIKE 'new%' UNION ALL SELECT 'order_items', id FROM order_items WHERE qty = 1 AND order_id > 1000000
      UNION ALL SELECT 'invoices', id FROM invoices WHERE order_id > 1000000 UNION ALL SELECT 'events_d', id FROM events_d WHERE what = 'new'
      UNION ALL SELECT 'events_a', id FROM events_a WHERE what = 'new' UNION ALL SELECT 'handmade', id FROM handmade WHERE what = 'new') x
JOIN snowflake_internal.snowflake_migration_integer i ON i.relation = 'public.' || x.t
GROUP BY x.t ORDER BY x.t;
SELECT count(*) AS orphan_items FROM order_items i LEFT JOIN orders o ON o.id = i.order_id WHERE o.id IS NULL;
-- Sequences callers: pg_get_serial_sequence still finds a serial's sequence, not a dropped identity's.
SELECT pg_get_serial_sequence('orders', 'id') AS orders_seq, pg_get_serial_sequence('events_d', 'id') AS events_d_seq;

-- Abort after the cut-over gives each key its sequence or identity back, where it was.
SELECT snowflake_migration_abort(t) FROM unnest(ARRAY['orders', 'invoices', 'events_d', 'events_a', 'handmade']) t;
SELECT * FROM int_schema() EXCEPT SELECT * FROM schema_before ORDER BY 1;
SELECT * FROM schema_before EXCEPT SELECT * FROM int_schema() ORDER BY 1;
-- The sequences continue where they stopped (events_d: last 7 + 49 * 3 = 154, then 157).
INSERT INTO events_d (what) VALUES ('after abort') RETURNING id;
INSERT INTO orders (note) VALUES ('after abort') RETURNING id;
SELECT int_error_of($$INSERT INTO events_a (id, what) VALUES (-6, 'explicit')$$);
-- Only order_items is still migrated.
SELECT relation, phase FROM snowflake_internal.snowflake_migration ORDER BY 1;

SELECT snowflake_migration_abort('order_items');
-- Abort before the cut-over: only the record goes.
SET client_min_messages = warning;
SELECT snowflake_migration_start('orders');
SET client_min_messages = notice;
SELECT snowflake_migration_abort('orders');
SELECT count(*) AS migrations FROM snowflake_internal.snowflake_migration;
SELECT * FROM int_schema() EXCEPT SELECT * FROM schema_before ORDER BY 1;

-- The sequence dropped after the cut-over: the abort cannot give it back and says so.
SET client_min_messages = warning;
SELECT snowflake_migration_start('invoices');
CALL snowflake_migration_cutover('invoices');
SET client_min_messages = notice;
DROP SEQUENCE invoice_numbers;
SELECT int_error_of($$SELECT snowflake_migration_abort('invoices')$$);

-- Someone else's table: nothing is seen or done.
CREATE ROLE int_intruder;
SET ROLE int_intruder;
SELECT int_error_of($$SELECT * FROM snowflake_migration_plan('handmade')$$);
SELECT int_error_of($$SELECT snowflake_migration_start('handmade')$$);
SELECT int_error_of($$SELECT snowflake_migration_abort('invoices')$$);
SELECT count(*) AS visible FROM snowflake_internal.snowflake_migration_integer;
RESET ROLE;
DROP ROLE int_intruder;

-- The collision guard and old keys: 42 * 4096 + 5 reads as machine id 42 (this server's), so a
-- replicated old row looks like one of this server's IDs until the table's migration records its
-- boundary; then only keys from the boundary on are checked.
CREATE TABLE replicated (id bigserial PRIMARY KEY, note text);
INSERT INTO replicated (note) VALUES ('one');
CREATE TRIGGER snowflake_guard BEFORE INSERT OR UPDATE ON replicated FOR EACH ROW EXECUTE FUNCTION snowflake_guard_replicated();
ALTER TABLE replicated ENABLE REPLICA TRIGGER snowflake_guard;
SELECT snowflake_machine_id(42 * 4096 + 5) AS old_key_bits, current_setting('snowflake.machine_id') AS own;
SET session_replication_role = replica;
SELECT int_error_of($$INSERT INTO replicated VALUES (42 * 4096 + 5, 'old, replicated')$$) AS before_migration;
RESET session_replication_role;
SET client_min_messages = warning;
SELECT snowflake_migration_start('replicated');
CALL snowflake_migration_cutover('replicated');
SET client_min_messages = notice;
SET session_replication_role = replica;
SELECT int_error_of($$INSERT INTO replicated VALUES (42 * 4096 + 5, 'old, replicated')$$) AS old_key_after_cutover;
SELECT int_error_of($$INSERT INTO replicated VALUES (snowflake_compose(now(), 42, 7), 'a new ID of machine id 42')$$) AS own_id_after_cutover;
SELECT int_error_of($$INSERT INTO replicated VALUES (snowflake_compose(now(), 41, 7), 'a new ID of machine id 41')$$) AS other_id_after_cutover;
RESET session_replication_role;
SELECT id < (SELECT boundary FROM snowflake_internal.snowflake_migration_integer WHERE relation = 'public.replicated') AS old, note FROM replicated ORDER BY id;
SELECT snowflake_migration_abort('replicated');
DROP TABLE replicated;

DELETE FROM snowflake_internal.snowflake_migration_integer WHERE relation = 'public.invoices';
DELETE FROM snowflake_internal.snowflake_migration_step WHERE relation = 'public.invoices';
DELETE FROM snowflake_internal.snowflake_migration WHERE relation = 'public.invoices';
DROP TABLE invoices, order_items, orders, events_d, events_a, handmade, before_rows, schema_before;
DROP FUNCTION int_schema(), int_error_of(text), int_hint_of(text);
