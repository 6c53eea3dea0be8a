#!/bin/sh
# Container entrypoint: takes snowflake.machine_id from the environment, then hands over to the image's own entrypoint.
#
# PostgreSQL does not read environment variables in postgresql.conf, so the id goes on the server's
# command line, which overrides postgresql.conf and ALTER SYSTEM:  postgres ... -c snowflake.machine_id=N
#
#   SNOWFLAKE_MACHINE_ID=N        use N (an integer 0-1023)
#   SNOWFLAKE_MACHINE_ID_BASE=B   use B + the ordinal at the end of the host name: a StatefulSet's pod
#                                 "snowflake-db-2" (its host name) gets B + 2. See kubernetes-statefulset.yaml.
#   neither                       change nothing: postgresql.conf or ALTER SYSTEM decides
#   SNOWFLAKE_NEXT_ENTRYPOINT     what runs next with the arguments; default docker-entrypoint.sh (the official
#                                 postgres image's, which runs initdb on first start); empty: the command itself
#
# A value that is set but not a valid id stops the container here, before PostgreSQL starts: a server
# issuing IDs under an id nobody chose could collide with another. The id is added only when the
# command is the server (postgres, or options alone, which the official entrypoint gives to postgres).
#
# Use (docker is only an example; any runtime that sets the environment works):
#   FROM postgres:15
#   COPY snowflake.so /usr/lib/postgresql/15/lib/     # and snowflake.control, snowflake--*.sql to share/extension
#   RUN echo "shared_preload_libraries = 'snowflake'" >> /usr/share/postgresql/postgresql.conf.sample
#   COPY examples/docker-entrypoint.sh /usr/local/bin/snowflake-entrypoint.sh
#   ENTRYPOINT ["snowflake-entrypoint.sh"]
#   CMD ["postgres"]
#
#   docker run -e SNOWFLAKE_MACHINE_ID=7 -e POSTGRES_PASSWORD=... image
set -eu

fail() {
  echo "snowflake-entrypoint: $*" >&2
  exit 64
}

# An id as PostgreSQL reads it without surprises: decimal, no sign, no leading zero (010 would be octal 8).
is_id() {
  case $1 in
    0 | [1-9] | [1-9][0-9] | [1-9][0-9][0-9] | [1-9][0-9][0-9][0-9]) [ "$1" -le 1023 ] ;;
    *) return 1 ;;
  esac
}

id=
if [ -n "${SNOWFLAKE_MACHINE_ID+set}" ] && [ -n "${SNOWFLAKE_MACHINE_ID_BASE+set}" ]; then
  fail "set SNOWFLAKE_MACHINE_ID or SNOWFLAKE_MACHINE_ID_BASE, not both"
elif [ -n "${SNOWFLAKE_MACHINE_ID+set}" ]; then
  is_id "$SNOWFLAKE_MACHINE_ID" ||
    fail "SNOWFLAKE_MACHINE_ID must be an integer from 0 to 1023, got '$SNOWFLAKE_MACHINE_ID'"
  id=$SNOWFLAKE_MACHINE_ID
elif [ -n "${SNOWFLAKE_MACHINE_ID_BASE+set}" ]; then
  is_id "$SNOWFLAKE_MACHINE_ID_BASE" ||
    fail "SNOWFLAKE_MACHINE_ID_BASE must be an integer from 0 to 1023, got '$SNOWFLAKE_MACHINE_ID_BASE'"
  # shellcheck disable=SC3028  # container runtimes export HOSTNAME; hostname(1) otherwise
  host=${HOSTNAME:-$(hostname)}
  ordinal=${host##*-}
  if [ "$ordinal" = "$host" ] || ! is_id "$ordinal"; then
    fail "host name '$host' does not end in -<ordinal> (a StatefulSet pod's name does), so SNOWFLAKE_MACHINE_ID_BASE cannot be used"
  fi
  id=$((SNOWFLAKE_MACHINE_ID_BASE + ordinal))
  [ "$id" -le 1023 ] ||
    fail "SNOWFLAKE_MACHINE_ID_BASE $SNOWFLAKE_MACHINE_ID_BASE + ordinal $ordinal = $id is above 1023"
fi

if [ -n "$id" ]; then
  case ${1:-} in
    postgres | -*)
      set -- "$@" -c "snowflake.machine_id=$id"
      echo "snowflake-entrypoint: snowflake.machine_id=$id" >&2
      ;;
  esac
fi

next=${SNOWFLAKE_NEXT_ENTRYPOINT-docker-entrypoint.sh}
if [ -n "$next" ]; then exec "$next" "$@"; else exec "$@"; fi
