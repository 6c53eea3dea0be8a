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

echo "-- pg_dump of the migration toolkit's state (schema snowflake_internal), mid-migration"
sf_psql p -c "CREATE DATABASE mig" -c "CREATE DATABASE mig2"
db mig -c "CREATE EXTENSION snowflake" \
  -c "CREATE TABLE t (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), at timestamptz NOT NULL DEFAULT '2024-06-01')" \
  -c "INSERT INTO t SELECT FROM generate_series(1, 100)" -c "SELECT snowflake_migration_start('t')" \
  -c "CALL snowflake_migration_backfill('t', time_column => 'at')" >/dev/null
mig_state() {
  db "$1" -c "SELECT (SELECT string_agg(relation || ' ' || phase || ' ' || map_rows, ',') FROM snowflake_internal.snowflake_migration),
                     (SELECT md5(string_agg(key::text || new_id, ',' ORDER BY n)) FROM snowflake_internal.snowflake_migration_map),
                     (SELECT count(*) FROM snowflake_internal.snowflake_migration_step),
                     (SELECT string_agg(relation || ms::text || slots::text, ',') FROM snowflake_internal.snowflake_migration_lane)"
}
mig_before=$(mig_state mig)
sf_check_match "a backfilled migration's state, in snowflake_internal" "^public\.t backfilled 100\|[0-9a-f]{32}\|[1-9][0-9]*\|public\.t" "$mig_before"
sf_as_pg pg_dump -h "$SF_WORK/p" -U postgres -Fc -f "$SF_WORK/mig.dump" mig
sf_as_pg pg_restore -h "$SF_WORK/p" -U postgres -d mig2 --exit-on-error "$SF_WORK/mig.dump" && status=0 || status=$?
sf_check "pg_restore of a database mid-migration succeeds" 0 "$status"
sf_check "the restored state is the same" "$mig_before" "$(mig_state mig2)"
db mig2 -c "SELECT statement FROM snowflake_migration_plan('t') WHERE phase = 'index'" | while read -r stmt; do db mig2 -c "$stmt"; done
sf_check "the migration finishes in the restored database" "done|bigint|100" \
  "$(db mig2 -c "SET client_min_messages = warning" -c "CALL snowflake_migration_cutover('t')" -c "SELECT (SELECT phase FROM snowflake_internal.snowflake_migration), format_type(atttypid, NULL), (SELECT count(*) FROM t)
                   FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'id'")"

echo "-- pg_dump of coordination databases: leases, grant rows and the node role's privileges"
sf_psql p -c "CREATE ROLE node_a LOGIN" -c "CREATE DATABASE coord" -c "CREATE DATABASE coord2" -c "CREATE DATABASE coord11" -c "CREATE DATABASE coord11b"
grant_node="GRANT EXECUTE ON FUNCTION snowflake_lease_claim(uuid, uuid, integer, integer, bigint, integer, text, text) TO node_a;
            GRANT SELECT ON snowflake_leases TO node_a; INSERT INTO snowflake_lease_grant VALUES ('node_a', '[40,49]');"
claim="SELECT status || ' ' || machine_id FROM snowflake_lease_claim('00000000-0000-4000-8000-000000000001', gen_random_uuid(), 40, 49, 0, 30000, 'a', NULL)"
coord_state() {
  db "$1" -c "SELECT (SELECT string_agg(machine_id || ' ' || holder_role, ',') FROM snowflake_lease),
                     (SELECT string_agg(holder_role || ' ' || machine_ids, ',') FROM snowflake_lease_grant),
                     has_function_privilege('node_a', 'snowflake_lease_claim(uuid, uuid, integer, integer, bigint, integer, text, text)', 'EXECUTE'),
                     has_table_privilege('node_a', 'snowflake_leases', 'SELECT'),
                     (SELECT extname FROM pg_extension e JOIN pg_depend d ON d.refobjid = e.oid AND d.deptype = 'e'
                      WHERE d.objid = 'snowflake_lease'::regclass)"
}
db coord -c "CREATE EXTENSION snowflake_coordination" -c "$grant_node" >/dev/null
sf_check "coordination 1.2: node_a claims" "granted 40" "$(db coord -c "SET SESSION AUTHORIZATION node_a" -c "$claim")"
# Updated from 1.1, then taken over: the grants must stay the operator's (pg_dump writes them).
db coord11 -c "CREATE EXTENSION snowflake VERSION '1.1'" -c "$grant_node" >/dev/null
db coord11 -c "SET SESSION AUTHORIZATION node_a" -c "$claim" >/dev/null
db coord11 -c "ALTER EXTENSION snowflake UPDATE" -c "CREATE EXTENSION snowflake_coordination" 2>/dev/null
for pair in coord:coord2 coord11:coord11b; do
  from=${pair%%:*} to=${pair#*:}
  want=$(coord_state "$from")
  sf_check "$from: a lease, a grant row, node_a's privileges, in snowflake_coordination" "40 node_a|node_a [40,50)|t|t|snowflake_coordination" "$want"
  sf_as_pg pg_dump -h "$SF_WORK/p" -U postgres -Fc -f "$SF_WORK/$from.dump" "$from"
  sf_as_pg pg_restore -h "$SF_WORK/p" -U postgres -d "$to" --exit-on-error "$SF_WORK/$from.dump" && status=0 || status=$?
  sf_check "$from: pg_restore succeeds" 0 "$status"
  sf_check "$from: restored with its lease, grant row and node_a's privileges" "$want" "$(coord_state "$to")"
done

sf_summary
