#!/usr/bin/env bash
# Migrates a uuid-keyed schema to snowflake keys while pgbench keeps inserting and updating through
# the backfill and the cut-over: no row lost, no reference dangling or changed, no ID duplicated.
source "$(dirname "$0")/../lib/migration.sh"
sf_migration_node node 7

sf_psql node <<'SQL'
CREATE TABLE authors (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                      name text NOT NULL UNIQUE, mentor_id uuid REFERENCES authors);
CREATE TABLE posts (pid bigserial PRIMARY KEY, author_id uuid NOT NULL REFERENCES authors ON DELETE CASCADE, body text);
CREATE INDEX ON posts (author_id);
-- What the application wrote, recorded in the same transaction, in a table the migration does not touch.
CREATE TABLE audit (name text PRIMARY KEY, posts int NOT NULL);
CREATE SEQUENCE bench_seq;
INSERT INTO authors (created_at, name)
SELECT timestamptz '2024-02-01 00:00:00+00' + (n * 7919 % 10000) * interval '37 minutes 11.123457 seconds', 'seed ' || n
FROM generate_series(1, 10000) n;
UPDATE authors a SET mentor_id = m.id FROM authors m
WHERE m.name = 'seed ' || (split_part(a.name, ' ', 2)::int % 100 + 1) AND split_part(a.name, ' ', 2)::int > 100;
INSERT INTO posts (author_id, body) SELECT id, name || ' post ' || g FROM authors, generate_series(1, 2) g;
CREATE TABLE joined_before AS
SELECT a.id AS author, a.name, a.created_at, m.id AS mentor, p.pid, p.body
FROM authors a LEFT JOIN authors m ON m.id = a.mentor_id JOIN posts p ON p.author_id = a.id;
SQL

# The application: every transaction adds an author with two posts (one statement, whatever the key
# type: it works before, during and after the migration) and rewrites an old post in place, which
# moves its row while the referencing table is being filled.
sf_writers_start app node -c 2 -R 40 -T 600 <<'SQL'
\set pid random(1, 20000)
WITH a AS (INSERT INTO authors (name) VALUES ('bench ' || nextval('bench_seq')) RETURNING id, name),
     p AS (INSERT INTO posts (author_id, body) SELECT id, name || ' post ' || g FROM a, generate_series(1, 2) g RETURNING 1)
INSERT INTO audit (name, posts) SELECT name, (SELECT count(*) FROM p) FROM a;
UPDATE posts SET body = body WHERE pid = :pid;
SQL
wait_for() { sf_wait_until node 60 "$1"; }
wait_for "SELECT count(*) > 20 FROM audit" || sf_fail "pgbench did not start writing"

echo "  $(date +%T) migration starts"
sf_psql node -c "SELECT snowflake_migration_start('authors')" >/dev/null 2>&1
wait_for "SELECT count(*) > 10 FROM authors WHERE id_snowflake IS NOT NULL" || sf_fail "no live snowflake ID after the start"
if out_backfill=$(sf_psql node -c "CALL snowflake_migration_backfill('authors', time_column => 'created_at', batch_size => 1000)" 2>&1); then
  sf_pass "backfill in batches while pgbench writes"
else
  sf_fail "backfill: $out_backfill"
fi
echo "  $(date +%T) backfilled"
# The seeded rows and those pgbench wrote before the start have no snowflake ID yet.
sf_check_match "progress reported per batch" "public.authors: 1[0-9]{4} of 1[0-9]{4} rows backfilled" "$out_backfill"
sf_check_match "the referencing table filled in ranges of blocks" "public.posts.author_id_snowflake: [0-9]+ of [0-9]+ blocks done" "$out_backfill"
# The indexes, CONCURRENTLY, as the plan prints them; then the cut-over, with a lock timeout.
sf_migration_indexes node authors >/dev/null
sf_check "indexes built and valid" "0" "$(sf_psql node -c "SELECT count(*) FROM snowflake_migration_plan('authors') WHERE phase = 'index' AND status <> 'done'")"
before_cutover=$(sf_psql node -c "SELECT count(*) FROM audit")
out=$(sf_psql node 2>&1 <<'SQL'
SET lock_timeout = '10s';
CALL snowflake_migration_cutover('authors');
SQL
) && sf_pass "cut-over committed" || sf_fail "cut-over: $out"
if sf_writers_running app; then sf_pass "pgbench was still writing when the cut-over committed"; else sf_fail "pgbench stopped before the cut-over"; fi
wait_for "SELECT count(*) > $before_cutover + 30 FROM audit" || sf_fail "no writes after the cut-over"

echo "  $(date +%T) cut over"
sf_writers_stop app
sf_check "pgbench: no transaction failed" "0" "$(sf_writer_errors app)"
backfilled=$(echo "$out_backfill" | sed -n 's/.*public.authors: \([0-9]*\) rows to backfill.*/\1/p')

q() { sf_psql node -c "$1"; }
sf_check "the key is a bigint primary key now" "bigint|p" \
  "$(q "SELECT format_type(a.atttypid, a.atttypmod), c.contype FROM pg_attribute a JOIN pg_constraint c ON c.conrelid = a.attrelid AND a.attnum = ALL (c.conkey) WHERE a.attrelid = 'authors'::regclass AND a.attname = 'id' AND c.contype = 'p'")"
sf_check "posts reference it ON DELETE CASCADE" "FOREIGN KEY (author_id) REFERENCES authors(id) ON DELETE CASCADE" \
  "$(q "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'posts'::regclass AND contype = 'f'")"
bench_rows=$(q "SELECT count(*) FROM audit")
sf_check "no author lost: 10000 seeded + $bench_rows written by pgbench" "$((10000 + bench_rows))" "$(q "SELECT count(*) FROM authors")"
sf_check "no post lost" "$((20000 + 2 * bench_rows))" "$(q "SELECT count(*) FROM posts")"
sf_check "every author pgbench wrote is there with its two posts" "0" \
  "$(q "SELECT count(*) FROM audit x LEFT JOIN authors a ON a.name = x.name WHERE a.id IS NULL OR (SELECT count(*) FROM posts p WHERE p.author_id = a.id) <> x.posts OR x.posts <> 2")"
sf_check "the data joined through the new keys is the data joined through the uuids before" "0|0" "$(q "
  WITH after AS (SELECT a.id_uuid AS author, a.name, a.created_at, m.id_uuid AS mentor, p.pid, p.body
                 FROM authors a LEFT JOIN authors m ON m.id = a.mentor_id JOIN posts p ON p.author_id = a.id)
  SELECT (SELECT count(*) FROM (SELECT * FROM joined_before EXCEPT SELECT * FROM after) d),
         (SELECT count(*) FROM after WHERE author IN (SELECT author FROM joined_before)) - (SELECT count(*) FROM joined_before)")"
sf_check "no reference dangling" "0|0" "$(q "SELECT (SELECT count(*) FROM posts WHERE author_id NOT IN (SELECT id FROM authors)),
                                                   (SELECT count(*) FROM authors WHERE mentor_id NOT IN (SELECT id FROM authors))")"
sf_check "old and new references agree wherever a post kept its uuid" "0" \
  "$(q "SELECT count(*) FROM posts p JOIN authors a ON a.id = p.author_id WHERE p.author_id_uuid IS NOT NULL AND p.author_id_uuid <> a.id_uuid")"
sf_check "no ID duplicated" "$((10000 + bench_rows))" "$(q "SELECT count(DISTINCT id) FROM authors")"
sf_check "the $backfilled rows made before the start carry machine id 1023, the others 7" "1023|$backfilled
7|$((10000 + bench_rows - backfilled))" "$(q "SELECT snowflake_machine_id(id), count(*) FROM authors GROUP BY 1 ORDER BY 1 DESC")"
sf_check "backfilled IDs decode to their creation time, to the millisecond" "0" \
  "$(q "SELECT count(*) FROM authors WHERE name LIKE 'seed %' AND snowflake_timestamp(id) <> date_trunc('milliseconds', created_at)")"
sf_check "backfilled IDs sort by creation time" "0" \
  "$(q "SELECT count(*) FROM (SELECT created_at, lag(created_at) OVER (ORDER BY id) AS prev FROM authors WHERE name LIKE 'seed %') s WHERE created_at < prev")"
sf_check_match "pgbench wrote during the migration and after the cut-over" "^[1-9][0-9]*\|[1-9][0-9]*$" \
  "$(q "SELECT count(*) FILTER (WHERE p.author_id_uuid IS NOT NULL), count(*) FILTER (WHERE p.author_id_uuid IS NULL)
        FROM authors a JOIN posts p ON p.author_id = a.id WHERE a.name LIKE 'bench %'")"
sf_summary
