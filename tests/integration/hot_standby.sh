#!/usr/bin/env bash
# A hot standby shares its primary's machine id: snowflake_next() there is an error, decode works,
# and after promotion it issues IDs above everything the primary had issued before the backup.
source "$(dirname "$0")/../lib/servers.sh"
source "$(dirname "$0")/../lib/checks.sh"
sf_workdir
sf_init primary "shared_preload_libraries = 'snowflake'" "snowflake.machine_id = 11" "wal_level = replica"
sf_start primary
sf_psql primary -c "CREATE EXTENSION snowflake" -c "CREATE TABLE t (id bigint PRIMARY KEY DEFAULT snowflake_next())" \
  -c "INSERT INTO t SELECT FROM generate_series(1, 10000)"

sf_as_pg pg_basebackup -h "$SF_WORK/primary" -U postgres -D "$SF_WORK/standby" -R -X stream >/dev/null 2>&1
rm -f "$SF_WORK/standby/.s.PGSQL.5432.lock"  # the primary's, copied with the data directory
sf_as_pg sed -i "s|^unix_socket_directories = .*|unix_socket_directories = '$SF_WORK/standby'|" "$SF_WORK/standby/postgresql.conf"
sf_start standby
sf_check "the standby is in recovery" "t" "$(sf_psql standby -c "SELECT pg_is_in_recovery()")"
err=$(sf_error standby "SELECT snowflake_next()")
sf_check_match "snowflake_next() on the standby fails with 25006" "ERROR: +25006: cannot issue snowflake IDs during recovery" "$err"
sf_check_match "... explaining the shared machine id" "could collide with the primary" "$err"
sf_check "decode works on the standby" "10000|11" \
  "$(sf_psql standby -c "SELECT count(*), min(snowflake_machine_id(id)) FROM t")"

sf_stop primary
sf_as_pg pg_ctl -D "$SF_WORK/standby" -w promote >/dev/null
new=$(sf_psql standby -c "INSERT INTO t DEFAULT VALUES RETURNING id")
sf_check "after promotion it issues IDs above every earlier one" "t" \
  "$(sf_psql standby -c "SELECT $new > max(id) FROM t WHERE id <> $new")"
sf_summary
