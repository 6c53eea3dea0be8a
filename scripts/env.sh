# The environment to build and test snowflake in: which PostgreSQL (PG_CONFIG), the packages the
# build and the tests need, and building and installing the extension. Source it; it sets
# `set -euo pipefail`. The test harness (throwaway servers, checks) is tests/lib/.
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
  sf_apt_install "${need[@]}"
}

# sf_app_deps [EXTRA-PACKAGE...] -- MODULE...: for the tests that run applications: Debian's nodejs
# and npm, python3-MODULE for each Python module Debian's /usr/bin/python3 cannot import, and the
# extra packages named before --; installs those lacking.
sf_app_deps() {
  local need=() m
  while [ $# -gt 0 ] && [ "$1" != -- ]; do need+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  command -v node >/dev/null || need+=(nodejs)
  command -v npm >/dev/null || need+=(npm)
  for m in "$@"; do /usr/bin/python3 -c "import $m" 2>/dev/null || need+=("python3-$m"); done
  sf_apt_install "${need[@]}"
}

# sf_npm_install DIR PACKAGE...: the (pinned) npm packages into DIR/node_modules; no install scripts
# run. Reused across runs when DIR is kept: nothing is fetched when DIR/installed names every package
# asked for, so a test that needs part of another's set (footprint.sh of orms.sh's) shares its
# directory. Otherwise npm installs what is there (other versions of the packages asked for left
# out) and what is asked for: npm prunes what it is not asked to install.
sf_npm_install() {
  local dir=$1 have p missing=0
  shift
  have=" $(cat "$dir/installed" 2>/dev/null) "
  for p in "$@"; do [[ "$have" == *" $p "* ]] || missing=1; done
  [ $missing = 0 ] && return 0
  # What is there and not asked for under another version, then what is asked for.
  set -- $(printf '%s\n' $have | awk -v asked=" $* " 'NF { n = $0; sub(/@[^@]*$/, "", n); if (asked !~ " " n "@") print }') "$@"
  echo "installing from npm into $dir: $*"
  mkdir -p "$dir"
  (cd "$dir" && npm install --prefix "$dir" --no-save --no-audit --no-fund --ignore-scripts --silent "$@" >/dev/null)
  echo "$*" >"$dir/installed"
}

# sf_apt_install PACKAGE...: installs the named Debian packages (nothing when none is named).
sf_apt_install() {
  [ $# = 0 ] && return 0
  echo "installing: $*"
  sf_sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
  sf_sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" >/dev/null
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
