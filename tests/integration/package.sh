#!/usr/bin/env bash
# The Debian package alone: build it (scripts/package.sh), install it with apt-get into the system's
# PostgreSQL 15 with no snowflake files of a checkout there, and make IDs with it; then remove it
# and put back whatever was there before.
#
# A package installs into the system's PostgreSQL, so this test must touch it: files a `make install`
# left there (tests/run-all.sh's own, when it runs on the system's PostgreSQL) are moved aside first,
# so that only the package's files can answer CREATE EXTENSION, and moved back at exit, checksums
# compared. Two runs of this test at once wait for each other (flock); a run interrupted with the
# package installed is cleaned up by the next. Other tests running at the same moment against the
# system's PostgreSQL 15 (not a private copy, see docs/development.md) can miss snowflake's files
# for the few seconds between the removal and the restore.
suite_pg_config=${PG_CONFIG:-${PG_BIN:-/usr/lib/postgresql/15/bin}/pg_config}
# The package is for Debian's PostgreSQL 15, whatever the suite runs on.
PG_BIN=/usr/lib/postgresql/15/bin
PG_CONFIG=$PG_BIN/pg_config
source "$(dirname "$0")/../lib/servers.sh"
source "$(dirname "$0")/../lib/checks.sh"
cd /tmp
PKG=postgresql-15-snowflake

suite_major=$("$suite_pg_config" --version 2>/dev/null | sed -n 's/^PostgreSQL \([0-9]*\).*/\1/p')
if [ -n "$suite_major" ] && [ "$suite_major" != 15 ]; then
  echo "  skipped: the package is built for PostgreSQL 15 only; this run is on $suite_major"
  sf_summary
  exit
fi

echo "== building the package"
deb=$(bash "$SF_ROOT/scripts/package.sh" | tail -1)
version=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$SF_ROOT/snowflake.control")
sf_check_match "scripts/package.sh made ${PKG}_<default_version>-N_<arch>.deb in dist/" "/dist/${PKG}_${version//./\\.}-[0-9]+_[a-z0-9]+\.deb$" "$deb"

sf_workdir
exec 8>/tmp/snowflake-package-test.lock
flock 8

apt_() { sf_sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -y -q "$@"; }
installed() { dpkg-query -W -f='${db:Status-Status}' "$PKG" 2>/dev/null | grep -qx installed; }
if installed; then
  echo "  (removing $PKG left installed by an interrupted run)"
  apt_ remove "$PKG" >/dev/null
fi

# Every snowflake file a checkout's `make install` can leave in the system's PostgreSQL 15.
libdir=$("$PG_CONFIG" --pkglibdir)
extdir=$("$PG_CONFIG" --sharedir)/extension
ours() {
  find "$libdir" "$extdir" \( -path "$libdir/snowflake.so" -o -path "$libdir/bitcode/snowflake.index.bc" \
    -o -path "$libdir/bitcode/snowflake/*" -o -path "$extdir/snowflake.control" -o -path "$extdir/snowflake--*.sql" \
    -o -path "$extdir/snowflake_coordination.control" -o -path "$extdir/snowflake_coordination--*.sql" \) \
    -type f 2>/dev/null | sort
}
STASH=$SF_WORK/stash
mkdir -p "$STASH"
ours | tar --absolute-names -cf "$STASH/files.tar" -T - 2>/dev/null || true
(ours | xargs -r sha256sum) >"$STASH/before.sha256"
sudo_=; [ "$(id -u)" = 0 ] || sudo_=sudo
ours | xargs -r $sudo_ rm -f
restore() { [ -s "$STASH/before.sha256" ] && sf_sudo tar --absolute-names -xpf "$STASH/files.tar"; restored=1; }
restored=
# At exit, whatever happened: the package removed, the files put back, then the servers stopped.
finish() {
  if installed; then apt_ remove "$PKG" >/dev/null 2>&1 || true; fi
  [ -n "$restored" ] || restore || true
  sf_cleanup
}
trap finish EXIT
sf_check "no snowflake file of a checkout left in PostgreSQL 15 ($(wc -l <"$STASH/before.sha256") moved aside)" "" "$(ours)"

echo "== apt-get install $deb"
out=$(apt_ install "$deb" 2>&1) || echo "$out" | tail -20
sf_check "$PKG is installed" "installed" "$(dpkg-query -W -f='${db:Status-Status}' "$PKG" 2>&1)"
for f in "$libdir/snowflake.so" "$extdir/snowflake.control" "$extdir/snowflake--$version.sql" "$extdir/snowflake--1.0.sql" \
         "$extdir/snowflake_coordination.control" "$extdir/snowflake_coordination--$version.sql"; do
  sf_check "dpkg -S $f" "$PKG" "$(dpkg -S "$f" 2>&1 | cut -d: -f1)"
done
# README links into docs/: the package carries both, side by side.
sf_check "the package's documentation: README.md and every docs/ page" \
  "$(cd "$SF_ROOT" && printf '%s\n' README.md docs/*.md | sort | tr '\n' ' ')" \
  "$(dpkg -L "$PKG" | sed -n "s|^/usr/share/doc/$PKG/||p" | grep -E '^(README\.md|docs/.*\.md)(\.gz)?$' | sed 's/\.gz$//' | sort | tr '\n' ' ')"

sf_init pkg "shared_preload_libraries = 'snowflake'" "snowflake.machine_id = 7"
if sf_start pkg; then sf_pass "a server with shared_preload_libraries = 'snowflake' starts"; else
  sf_fail "the server did not start: $(tail -5 "$SF_WORK/pkg/server.log")"
fi
sf_check "CREATE EXTENSION snowflake installs default_version $version" "$version" \
  "$(sf_psql pkg -c "CREATE EXTENSION snowflake" -c "SELECT extversion FROM pg_extension WHERE extname = 'snowflake'" 2>&1)"
sf_check "snowflake_next() makes an ID with machine id 7, just now" "7|t" \
  "$(sf_psql pkg -c "SELECT snowflake_machine_id(id), snowflake_timestamp(id) BETWEEN now() - interval '1 minute' AND clock_timestamp() FROM snowflake_next() AS id" 2>&1)"
sf_check "the library loaded is the package's" "$libdir/snowflake.so" \
  "$(sf_as_pg grep -o "[^ ]*/snowflake\.so" "/proc/$(sf_as_pg head -1 "$SF_WORK/pkg/postmaster.pid")/maps" | sort -u)"
sf_check "the package's update script: CREATE EXTENSION VERSION '1.0', then ALTER EXTENSION UPDATE" "$version|t" \
  "$(sf_psql pkg -c "CREATE DATABASE upd" && sf_psql pkg -d upd -c "CREATE EXTENSION snowflake VERSION '1.0'" \
    -c "ALTER EXTENSION snowflake UPDATE" \
    -c "SELECT extversion, snowflake_next() > 0 FROM pg_extension WHERE extname = 'snowflake'" 2>&1)"
sf_check "the package's second extension: CREATE EXTENSION snowflake_coordination (the lease objects)" "$version|t" \
  "$(sf_psql pkg -c "CREATE DATABASE coord" && sf_psql pkg -d coord -c "CREATE EXTENSION snowflake_coordination" \
    -c "SELECT extversion, to_regclass('snowflake_leases') IS NOT NULL FROM pg_extension WHERE extname = 'snowflake_coordination'" 2>&1)"
sf_stop pkg

echo "== apt-get remove $PKG"
apt_ remove "$PKG" >/dev/null 2>&1 || true
sf_check "$PKG is removed" "" "$(dpkg-query -W -f='${db:Status-Status}' "$PKG" 2>/dev/null | grep -x installed)"
sf_check "its files are gone" "" "$(ours)"
restore || true
sf_check "the files moved aside are back, unchanged" "$(cat "$STASH/before.sha256")" "$(ours | xargs -r sha256sum)"
sf_summary
