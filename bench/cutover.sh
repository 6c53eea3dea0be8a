#!/usr/bin/env bash
# The stall writers see during a migration's cut-over (issue 10), beside their ordinary latency:
# five pgbench writers keep writing a uuid-keyed schema (a parent and two referencing tables)
# through the whole migration; every transaction's latency is logged; the longest latency of a
# transaction that overlapped the cut-over call is reported beside the p50/p99/max of the
# writers before the migration started. Writes bench/cutover_results.md. Not a test: nothing
# here asserts a time.
#
#   bash bench/cutover.sh
#   PARENT_ROWS=200000 ORDERS_ROWS=400000 EVENTS_ROWS=800000 RATE=250 LOCK_WAIT='100 ms' bash bench/cutover.sh
#   PARTITIONED=1 bash bench/cutover.sh    # orders partitioned by month: bench/cutover_partitioned_results.md
#   ABORT=1 bash bench/cutover.sh          # the abort instead of the cut-over: bench/abort_results.md
#
# RATE is the writers' total transactions per second (pgbench -R; latencies include the time a
# transaction waited for its turn, which is what an application sees). Builds and installs the
# extension into $PG_BIN's PostgreSQL (scripts/env.sh) and runs a throwaway server as postgres.
source "$(dirname "$0")/../scripts/env.sh"
source "$(dirname "$0")/../tests/lib/servers.sh"
source "$SF_ROOT/bench/latency.sh"
PARENT_ROWS=${PARENT_ROWS:-200000}
ORDERS_ROWS=${ORDERS_ROWS:-400000}
EVENTS_ROWS=${EVENTS_ROWS:-800000}
RATE=${RATE:-250}
LOCK_WAIT=${LOCK_WAIT:-100 ms}
BASELINE_SECONDS=${BASELINE_SECONDS:-15}
PARTITIONED=${PARTITIONED:-}
ABORT=${ABORT:-}
COMMAND="PARENT_ROWS=$PARENT_ROWS ORDERS_ROWS=$ORDERS_ROWS EVENTS_ROWS=$EVENTS_ROWS RATE=$RATE LOCK_WAIT='$LOCK_WAIT'${PARTITIONED:+ PARTITIONED=1}${ABORT:+ ABORT=1} bash bench/cutover.sh"
# The partitioned case: orders partitioned by month of created_at (12 partitions, key (oid, created_at)).
if [ -n "$PARTITIONED" ]; then
  ORDERS_DDL="CREATE TABLE orders (oid bigserial, created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                     account_id uuid NOT NULL REFERENCES accounts ON DELETE CASCADE,
                     region text NOT NULL, amount int NOT NULL, PRIMARY KEY (oid, created_at),
                     FOREIGN KEY (account_id, region) REFERENCES accounts (id, region) DEFERRABLE INITIALLY DEFERRED)
                     PARTITION BY RANGE (created_at);
  SELECT format('CREATE TABLE orders_m%s PARTITION OF orders FOR VALUES FROM (%L) TO (%L)', m,
                timestamptz '2024-03-01 00:00:00+00' + (m - 1) * interval '1 month', timestamptz '2024-03-01 00:00:00+00' + m * interval '1 month')
  FROM generate_series(1, 11) m \\gexec
  CREATE TABLE orders_now PARTITION OF orders FOR VALUES FROM ('2025-02-01') TO (MAXVALUE);"
  ORDERS_FILL="INSERT INTO orders (account_id, region, amount, created_at)
  SELECT id, region, 1, created_at + k * interval '9 days' FROM accounts, generate_series(1, greatest(1, $ORDERS_ROWS / $PARENT_ROWS)) k;"
  RESULTS=$SF_ROOT/bench/cutover_partitioned_results.md
else
  ORDERS_DDL="CREATE TABLE orders (oid bigserial PRIMARY KEY, account_id uuid NOT NULL REFERENCES accounts ON DELETE CASCADE,
                     region text NOT NULL, amount int NOT NULL,
                     FOREIGN KEY (account_id, region) REFERENCES accounts (id, region) DEFERRABLE INITIALLY DEFERRED);"
  ORDERS_FILL="INSERT INTO orders (account_id, region, amount)
  SELECT id, region, 1 FROM accounts, generate_series(1, greatest(1, $ORDERS_ROWS / $PARENT_ROWS));"
  RESULTS=$SF_ROOT/bench/cutover_results.md
fi
# The last call: the cut-over, or (ABORT=1) the abort, which also deletes the migration's ID map.
if [ -n "$ABORT" ]; then
  FINAL=abort FINAL_CALL="SELECT snowflake_migration_abort('accounts', lock_wait => '$LOCK_WAIT', give_up_after => '10 min')"
  RESULTS=$SF_ROOT/bench/abort${PARTITIONED:+_partitioned}_results.md
else
  FINAL=cut-over FINAL_CALL="CALL snowflake_migration_cutover('accounts', lock_wait => '$LOCK_WAIT', give_up_after => '10 min')"
fi

bench_node

log "schema: accounts $PARENT_ROWS, orders $ORDERS_ROWS, events $EVENTS_ROWS rows"
sf_psql node <<SQL
CREATE EXTENSION snowflake;
CREATE TABLE accounts (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), region text NOT NULL,
                       created_at timestamptz NOT NULL DEFAULT clock_timestamp(), UNIQUE (id, region));
$ORDERS_DDL
CREATE INDEX ON orders (account_id);
CREATE TABLE events (eid bigserial PRIMARY KEY, account_id uuid REFERENCES accounts, kind text);
CREATE INDEX ON events (account_id);
CREATE TABLE order_audit (oid bigint, account_id text, at timestamptz DEFAULT clock_timestamp());
CREATE FUNCTION audit_order() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN INSERT INTO order_audit (oid, account_id) VALUES (NEW.oid, NEW.account_id); RETURN NEW; END \$\$;
CREATE TRIGGER audit_order AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION audit_order();
CREATE FUNCTION app_write(n int) RETURNS void LANGUAGE plpgsql AS \$\$
DECLARE acc record;
BEGIN
    INSERT INTO accounts (region) VALUES ('r' || n % 3) RETURNING * INTO acc;
    INSERT INTO orders (account_id, region, amount) VALUES (acc.id, acc.region, n);
    INSERT INTO events (account_id, kind) VALUES (acc.id, 'signup');
END \$\$;
CREATE VIEW account_totals AS
    SELECT a.id, a.region, count(o.oid) AS orders FROM accounts a LEFT JOIN orders o ON o.account_id = a.id GROUP BY a.id;
INSERT INTO accounts (region, created_at)
SELECT 'r' || n % 3, timestamptz '2024-03-01 00:00:00+00' + n * interval '1 second' FROM generate_series(1, $PARENT_ROWS) n;
$ORDERS_FILL
INSERT INTO events (account_id, kind)
SELECT id, 'seed' FROM accounts, generate_series(1, greatest(1, $EVENTS_ROWS / $PARENT_ROWS));
VACUUM ANALYZE;
SQL
log "rows: $(q "SELECT (SELECT count(*) FROM accounts) || ' / ' || (SELECT count(*) FROM orders) || ' / ' || (SELECT count(*) FROM events)")"

# The writers: the same transactions before, during and after the migration (they name no key type).
cat >"$SF_WORK/app.sql" <<'SQL'
\set n random(1, 1000000)
\set kind random(1, 3)
\if :kind = 1
SELECT app_write(:n);
\elif :kind = 2
INSERT INTO orders (account_id, region, amount)
SELECT a.id, a.region, 0 FROM accounts a WHERE a.id = (SELECT account_id FROM orders WHERE oid = (SELECT max(oid) FROM orders));
\else
BEGIN;
UPDATE accounts SET region = region WHERE id = (SELECT account_id FROM events WHERE eid = (SELECT max(eid) - :n % 1000 FROM events));
INSERT INTO events (account_id, kind) SELECT account_id, 'visit' FROM events WHERE eid = (SELECT max(eid) FROM events);
COMMIT;
\endif
SQL
bench_writers "$RATE"

sleep 3
base_from=$(now_us); sleep "$BASELINE_SECONDS"; base_to=$(now_us)
log "start"
start_from=$(now_us); q "SELECT snowflake_migration_start('accounts')" >/dev/null 2>&1; start_to=$(now_us)
log "backfill"
backfill_from=$(now_us)
q "CALL snowflake_migration_backfill('accounts', time_column => 'created_at', batch_size => 10000)" >/dev/null 2>&1
backfill_to=$(now_us)
log "indexes"
sf_psql node >/dev/null 2>&1 <<'SQL'
SELECT statement FROM snowflake_migration_plan('accounts') WHERE phase = 'index' AND status <> 'done' \gexec
SQL
sleep 2
log "$FINAL"
map_rows=$(q "SELECT count(*) FROM snowflake_internal.snowflake_migration_map")
cut_from=$(now_us)
cut_out=$(q "$FINAL_CALL" 2>&1) && cut_ok=yes || cut_ok="no: $cut_out"
cut_to=$(now_us)
gave_way=$(echo "$cut_out" | grep -c "gave way" || true)
sleep 5
log "done; stopping the writers"
bench_stop_writers
errors=$(grep -ciE 'error|aborted' "$SF_WORK/pgbench.out" || true)
migrated=$(q "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'accounts'::regclass AND attname = 'id'")

# pgbench -l: client_id transaction_no latency_us script_no epoch_s epoch_us [lag_us]
read -r bn bp50 bp99 bmax <<<"$(window "$base_from" "$base_to" | stats)"
read -r sn sp50 sp99 smax <<<"$(window "$start_from" "$start_to" | stats)"
read -r fn fp50 fp99 fmax <<<"$(window "$backfill_from" "$backfill_to" | stats)"
read -r cn cp50 cp99 cmax <<<"$(window "$cut_from" "$cut_to" | stats)"
cut_ms=$(( (cut_to - cut_from) / 1000 )); backfill_s=$(( (backfill_to - backfill_from) / 1000000 ))

out=$RESULTS
{
  echo "# $( [ -n "$ABORT" ] && echo Abort || echo Cut-over ) stall under five writers${PARTITIONED:+: orders partitioned by month}"
  echo
  echo "Command: \`$COMMAND\` ($(date -u +%Y-%m-%d), $(nproc) cores, PostgreSQL $("$PG_BIN/postgres" -V | awk '{print $3}'))."
  echo "Schema: accounts $PARENT_ROWS rows (uuid key, UNIQUE (id, region)), orders $ORDERS_ROWS${PARTITIONED:+ (partitioned by month of created_at: 12 partitions, PRIMARY KEY (oid, created_at); indexes and foreign keys built and validated partition by partition)} (two foreign keys, one"
  echo "deferrable and composite; PL/pgSQL audit trigger), events $EVENTS_ROWS; a view grouped by the key. Writers: 5"
  echo "pgbench sessions, $RATE transactions/s in all: app_write() in PL/pgSQL (account, order, event), an INSERT ... SELECT"
  echo "that locks orders before accounts, and an UPDATE of an account then an INSERT of an event in one transaction."
  echo "Latency is per transaction as the writer sees it (pgbench -R: includes waiting for its turn)."
  echo
  echo "| window | transactions | p50 ms | p99 ms | max ms |"
  echo "|---|---|---|---|---|"
  echo "| writers before the migration (${BASELINE_SECONDS} s) | $bn | $bp50 | $bp99 | $bmax |"
  echo "| during the start | $sn | $sp50 | $sp99 | $smax |"
  echo "| during the backfill (${backfill_s} s) | $fn | $fp50 | $fp99 | $fmax |"
  echo "| during the $FINAL call (${cut_ms} ms, $gave_way attempts gave way) | $cn | $cp50 | $cp99 | $cmax |"
  echo
  echo "- Longest stall a writer saw during the $FINAL: **$cmax ms** (target: at most 300 ms), against a p99 of $bp99 ms before."
  echo "- ${FINAL^} committed: $cut_ok (the ID map held $map_rows rows); the key is now \`$migrated\`. Writer errors: $errors."
  echo "- Load average of the machine when the run ended: $(cut -d' ' -f1-3 /proc/loadavg) (the machine may be shared)."
} >"$out"
cat "$out"
