#!/usr/bin/env bash
# Eight sessions insert into one primary-key table at once: no duplicate, no error, per-session order kept.
source "$(dirname "$0")/../lib/servers.sh"
source "$(dirname "$0")/../lib/checks.sh"
sf_workdir
sf_init node "shared_preload_libraries = 'snowflake'" "snowflake.machine_id = 7" "max_connections = 40"
sf_start node

sf_psql node -c "CREATE EXTENSION snowflake" \
  -c "CREATE TABLE events (id bigint PRIMARY KEY DEFAULT snowflake_next(), n bigserial, client int)"
cat >"$SF_WORK/insert.sql" <<'SQL'
INSERT INTO events (client) SELECT :client_id FROM generate_series(1, 50);
SQL
chmod 644 "$SF_WORK/insert.sql"
clients=8 transactions=500
if sf_as_pg pgbench -n -h "$SF_WORK/node" -U postgres -c $clients -j 2 -t $transactions -f "$SF_WORK/insert.sql" postgres \
  >"$SF_WORK/pgbench.log" 2>&1; then
  sf_pass "pgbench: $clients clients x $transactions transactions x 50 rows, no error (a duplicate key would be one)"
else
  sf_fail "pgbench failed: $(tail -5 "$SF_WORK/pgbench.log")"
fi

expected=$((clients * transactions * 50))
sf_check "every row arrived" "$expected" "$(sf_psql node -c "SELECT count(*) FROM events")"
sf_check "every id distinct" "$expected" "$(sf_psql node -c "SELECT count(DISTINCT id) FROM events")"
sf_check "every id carries machine id 7" "7|7" "$(sf_psql node -c "SELECT min(snowflake_machine_id(id)), max(snowflake_machine_id(id)) FROM events")"
sf_check "each session's ids increase in its insertion order" "0" "$(sf_psql node -c "
  SELECT count(*) FROM (SELECT id, lag(id) OVER (PARTITION BY client ORDER BY n) AS prev FROM events) s WHERE id <= prev")"
sf_check "all $clients sessions wrote" "$clients" "$(sf_psql node -c "SELECT count(DISTINCT client) FROM events")"
sf_summary
