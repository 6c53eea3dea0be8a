#!/usr/bin/env bash
# Widening an integer key live (issue 21), beside the writers' ordinary latency: five pgbench
# writers keep writing a schema keyed by a serial (users, 1M rows) with two integer referencing
# tables (posts, follows) through the whole migration: start, backfill (the old values copied),
# index phase, cut-over. Every transaction's latency is logged; reported: the longest latency of
# a transaction that overlapped the cut-over call (the swap's stall), each phase's time and the
# whole migration's. Writes bench/widen_results.md. Not a test: nothing here asserts a time.
#
#   bash bench/widen.sh
#   USERS_ROWS=1000000 POSTS_ROWS=1000000 FOLLOWS_ROWS=1000000 RATE=250 LOCK_WAIT='100 ms' bash bench/widen.sh
#
# RATE is the writers' total transactions per second (pgbench -R). Builds and installs the
# extension into $PG_BIN's PostgreSQL (scripts/env.sh) and runs a throwaway server as postgres.
source "$(dirname "$0")/../scripts/env.sh"
source "$(dirname "$0")/../tests/lib/servers.sh"
source "$SF_ROOT/bench/latency.sh"
USERS_ROWS=${USERS_ROWS:-1000000}
POSTS_ROWS=${POSTS_ROWS:-1000000}
FOLLOWS_ROWS=${FOLLOWS_ROWS:-1000000}
RATE=${RATE:-250}
LOCK_WAIT=${LOCK_WAIT:-100 ms}
BASELINE_SECONDS=${BASELINE_SECONDS:-15}
COMMAND="USERS_ROWS=$USERS_ROWS POSTS_ROWS=$POSTS_ROWS FOLLOWS_ROWS=$FOLLOWS_ROWS RATE=$RATE LOCK_WAIT='$LOCK_WAIT' bash bench/widen.sh"

bench_node

log "schema: users $USERS_ROWS, posts $POSTS_ROWS, follows $FOLLOWS_ROWS rows"
sf_psql node <<SQL
CREATE EXTENSION snowflake;
CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL);
CREATE TABLE posts (id serial PRIMARY KEY, user_id integer NOT NULL REFERENCES users, body text);
CREATE INDEX ON posts (user_id);
CREATE TABLE follows (id serial PRIMARY KEY, follower_id integer NOT NULL REFERENCES users, followee_id integer REFERENCES users);
CREATE INDEX ON follows (follower_id);
INSERT INTO users (name) SELECT 'u' || n FROM generate_series(1, $USERS_ROWS) n;
INSERT INTO posts (user_id, body) SELECT 1 + n % $USERS_ROWS, 'old' FROM generate_series(1, $POSTS_ROWS) n;
INSERT INTO follows (follower_id, followee_id) SELECT 1 + n % $USERS_ROWS, 1 + (n * 7) % $USERS_ROWS FROM generate_series(1, $FOLLOWS_ROWS) n;
VACUUM ANALYZE;
SQL

# The writers: the same transactions before, during and after the migration (they name no key type).
cat >"$SF_WORK/app.sql" <<SQL
\\set old random(1, $USERS_ROWS)
\\set kind random(1, 3)
\\if :kind = 1
WITH u AS (INSERT INTO users (name) VALUES ('new') RETURNING id) INSERT INTO posts (user_id, body) SELECT id, 'first' FROM u;
\\elif :kind = 2
BEGIN;
INSERT INTO posts (user_id, body) VALUES (:old, 'new');
INSERT INTO follows (follower_id, followee_id) SELECT :old, max(id) FROM users;
COMMIT;
\\else
UPDATE posts SET body = 'edited' WHERE id = :old;
\\endif
SQL
bench_writers "$RATE"

sleep 3
base_from=$(now_us); sleep "$BASELINE_SECONDS"; base_to=$(now_us)
log "start"
start_from=$(now_us); q "SELECT snowflake_migration_start('users')" >/dev/null 2>&1; start_to=$(now_us)
log "backfill"
q "CALL snowflake_migration_backfill('users', batch_size => 20000)" >/dev/null 2>&1
backfill_to=$(now_us)
log "indexes"
sf_psql node >/dev/null 2>&1 <<'SQL'
SELECT statement FROM snowflake_migration_plan('users') WHERE phase = 'index' AND status <> 'done' \gexec
SQL
index_to=$(now_us)
log "cut-over"
cut_from=$(now_us)
cut_out=$(q "CALL snowflake_migration_cutover('users', lock_wait => '$LOCK_WAIT', give_up_after => '10 min')" 2>&1) && cut_ok=yes || cut_ok="no: $cut_out"
cut_to=$(now_us)
gave_way=$(echo "$cut_out" | grep -c "gave way" || true)
sleep 5
log "done; stopping the writers"
bench_stop_writers
errors=$(grep -ciE 'error|aborted' "$SF_WORK/pgbench.out" || true)
types=$(q "SELECT string_agg(attrelid::regclass || '.' || attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY 1)
           FROM pg_attribute WHERE (attrelid, attname) IN (('users'::regclass, 'id'), ('posts'::regclass, 'user_id'), ('follows'::regclass, 'follower_id'), ('follows'::regclass, 'followee_id'))")
orphans=$(q "SELECT (SELECT count(*) FROM posts p WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = p.user_id))
               + (SELECT count(*) FROM follows f WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = f.follower_id))")

read -r bn bp50 bp99 bmax <<<"$(window "$base_from" "$base_to" | stats)"
read -r fn fp50 fp99 fmax <<<"$(window "$start_to" "$backfill_to" | stats)"
read -r xn xp50 xp99 xmax <<<"$(window "$backfill_to" "$index_to" | stats)"
read -r cn cp50 cp99 cmax <<<"$(window "$cut_from" "$cut_to" | stats)"
s() { echo $(( ($2 - $1) / 1000000 )); }

out=$SF_ROOT/bench/widen_results.md
{
  echo "# Widening an integer key under five writers"
  echo
  echo "Command: \`$COMMAND\` ($(date -u +%Y-%m-%d), $(nproc) cores, PostgreSQL $("$PG_BIN/postgres" -V | awk '{print $3}'))."
  echo "Schema: users $USERS_ROWS rows (serial key), posts $POSTS_ROWS (integer user_id NOT NULL, foreign key, index),"
  echo "follows $FOLLOWS_ROWS (two integer foreign keys, one nullable, one index). Writers: 5 pgbench sessions, $RATE"
  echo "transactions/s in all: a user and its first post; a post and a follow of an old user; an old post edited."
  echo "Latency is per transaction as the writer sees it (pgbench -R: includes waiting for its turn)."
  echo
  echo "| window | transactions | p50 ms | p99 ms | max ms |"
  echo "|---|---|---|---|---|"
  echo "| writers before the migration (${BASELINE_SECONDS} s) | $bn | $bp50 | $bp99 | $bmax |"
  echo "| during the backfill ($(s "$start_to" "$backfill_to") s) | $fn | $fp50 | $fp99 | $fmax |"
  echo "| during the index phase ($(s "$backfill_to" "$index_to") s) | $xn | $xp50 | $xp99 | $xmax |"
  echo "| during the cut-over call ($(( (cut_to - cut_from) / 1000 )) ms: foreign keys validated, then the swap; $gave_way attempts gave way) | $cn | $cp50 | $cp99 | $cmax |"
  echo
  echo "- Longest stall a writer saw during the cut-over: **$cmax ms** (target: at most 300 ms), against a p99 of $bp99 ms before."
  echo "- Whole migration (start to the end of the cut-over): **$(s "$start_from" "$cut_to") s**; the start took $(( (start_to - start_from) / 1000 )) ms."
  echo "- Cut-over committed: $cut_ok; now $types. Rows referencing no user: $orphans. Writer errors: $errors."
  echo "- Load average of the machine when the run ended: $(cut -d' ' -f1-3 /proc/loadavg) (the machine may be shared)."
} >"$out"
cat "$out"
