#!/usr/bin/env bash
# Shows snowflake at work: builds and installs it, starts a throwaway server, makes and decodes IDs.
source "$(dirname "$0")/env.sh"
source "$(dirname "$0")/../tests/lib/servers.sh"
# PostgreSQL's programs run as postgres and fail in a directory that user cannot enter (a checkout
# under /root, say): work from /tmp; every path below is absolute.
cd /tmp
sf_install_deps
sf_build_install
sf_workdir
sf_init demo "shared_preload_libraries = 'snowflake'" "snowflake.machine_id = 1"
sf_start demo
echo "A throwaway server with snowflake.machine_id = 1 is up in $SF_WORK/demo."
sf_as_pg psql -h "$SF_WORK/demo" -U postgres -d postgres -X -v ON_ERROR_STOP=1 -e <<'SQL'
CREATE EXTENSION snowflake;
CREATE TABLE posts (id bigint PRIMARY KEY DEFAULT snowflake_next(), body text);
INSERT INTO posts (body) VALUES ('first'), ('second'), ('third');
SELECT id, body, d.* FROM posts, snowflake_decode(id) d ORDER BY id;
SELECT snowflake_compose('2024-01-01 00:00:00.001+00', 1, 1) AS composed, * FROM snowflake_decode(4198401);
INSERT INTO posts (body) SELECT 'bulk ' || n FROM generate_series(1, 100000) n;
SELECT count(*) AS rows, count(DISTINCT id) AS distinct_ids,
       max((snowflake_decode(id)).sequence) + 1 AS most_ids_in_one_ms FROM posts;
EXPLAIN (COSTS OFF) SELECT count(*) FROM posts WHERE id >= snowflake_compose(now() - interval '1 hour');
\x on
SELECT * FROM snowflake_status();
SQL
echo "Done; the server is stopped and its directory removed."
