#!/usr/bin/env bash
# Start-up cases of snowflake.machine_id and shared_preload_libraries, against real servers.
source "$(dirname "$0")/../lib/servers.sh"
source "$(dirname "$0")/../lib/checks.sh"
sf_workdir


echo "-- machine id set: the log names it, IDs carry it"
sf_init good "shared_preload_libraries = 'snowflake'" "snowflake.machine_id = 1023"
sf_start good
sf_psql good -c "CREATE EXTENSION snowflake"
sf_check "an ID carries machine id 1023" "1023" "$(sf_psql good -c "SELECT snowflake_machine_id(snowflake_next())")"
sf_check_match "start-up log names the machine id" "issuing IDs with machine id 1023" "$(cat "$SF_WORK/good/server.log")"
sf_check_match "ALTER SYSTEM refuses an out-of-range id" "invalid value for parameter \"snowflake.machine_id\": \"1024\"" \
  "$(sf_error good "ALTER SYSTEM SET snowflake.machine_id = 1024")"
sf_check_match "the setting is fixed while the server runs" "cannot be changed without restarting" \
  "$(sf_error good "SET snowflake.machine_id = 3")"
sf_stop good

echo "-- machine id unset: the server starts, warns, and only snowflake_next() fails"
sf_init unset "shared_preload_libraries = 'snowflake'"
if sf_start unset; then sf_pass "server starts without a machine id"; else sf_fail "server did not start without a machine id"; fi
sf_check_match "start-up log warns that it is unset" "WARNING: +snowflake.machine_id is not set" "$(cat "$SF_WORK/unset/server.log")"
sf_psql unset -c "CREATE EXTENSION snowflake"
err=$(sf_error unset "SELECT snowflake_next()")
sf_check_match "snowflake_next() fails with 55000 naming the setting" "ERROR: +55000: snowflake.machine_id is not set" "$err"
sf_check_match "... with a hint on how to set it" "HINT: +Set snowflake.machine_id to an integer from 0 to 1023" "$err"
sf_check "decode and compose still work" "4198401|1" \
  "$(sf_psql unset -c "SELECT snowflake_compose('2024-01-01 00:00:00.001+00', 1, 1), (snowflake_decode(4198401)).machine_id")"
sf_stop unset

echo "-- not preloaded: CREATE EXTENSION works, snowflake_next() names shared_preload_libraries"
sf_init plain "snowflake.machine_id = 5"
sf_start plain
sf_psql plain -c "CREATE EXTENSION snowflake"
sf_check_match "snowflake_next() fails with 55000 naming shared_preload_libraries" \
  "ERROR: +55000: .*shared_preload_libraries" "$(sf_error plain "SELECT snowflake_next()")"
sf_check "decode works without preloading" "5" "$(sf_psql plain -c "SELECT snowflake_machine_id(snowflake_compose(now(), 5))")"
sf_stop plain

echo "-- invalid values stop the server from starting, with a message naming the setting"
# Every form PostgreSQL's integer parser would read as something else ("010" is octal 8, "099" no
# number at all, "0x10" 16, "1.5" 2, " 7" 7) or not at all: a machine id means what it says or nothing.
n=0
for value in 1024 -2 abc 1.5 0x10 "''" 010 099 "'010'" "'0010'" 00 -0 "'+7'" "' 7'" "'7 '" "'1e2'" 7ms "'1,5'"; do
  name=bad$((++n))
  sf_init $name "shared_preload_libraries = 'snowflake'" "snowflake.machine_id = $value"
  if sf_start $name 2>/dev/null; then
    sf_fail "server started with snowflake.machine_id = $value (log: $(grep -o 'machine id [0-9]*' "$SF_WORK/$name/server.log" | head -1))"
    sf_stop $name
  else
    sf_check_match "postgresql.conf value $value refused at start" \
      "FATAL: +invalid value for parameter \"snowflake.machine_id\"" "$(cat "$SF_WORK/$name/server.log")"
  fi
  rm -rf "$SF_WORK/$name"
done
for value in 0 1023; do
  sf_init ok$value "shared_preload_libraries = 'snowflake'" "snowflake.machine_id = $value"
  sf_start ok$value
  sf_check "plain decimal $value starts and is used" "$value|$value" \
    "$(sf_psql ok$value -c "CREATE EXTENSION snowflake" -c "SELECT current_setting('snowflake.machine_id'), snowflake_machine_id(snowflake_next())")"
  sf_stop ok$value
done

echo "-- ALTER SYSTEM refuses each such value at once, not at the next restart"
sf_start good
for value in "'010'" "'099'" "'0x10'" "'1.5'" "'1e2'" "'7ms'" "'+7'" "'-0'" "' 7'" "'7 '" "''" "'abc'" 1024 -2 1.5; do
  sf_check_match "ALTER SYSTEM SET snowflake.machine_id = $value refused" \
    "ERROR: +22023: invalid value for parameter \"snowflake.machine_id\"" \
    "$(sf_error good "ALTER SYSTEM SET snowflake.machine_id = $value")"
done
sf_check "... and postgresql.auto.conf holds none of them" "" \
  "$(grep machine_id "$SF_WORK/good/postgresql.auto.conf" || true)"
# A plain number is accepted (for the next start); SQL reads an unquoted 010 as the number 10, and so
# does the file ALTER SYSTEM writes.
sf_psql good -c "ALTER SYSTEM SET snowflake.machine_id = 010"
sf_check "unquoted 010 is the SQL number 10, written as such" "snowflake.machine_id = '10'" \
  "$(grep machine_id "$SF_WORK/good/postgresql.auto.conf")"
sf_psql good -c "ALTER SYSTEM SET snowflake.machine_id = '7'"
sf_check_match "SET is refused (a restart is needed for any value)" "cannot be changed without restarting" \
  "$(sf_error good "SET snowflake.machine_id = '010'")"
sf_check_match "... and so is set_config()" "cannot be changed without restarting" \
  "$(sf_error good "SELECT set_config('snowflake.machine_id', '010', false)")"
sf_stop good
sf_start good
sf_check "the value ALTER SYSTEM accepted is the one in force after a restart" "7" \
  "$(sf_psql good -c "SELECT snowflake_machine_id(snowflake_next())")"
sf_stop good

sf_init cmdline "shared_preload_libraries = 'snowflake'" "snowflake.machine_id = 1"
if sf_as_pg pg_ctl -D "$SF_WORK/cmdline" -l "$SF_WORK/cmdline/server.log" -o "-c snowflake.machine_id=5000" -w -t 30 start \
  >/dev/null 2>&1; then
  sf_fail "server started with -c snowflake.machine_id=5000"
  sf_stop cmdline
else
  sf_check_match "command-line value 5000 refused at start" "FATAL: +invalid value for parameter \"snowflake.machine_id\": \"5000\"" \
    "$(cat "$SF_WORK/cmdline/server.log")"
fi
rm -f "$SF_WORK/cmdline/server.log"
if sf_as_pg pg_ctl -D "$SF_WORK/cmdline" -l "$SF_WORK/cmdline/server.log" -o "-c snowflake.machine_id=010" -w -t 30 start \
  >/dev/null 2>&1; then
  sf_fail "server started with -c snowflake.machine_id=010"
  sf_stop cmdline
else
  sf_check_match "command-line value 010 refused at start" "FATAL: +invalid value for parameter \"snowflake.machine_id\": \"010\"" \
    "$(cat "$SF_WORK/cmdline/server.log")"
fi
sf_summary
