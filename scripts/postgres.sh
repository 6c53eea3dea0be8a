#!/usr/bin/env bash
# Makes PostgreSQL MAJOR available and prints the path of its pg_config (nothing else on stdout).
#
#   bash scripts/postgres.sh 15     the installed Debian one (installed with apt-get if missing)
#   bash scripts/postgres.sh 17     built from Debian's source package of suite trixie
#   bash scripts/postgres.sh 18     built from Debian's source package of suite sid
#
# Built versions go into $SF_PG_CACHE/postgresql-MAJOR (default /var/cache/snowflake), once per
# machine: a later call returns at once. Two callers at the same time wait for one build (flock).
# The extra suites live only in a private apt configuration under the cache, never in the
# system's sources; their URI is the one the system's sources already name.
set -euo pipefail
umask 022

major=${1:?usage: postgres.sh MAJOR}
# The contrib modules a test uses (tests/integration/mark_in_wal.sh reads the WAL with pg_walinspect).
contrib_modules="pg_walinspect"
log() { echo "postgres.sh $major: $*" >&2; }

# emit PG_CONFIG: prints it, or with SF_PG_PRIVATE=DIR the pg_config of a private copy of that
# installation under DIR/MAJOR (made once), so that checkouts installing snowflake.so side by
# side do not share one. PostgreSQL finds its files relative to its binaries.
emit() {
  if [ -z "${SF_PG_PRIVATE:-}" ]; then
    echo "$1"
    return
  fi
  local dest=$SF_PG_PRIVATE/$major m
  # A copy made before the original gained a contrib module the tests need is made again.
  if [ "$major" != 15 ] && [ -f "$dest/.snowflake-copied" ]; then
    for m in $contrib_modules; do
      [ -f "$dest/postgresql/share/extension/$m.control" ] || rm -rf "$dest/.snowflake-copied" "$dest/postgresql"
    done
  fi
  if [ ! -f "$dest/.snowflake-copied" ]; then
    mkdir -p "$dest"
    exec 8>"$dest/.lock"
    flock 8
    if [ ! -f "$dest/.snowflake-copied" ]; then
      if [ "$major" = 15 ]; then  # Debian's layout: three trees under /usr
        mkdir -p "$dest/usr/lib/postgresql" "$dest/usr/share/postgresql" "$dest/usr/include"
        cp -a /usr/lib/postgresql/15 "$dest/usr/lib/postgresql/"
        cp -a /usr/share/postgresql/15 "$dest/usr/share/postgresql/"
        cp -a /usr/include/postgresql "$dest/usr/include/"
        echo "$dest/usr/lib/postgresql/15/bin/pg_config" >"$dest/.snowflake-copied"
      else
        cp -a "$(dirname "$(dirname "$1")")" "$dest/postgresql"
        echo "$dest/postgresql/bin/pg_config" >"$dest/.snowflake-copied"
      fi
    fi
    exec 8>&-
  fi
  cat "$dest/.snowflake-copied"
}

if [ "$major" = 15 ]; then
  pg_config=/usr/lib/postgresql/15/bin/pg_config
  if [ ! -x "$pg_config" ] || [ ! -f /usr/include/postgresql/15/server/postgres.h ]; then
    log "installing postgresql-15 and postgresql-server-dev-15"
    [ "$(id -u)" = 0 ] || exec sudo bash "$0" "$@"
    apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
      postgresql-15 postgresql-server-dev-15 >&2
  fi
  emit "$pg_config"
  exit 0
fi

case $major in
  17) suite=trixie ;;
  18) suite=sid ;;
  *) echo "postgres.sh: no source known for PostgreSQL $major (15, 17, 18)" >&2; exit 2 ;;
esac

cache=${SF_PG_CACHE:-/var/cache/snowflake}
prefix=$cache/postgresql-$major
# The marker is written last, after a complete install; contrib modules added later are checked too.
done_mark=$prefix/.snowflake-complete
complete() {
  local m
  [ -f "$done_mark" ] || return 1
  for m in $contrib_modules; do [ -f "$prefix/share/extension/$m.control" ] || return 1; done
}
if complete; then
  emit "$(cat "$done_mark")"
  exit 0
fi

[ "$(id -u)" = 0 ] || exec sudo SF_PG_CACHE="$cache" SF_PG_PRIVATE="${SF_PG_PRIVATE:-}" bash "$0" "$@"
mkdir -p "$cache"
chmod 755 "$cache"
exec 9>"$cache/.postgresql-$major.lock"
log "waiting for the build lock" && flock 9
if complete; then  # another caller built it while we waited
  emit "$(cat "$done_mark")"
  exit 0
fi
start=$(date +%s)

# Build dependencies: a plain configure with ICU, zlib and readline; no LLVM, no docs.
need=()
for p in bison flex perl gcc make dpkg-dev pkg-config libicu-dev zlib1g-dev libreadline-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >&2
fi

# The archive the system already uses (not its security archive).
uri=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | tr ' ' '\n' |
  grep -v -- '-security' | head -1)
[ -n "$uri" ] || { log "no Debian archive URI in /etc/apt/sources.list.d/debian.sources"; exit 1; }

# A private apt configuration that knows only the deb-src entry of this suite.
apt_dir=$cache/apt-$suite
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/sources.list.d"
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $suite main" >"$apt_dir/sources.list"
apt_private=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=$apt_dir/sources.list.d"
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o "APT::Sandbox::User=root")
log "fetching the source package postgresql-$major from $uri $suite"
apt-get "${apt_private[@]}" update -qq >&2

build=$cache/build-$major
rm -rf "$build"
mkdir -p "$build"
cd "$build"
if ! apt-get "${apt_private[@]}" source -qq "postgresql-$major" >&2; then
  # A mirror can name a point release in its signed index before (or without) carrying its
  # files. Then take the newest of the three point releases before it that the pool still
  # has, and let dpkg-source check the uploader's signature (debian-keyring) and the checksums.
  dpkg-query -W -f='${Status}' debian-keyring 2>/dev/null | grep -q 'install ok installed' ||
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends debian-keyring >&2
  info=$(apt-cache "${apt_private[@]}" showsrc "postgresql-$major")
  version=$(echo "$info" | sed -n 's/^Version: //p' | head -1)
  pool=$uri/$(echo "$info" | sed -n 's/^Directory: //p' | head -1)
  upstream=${version%%-*} revision=${version#*-}
  got=
  for minor in $((${upstream#*.} - 1)) $((${upstream#*.} - 2)) $((${upstream#*.} - 3)); do
    dsc=postgresql-${major}_$major.$minor-$revision.dsc
    /usr/lib/apt/apt-helper -o APT::Sandbox::User=root download-file "$pool/${dsc//+/%2b}" "$build/$dsc" >/dev/null 2>&1 || continue
    log "the mirror lacks $version; using $major.$minor-$revision from $pool"
    for f in $(sed -n '/^Checksums-Sha256:/,/^[^ ]/s/^ [0-9a-f]\{64\} [0-9]* //p' "$dsc"); do
      /usr/lib/apt/apt-helper -o APT::Sandbox::User=root download-file "$pool/${f//+/%2b}" "$build/$f" >&2
    done
    dpkg-source --require-valid-signature -x "$dsc" >&2
    got=1
    break
  done
  [ -n "$got" ] || { log "no source of postgresql-$major could be fetched"; exit 1; }
fi
src=$(find "$build" -mindepth 1 -maxdepth 1 -type d -name "postgresql-$major-*" | head -1)
[ -n "$src" ] || { log "apt-get source left no source tree in $build"; exit 1; }
cd "$src"
if [ -f "$done_mark" ]; then
  # Built before a test needed a contrib module: add the missing ones with PGXS.
  pg_config=$(cat "$done_mark")
  for m in $contrib_modules; do
    log "adding contrib/$m from $(basename "$src") to $prefix"
    make -s -C "contrib/$m" USE_PGXS=1 PG_CONFIG="$pg_config" install >"$build/contrib.log" 2>&1 ||
      { tail -40 "$build/contrib.log" >&2; exit 1; }
  done
  chmod -R a+rX "$prefix"
  cd "$cache"
  rm -rf "$build"
  emit "$pg_config"
  exit 0
fi
rm -rf "$prefix"
log "building $(basename "$src") into $prefix"
./configure --prefix="$prefix" --without-llvm --with-icu >"$build/configure.log" 2>&1 ||
  { tail -30 "$build/configure.log" >&2; exit 1; }
# The server, the client programs (pg_ctl, initdb, psql, pg_dump, pg_upgrade), and pg_regress,
# which PGXS's installcheck runs from $(pgxsdir)/src/test/regress. No docs; of contrib only
# what a test uses.
make -s -j2 >"$build/make.log" 2>&1 || { tail -40 "$build/make.log" >&2; exit 1; }
make -s install >"$build/install.log" 2>&1 || { tail -40 "$build/install.log" >&2; exit 1; }
for m in $contrib_modules; do
  make -s -C "contrib/$m" install >>"$build/install.log" 2>&1 || { tail -40 "$build/install.log" >&2; exit 1; }
done

pg_config=$prefix/bin/pg_config
"$pg_config" --version >&2
chmod -R a+rX "$prefix"
cd "$cache"
rm -rf "$build"
echo "$pg_config" >"$done_mark"
log "built in $(($(date +%s) - start)) s"
emit "$pg_config"
