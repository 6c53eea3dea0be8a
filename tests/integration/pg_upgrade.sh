#!/usr/bin/env bash
# pg_upgrade from the PostgreSQL under test through every later supported major (15 -> 17 -> 18) on a
# database that uses the extension: a snowflake-keyed table with the collision guard as a replica
# trigger, and a uuid-key migration backfilled but not yet cut over. After each upgrade, with
# pg_snowflake/ copied over as docs/upgrading.md says: a clock set behind is refused (SF001) instead of issuing
# lower IDs, new IDs continue above every earlier one, old IDs decode the same, the guard still
# fires, and the migration goes on to its cut-over on the newest major.
source "$(dirname "$0")/../lib/servers.sh"
source "$(dirname "$0")/../lib/checks.sh"
sf_workdir
cd "$SF_WORK"  # pg_upgrade, run as postgres, writes in its working directory

# Through the later majors of the matrix run (tests/run-all.sh sets SF_MATRIX_MAJORS from PG_MAJORS):
# The quick test command of README, on the installed 15 alone, builds no other PostgreSQL for this.
majors=()
for m in 15 17 18; do
  [ "$m" -ge "$PG_MAJOR" ] && [[ " $PG_MAJOR ${SF_MATRIX_MAJORS:-} " == *" $m "* ]] && majors+=("$m")
done
if [ ${#majors[@]} -lt 2 ]; then
  echo "  no later major in this run: PG_MAJORS=\"15 17 18\" bash tests/run-all.sh upgrades across them"
  sf_summary
  exit
fi

# Each major's binaries, with the extension installed (the one under test is already).
declare -A bin
for m in "${majors[@]}"; do
  if [ "$m" = "$PG_MAJOR" ]; then
    config=$PG_CONFIG
  else
    config=$(bash "$SF_ROOT/scripts/postgres.sh" "$m")
    PG_CONFIG=$config sf_build_install
  fi
  bin[$m]=$("$config" --bindir)
done

machine=5
# init MAJOR NAME: a cluster of that major with the extension preloaded, its clock under libfaketime.
# PostgreSQL 18's initdb turns data checksums on by default; pg_upgrade needs them the same on both.
init() {
  local dir=$SF_WORK/$2 opts=()
  [ "$1" -lt 18 ] || opts=(--no-data-checksums)
  sf_as_pg "${bin[$1]}/initdb" -D "$dir" -U postgres -A trust --no-sync "${opts[@]}" >/dev/null
  printf '%s\n' "listen_addresses = ''" "unix_socket_directories = '$dir'" "shared_preload_libraries = 'snowflake'" \
    "snowflake.machine_id = $machine" | sf_as_pg tee -a "$dir/postgresql.conf" >/dev/null
}
start() { PATH=${bin[$1]}:$PATH sf_start "$2" $(sf_faketime_env "$2"); }
stop() { PATH=${bin[$1]}:$PATH sf_stop "$2"; }

# setup MAJOR: a cluster pgMAJOR that uses the extension, started.
setup() {
  init "$1" "pg$1"
  start "$1" "pg$1"
  sf_psql "pg$1" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION snowflake;
CREATE TABLE events (id bigint PRIMARY KEY DEFAULT snowflake_next(), n int NOT NULL);
CREATE TRIGGER snowflake_guard BEFORE INSERT OR UPDATE ON events FOR EACH ROW EXECUTE FUNCTION snowflake_guard_replicated();
ALTER TABLE events ENABLE REPLICA TRIGGER snowflake_guard;
INSERT INTO events (n) SELECT n FROM generate_series(1, 1000) n;

-- A migration from version 7 uuid keys (made by hand from known times), started and backfilled.
CREATE TABLE orders (id uuid PRIMARY KEY, n int NOT NULL);
CREATE TABLE lines (order_id uuid NOT NULL REFERENCES orders ON DELETE CASCADE, qty int);
INSERT INTO orders
SELECT (lpad(to_hex((extract(epoch FROM t) * 1000)::bigint), 12, '0') || '7' || substr(md5(n::text), 1, 3)
        || '8' || substr(md5(n::text), 5, 15))::uuid, n
FROM (SELECT n, timestamptz '2024-03-01 00:00:00+00' + n * interval '1 minute' AS t FROM generate_series(1, 300) n) s;
INSERT INTO lines SELECT id, n FROM orders;
SELECT snowflake_migration_start('orders');
CALL snowflake_migration_backfill('orders', uuid_time => true, batch_size => 100);
-- Rows written after the start get their snowflake ID from the twin's default.
INSERT INTO orders VALUES (gen_random_uuid(), 301);
INSERT INTO lines SELECT id, 301 FROM orders WHERE n = 301;
SQL
}

# What must not change: every old ID and its parts, the orders with their new keys, the plan's progress.
snapshot() {
  sf_psql "$1" -c "SELECT md5(string_agg(format('%s %s', e.id, d), ',' ORDER BY e.id)) FROM events e, snowflake_decode(e.id) d"
  sf_psql "$1" -c "SELECT md5(string_agg(format('%s %s %s', o.id, o.id_snowflake, d), ',' ORDER BY o.n)) FROM orders o, snowflake_decode(o.id_snowflake) d"
  sf_psql "$1" -c "SELECT string_agg(format('%s %s %s', step, phase, status), '; ' ORDER BY step) FROM snowflake_migration_plan('orders')"
}
old=${majors[0]}
setup "$old"
# PostgreSQL 15.20 (Debian 15.20-0+deb12u1) records a version in every column's attoptions
# (pg_attver) and its pg_dump carries it over with binary_upgrade_set_next_attribute_versions();
# a newer major whose pg_dump does not know it fails pg_upgrade on any table, with or without
# this extension ('unrecognized parameter "pg_attver"'). Such a hop is reported and skipped,
# and the chain starts again at the next major.
while [ ${#majors[@]} -ge 2 ] &&
  [ "$(sf_psql "pg$old" -c "SELECT count(*) > 0 FROM pg_attribute WHERE attrelid = 'events'::regclass AND array_to_string(attoptions, ',') LIKE '%pg_attver=%'")" = t ] &&
  ! grep -qa pg_attver "${bin[${majors[1]}]}/pg_dump"; do
  echo "  SKIP pg_upgrade $old -> ${majors[1]}: PostgreSQL $old here records column versions (pg_attver) that $("${bin[${majors[1]}]}/postgres" --version | awk '{print $3}')'s pg_upgrade cannot restore"
  stop "$old" "pg$old"
  majors=("${majors[@]:1}")
  old=${majors[0]}
  setup "$old"
done
if [ ${#majors[@]} -lt 2 ]; then
  sf_fail "no pg_upgrade could run"
  sf_summary
  exit
fi
before=$(snapshot "pg$old")
# IDs strictly increase: the last one issued is above every earlier one.
last=$(sf_psql "pg$old" -c "SELECT snowflake_next()")

for new in "${majors[@]:1}"; do
  echo "  PostgreSQL $old -> $new"
  stop "$old" "pg$old"
  mark_before=$(cat "pg$old/pg_snowflake/mark"; stat -c %Y "pg$old/pg_snowflake/mark")
  init "$new" "pg$new"
  if out=$(sf_as_pg "${bin[$new]}/pg_upgrade" -b "${bin[$old]}" -B "${bin[$new]}" -d "$SF_WORK/pg$old" -D "$SF_WORK/pg$new" \
    -U postgres --socketdir="$SF_WORK" --retain 2>&1); then
    sf_pass "pg_upgrade $old -> $new"
  else
    sf_fail "pg_upgrade $old -> $new: $(echo "$out" | tail -15)"
    break
  fi
  # Binary-upgrade mode loads the library in both servers: the generator must stay off.
  logs=$(cat "pg$new"/pg_upgrade_output.d/*/log/pg_upgrade_server.log)
  sf_check_match "both servers knew they ran for pg_upgrade" \
    "snowflake: binary-upgrade mode.*snowflake: binary-upgrade mode" "$(echo "$logs" | tr '\n' ' ')"
  sf_check "... and no generator started there, no snowflake warning" "" \
    "$(echo "$logs" | grep -E 'issuing IDs|resuming above|WARNING: .*snowflake' || true)"
  sf_check "the old cluster's mark untouched by pg_upgrade" "$mark_before" "$(cat "pg$old/pg_snowflake/mark"; stat -c %Y "pg$old/pg_snowflake/mark")"
  sf_check "pg_upgrade does not carry pg_snowflake/ over" "absent" "$([ -e "pg$new/pg_snowflake" ] && echo present || echo absent)"
  # docs/upgrading.md, "Upgrading PostgreSQL (pg_upgrade)": copy it before the new server first starts.
  cp -a "pg$old/pg_snowflake" "pg$new/"

  # The new machine's clock ten minutes behind the last ID: refused, never a lower ID.
  start "$new" "pg$new"
  sf_set_clock "pg$new" -10m
  sf_check_match "clock behind the copied mark: SF001, no ID" "^ERROR:  SF001: clock moved backwards" \
    "$(sf_error "pg$new" "SELECT snowflake_next()")"
  sf_set_clock "pg$new" +0
  first=$(sf_psql "pg$new" -c "SELECT snowflake_next()")
  sf_check "first ID on $new above the last one on $old" "t" "$(sf_psql "pg$new" -c "SELECT $first > $last")"
  sf_check "same machine id" "$machine" "$(sf_psql "pg$new" -c "SELECT snowflake_machine_id($first)")"
  sf_check "old IDs decode the same, migration state unchanged" "$before" "$(snapshot "pg$new")"
  sf_check "rows keyed on $new above every earlier ID" "100 t" \
    "$(sf_psql "pg$new" -F ' ' -c "WITH i AS (INSERT INTO events (n) SELECT n FROM generate_series(1001, 1100) n RETURNING id)
                                    SELECT count(*), bool_and(id > $first) FROM i")"
  sf_check "the guard is still a replica trigger" "R" \
    "$(sf_psql "pg$new" -c "SELECT tgenabled FROM pg_trigger WHERE tgname = 'snowflake_guard'")"
  sf_check_match "the guard refuses a replicated row with this server's machine id" "^ERROR:  SF010:" \
    "$(sf_error "pg$new" "SET session_replication_role = replica;
                           INSERT INTO events VALUES (snowflake_compose(now(), $machine, 0), 0)")"
  sf_psql "pg$new" -c "DELETE FROM events WHERE n > 1000"
  last=$(sf_psql "pg$new" -c "SELECT snowflake_next()")
  old=$new
done

# The migration resumes on the newest major: the indexes as the plan prints them, then the cut-over.
if [ "$SF_FAILED" = 0 ]; then
  sf_psql "pg$old" >/dev/null <<'SQL'
SELECT statement FROM snowflake_migration_plan('orders') WHERE phase = 'index' \gexec
SQL
  if out=$(sf_psql "pg$old" -c "CALL snowflake_migration_cutover('orders')" 2>&1); then
    sf_pass "cut-over on PostgreSQL $old"
  else
    sf_fail "cut-over on PostgreSQL $old: $out"
  fi
  sf_check "keys are snowflake IDs now, references follow" "bigint bigint 301 0" \
    "$(sf_psql "pg$old" -F ' ' -c "SELECT format_type(a.atttypid, a.atttypmod), format_type(b.atttypid, b.atttypmod),
                                          (SELECT count(*) FROM orders), (SELECT count(*) FROM lines l LEFT JOIN orders o ON o.id = l.order_id WHERE o.id IS NULL)
                                   FROM pg_attribute a, pg_attribute b
                                   WHERE a.attrelid = 'orders'::regclass AND a.attname = 'id' AND b.attrelid = 'lines'::regclass AND b.attname = 'order_id'")"
  sf_check "a new order after the cut-over gets an ID above every earlier one" "t" \
    "$(sf_psql "pg$old" -c "INSERT INTO orders (n) VALUES (302) RETURNING id > $last")"
fi
sf_summary
