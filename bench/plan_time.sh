#!/usr/bin/env bash
# How long the migration toolkit takes to compute its plan, this working tree's SQL beside a base
# revision's, side by side in one server: the cut-over computes its statements while it holds
# ACCESS EXCLUSIVE locks, so this time is part of every writer's stall. The schema is the shop's
# shape (accounts; orders partitioned by month, 12 partitions, PRIMARY KEY (id, created_at),
# referencing accounts; notes referencing orders by (order_id, order_created_at)), a few rows.
# Timed, in each of two databases (one with this tree's 1.2, one with BASE's 1.2 installed under
# the version name 1.2base; both use this tree's library, so BASE must not differ in C):
#   dry run   snowflake_migration_plan('accounts') before the start
#   cut-over  _snowflake_locked_statements('accounts', 'cutover') once its index phase is done:
#             the computation the swap does under its locks
# each as the first call of a new session (cold: PL/pgSQL compiles the functions) and as the
# median of the next WARM calls; ROUNDS rounds alternate the two databases. Not a test: nothing
# is asserted; prints a table.
#
#   bash bench/plan_time.sh                 # against main
#   BASE=e1c61f1 ROUNDS=9 WARM=5 bash bench/plan_time.sh
source "$(dirname "$0")/../scripts/env.sh"
source "$(dirname "$0")/../tests/lib/servers.sh"
BASE=${BASE:-main}
ROUNDS=${ROUNDS:-7}
WARM=${WARM:-5}

sf_install_deps
sf_build_install
# BASE's install script, built from its tree, beside ours under another version name.
base_tree=$(mktemp -d /tmp/snowflake-plan-base.XXXXXX)
git -C "$SF_ROOT" archive "$BASE" | tar -x -C "$base_tree"
make -C "$base_tree" -s sql/snowflake--1.2.sql PG_CONFIG="$PG_CONFIG" >/dev/null
sf_sudo cp "$base_tree/sql/snowflake--1.2.sql" "$("$PG_CONFIG" --sharedir)/extension/snowflake--1.2base.sql"
rm -rf "$base_tree"

sf_workdir
trap 'sf_cleanup; sf_sudo rm -f "$("$PG_CONFIG" --sharedir)/extension/snowflake--1.2base.sql"' EXIT
sf_init n "shared_preload_libraries = 'snowflake'" "snowflake.machine_id = 1"
sf_start n
db() { local d=$1; shift; sf_psql n -d "$d" "$@"; }
for d in cur base; do
  sf_psql n -c "CREATE DATABASE $d"
  db "$d" -c "CREATE EXTENSION snowflake VERSION '$([ $d = cur ] && echo 1.2 || echo 1.2base)'"
  db "$d" <<'SQL'
CREATE TABLE accounts (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), email text UNIQUE, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE orders (id uuid NOT NULL DEFAULT gen_random_uuid(), created_at timestamptz NOT NULL DEFAULT now(),
                     account_id uuid NOT NULL REFERENCES accounts ON UPDATE CASCADE, amount int NOT NULL,
                     PRIMARY KEY (id, created_at)) PARTITION BY RANGE (created_at);
SELECT format('CREATE TABLE orders_m%s PARTITION OF orders FOR VALUES FROM (%L) TO (%L)', m,
              date '2026-01-01' + (m - 1) * interval '1 month', date '2026-01-01' + m * interval '1 month')
FROM generate_series(1, 12) m \gexec
CREATE INDEX ON orders (account_id, created_at);
CREATE TABLE notes (id bigserial PRIMARY KEY, order_id uuid, order_created_at timestamptz, body text,
                    FOREIGN KEY (order_id, order_created_at) REFERENCES orders (id, created_at));
CREATE INDEX ON notes (order_id);
INSERT INTO accounts (email) SELECT 'a' || i FROM generate_series(1, 100) i;
INSERT INTO orders (account_id, amount, created_at)
SELECT id, 1, date '2026-01-15' + (row_number() OVER () % 12) * interval '1 month' FROM accounts;
SQL
done

# timings DB SQL-CALL: one session: the cold call's ms, then the median of WARM more.
timings() {
  db "$1" <<SQL
CREATE TEMP TABLE t (i int, ms float8);
DO \$\$ DECLARE t0 timestamptz; BEGIN
  FOR i IN 0 .. $WARM LOOP
    t0 := clock_timestamp();
    PERFORM $2;
    INSERT INTO t VALUES (i, extract(epoch FROM clock_timestamp() - t0) * 1000);
  END LOOP;
END \$\$;
SELECT round((SELECT ms FROM t WHERE i = 0)::numeric, 1) || ' ' ||
       round((SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FROM t WHERE i > 0)::numeric, 1);
SQL
}

declare -A cold warm
measure() {  # measure NAME SQL-CALL: ROUNDS rounds, both databases each round
  local r d out
  for d in cur base; do cold[$1$d]=""; warm[$1$d]=""; done
  for r in $(seq "$ROUNDS"); do
    for d in cur base; do
      out=$(timings "$d" "$2")
      cold[$1$d]+="${out% *} "; warm[$1$d]+="${out#* } "
    done
  done
}
median() { tr ' ' '\n' | grep . | sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }

measure dry "count(*) FROM snowflake_migration_plan('public.accounts')"
for d in cur base; do
  db "$d" -c "SELECT snowflake_migration_start('public.accounts')" >/dev/null
  db "$d" -c "CALL snowflake_migration_backfill('public.accounts', time_column => 'created_at')" >/dev/null
  echo "SELECT statement FROM snowflake_migration_plan('public.accounts') WHERE phase = 'index' AND status <> 'done' \gexec" | db "$d" >/dev/null
done
measure cut "public._snowflake_locked_statements('public.accounts', 'cutover')"

echo "plan computation, ms (median over $ROUNDS rounds; warm = median of $WARM calls in one session), PostgreSQL $PG_MAJOR"
echo "BASE=$BASE ($(git -C "$SF_ROOT" rev-parse --short "$BASE")) against this tree ($(git -C "$SF_ROOT" rev-parse --short HEAD)$(git -C "$SF_ROOT" diff --quiet HEAD -- src || echo '+changes'))"
printf '%-10s %12s %12s %12s %12s\n' "" "cold tree" "cold base" "warm tree" "warm base"
for m in dry cut; do
  printf '%-10s %12s %12s %12s %12s\n' "$([ $m = dry ] && echo 'dry run' || echo 'cut-over')" \
    "$(echo "${cold[${m}cur]}" | median)" "$(echo "${cold[${m}base]}" | median)" \
    "$(echo "${warm[${m}cur]}" | median)" "$(echo "${warm[${m}base]}" | median)"
done
