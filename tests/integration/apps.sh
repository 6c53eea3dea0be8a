#!/usr/bin/env bash
# IDs in applications: every snippet of docs/applications.md (time zones, JSON, the type, drivers)
# run against a real server with node-postgres, psycopg 3, psycopg2 and SQLAlchemy; and JSON round
# trips of a bulk insert through JSON.parse (Node) and json.loads (Python).
# Installs what it lacks: Debian's python3-psycopg, python3-psycopg2, python3-sqlalchemy (for
# Debian's /usr/bin/python3), and node-postgres from the npm registry into a private directory
# (SF_NODE_DIR, default /tmp/snowflake-node-$UID; nothing is written into the checkout).
source "$(dirname "$0")/../lib/servers.sh"
source "$(dirname "$0")/../lib/checks.sh"

PY=/usr/bin/python3
sf_app_deps -- psycopg psycopg2 sqlalchemy
NODE_DIR=${SF_NODE_DIR:-/tmp/snowflake-node-$(id -u)}
if [ ! -f "$NODE_DIR/node_modules/pg/package.json" ]; then
  mkdir -p "$NODE_DIR"
  npm install --prefix "$NODE_DIR" --no-save --no-audit --no-fund --silent pg@8 >/dev/null
fi
export NODE_PATH=$NODE_DIR/node_modules

sf_workdir
sf_init p "shared_preload_libraries = 'snowflake'" "snowflake.machine_id = 515" "max_connections = 20"
sf_start p
sf_psql p -c "CREATE EXTENSION snowflake"
export PGHOST=$SF_WORK/p PGUSER=postgres PGDATABASE=postgres
echo "versions: node $(node --version), pg $(node -p "require('pg/package.json').version"), $("$PY" -c 'import psycopg, psycopg2, sqlalchemy; print("psycopg", psycopg.__version__, "psycopg2", psycopg2.__version__.split()[0], "sqlalchemy", sqlalchemy.__version__)')"

echo "-- the snippets of docs/applications.md"
snippets=$SF_WORK/snippets
mkdir -p "$snippets"
# Each fenced block right after a line <!-- test: NAME --> is written to $snippets/NAME; the list
# of names, in the page's order, is printed. A fenced block without a tag is reported as UNTESTED,
# except in "Range queries through the key" (sql/ranges.sql checks what its plans rest on). The
# sections on ORMs and on generating IDs in the application are orms.sh's and services.sh's.
awk -v dir="$snippets" '
  /^## / { section = $0; others = (section == "## ORMs and query builders" || section == "## Generating IDs in the application") }
  /^<!-- test: .* -->$/ { name = $3; next }
  /^```/ && !inside { inside = 1; if (others) { name = ""; next }
                      if (name != "") { file = dir "/" name; print name }
                      else if (section != "## Range queries through the key") print "UNTESTED block at line " NR
                      next }
  /^```/ && inside { inside = 0; file = ""; name = ""; next }
  inside && file != "" { print > file }
' "$SF_ROOT/docs/applications.md" > "$snippets/list"
sf_check "every code block of docs/applications.md (but the range queries) is run here" "" "$(grep UNTESTED "$snippets/list" || true)"
sf_check "the page's tagged snippets" "timezone.sql apps-schema.sql apps-node.js apps-psycopg.py apps-psycopg-int.py apps-sqlalchemy.py" \
  "$(tr '\n' ' ' <"$snippets/list" | sed 's/ $//')"

out=$(sf_psql p -f "$snippets/timezone.sql" 2>&1) && status=0 || status=$?
sf_check "timezone.sql runs" 0 "$status"
# New York midnight is 05:00 UTC; the other three are midnight UTC; the last one is Paris midnight today.
sf_check "timezone.sql: a literal without offset follows TimeZone; with one, or AT TIME ZONE, it does not" \
  "$(sf_psql p -c "SELECT snowflake_compose('2025-03-01 05:00:00+00')" -c "SELECT snowflake_compose('2025-03-01 00:00:00+00')" \
     -c "SELECT snowflake_compose('2025-03-01 00:00:00+00')" -c "SELECT snowflake_compose((now() AT TIME ZONE 'Europe/Paris')::date::timestamp AT TIME ZONE 'Europe/Paris')")" \
  "$out"

out=$(sf_psql p -f "$snippets/apps-schema.sql" 2>&1) && status=0 || status=$?
sf_check "apps-schema.sql runs" 0 "$status"
sf_check_match "apps-schema.sql: json_agg writes the key as a string" '^\[\{"id":"[0-9]{18}","body":"hello"\}\]' "$out"
sf_check "apps-schema.sql: the bigint key became a snowflake" "snowflake" \
  "$(sf_psql p -c "SELECT format_type(atttypid, NULL) FROM pg_attribute WHERE attrelid = 'tags'::regclass AND attname = 'id'")"

out=$(cd "$SF_WORK" && node "$snippets/apps-node.js" 2>&1) && status=0 || status=$?
sf_check "apps-node.js runs" 0 "$status"
node_id=$(echo "$out" | sed -n '1s/^string \([0-9]*\)$/\1/p')
sf_check_match "apps-node.js: the ID is a string" '^[0-9]{18}$' "$node_id"
sf_check "apps-node.js: the ID inside json_agg, parsed by JSON.parse, is the same string" "true" "$(echo "$out" | sed -n 2p)"
sf_check "apps-node.js: decoded in one line as the server decodes it" \
  "$(sf_psql p -c "SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') || ' ' || machine_id || ' ' || sequence FROM snowflake_decode('${node_id:-0}'::bigint)")" \
  "$(echo "$out" | sed -n 3p)"
sf_check "apps-node.js: the row is there" "from node" "$(sf_psql p -c "SELECT body FROM posts WHERE id = '${node_id:-0}'")"

out=$(cd "$SF_WORK" && "$PY" "$snippets/apps-psycopg.py" 2>&1) && status=0 || status=$?
sf_check "apps-psycopg.py runs" 0 "$status"
py_id=$(echo "$out" | sed -n '1s/^str \([0-9]*\)$/\1/p')
sf_check_match "apps-psycopg.py: the ID is a str" '^[0-9]{18}$' "$py_id"
sf_check "apps-psycopg.py: the ID inside json_agg is the same str" "True" "$(echo "$out" | sed -n 2p)"
sf_check_match "apps-psycopg.py: snowflake_decode in FROM reaches the driver as typed columns" \
  "^\['id', 'ts', 'machine_id', 'sequence'\] \(datetime\.datetime\(.*tzinfo=.*\), 515, [0-9]+\)$" "$(echo "$out" | sed -n 3p)"
sf_check "apps-psycopg.py: decoded in one line as the server decodes it" \
  "$(sf_psql p -c "SET TimeZone = 'UTC'" -c "SELECT to_char(ts, 'YYYY-MM-DD HH24:MI:SS.US') || '+00:00' FROM snowflake_decode('${py_id:-0}'::bigint)")" \
  "$(echo "$out" | sed -n 4p | sed 's/:\([0-9][0-9]\)+00:00$/:\1.000000+00:00/')"  # Python prints no fraction for a whole second

out=$(cd "$SF_WORK" && "$PY" "$snippets/apps-psycopg-int.py" 2>&1) && status=0 || status=$?
sf_check "apps-psycopg-int.py runs" 0 "$status"
sf_check "apps-psycopg-int.py: with the loader, max(id) is an int" "int $(sf_psql p -c "SELECT max(id) FROM posts")" "$out"

out=$(cd "$SF_WORK" && "$PY" "$snippets/apps-sqlalchemy.py" 2>&1) && status=0 || status=$?
sf_check "apps-sqlalchemy.py runs" 0 "$status"
sf_check "apps-sqlalchemy.py: a BigInteger key with server_default is not BIGSERIAL" "id BIGINT DEFAULT snowflake_next() NOT NULL," "$(echo "$out" | sed -n 1p)"
sa_id=$(echo "$out" | sed -n '2s/^str \([0-9]*\) from SQLAlchemy$/\1/p')
sf_check_match "apps-sqlalchemy.py: the ORM reads the key back as a str" '^[0-9]{18}$' "$sa_id"
sf_check "apps-sqlalchemy.py: the tables as the ORM made them" "articles.id|snowflake|snowflake_next()|notes.article_id|snowflake|-|notes.id|bigint|snowflake_next()" \
  "$(sf_psql p -c "SELECT attrelid::regclass || '.' || attname, format_type(atttypid, NULL), coalesce(pg_get_expr(adbin, adrelid), '-')
                   FROM pg_attribute LEFT JOIN pg_attrdef ON adrelid = attrelid AND adnum = attnum
                   WHERE attrelid IN ('articles'::regclass, 'notes'::regclass) AND attnum > 0 AND attname LIKE '%id' ORDER BY 1" | tr '\n' '|' | sed 's/|$//')"
sf_check "apps-sqlalchemy.py: the note references the article" "1" \
  "$(sf_psql p -c "SELECT count(*) FROM notes JOIN articles ON articles.id = notes.article_id WHERE articles.id = '${sa_id:-0}'")"
# The trap docs/applications.md warns of: an integer key without server_default becomes BIGSERIAL.
sf_check_match "SQLAlchemy without server_default: BIGSERIAL" "id BIGSERIAL NOT NULL" "$("$PY" - <<'PY'
from sqlalchemy import BigInteger, Column, MetaData, Table, create_engine
from sqlalchemy.schema import CreateTable
t = Table("t", MetaData(), Column("id", BigInteger, primary_key=True))
print(CreateTable(t).compile(create_engine("postgresql+psycopg2://")))
PY
)"
sf_check "psycopg2 returns the type as str, bigint as int" "str int" "$("$PY" - <<'PY'
import psycopg2
with psycopg2.connect("") as conn, conn.cursor() as cur:
    cur.execute("SELECT id, id::bigint FROM posts LIMIT 1")
    print(" ".join(type(v).__name__ for v in cur.fetchone()))
PY
)"

sf_check "node-postgres: BigInt with a parser registered for the type's OID; decode's ts is a Date" "bigint true true" "$(cd "$SF_WORK" && node - <<'JS' 2>&1
const { Client, types } = require('pg');
(async () => {
  const c = new Client();
  await c.connect();
  const { rows: [{ oid }] } = await c.query("SELECT 'snowflake'::regtype::oid AS oid");
  types.setTypeParser(oid, BigInt);
  const { rows: [{ id, text }] } = await c.query('SELECT max(id) AS id, max(id)::text AS text FROM posts');
  const { rows: [{ ts, ms }] } = await c.query(
    'SELECT d.ts, (extract(epoch FROM d.ts) * 1000)::bigint::text AS ms FROM posts, snowflake_decode(posts.id) d ORDER BY id DESC LIMIT 1');
  console.log(typeof id, id.toString() === text, ts instanceof Date && String(ts.getTime()) === ms);
  await c.end();
})();
JS
)"

echo "-- JSON round trips of a bulk insert"
N=100000
sf_psql p -c "CREATE TABLE bulk (n bigint PRIMARY KEY DEFAULT snowflake_next(), s snowflake)" \
  -c "INSERT INTO bulk (n) SELECT snowflake_next() FROM generate_series(1, $N)" -c "UPDATE bulk SET s = n"
sf_check "the bulk insert made $N distinct IDs, all above 2^53" "$N|$N|t" \
  "$(sf_psql p -c "SELECT count(*), count(DISTINCT s), min(n) > 9007199254740992 FROM bulk")"
out=$(cd "$SF_WORK" && node - <<'JS' 2>&1
const { Client } = require('pg');
(async () => {
  const c = new Client();
  await c.connect();
  // node-postgres parses json with JSON.parse; the IDs' text comes from the server separately.
  const { rows: [{ doc, ids }] } = await c.query(
    'SELECT json_agg(b ORDER BY n) AS doc, array_agg(n::text ORDER BY n) AS ids FROM bulk b');
  const { rows: [{ text }] } = await c.query('SELECT jsonb_agg(s ORDER BY s)::text AS text FROM bulk');
  const real = new Set(ids);
  const asText = doc.map(r => BigInt(r.n).toString());
  const exactN = asText.filter((t, i) => t === ids[i]).length;
  const ontoOther = asText.filter((t, i) => t !== ids[i] && real.has(t)).length;
  const strings = JSON.parse(text);
  console.log(`bigint ${new Set(asText).size} ${exactN} ${ontoOther}`);
  console.log(`snowflake ${new Set(doc.map(r => r.s)).size} ${doc.filter((r, i) => r.s === ids[i]).length} ` +
              `${strings.filter((s, i) => typeof s === 'string' && s === ids[i]).length}`);
  await c.end();
})();
JS
)
echo "   node: $out  (bigint: distinct, exact, rounded onto another ID of the set; snowflake: distinct, exact in json, exact in jsonb)"
read -r _ big_distinct big_exact big_other <<<"$(echo "$out" | grep '^bigint')"
sf_check "JSON.parse keeps every snowflake ID exact (json and jsonb)" "snowflake $N $N $N" "$(echo "$out" | grep '^snowflake')"
if [ "${big_distinct:-$N}" -lt "$N" ] && [ "${big_other:-0}" -gt 0 ]; then
  sf_pass "JSON.parse collapses bigint IDs: $big_distinct distinct of $N, $big_exact exact, $big_other rounded onto another ID"
else
  sf_fail "JSON.parse was expected to collapse bigint IDs above 2^53: got [$out]"
fi
out=$("$PY" - <<'PY' 2>&1
import json, psycopg
with psycopg.connect() as conn:
    # As text, so that json.loads (not the driver) parses it.
    doc, ids = conn.execute("SELECT json_agg(b ORDER BY n)::text, array_agg(n::text ORDER BY n) FROM bulk b").fetchone()
    rows = json.loads(doc)
    print("snowflake", len({r["s"] for r in rows}), sum(isinstance(r["s"], str) and r["s"] == i for r, i in zip(rows, ids)))
    print("bigint", len({r["n"] for r in rows}), sum(str(r["n"]) == i for r, i in zip(rows, ids)))
    # What a JavaScript client of this service will see after json.dumps:
    print("float", len({float(r["n"]) for r in rows}))
PY
)
echo "   python: $(echo $out)"
sf_check "json.loads keeps every snowflake ID exact, as str" "snowflake $N $N" "$(echo "$out" | grep '^snowflake')"
sf_check "json.loads reads bigint IDs exactly too (Python integers)" "bigint $N $N" "$(echo "$out" | grep '^bigint')"
if command -v jq >/dev/null; then
  jq_out=$(sf_psql p -c "SELECT json_agg(b ORDER BY n) FROM bulk b" | jq -r '[(map(.n | tostring) | unique | length), (map(.s) | unique | length)] | @tsv')
  echo "   jq $(jq --version): distinct bigint, snowflake: $jq_out"
  read -r jq_n jq_s <<<"$jq_out"
  sf_check "jq keeps every snowflake ID" "$N" "$jq_s"
fi

sf_summary
