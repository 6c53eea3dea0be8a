#!/usr/bin/env bash
# docs/durability.md, "Recovering from a clock that was set ahead", followed step by step under libfaketime: IDs
# issued while the clock was 30 days ahead, the clock corrected, a restart refused with SF005, and
# the way out (a machine id never used, the mark removed with the server stopped).
source "$(dirname "$0")/../lib/servers.sh"
source "$(dirname "$0")/../lib/checks.sh"
sf_workdir
sf_init node "shared_preload_libraries = 'snowflake'" "snowflake.machine_id = 9"
clock_env=$(sf_faketime_env node)
start() { sf_start node TZ=UTC $clock_env; }
mark=$SF_WORK/node/pg_snowflake/mark
start
sf_psql node -c "CREATE EXTENSION snowflake" -c "CREATE TABLE ids (id bigint PRIMARY KEY, made text)"
take() { sf_psql node -c "INSERT INTO ids SELECT snowflake_next(), '$2' FROM generate_series(1, $1) RETURNING 1" | wc -l; }
take 1000 before >/dev/null

echo "-- the clock runs 30 days ahead while IDs are issued, then is corrected and the server restarted"
sf_set_clock node +30d
take 1000 ahead >/dev/null
sf_check "IDs made meanwhile carry a time 30 days ahead" "t" \
  "$(sf_psql node -c "SELECT min(snowflake_timestamp(id)) > timestamptz '$(date -u '+%F %T+00')' + interval '29 days' FROM ids WHERE made = 'ahead'")"
# Corrected while the server runs: SF001, whose hint points to the procedure once the step is large.
sf_set_clock node +0
err=$(sf_error node "SELECT snowflake_next()")
sf_check_match "corrected while running: SF001" "ERROR: +SF001: clock moved backwards" "$err"
sf_check_match "... the hint names the docs page and section" "HINT: +IDs resume once the clock catches up. If the clock is right now.*see docs/durability.md, section \"Recovering from a clock that was set ahead\"" "$err"
sf_set_clock node +30d
sf_stop node
sf_set_clock node +0
start
err=$(sf_error node "SELECT snowflake_next()")
sf_check_match "after the restart snowflake_next() fails with SF005" \
  "ERROR: +SF005: the snowflake durable mark \"pg_snowflake/mark\" is too far ahead of the clock" "$err"
sf_check_match "... the hint names the docs page and section" "docs/durability.md, section \"Recovering from a clock that was set ahead\"" "$err"
sf_check_match "the start-up log warns" "WARNING: +snowflake: the durable mark .* is too far ahead of the clock" \
  "$(cat "$SF_WORK/node/server.log")"

echo "-- step 1: is the clock wrong now? Then correct it and restart (here: the clock was right 30 days ahead)"
# The server cannot tell "the clock is behind now" from "the clock was ahead before": the same
# restart with the clock 30 days ahead again issues IDs, above all earlier ones.
sf_stop node
sf_set_clock node +30d
start
before=$(sf_psql node -c "SELECT max(id) FROM ids")
after=$(sf_psql node -c "INSERT INTO ids VALUES (snowflake_next(), 'ahead') RETURNING id")
sf_check "with the clock where the mark is, IDs resume above all earlier ones" "t" "$([ "$after" -gt "$before" ] && echo t)"
sf_stop node
sf_set_clock node +0
start
sf_check_match "the clock corrected again: SF005 again" "ERROR: +SF005" "$(sf_error node "SELECT snowflake_next()")"

echo "-- step 2: the clock is right now, so IDs with future times exist under machine id 9"
sf_check "the query of docs/durability.md finds them" "1001|9" \
  "$(sf_psql node -c "SELECT count(*), min(snowflake_machine_id(id)) FROM ids WHERE id >= snowflake_compose(now() + interval '1 minute')")"

echo "-- step 3: a machine id never used, the mark removed with the server stopped"
sf_psql node -c "ALTER SYSTEM SET snowflake.machine_id = 10"
sf_stop node
sf_as_pg rm "$mark"
start
sf_check_match "the start-up log names the new machine id" "issuing IDs with machine id 10" "$(cat "$SF_WORK/node/server.log")"
sf_check "IDs are issued again, with machine id 10" "1000|10" \
  "$(sf_psql node -c "WITH n AS (INSERT INTO ids SELECT snowflake_next(), 'after' FROM generate_series(1, 1000) RETURNING id)
                      SELECT count(*), min(snowflake_machine_id(id)) FROM n")"
sf_check "no ID of machine 10 equals any earlier ID (the primary key held)" "3001|3001" \
  "$(sf_psql node -c "SELECT count(*), count(DISTINCT id) FROM ids")"
sf_check "their times are the corrected clock's" "t" \
  "$(sf_psql node -c "SELECT bool_and(snowflake_timestamp(id) BETWEEN now() - interval '1 minute' AND now() + interval '1 minute') FROM ids WHERE made = 'after'")"
sf_check "the mark is near the clock again" "t" \
  "$(sf_psql node -c "SELECT durable_mark < now() + interval '1 minute' FROM snowflake_status()")"
# The cost docs/durability.md states: the rows made ahead keep IDs above every new one until their time comes.
sf_check "the cost: rows made while ahead still sort after every new row" "t" \
  "$(sf_psql node -c "SELECT max(id) FILTER (WHERE made = 'after') < min(id) FILTER (WHERE made = 'ahead') FROM ids")"
sf_check "restarts keep working" "10" "$(sf_stop node && start && sf_psql node -c "SELECT snowflake_machine_id(snowflake_next())")"
sf_summary
