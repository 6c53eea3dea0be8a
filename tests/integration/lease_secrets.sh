#!/usr/bin/env bash
# Secrets of snowflake.lease_conninfo in errors: a tenant (any role on a node) calling snowflake_next()
# while the lease worker cannot reach the coordination database sees that it could not be reached
# and what to check, never a part of the conninfo (password, user, host, socket path); libpq's own
# message, which may quote them, goes to the server log only.
source "$(dirname "$0")/../lib/servers.sh"
source "$(dirname "$0")/../lib/checks.sh"
sf_workdir

# tenant_error NODE: the error a non-superuser sees from snowflake_next(), verbose, on one line.
tenant_error() {
  sf_as_pg psql -h "$SF_WORK/$1" -U tenant -d postgres -X -q -A -t -v VERBOSITY=verbose \
    -c "SELECT snowflake_next()" 2>&1 | tr '\n' ' ' || true
}
# wait_for_log NODE PATTERN: until the server log has the pattern (10 s at most).
wait_for_log() {
  local deadline=$((SECONDS + 10))
  until grep -q "$2" "$SF_WORK/$1/server.log" || [ $SECONDS -ge $deadline ]; do sleep 0.2; done
}

echo "-- a malformed conninfo whose password libpq quotes in its parse error"
sf_init bad "shared_preload_libraries = 'snowflake'" "snowflake.lease_machine_ids = '100-103'" \
  "snowflake.lease_conninfo = 'postgresql://node_secret_user:Sup3r%ZZSecret@/postgres?host=$SF_WORK/coord_secret_dir'"
sf_start bad
sf_psql bad -c "CREATE EXTENSION snowflake" -c "CREATE ROLE tenant LOGIN"
wait_for_log bad 'could not claim a machine id'
err=$(tenant_error bad)
sf_check_match "the tenant gets SF030, told the coordination database could not be reached" \
  "SF030: no machine id is leased to this server.*DETAIL: +.*coordination database could not be reached" "$err"
sf_check "no part of the conninfo in what the tenant sees" "" \
  "$(echo "$err" | grep -oE 'Sup3r|ZZSecret|node_secret_user|coord_secret_dir|postgresql://' | sort -u | tr '\n' ' ')"
sf_check_match "libpq's message is in the server log" "could not claim a machine id: .*percent-encoded" \
  "$(cat "$SF_WORK/bad/server.log")"

echo "-- a conninfo that parses but reaches nothing: no host, socket path or user either"
sf_init away "shared_preload_libraries = 'snowflake'" "snowflake.lease_machine_ids = '100-103'" \
  "snowflake.lease_conninfo = 'host=$SF_WORK/coord_secret_dir user=node_secret_user password=Sup3rSecret dbname=postgres connect_timeout=2'"
sf_start away
sf_psql away -c "CREATE EXTENSION snowflake" -c "CREATE ROLE tenant LOGIN"
wait_for_log away 'could not claim a machine id'
err=$(tenant_error away)
sf_check_match "the tenant gets SF030, told the coordination database could not be reached" \
  "SF030: no machine id is leased to this server.*DETAIL: +.*coordination database could not be reached" "$err"
sf_check "no part of the conninfo in what the tenant sees" "" \
  "$(echo "$err" | grep -oE 'Sup3r|node_secret_user|coord_secret_dir' | sort -u | tr '\n' ' ')"
sf_check_match "libpq's message (with the socket path) is in the server log" \
  "could not claim a machine id: .*coord_secret_dir" "$(cat "$SF_WORK/away/server.log")"

sf_summary
