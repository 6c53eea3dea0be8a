# The two applications of docs/migration.md "Applications through the migration", run by the live
# migration tests (apps_migration.sh, shop_live.sh): a node-postgres one (a pool, named prepared
# statements) and a psycopg 3 one (prepare_threshold=0), tests/integration/apps_migration/app.js and
# app.py, with the page's code blocks. Source it after tests/lib/servers.sh and checks.sh.

SF_APPS_PY=/usr/bin/python3

# sf_apps_install: what they need, installed when lacking: Debian's nodejs, npm, python3-psycopg;
# node-postgres (pinned) into SF_MIGRATION_NODE_DIR (default /var/cache/snowflake/node-migration),
# reused across runs.
sf_apps_install() {
  sf_app_deps -- psycopg
  SF_APPS_NODE_DIR=${SF_MIGRATION_NODE_DIR:-/var/cache/snowflake/node-migration}
  sf_npm_install "$SF_APPS_NODE_DIR" pg@8.23.1
}

# sf_apps_prepare: $SF_APPS (under $SF_WORK) with the page's code blocks tagged <!-- test: NAME -->
# in "Applications through the migration" and the two applications; checks that the page has
# both blocks.
sf_apps_prepare() {
  SF_APPS=$SF_WORK/app
  mkdir -p "$SF_APPS"
  awk -v dir="$SF_APPS" '
    /^## / { section = $0 }
    /^<!-- test: .* -->$/ { name = $3; next }
    /^```/ && !inside { inside = 1; if (name != "" && section == "## Applications through the migration") { file = dir "/" name; print name } next }
    /^```/ && inside { inside = 0; file = ""; name = ""; next }
    inside && file != "" { print > file }
  ' "$SF_ROOT/docs/migration.md" >"$SF_APPS/list"
  sf_check "the page's code for applications" "migration-node.js migration_psycopg.py" "$(tr '\n' ' ' <"$SF_APPS/list" | sed 's/ $//')"
  cp "$SF_ROOT"/tests/integration/apps_migration/app.js "$SF_ROOT"/tests/integration/apps_migration/app.py "$SF_APPS/"
  ln -s "$SF_APPS_NODE_DIR/node_modules" "$SF_APPS/node_modules"
  chown -R postgres: "$SF_APPS"
  echo "versions: node $(node --version), pg $(node -p "require('$SF_APPS_NODE_DIR/node_modules/pg/package.json').version"), psycopg $("$SF_APPS_PY" -c 'import psycopg; print(psycopg.__version__)')"
}

# sf_apps_start SERVER ROLE [VAR=VALUE...]: both applications against SERVER, logged in as ROLE (as
# the postgres OS user: the socket is that user's), with the environment given (SF_APP_SHOP=1: the
# shop's orders and notes too); returns once both have read the old keys they look up.
sf_apps_start() {
  local host=$SF_WORK/$1 role=$2 i
  shift 2
  (cd "$SF_APPS" && sf_as_pg env PGHOST="$host" PGUSER="$role" PGDATABASE=postgres "$@" node app.js >node.out 2>node.err) &
  SF_APPS_NODE=$!
  (cd "$SF_APPS" && sf_as_pg env PGHOST="$host" PGUSER="$role" PGDATABASE=postgres "$@" "$SF_APPS_PY" app.py >py.out 2>py.err) &
  SF_APPS_PYTHON=$!
  for i in $(seq 1 300); do [ -f "$SF_APPS/node.started" ] && [ -f "$SF_APPS/py.started" ] && return 0; sleep 0.1; done
  sf_fail "the applications did not start"
}

# sf_apps_wait_writes SERVER N: until the applications have written N more accounts on SERVER.
sf_apps_wait_writes() {
  local q="SELECT count(*) FROM accounts WHERE name LIKE 'node-%' OR name LIKE 'py-%'" target i
  target=$(( $(sf_psql "$1" -c "$q") + $2 ))
  for i in $(seq 1 300); do [ "$(sf_psql "$1" -c "$q")" -ge "$target" ] && return 0; sleep 0.1; done
  sf_fail "the applications stopped writing"
}

# sf_apps_field APP FIELD: a count from the last line the application (node or py) printed.
sf_apps_field() {
  "$SF_APPS_PY" -c "import json, sys; print(json.loads(sys.argv[1])['$2'])" "$(tail -1 "$SF_APPS/$1.out" 2>/dev/null)" 2>/dev/null || echo "?"
}

# sf_apps_stop: both applications stop, check what they wrote and print their counts; then, for
# each: it ran to its end, no request failed, every answer was right, old uuids found their rows
# before and after the cut-over, the keys it got before the cut-over found their rows after it,
# and the statement that reads the key as it is was retried at the cut-over, at most once a
# connection (RETRIES, default ^[1-4]$: a regular expression).
sf_apps_stop() {
  local a status node_status py_status
  touch "$SF_APPS/STOP"
  wait "$SF_APPS_NODE" && node_status=0 || node_status=$?
  wait "$SF_APPS_PYTHON" && py_status=0 || py_status=$?
  for a in node py; do
    echo "  $a: $(tail -1 "$SF_APPS/$a.out" 2>/dev/null || true)"
    [ -s "$SF_APPS/$a.err" ] && sed 's/^/    /' "$SF_APPS/$a.err" | head -20
    status=$([ $a = node ] && echo "$node_status" || echo "$py_status")
    sf_check "$a: ran to its end" "0" "$status"
    sf_check "$a: no request failed" "0" "$(sf_apps_field $a errors)"
    sf_check "$a: every answer right" "0" "$(sf_apps_field $a wrong)"
    sf_check_match "$a: old uuids found rows before the cut-over (uuid keys) and after it (bigint keys)" "^[1-9][0-9]* [1-9][0-9]*$" \
      "$(sf_apps_field $a old_before) $(sf_apps_field $a old_after)"
    sf_check_match "$a: the keys it got before the cut-over found their rows after it, by their new keys too" "^[1-9][0-9]*$" \
      "$(sf_apps_field $a new_keys)"
    sf_check_match "$a: the statement that reads the key as it is failed at the cut-over and was retried (at most once a connection)" \
      "${RETRIES:-^[1-4]\$}" "$(sf_apps_field $a retries)"
  done
}
