# Shared by the scripts and integration tests: dependencies, build, and throwaway servers run as postgres.
# Source it; it sets `set -euo pipefail`.
set -euo pipefail

SF_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# PG_CONFIG names the PostgreSQL to build for and test on: `bash scripts/postgres.sh MAJOR` prints
# it (SF_PG_PRIVATE=DIR there gives a private copy, so that work in parallel does not share one
# installed snowflake.so). Default: the installed 15.
PG_CONFIG=${PG_CONFIG:-$(bash "$SF_ROOT/scripts/postgres.sh" 15)}
PG_BIN=$("$PG_CONFIG" --bindir)
PG_MAJOR=$("$PG_CONFIG" --version | sed 's/^PostgreSQL \([0-9]*\).*/\1/')
export PG_CONFIG
export PATH="$PG_BIN:$PATH"
FAKETIME_LIB=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1

sf_sudo() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Installs, from Debian, whatever of the build and test dependencies is missing.
sf_install_deps() {
  local need=()
  [ -f /usr/include/postgresql/libpq-fe.h ] || need+=(libpq-dev) # the lease worker links libpq
  [ -f "$FAKETIME_LIB" ] || need+=(libfaketime)
  # A PostgreSQL built with LLVM (Debian's 15) has PGXS build LLVM bitcode for JIT, with its clang.
  local global clang
  global=$(dirname "$("$PG_CONFIG" --pgxs)")/../Makefile.global
  clang=$(sed -n 's/^CLANG = //p' "$global")
  if grep -q '^with_llvm[[:space:]]*= yes' "$global" && ! command -v "$clang" >/dev/null; then
    need+=("$(basename "$clang")")
  fi
  [ -f /usr/include/gtest/gtest.h ] || need+=(libgtest-dev)
  [ -f /usr/include/benchmark/benchmark.h ] || need+=(libbenchmark-dev)
  command -v g++ >/dev/null || need+=(g++)
  command -v make >/dev/null || need+=(make)
  python3 -c 'import yaml' 2>/dev/null || need+=(python3-yaml) # checks the Kubernetes example
  [ ${#need[@]} = 0 ] && return 0
  echo "installing: ${need[*]}"
  sf_sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
  sf_sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
    "${need[@]}" >/dev/null
}

# Builds and installs the extension into $PG_CONFIG's PostgreSQL. The objects of another
# PostgreSQL (a stamp names it) are cleaned first.
sf_build_install() {
  local stamp=$SF_ROOT/.pg_config_built
  if [ "$(cat "$stamp" 2>/dev/null)" != "$PG_CONFIG" ]; then
    make -C "$SF_ROOT" -s clean PG_CONFIG="$PG_CONFIG" >/dev/null
    echo "$PG_CONFIG" >"$stamp"
  fi
  make -C "$SF_ROOT" -s -j2 PG_CONFIG="$PG_CONFIG" >/dev/null
  if [ -w "$("$PG_CONFIG" --pkglibdir)" ]; then
    make -C "$SF_ROOT" -s install PG_CONFIG="$PG_CONFIG" >/dev/null
  else
    sf_sudo make -C "$SF_ROOT" -s install PG_CONFIG="$PG_CONFIG" >/dev/null
  fi
}

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

# Test reporting: each check is one line, counted for the final summary.
SF_PASSED=0
SF_FAILED=0
sf_pass() { SF_PASSED=$((SF_PASSED + 1)); echo "  ok   $*"; }
sf_fail() { SF_FAILED=$((SF_FAILED + 1)); echo "  FAIL $*"; }
# sf_check DESCRIPTION EXPECTED ACTUAL
sf_check() {
  if [ "$2" = "$3" ]; then sf_pass "$1"; else sf_fail "$1: expected [$2], got [$3]"; fi
}
# sf_check_match DESCRIPTION REGEX TEXT
sf_check_match() {
  if [[ "$3" =~ $2 ]]; then sf_pass "$1"; else sf_fail "$1: [$3] does not match /$2/"; fi
}
# Integration tests end with this; tests/run-all reads the line.
sf_summary() {
  echo "$(basename "$0"): $SF_PASSED passed, $SF_FAILED failed"
  [ "$SF_FAILED" = 0 ]
}
