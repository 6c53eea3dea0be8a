#!/usr/bin/env bash
# Builds the Debian package postgresql-15-snowflake_<version>_amd64.deb into dist/ with Debian's
# tooling for PostgreSQL extensions (pg_buildext, debhelper's pgxs_loop sequence).
#
#   bash scripts/package.sh        prints the path of the .deb on its last line
#
# The package is built from a copy of the working tree (tracked and new files, not ignored ones)
# under /tmp, so the build leaves nothing in the checkout but dist/: no objects compiled with the
# package's flags, no debian/postgresql-15-snowflake/ staging tree. Only PostgreSQL 15 (the
# system's) is packaged: pg_buildext builds against /usr/lib/postgresql/MAJOR, and 17/18 exist
# here only as source builds in a private prefix, not as Debian's postgresql-MAJOR packages a
# package could depend on.
source "$(dirname "$0")/env.sh"

# Build dependencies: debhelper, pg_buildext and its debhelper sequences (postgresql-common,
# postgresql-server-dev-all), dpkg-dev, and the compilers (g++; clang for the LLVM bitcode that
# Debian's PostgreSQL 15, built --with-llvm, installs beside every module).
need=()
for p in debhelper dpkg-dev postgresql-server-dev-all postgresql-server-dev-15 g++ clang-14 make; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}" >&2
  sf_sudo apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
  sf_sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends "${need[@]}" >&2
fi

# One version: the extension's default_version. debian/changelog must carry it (upstream part).
version=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$SF_ROOT/snowflake.control")
deb_version=$(dpkg-parsechangelog -l "$SF_ROOT/debian/changelog" -S Version)
if [ "${deb_version%-*}" != "$version" ]; then
  echo "package.sh: debian/changelog is at $deb_version, snowflake.control's default_version is $version;" \
    "add a debian/changelog entry for $version-1" >&2
  exit 1
fi

build=$(mktemp -d /tmp/snowflake-package.XXXXXX)
trap 'rm -rf "$build"' EXIT
src=$build/snowflake-$version
mkdir "$src"
if git -C "$SF_ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # Tracked and new files as they are in the working tree; deleted ones are skipped.
  git -C "$SF_ROOT" ls-files -z --cached --others --exclude-standard |
    (cd "$SF_ROOT" && xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
    tar -C "$SF_ROOT" --null -T - -cf - | tar -C "$src" -xf -
else  # a source tarball (e.g. from PGXN): everything but build products
  tar -C "$SF_ROOT" --exclude=./dist --exclude='*.o' --exclude='*.bc' --exclude='*.so' -cf - . | tar -C "$src" -xf -
  make -C "$src" -s clean >/dev/null
fi
rm -rf "$src/dist"

echo "building postgresql-15-snowflake $deb_version in $build" >&2
# -b: binary packages only (no source package, so no orig tarball); -us -uc: unsigned.
if ! (cd "$src" && dpkg-buildpackage -b -us -uc >"$build/build.log" 2>&1); then
  tail -40 "$build/build.log" >&2
  exit 1
fi
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb=postgresql-15-snowflake_${deb_version}_$arch.deb
[ -f "$build/$deb" ] || { echo "package.sh: dpkg-buildpackage made no $deb" >&2; ls "$build" >&2; exit 1; }
mkdir -p "$SF_ROOT/dist"
cp "$build/$deb" "$SF_ROOT/dist/"
echo "$SF_ROOT/dist/$deb"
