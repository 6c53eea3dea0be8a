#!/usr/bin/env bash
# A publisher and its logical-replication subscriber migrate off uuid keys by the procedure of
# docs/migration.md#logical-replication while writers run on the publisher throughout: the
# subscriber's copy gets the twins first and never numbers a row itself, the publisher's backfill
# reaches it through the subscription, the two cut-overs meet where the subscription stops. At
# the end both sides hold the same rows with the same IDs, the publication and the subscription
# are intact, and updates and deletes still find their rows through the new key. A heartbeat row
# every 20 ms, stamped on arrival by the subscriber, measures the longest halt of the subscription.
# Then a quiet publisher: a table nothing is written to after the publisher's cut-over, migrated
# by the same steps and the page's manual step for it (ALTER SUBSCRIPTION ... DISABLE).
source "$(dirname "$0")/../lib/migration.sh"
sf_migration_node pub 1 "wal_level = logical"
sf_migration_node sub 2

schema="CREATE TABLE accounts (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text NOT NULL, touched int NOT NULL DEFAULT 0,
                       created_at timestamptz NOT NULL DEFAULT clock_timestamp());
ALTER TABLE accounts REPLICA IDENTITY USING INDEX accounts_pkey;
CREATE INDEX ON accounts (name);
CREATE TABLE orders (oid uuid PRIMARY KEY DEFAULT gen_random_uuid(), account_id uuid NOT NULL REFERENCES accounts ON DELETE CASCADE,
                     amount int NOT NULL);
CREATE INDEX ON orders (account_id);
CREATE TABLE beat (n bigserial PRIMARY KEY, sent timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE tags (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), label text NOT NULL,
                   created_at timestamptz NOT NULL DEFAULT clock_timestamp());"
sf_psql pub -c "$schema"
# On the subscriber the application's role owns the tables; a superuser (the owner of the
# subscription, as on PostgreSQL 15 every subscription's is) runs the migration there.
sf_psql sub -c "$schema" -c "ALTER TABLE beat ADD COLUMN arrived timestamptz DEFAULT clock_timestamp()" \
  -c "CREATE ROLE app" -c "ALTER TABLE accounts OWNER TO app" -c "ALTER TABLE orders OWNER TO app"
sf_psql pub <<'SQL'
INSERT INTO accounts (name, created_at)
SELECT 'i' || n, timestamptz '2024-03-01 00:00:00+00' + n * interval '1 second' FROM generate_series(1, 5000) n;
INSERT INTO orders (account_id, amount) SELECT id, g FROM accounts, generate_series(1, 2) g;
INSERT INTO tags (label, created_at)
SELECT 't' || n, timestamptz '2024-05-01 00:00:00+00' + n * interval '1 minute' FROM generate_series(1, 200) n;
CREATE PUBLICATION pub FOR TABLE accounts, orders, beat, tags;
SQL
sf_psql sub -c "CREATE SUBSCRIPTION sub CONNECTION 'host=$SF_WORK/pub dbname=postgres user=postgres' PUBLICATION pub"

p() { sf_psql pub -c "$1"; }
s() { sf_psql sub -c "$1"; }
# applied LSN: the subscription has applied everything the publisher wrote before LSN (it has
# processed the publisher's report of a later position: docs/migration.md#logical-replication).
applied() { echo "SELECT coalesce(max(latest_end_lsn) >= '$1', false) FROM pg_stat_subscription WHERE subname = 'sub'"; }
caught_up() { sf_wait_until sub 60 "$(applied "$(p "SELECT pg_current_wal_lsn()")")"; }
sf_wait_until sub 60 "SELECT count(*) = 4 AND bool_and(srsubstate = 'r') FROM pg_subscription_rel" || sf_fail "initial copy"
caught_up || sf_fail "the subscriber did not catch up"

# The application on the publisher, from before the start to after the cut-overs, in SQL that
# does not depend on the key's type: new accounts and their orders, updates of new and old rows,
# deletes (cascading to orders); and the heartbeat.
sf_writers_start app pub -c 2 -T 600 <<'SQL'
\set n random(1, 2000000000)
\set old random(1, 5000)
BEGIN;
INSERT INTO accounts (name) VALUES ('w' || :n);
INSERT INTO orders (account_id, amount) SELECT id, 1 FROM accounts WHERE name = 'w' || :n;
UPDATE accounts SET name = name || '+' WHERE name = 'w' || :n;
UPDATE orders SET amount = amount + 1 WHERE account_id IN (SELECT id FROM accounts WHERE name = 'w' || :n || '+');
COMMIT;
UPDATE accounts SET touched = touched + 1 WHERE name = 'i' || :old;
DELETE FROM orders WHERE account_id IN (SELECT id FROM accounts WHERE name = 'i' || :old) AND amount = 2 AND :n % 4 = 0;
DELETE FROM accounts WHERE name = 'i' || :old AND :n % 16 = 0;
SQL
sf_writers_start beat pub -c 1 -T 600 <<'SQL'
INSERT INTO beat DEFAULT VALUES;
\sleep 20 ms
SQL
sf_wait_until pub 30 "SELECT count(*) > 50 FROM accounts WHERE name LIKE 'w%'" || sf_fail "the application did not start writing"
# phase NAME: the longest time a heartbeat took to arrive since the last call, in ms.
mark=$(s "SELECT clock_timestamp()")
declare -A halt
took=""
t_phase=$(date +%s%N)
phase() {
  caught_up || sf_fail "$1: the subscriber did not catch up"
  halt[$1]=$(s "SELECT round(extract(epoch FROM max(arrived - sent)) * 1000) FROM beat WHERE arrived > '$mark'")
  mark=$(s "SELECT clock_timestamp()")
  took="$took $1 $(( ($(date +%s%N) - t_phase) / 1000000 ))"
  t_phase=$(date +%s%N)
}

# 1. The subscriber's copy first: twins without a default or trigger (it never numbers a row).
sf_check "dry run on the subscriber: the twin of the key has no default" "0" \
  "$(s "SELECT count(*) FROM snowflake_migration_plan('accounts') WHERE statement LIKE '%SET DEFAULT%' AND phase = 'start'")"
out=$(s "SELECT snowflake_migration_start('accounts')" 2>&1) && sf_pass "start on the subscriber" || sf_fail "start on the subscriber: $out"
sf_check_match "it says it is a subscriber's copy" "from the publisher" "$out"
sf_check "subscriber: no default on id_snowflake, no fill trigger" "f|0" \
  "$(s "SELECT atthasdef FROM pg_attribute WHERE attrelid = 'accounts'::regclass AND attname = 'id_snowflake'")|$(s "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'orders'::regclass AND NOT tgisinternal")"
phase start_sub
# 2. The publisher's start: its new columns exist on the subscriber already.
out=$(p "SELECT snowflake_migration_start('accounts')" 2>&1) && sf_pass "start on the publisher" || sf_fail "start on the publisher: $out"
phase start_pub
# The subscriber's backfill before the publisher's: refused, nothing numbered.
sf_check_match "subscriber's backfill before the publisher's: refused" "55000: .*have not received their snowflake IDs from the publisher" \
  "$(sf_error sub "CALL snowflake_migration_backfill('accounts')")"
# 3. The publisher's backfill reaches the subscriber as updates.
out=$(p "CALL snowflake_migration_backfill('accounts', time_column => 'created_at', batch_size => 5000)" 2>&1) \
  && sf_pass "backfill on the publisher" || sf_fail "backfill on the publisher: $out"
phase backfill_pub
out=$(s "CALL snowflake_migration_backfill('accounts')" 2>&1) && sf_pass "backfill on the subscriber (constraints only)" \
  || sf_fail "backfill on the subscriber: $out"
sf_check "the subscriber numbered no row itself" "0" \
  "$(s "SELECT count(*) FROM accounts WHERE snowflake_machine_id(id_snowflake) = 2")"
phase backfill_sub
# 4a. The indexes on both sides.
for n in pub sub; do
  out=$(sf_migration_indexes "$n" accounts 2>&1) || sf_fail "indexes on $n: $out"
done
phase index
# 4b. The cut-overs. The subscriber's first: it adds and validates its foreign keys while the
# subscription runs, then waits (its subscription set to stop at its first error); the
# publisher's; the first change in the publisher's new shape stops the subscription, every change
# before it applied; the subscriber swaps and starts the subscription again.
sf_psql sub -c "CALL snowflake_migration_cutover('accounts', lock_wait => '100 ms', give_up_after => '2 min')" >"$SF_WORK/sub_cutover.log" 2>&1 &
sub_cutover=$!
sf_wait_until sub 60 "SELECT subdisableonerr FROM pg_subscription WHERE subname = 'sub'" || sf_fail "the subscriber's cut-over did not reach its wait"
out=$(p "CALL snowflake_migration_cutover('accounts', lock_wait => '100 ms', give_up_after => '2 min')" 2>&1) \
  && sf_pass "cut-over on the publisher" || sf_fail "cut-over on the publisher: $out"
wait "$sub_cutover" && sf_pass "cut-over on the subscriber" || sf_fail "cut-over on the subscriber: $(cat "$SF_WORK/sub_cutover.log")"
sf_check_match "it waited for the subscription and started it again" "waiting for subscription sub.*subscription sub enabled again" \
  "$(tr '\n' ' ' <"$SF_WORK/sub_cutover.log")"
# That change may be to either table: accounts lacks id_uuid, orders account_id_uuid.
sf_check "the subscription stopped at the first change in the new shape" "1" \
  "$(grep -cE 'is missing replicated column: "(id|account_id)_uuid"' "$SF_WORK/sub/server.log")"
sf_check "its disable_on_error is back as it was" "f" "$(s "SELECT subdisableonerr FROM pg_subscription WHERE subname = 'sub'")"
phase cutover
sleep 1

# The end: writers stop, the subscriber catches up.
sf_writers_stop app beat
sf_check "no writer transaction failed" "0" "$(sf_writer_errors app beat)"
# Updates and deletes after both cut-overs find their rows by the new key (replica identity).
old=$(p "SELECT id FROM accounts WHERE name LIKE 'i%' ORDER BY id LIMIT 1")
sf_psql pub -c "UPDATE accounts SET touched = -1 WHERE id = $old" -c "DELETE FROM orders WHERE account_id = $old"
caught_up || sf_fail "the subscriber did not catch up at the end"
sf_check "an update by the new key reached the subscriber" "-1|0" \
  "$(s "SELECT touched FROM accounts WHERE id = $old")|$(s "SELECT count(*) FROM orders WHERE account_id = $old")"

digest="SELECT (SELECT count(*) || ' accounts ' || md5(string_agg(concat_ws(':', id, id_uuid, name, touched, created_at), ',' ORDER BY id)) FROM accounts)
            || (SELECT ', ' || count(*) || ' orders ' || md5(string_agg(concat_ws(':', oid, account_id, account_id_uuid, amount), ',' ORDER BY oid)) FROM orders)"
on_pub=$(p "$digest")
sf_check "the subscriber holds the publisher's rows with the publisher's IDs ($on_pub)" "$on_pub" "$(s "$digest")"
sf_check "rows written during the migration reached the subscriber" "t" \
  "$(s "SELECT count(*) > 100 FROM accounts WHERE name LIKE 'w%' AND snowflake_machine_id(id) = 1")"
sf_check "no ID on the subscriber was made by the subscriber" "0" "$(s "SELECT count(*) FROM accounts WHERE snowflake_machine_id(id) = 2")"
sf_check "both keys are bigint primary keys; the references bigint" "bigint|bigint|bigint|bigint" \
  "$(p "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'accounts'::regclass AND attname = 'id'")|$(s "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'accounts'::regclass AND attname = 'id'")|$(p "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attname = 'account_id'")|$(s "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attname = 'account_id'")"
sf_check_lines "the two schemas are the same (columns, defaults, constraints, indexes, triggers)" \
  "$(sf_schema_listing pub accounts orders)" "$(sf_schema_listing sub accounts orders)"
sf_check "REPLICA IDENTITY USING INDEX moved to the new primary key on both sides" "accounts_pkey|bigint|accounts_pkey|bigint" \
  "$(p "SELECT i.indexrelid::regclass || '|' || format_type(a.atttypid, a.atttypmod) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] WHERE i.indrelid = 'accounts'::regclass AND i.indisreplident")|$(s "SELECT i.indexrelid::regclass || '|' || format_type(a.atttypid, a.atttypmod) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] WHERE i.indrelid = 'accounts'::regclass AND i.indisreplident")"
sf_check "the publication keeps its tables; the subscription runs, every table ready" "accounts,beat,orders,tags|t|t" \
  "$(p "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_publication_tables WHERE pubname = 'pub'")|$(s "SELECT subenabled FROM pg_subscription WHERE subname = 'sub'")|$(s "SELECT count(*) = 4 AND bool_and(srsubstate = 'r') FROM pg_subscription_rel")"
sf_check "both migrations are done" "done|done" \
  "$(p "SELECT phase FROM snowflake_internal.snowflake_migration WHERE relation = 'public.accounts'")|$(s "SELECT phase FROM snowflake_internal.snowflake_migration WHERE relation = 'public.accounts'")"
echo "  longest heartbeat delay (ms) on PostgreSQL $PG_MAJOR: subscriber's start ${halt[start_sub]}, publisher's start ${halt[start_pub]}," \
     "publisher's backfill ${halt[backfill_pub]}, subscriber's backfill ${halt[backfill_sub]}, indexes ${halt[index]}, cut-overs ${halt[cutover]}"
echo "  time each phase took (ms, with the checks around it):$took"
# The subscription halts only between the two cut-overs, for a few seconds at most.
for ph in start_sub start_pub backfill_sub index cutover; do
  [ "${halt[$ph]:-99999}" -lt 5000 ] && sf_pass "$ph: the subscription halted under 5 s (${halt[$ph]} ms)" \
    || sf_fail "$ph: the subscription halted ${halt[$ph]:-?} ms"
done

# A quiet publisher (docs/migration.md#logical-replication): tags, in the same publication, is
# migrated by the same steps, but nothing is written to it after the publisher's cut-over, so no
# change stops the subscription; the page's manual step (the publisher's position after its
# cut-over applied, then ALTER SUBSCRIPTION ... DISABLE) lets the waiting cut-over go on.
out=$(s "SELECT snowflake_migration_start('tags')" 2>&1) || sf_fail "quiet: start on the subscriber: $out"
out=$(p "SELECT snowflake_migration_start('tags')" 2>&1) || sf_fail "quiet: start on the publisher: $out"
out=$(p "CALL snowflake_migration_backfill('tags', time_column => 'created_at')" 2>&1) || sf_fail "quiet: backfill on the publisher: $out"
sf_wait_until sub 60 "$(applied "$(p "SELECT pg_current_wal_lsn()")")" || sf_fail "quiet: the subscriber did not apply the backfill"
out=$(s "CALL snowflake_migration_backfill('tags')" 2>&1) || sf_fail "quiet: backfill on the subscriber: $out"
for n in sub pub; do
  out=$(sf_migration_indexes "$n" tags 2>&1) || sf_fail "quiet: indexes on $n: $out"
done
sf_psql sub -c "CALL snowflake_migration_cutover('tags', lock_wait => '100 ms', give_up_after => '2 min')" >"$SF_WORK/quiet_cutover.log" 2>&1 &
quiet_cutover=$!
sf_wait_until sub 60 "SELECT subdisableonerr FROM pg_subscription WHERE subname = 'sub'" || sf_fail "quiet: the subscriber's cut-over did not reach its wait"
out=$(p "CALL snowflake_migration_cutover('tags', lock_wait => '100 ms', give_up_after => '2 min')" 2>&1) \
  && sf_pass "quiet: cut-over on the publisher" || sf_fail "quiet: cut-over on the publisher: $out"
# The page's step: the publisher's position after its cut-over, applied by the subscriber ...
sf_wait_until sub 60 "$(applied "$(p "SELECT pg_current_wal_lsn()")")" || sf_fail "quiet: the subscriber did not apply the publisher's cut-over"
sf_check "quiet: nothing stopped the subscription; the subscriber's cut-over still waits" "t|running" \
  "$(s "SELECT subenabled FROM pg_subscription WHERE subname = 'sub'")|$(kill -0 "$quiet_cutover" 2>/dev/null && echo running || echo ended)"
# ... then the subscription disabled by hand: the waiting cut-over swaps and enables it again.
t0=$(date +%s%N)
s "ALTER SUBSCRIPTION sub DISABLE"
sf_wait_until sub 60 "SELECT phase = 'done' FROM snowflake_internal.snowflake_migration WHERE relation = 'public.tags'" \
  || sf_fail "quiet: the subscriber's cut-over did not go on once the subscription was disabled"
echo "  quiet publisher: the subscription was disabled for $(( ($(date +%s%N) - t0) / 1000000 )) ms (not asserted)"
wait "$quiet_cutover" && sf_pass "quiet: cut-over on the subscriber" || sf_fail "quiet: cut-over on the subscriber: $(cat "$SF_WORK/quiet_cutover.log")"
sf_check_match "quiet: it waited, then started the subscription again" "waiting for subscription sub.*subscription sub enabled again" \
  "$(tr '\n' ' ' <"$SF_WORK/quiet_cutover.log")"
sf_check "quiet: the subscription runs, its disable_on_error as it was" "t|f" \
  "$(s "SELECT subenabled, subdisableonerr FROM pg_subscription WHERE subname = 'sub'")"
sf_check_lines "quiet: the two schemas of tags are the same" "$(sf_schema_listing pub tags)" "$(sf_schema_listing sub tags)"
# Written after both cut-overs, in the new shape: a new tag and an old one changed by its new key.
old=$(p "SELECT id FROM tags ORDER BY id LIMIT 1")
sf_psql pub -c "INSERT INTO tags (label) VALUES ('after')" -c "UPDATE tags SET label = 'changed' WHERE id = $old"
caught_up || sf_fail "quiet: the subscriber did not catch up after the cut-overs"
tags="SELECT count(*) || ' tags ' || md5(string_agg(concat_ws(':', id, id_uuid, label, created_at), ',' ORDER BY id)) FROM tags"
on_pub=$(p "$tags")
sf_check "quiet: the subscriber holds the publisher's tags with the publisher's IDs, written after the cut-overs too ($on_pub)" \
  "$on_pub" "$(s "$tags")"
sf_check "quiet: the subscription stopped at no error" "0" "$(grep -c 'relation "public.tags" is missing' "$SF_WORK/sub/server.log" || true)"
sf_summary
