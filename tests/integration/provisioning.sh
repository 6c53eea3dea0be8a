#!/usr/bin/env bash
# Where a machine id can come from: postgresql.conf, ALTER SYSTEM, the command line, a container's
# environment (examples/docker-entrypoint.sh) and a StatefulSet's pod ordinal (examples/kubernetes-statefulset.yaml).
source "$(dirname "$0")/../lib/servers.sh"
source "$(dirname "$0")/../lib/checks.sh"
sf_workdir

# The setting as the server reports it: value, source, and the file it came from.
setting() { sf_psql p -c "SELECT setting, source, coalesce(regexp_replace(sourcefile, '.*/', ''), '-')
                          FROM pg_settings WHERE name = 'snowflake.machine_id'"; }
issued() { sf_psql p -c "SELECT snowflake_machine_id(snowflake_next())"; }
# The server log from line $1 on: what the latest start wrote.
log_from() { tail -n +"$1" "$SF_WORK/p/server.log"; }
log_lines() { wc -l <"$SF_WORK/p/server.log"; }
restart() { # restart [pg_ctl -o options]
  sf_stop p
  mark=$(($(log_lines) + 1))
  sf_as_pg pg_ctl -D "$SF_WORK/p" -l "$SF_WORK/p/server.log" ${1:+-o "$1"} -w -t 30 start >/dev/null
}

echo "-- postgresql.conf"
sf_init p "shared_preload_libraries = 'snowflake'" "snowflake.machine_id = 11" "max_connections = 10" "shared_buffers = 16MB"
sf_start p
mark=1
sf_psql p -c "CREATE EXTENSION snowflake"
sf_check "read from postgresql.conf" "11|configuration file|postgresql.conf" "$(setting)"
sf_check "IDs carry it" 11 "$(issued)"
sf_check_match "start-up log names it" "issuing IDs with machine id 11" "$(log_from $mark)"

echo "-- ALTER SYSTEM: written to postgresql.auto.conf, which overrides postgresql.conf, at the next start"
sf_psql p -c "ALTER SYSTEM SET snowflake.machine_id = 12" -c "SELECT pg_reload_conf()" >/dev/null
deadline=$((SECONDS + 30)) # the reload is asynchronous
until [ "$(sf_psql p -c "SELECT pending_restart FROM pg_settings WHERE name = 'snowflake.machine_id'")" = t ]; do
  [ $SECONDS -lt $deadline ] || break
  sleep 0.2
done
sf_check "after a reload, the server reports that a restart is pending" "t|11" \
  "$(sf_psql p -c "SELECT pending_restart, setting FROM pg_settings WHERE name = 'snowflake.machine_id'")"
sf_check "... and keeps issuing IDs with its id" 11 "$(issued)"
restart
sf_check "after restart, read from postgresql.auto.conf" "12|configuration file|postgresql.auto.conf" "$(setting)"
sf_check "IDs carry it" 12 "$(issued)"
sf_check_match "start-up log names it" "issuing IDs with machine id 12" "$(log_from $mark)"

echo "-- command line (postgres -c): overrides both files"
restart "-c snowflake.machine_id=13"
sf_check "read from the command line" "13|command line|-" "$(setting)"
sf_check "IDs carry it" 13 "$(issued)"
sf_check_match "start-up log names it" "issuing IDs with machine id 13" "$(log_from $mark)"

echo "-- ALTER SYSTEM RESET: postgresql.conf decides again"
sf_psql p -c "ALTER SYSTEM RESET snowflake.machine_id"
restart
sf_check "back to postgresql.conf" "11|configuration file|postgresql.conf" "$(setting)"

echo "-- unset (-1 on the command line): the guard has no id to protect and lets replicated rows through"
restart "-c snowflake.machine_id=-1"
sf_check "unset" "-1" "$(sf_psql p -c "SHOW snowflake.machine_id")"
sf_check "a replicated row with any machine id passes" 2 "$(sf_psql p -c "
  CREATE TABLE guarded (id bigint PRIMARY KEY);
  CREATE TRIGGER g BEFORE INSERT ON guarded FOR EACH ROW EXECUTE FUNCTION snowflake_guard_replicated();
  ALTER TABLE guarded ENABLE REPLICA TRIGGER g;
  SET session_replication_role = replica;
  INSERT INTO guarded VALUES (snowflake_compose(now(), 0)), (snowflake_compose(now(), 11));
  SELECT count(*) FROM guarded")"
sf_stop p

echo "-- container entrypoint: the id from the environment"
# The server user must be able to read the script; it is run as the container would run it (sh).
cp "$SF_ROOT/examples/docker-entrypoint.sh" "$SF_WORK/entrypoint.sh"
chmod 755 "$SF_WORK/entrypoint.sh"
# entrypoint VAR=value... -- ARGS...: runs it with a stand-in for the next entrypoint that prints its arguments.
printf '#!/bin/sh\necho "$@"\n' >"$SF_WORK/next.sh"
chmod 755 "$SF_WORK/next.sh"
entrypoint() {
  local vars=()
  while [ "$1" != -- ]; do vars+=("$1"); shift; done
  shift
  env -i PATH="$PATH" SNOWFLAKE_NEXT_ENTRYPOINT="$SF_WORK/next.sh" "${vars[@]}" sh "$SF_WORK/entrypoint.sh" "$@" 2>&1
}
sf_check "SNOWFLAKE_MACHINE_ID=7 is added to the server's command line" "postgres -D /data -c snowflake.machine_id=7" \
  "$(entrypoint SNOWFLAKE_MACHINE_ID=7 -- postgres -D /data | grep -v '^snowflake-entrypoint:')"
sf_check "... also when the command is options alone (the official entrypoint adds postgres)" "-c fsync=off -c snowflake.machine_id=0" \
  "$(entrypoint SNOWFLAKE_MACHINE_ID=0 -- -c fsync=off | grep -v '^snowflake-entrypoint:')"
sf_check "another command is left alone" "bash -l" "$(entrypoint SNOWFLAKE_MACHINE_ID=7 -- bash -l)"
sf_check "without the variables nothing is added" "postgres" "$(entrypoint HOSTNAME=db-3 -- postgres)"
sf_check "SNOWFLAKE_MACHINE_ID_BASE=100 on host db-2 gives 102" "postgres -c snowflake.machine_id=102" \
  "$(entrypoint SNOWFLAKE_MACHINE_ID_BASE=100 HOSTNAME=db-2 -- postgres | grep -v '^snowflake-entrypoint:')"
for bad in "SNOWFLAKE_MACHINE_ID=1024" "SNOWFLAKE_MACHINE_ID=-1" "SNOWFLAKE_MACHINE_ID=abc" "SNOWFLAKE_MACHINE_ID=010" \
  "SNOWFLAKE_MACHINE_ID=" "SNOWFLAKE_MACHINE_ID=1e3" "SNOWFLAKE_MACHINE_ID_BASE=x HOSTNAME=db-1" \
  "SNOWFLAKE_MACHINE_ID_BASE=1000 HOSTNAME=db-24" "SNOWFLAKE_MACHINE_ID_BASE=10 HOSTNAME=db" \
  "SNOWFLAKE_MACHINE_ID_BASE=10 HOSTNAME=db-x" "SNOWFLAKE_MACHINE_ID=1 SNOWFLAKE_MACHINE_ID_BASE=1"; do
  # shellcheck disable=SC2086  # word splitting wanted: each case is one or more VAR=value
  out=$(entrypoint $bad -- postgres) && status=0 || status=$?
  if [ "$status" = 64 ] && [[ "$out" == snowflake-entrypoint:* ]] && [[ "$out" != *postgres* ]]; then
    sf_pass "refused before the server starts: $bad"
  else
    sf_fail "not refused: $bad (status $status, output [$out])"
  fi
done

# A real server started through the entrypoint (its environment overrides postgresql.conf's 11).
# serve VAR=value...: starts postgres on $SF_WORK/p through the entrypoint, in the background.
serve() {
  mark=$(($(log_lines) + 1))
  sf_as_pg env "$@" SNOWFLAKE_NEXT_ENTRYPOINT= sh "$SF_WORK/entrypoint.sh" postgres -D "$SF_WORK/p" \
    >>"$SF_WORK/p/server.log" 2>&1 &
  local deadline=$((SECONDS + 30))
  until sf_as_pg pg_isready -q -h "$SF_WORK/p" -U postgres; do
    [ $SECONDS -lt $deadline ] || { sf_fail "server did not start through the entrypoint"; return 1; }
    sleep 0.2
  done
}
serve SNOWFLAKE_MACHINE_ID=14
sf_check "a server started through the entrypoint uses SNOWFLAKE_MACHINE_ID" "14|command line|-" "$(setting)"
sf_check "IDs carry it" 14 "$(issued)"
sf_check_match "start-up log names it" "issuing IDs with machine id 14" "$(log_from $mark)"
sf_stop p
wait

echo "-- Kubernetes StatefulSet: base + pod ordinal"
# The example's StatefulSet name, replica count and base, read from the YAML itself.
read -r name replicas base < <(python3 - "$SF_ROOT/examples/kubernetes-statefulset.yaml" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
sts = next(d for d in docs if d["kind"] == "StatefulSet")
env = {e["name"]: e.get("value") for e in sts["spec"]["template"]["spec"]["containers"][0]["env"]}
print(sts["metadata"]["name"], sts["spec"]["replicas"], env["SNOWFLAKE_MACHINE_ID_BASE"])
PY
)
sf_check_match "the example parses as YAML, with a StatefulSet and a base" "^[a-z-]+ [0-9]+ [0-9]+$" "$name $replicas $base"
ids=()
for ((i = 0; i < replicas; i++)); do
  ids+=("$(entrypoint SNOWFLAKE_MACHINE_ID_BASE="$base" HOSTNAME="$name-$i" -- postgres | grep -v "^snowflake-entrypoint:" | sed -n 's/.*snowflake.machine_id=\([0-9]*\)$/\1/p')")
done
sf_check "its $replicas pods get ids base + ordinal" "$(seq -s ' ' "$base" $((base + replicas - 1)))" "${ids[*]}"
last=$((replicas - 1))
serve SNOWFLAKE_MACHINE_ID_BASE="$base" HOSTNAME="$name-$last"
sf_check "pod $name-$last's server issues IDs with machine id $((base + last))" $((base + last)) "$(issued)"
sf_stop p
wait
sf_summary
