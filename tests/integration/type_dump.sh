#!/usr/bin/env bash
# The column type snowflake through binary COPY (to and from bigint tables) and pg_dump/pg_restore
# into a fresh database: values, keys, foreign keys, partitions, defaults and JSON survive.
source "$(dirname "$0")/../lib/servers.sh"
source "$(dirname "$0")/../lib/checks.sh"
sf_workdir

sf_init p "shared_preload_libraries = 'snowflake'" "snowflake.machine_id = 15" "max_connections = 20"
sf_start p
db() { sf_psql p -d "$1" "${@:2}"; }
sf_psql p -c "CREATE DATABASE src" -c "CREATE DATABASE dst"
db src -c "CREATE EXTENSION snowflake"
db src <<'SQL'
CREATE TABLE authors (id snowflake PRIMARY KEY DEFAULT snowflake_next(), name text);
CREATE TABLE books (id bigint PRIMARY KEY DEFAULT snowflake_next(), author_id snowflake NOT NULL REFERENCES authors);
CREATE TABLE reviews (id snowflake PRIMARY KEY DEFAULT snowflake_next(), book_id bigint REFERENCES books);
CREATE TABLE events (id snowflake NOT NULL DEFAULT snowflake_next(), kind text) PARTITION BY RANGE (id);
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM (snowflake_compose('2025-01-01 00:00:00+00')) TO (snowflake_compose('2026-01-01 00:00:00+00'));
CREATE TABLE events_rest PARTITION OF events DEFAULT;
ALTER TABLE events ADD PRIMARY KEY (id);
CREATE INDEX authors_name ON authors (name, id);
CREATE VIEW author_json AS SELECT a.id, json_build_object('id', a.id, 'books', json_agg(b.id)) AS doc
  FROM authors a JOIN books b ON b.author_id = a.id WHERE a.id > 0 GROUP BY a.id;
INSERT INTO authors (name) SELECT 'a' || g FROM generate_series(1, 2000) g;
INSERT INTO books (author_id) SELECT id FROM authors;
INSERT INTO reviews (book_id) SELECT id FROM books;
INSERT INTO events (id, kind) SELECT snowflake_compose('2025-06-01 00:00:00+00', 1, g), 'old' FROM generate_series(0, 99) g;
INSERT INTO events (kind) SELECT 'new' FROM generate_series(1, 100);
SQL
fingerprint() { # everything a restore must reproduce, as one line per fact
  db "$1" -c "SELECT 'authors', count(*), md5(string_agg(id::text || name, ',' ORDER BY id)) FROM authors" \
    -c "SELECT 'books', count(*), md5(string_agg(id::text || author_id::text, ',' ORDER BY id)) FROM books" \
    -c "SELECT 'reviews', count(*), md5(string_agg(id::text || book_id::text, ',' ORDER BY id)) FROM reviews" \
    -c "SELECT 'events', tableoid::regclass, count(*), md5(string_agg(id::text, ',' ORDER BY id)) FROM events GROUP BY 2 ORDER BY 2" \
    -c "SELECT 'json', md5(string_agg(doc::text, ',' ORDER BY id)) FROM author_json" \
    -c "SELECT 'types', string_agg(attrelid::regclass || '.' || attname || ' ' || format_type(atttypid, NULL), ', ' ORDER BY attrelid::regclass::text, attnum)
        FROM pg_attribute WHERE attrelid IN ('authors'::regclass, 'books'::regclass, 'reviews'::regclass, 'events'::regclass) AND attnum > 0" \
    -c "SELECT 'constraints', string_agg(conrelid::regclass || ' ' || pg_get_constraintdef(oid), '; ' ORDER BY conrelid::regclass::text, conname)
        FROM pg_constraint WHERE conrelid IN ('authors'::regclass, 'books'::regclass, 'reviews'::regclass, 'events'::regclass)"
}
before=$(fingerprint src)
sf_check_match "source has 2000 authors, books, reviews and 200 events in two partitions" \
  "authors\|2000\|.*books\|2000\|.*reviews\|2000\|.*events\|events_2025\|100\|.*events\|events_rest\|100\|" "$(echo $before | tr ' ' '\n' | tr '\n' '|')"
sf_check_match "the view's JSON has string IDs" '^\{"id" : "[0-9]+", "books" : \[[0-9]+\]\}$' \
  "$(db src -c "SELECT doc FROM author_json LIMIT 1")"

echo "-- binary COPY: snowflake to bigint and back, same bytes on the wire"
bin=$SF_WORK/authors.bin
db src -c "\\copy (SELECT id, name FROM authors) TO '$bin' WITH (FORMAT binary)"
db src -c "CREATE TABLE as_bigint (id bigint PRIMARY KEY, name text)" -c "CREATE TABLE as_snowflake (id snowflake PRIMARY KEY, name text)"
db src -c "\\copy as_bigint FROM '$bin' WITH (FORMAT binary)"
db src -c "\\copy (SELECT * FROM as_bigint) TO '$bin.2' WITH (FORMAT binary)"
db src -c "\\copy as_snowflake FROM '$bin.2' WITH (FORMAT binary)"
sf_check "binary COPY snowflake -> bigint -> snowflake keeps every row" "2000|2000|2000" \
  "$(db src -c "SELECT count(*), count(b.id), count(s.id) FROM authors a LEFT JOIN as_bigint b ON b.id = a.id AND b.name = a.name
                LEFT JOIN as_snowflake s ON s.id = a.id AND s.name = a.name")"
sf_check "the binary files are identical" "same" "$(cmp -s "$bin" "$bin.2" && echo same || echo different)"
db src -c "\\copy (SELECT id FROM authors ORDER BY id) TO '$bin.txt'"
db src -c "CREATE TABLE text_copy (id snowflake)" -c "\\copy text_copy FROM '$bin.txt'"
sf_check "text COPY out and in" "2000|0" "$(db src -c "SELECT count(*), count(*) FILTER (WHERE id NOT IN (SELECT id FROM authors)) FROM text_copy")"
db src -c "DROP TABLE as_bigint, as_snowflake, text_copy"

echo "-- pg_dump (custom format) and pg_restore into an empty database"
dump=$SF_WORK/src.dump
sf_as_pg pg_dump -h "$SF_WORK/p" -U postgres -Fc -f "$dump" src
sf_as_pg pg_restore -h "$SF_WORK/p" -U postgres -d dst --exit-on-error "$dump" && status=0 || status=$?
sf_check "pg_restore succeeds" 0 "$status"
after=$(fingerprint dst)
sf_check "every row, type, constraint, partition and JSON document is the same" "$before" "$after"
sf_check "the extension's type came from CREATE EXTENSION, not from the dump" "1|snowflake" \
  "$(db dst -c "SELECT count(*), min(typname) FROM pg_type t JOIN pg_depend d ON d.objid = t.oid AND d.deptype = 'e' WHERE typname = 'snowflake'")"
sf_check "defaults still issue IDs after the restore" "t" \
  "$(db dst -c "INSERT INTO authors (name) VALUES ('new') RETURNING id > (SELECT max(id) FROM authors WHERE name <> 'new')")"
sf_check_match "foreign keys are enforced after the restore" "violates foreign key constraint" \
  "$(db dst -c "INSERT INTO books (author_id) VALUES (1)" 2>&1 || true)"
sf_as_pg pg_dump -h "$SF_WORK/p" -U postgres -Fp -f "$SF_WORK/src.sql" src
sf_check_match "the plain dump writes the type by name" "id public\.snowflake DEFAULT public\.snowflake_next\(\)" "$(cat "$SF_WORK/src.sql")"

sf_summary
