# Throwaway PostgreSQL servers for tests (and the demo and benchmarks): run as the postgres OS
# user in a directory under /tmp, removed at exit; clocks under libfaketime. Source it: it loads
# scripts/env.sh (PG_CONFIG, PATH) first if that is not loaded yet, and sets `set -euo pipefail`.
set -euo pipefail
declare -F sf_build_install >/dev/null || source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/env.sh"

# Servers refuse to run as root: run them as the postgres OS user when we are root.
sf_as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# A fresh directory the server user owns, removed at exit (with every server in it stopped).
sf_workdir() {
  SF_WORK=$(mktemp -d /tmp/snowflake-test.XXXXXX)
  chmod 755 "$SF_WORK"
  [ "$(id -u)" = 0 ] && chown postgres: "$SF_WORK"
  trap sf_cleanup EXIT
}

sf_cleanup() {
  local d
  for d in "$SF_WORK"/*/; do
    [ -f "$d/postmaster.pid" ] && sf_as_pg pg_ctl -D "$d" -m immediate stop >/dev/null 2>&1 || true
  done
  [ -n "${SF_KEEP:-}" ] && { echo "kept $SF_WORK"; return; }
  rm -rf "$SF_WORK"
}

# sf_init NAME [postgresql.conf lines...]: a new cluster $SF_WORK/NAME reached only by its own socket.
sf_init() {
  local dir=$SF_WORK/$1
  shift
  sf_as_pg initdb -D "$dir" -U postgres -A trust --no-sync >/dev/null
  {
    echo "listen_addresses = ''"
    echo "unix_socket_directories = '$dir'"
    echo "fsync = on"
    local line
    for line in "$@"; do echo "$line"; done
  } | sf_as_pg tee -a "$dir/postgresql.conf" >/dev/null
}

# sf_start NAME [env VAR=value...]: start it (optionally under an environment, e.g. libfaketime); returns pg_ctl's status.
sf_start() {
  local dir=$SF_WORK/$1
  shift
  sf_as_pg env "$@" pg_ctl -D "$dir" -l "$dir/server.log" -w -t 30 start >/dev/null
}

sf_stop() { sf_as_pg pg_ctl -D "$SF_WORK/$1" -m "${2:-fast}" -w stop >/dev/null; }

# sf_psql NAME [psql args...]: unaligned, quiet, stops at the first error; SF_PSQL_TIMEOUT=N bounds it.
sf_psql() {
  local dir=$SF_WORK/$1
  shift
  sf_as_pg ${SF_PSQL_TIMEOUT:+timeout "$SF_PSQL_TIMEOUT"} psql -h "$dir" -U postgres -d postgres -X -q -A -t -v ON_ERROR_STOP=1 "$@"
}

# sf_wait_until NAME SECONDS SQL: until SQL returns t on NAME (polled every 50 ms); fails after SECONDS.
sf_wait_until() {
  local deadline=$((SECONDS + $2))
  until [ "$(sf_psql "$1" -c "$3" 2>/dev/null)" = t ]; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.05
  done
}

# sf_error NAME SQL: the error psql reports for SQL, verbose so that it carries the SQLSTATE
# ("ERROR:  55000: ..."); empty when SQL succeeds.
sf_error() { sf_psql "$1" -v VERBOSITY=verbose -c "$2" 2>&1 >/dev/null || true; }

# The environment that puts a server's wall clock under the control of $SF_WORK/NAME.faketime.
sf_faketime_env() {
  local file=$SF_WORK/$1.faketime
  echo "+0" | sf_as_pg tee "$file" >/dev/null
  echo "LD_PRELOAD=$FAKETIME_LIB FAKETIME_TIMESTAMP_FILE=$file FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1"
}

# sf_set_clock NAME OFFSET: e.g. -5s or +0; takes effect at the server's next clock read.
sf_set_clock() { echo "$2" | sf_as_pg tee "$SF_WORK/$1.faketime" >/dev/null; }
