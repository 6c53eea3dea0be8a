#!/usr/bin/env bash
# ORMs: every recipe of docs/applications.md "ORMs and query builders" (TypeORM, Sequelize, Knex,
# Drizzle ORM with drizzle-kit push, Prisma's client, SQLAlchemy with Alembic, Django) run against a
# real server, each in a database of its own, with the traps the page warns of shown to happen.
# Installs what it lacks: Debian's python3-sqlalchemy, -alembic, -django, -psycopg2; the npm packages
# (pinned below) into SF_ORM_NODE_DIR (default /var/cache/snowflake/node-orms), reused across runs.
# Heavy (packages, a dozen Node and Python processes): in a matrix run (tests/run-all.sh with
# PG_MAJORS) it runs on the first major only; the ORMs see nothing that differs between majors.
source "$(dirname "$0")/../lib/servers.sh"
source "$(dirname "$0")/../lib/checks.sh"

sf_first_major_only

PY=/usr/bin/python3
sf_app_deps -- psycopg2 sqlalchemy alembic django

# The versions the page names. Install scripts are not run: Prisma's would download engines.
NODE_DIR=${SF_ORM_NODE_DIR:-/var/cache/snowflake/node-orms}
sf_npm_install "$NODE_DIR" pg@8.23.1 typeorm@1.1.1 reflect-metadata@0.2.2 sequelize@6.37.8 knex@3.3.0 drizzle-orm@0.45.4 \
  drizzle-kit@0.31.11 prisma@7.10.1 @prisma/client@7.10.0 @prisma/adapter-pg@7.10.1 tsx@4.23.15
export PATH=$NODE_DIR/node_modules/.bin:$PATH CHECKPOINT_DISABLE=1

sf_workdir
sf_init p "shared_preload_libraries = 'snowflake'" "snowflake.machine_id = 516" "max_connections = 40"
sf_start p
export PGHOST=$SF_WORK/p PGUSER=postgres
echo "versions: node $(node --version), Python $("$PY" -c 'import sqlalchemy, alembic, django, psycopg2; print(f"SQLAlchemy {sqlalchemy.__version__}, Alembic {alembic.__version__}, Django {django.__version__}")')"

# Each fenced block right after a line <!-- test: NAME --> of the page is written to $recipes/NAME
# (NAME may name a directory: drizzle/schema.js); the names are printed in page order.
recipes=$SF_WORK/recipes
mkdir -p "$recipes"
doc=${SF_ORM_DOC:-$SF_ROOT/docs/applications.md}
awk -v dir="$recipes" '
  /^## / { section = $0 }
  /^<!-- test: .* -->$/ { name = $3; next }
  /^```/ && !inside { inside = 1
                      if (name != "" && section == "## ORMs and query builders") {
                        file = dir "/" name; d = file; sub(/\/[^\/]*$/, "", d); system("mkdir -p " d); print name }
                      else if (section == "## ORMs and query builders") print "UNTESTED block at line " NR
                      next }
  /^```/ && inside { inside = 0; file = ""; name = ""; next }
  inside && file != "" { print > file }
' "$doc" >"$recipes/list"
sf_check "every code block of \"ORMs and query builders\" is run here" "" "$(grep UNTESTED "$recipes/list" || true)"
sf_check "the recipes" "orm-typeorm.js orm-sequelize.js orm-knex.js drizzle/schema.js drizzle/drizzle.config.js drizzle/app.js prisma/schema.prisma prisma/app.ts prisma/migration.sql alembic/models.py alembic/env-part.py django/blog/models.py django/app.py" \
  "$(tr '\n' ' ' <"$recipes/list" | sed 's/ $//')"
# Each project is a directory the recipes run in, with the shared node_modules beside them.
for d in "$recipes" "$recipes"/drizzle "$recipes"/prisma; do ln -sfn "$NODE_DIR/node_modules" "$d/node_modules"; done

newdb() { sf_psql p -c "CREATE DATABASE $1" && sf_psql p -d "$1" -c "CREATE EXTENSION snowflake"; }
q() { local db=$1; shift; sf_as_pg psql -h "$PGHOST" -U postgres -d "$db" -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
# col_types DB TABLE.COLUMN...: "table.column type default" for each, one line each.
col_types() {
  local db=$1 c
  shift
  for c in "$@"; do
    q "$db" -c "SELECT format_type(atttypid, NULL) || ' ' || coalesce(pg_get_expr(adbin, adrelid), '-')
                FROM pg_attribute LEFT JOIN pg_attrdef ON adrelid = attrelid AND adnum = attnum
                WHERE attrelid = '${c%%.*}'::regclass AND attname = '${c#*.}'" | sed "s/^/$c /"
  done | tr '\n' '|' | sed 's/|$//'
}
idre='[0-9]{18}'
# run DB DIR CMD...: runs a recipe with PGDATABASE=DB in DIR; its output in $out, its status in $status.
run() {
  local db=$1 dir=$2
  shift 2
  out=$(cd "$dir" && PGDATABASE=$db "$@" 2>&1) && status=0 || status=$?
}

echo "-- TypeORM"
newdb typeorm
run typeorm "$recipes" node orm-typeorm.js
sf_check "orm-typeorm.js runs" 0 "$status"
sf_check_match "orm-typeorm.js: both keys are strings; the relation loads" "^string $idre string $idre
true$" "$out"
first_author=$(q typeorm -c "SELECT min(id) FROM authors")
run typeorm "$recipes" node orm-typeorm.js
sf_check "orm-typeorm.js again: synchronize keeps the table (the first row keeps its ID)" "0 2 2" \
  "$status $(q typeorm -c "SELECT count(*) FROM authors WHERE id >= '$first_author'") $(q typeorm -c "SELECT count(author_id) FROM books")"
sf_check "TypeORM made the columns" "authors.id snowflake snowflake_next()|books.id bigint snowflake_next()|books.author_id snowflake -" \
  "$(col_types typeorm authors.id books.id books.author_id)"
# The traps: the type unknown to TypeORM, and an entity that says bigint for a snowflake column.
sed '/supportedDataTypes.push/d' "$recipes/orm-typeorm.js" >"$recipes/typeorm-untold.js"
run typeorm "$recipes" node typeorm-untold.js
sf_check_match "without supportedDataTypes.push: TypeORM refuses the type" 'Data type "snowflake" in "Author.id" is not supported by "postgres" database' "$out"
sed -e '/supportedDataTypes.push/d' -e "s/type: 'snowflake'/type: 'bigint'/" "$recipes/orm-typeorm.js" >"$recipes/typeorm-bigint.js"
run typeorm "$recipes" node typeorm-bigint.js
sf_check "trap: an entity saying bigint for the snowflake key: synchronize re-adds it, new IDs, references lost" \
  "0 0 bigint 1" \
  "$status $(q typeorm -c "SELECT count(*) FROM authors WHERE id = '$first_author'") $(q typeorm -c "SELECT format_type(atttypid, NULL) FROM pg_attribute WHERE attrelid = 'authors'::regclass AND attname = 'id'") $(q typeorm -c "SELECT count(author_id) FROM books")"

echo "-- Sequelize"
newdb sequelize
run sequelize "$recipes" node orm-sequelize.js
sf_check "orm-sequelize.js runs" 0 "$status"
sf_check_match "orm-sequelize.js: both keys are strings; include and JSON carry the string" "^string $idre string $idre
true true$" "$out"
run sequelize "$recipes" node orm-sequelize.js
sf_check "orm-sequelize.js again: sync keeps the tables" "0 2" "$status $(q sequelize -c 'SELECT count(*) FROM lines l JOIN orders o ON o.id = l."orderId"')"
sf_check "Sequelize made the columns" 'orders.id snowflake snowflake_next()|lines.id bigint snowflake_next()|lines.orderId snowflake -' \
  "$(col_types sequelize orders.id lines.id lines.orderId)"

echo "-- Knex"
newdb knex
run knex "$recipes" node orm-knex.js
sf_check "orm-knex.js runs" 0 "$status"
sf_check_match "orm-knex.js: both keys are strings; the join finds the row" "^string $idre string $idre
true$" "$out"
sf_check "Knex made the columns" 'invoices.id snowflake snowflake_next()|payments.id bigint snowflake_next()|payments.invoice_id snowflake -' \
  "$(col_types knex invoices.id payments.id payments.invoice_id)"

echo "-- Drizzle ORM"
newdb drizzle
run drizzle "$recipes/drizzle" drizzle-kit push --force
sf_check "drizzle-kit push runs" 0 "$status"
sf_check "drizzle-kit push made the columns" 'users.id snowflake snowflake_next()|sessions.id bigint snowflake_next()|sessions.user_id snowflake -' \
  "$(col_types drizzle users.id sessions.id sessions.user_id 2>&1)"
run drizzle "$recipes/drizzle" node app.js
sf_check "drizzle/app.js runs" 0 "$status"
sf_check_match "drizzle/app.js: a string and a BigInt; the lookup by BigInt finds the row" "^string $idre bigint ${idre}n
true$" "$out"
run drizzle "$recipes/drizzle" drizzle-kit push --force
sf_check_match "drizzle-kit push again: no change" "No changes detected" "$out"
sed "/tablesFilter/d" "$recipes/drizzle/drizzle.config.js" >"$recipes/drizzle/unfiltered.config.js"
run drizzle "$recipes/drizzle" drizzle-kit push --force --config unfiltered.config.js
sf_check_match "without tablesFilter too, push finds no change (the extension keeps nothing in public; footprint.sh)" \
  "No changes detected" "$out"
sed "s|schema: './schema.js',|out: './pulled',|" "$recipes/drizzle/drizzle.config.js" >"$recipes/drizzle/pull.config.js"
run drizzle "$recipes/drizzle" drizzle-kit pull --config pull.config.js
pulled=$(cat "$recipes/drizzle/pulled/schema.ts" 2>/dev/null || true)
sf_check_match "drizzle-kit pull: a bigint key in mode 'number'" 'id: bigint\(\{ mode: "number" \}\)\.default\(sql`snowflake_next\(\)`\)' "$pulled"
sf_check_match "drizzle-kit pull: a snowflake column left as a TODO" "TODO: failed to parse database type 'snowflake'" "$pulled"
# The trap: mode 'number' (what drizzle-kit pull writes). An ID is exact as a double only when its
# low 6 bits are zero (sequence 0, 64, ...): 1000 IDs made in one statement, read in number mode.
q drizzle -c "INSERT INTO sessions (user_id) SELECT NULL FROM generate_series(1, 999)"
cat >"$recipes/drizzle/number.js" <<'JS'
const { drizzle } = require('drizzle-orm/node-postgres');
const { eq, sql } = require('drizzle-orm');
const { pgTable, bigint } = require('drizzle-orm/pg-core');
const { Pool } = require('pg');
const sessions = pgTable('sessions', { id: bigint('id', { mode: 'number' }).primaryKey() });
(async () => {
  const pool = new Pool();
  const db = drizzle(pool);
  const rows = await db.select().from(sessions).orderBy(sessions.id);
  const { rows: exact } = await pool.query('SELECT id::text FROM sessions ORDER BY id');
  let same = 0, other = 0, none = 0;
  for (const [i, r] of rows.entries()) {   // look each row up again by the ID read
    const found = await db.select({ text: sql`${sessions.id}::text` }).from(sessions).where(eq(sessions.id, r.id));
    if (found.length === 0) none++; else if (found[0].text === exact[i].id) same++; else other++;
  }
  console.log(rows.length, rows.filter((r, i) => BigInt(r.id).toString() === exact[i].id).length, same, other, none);
  await pool.end();
})();
JS
run drizzle "$recipes/drizzle" node number.js
echo "   mode 'number': rows read, exact; looked up by the ID read: the row itself, another row, none: $out"
read -r dz_rows dz_exact dz_same dz_other dz_none <<<"$out"
if [ "${dz_rows:-0}" = 1000 ] && [ "${dz_exact:-1000}" -lt 100 ] && [ "${dz_other:-0}" -gt 0 ] &&
   [ $((${dz_same:-0} + ${dz_other:-0} + ${dz_none:-0})) = 1000 ]; then
  sf_pass "trap: mode 'number' reads $dz_exact of 1000 IDs exactly; looked up again, $dz_other find another row, $dz_none none"
else sf_fail "trap: mode 'number' was expected to round most IDs onto others: got [$out]"; fi

echo "-- Prisma"
newdb prisma
q prisma -f "$recipes/prisma/migration.sql"
run prisma "$recipes/prisma" env PRISMA_SCHEMA_ENGINE_BINARY=/bin/false prisma generate
sf_check "prisma generate runs offline" 0 "$status"
[ "$status" = 0 ] || echo "$out" | tail -5
run prisma "$recipes/prisma" tsx app.ts
sf_check "prisma/app.ts runs" 0 "$status"
team=$(echo "$out" | sed -n 's/^bigint \([0-9]*\)n 2$/\1/p')
sf_check_match "prisma/app.ts: BigInt from a snowflake key, the nested create, the relation, JSON as a string" \
  "^bigint ${idre}n 2
true
\{\"id\":\"$team\",\"name\":\"core\"\}$" "$out"
sf_check "prisma: the members reference the team" "2" "$(q prisma -c "SELECT count(*) FROM members WHERE team_id = '${team:-0}'")"

echo "-- SQLAlchemy and Alembic"
newdb alembic
alembic() { (cd "$recipes/alembic" && PGDATABASE=alembic PYTHONPATH=. "$PY" -m alembic "$@" 2>&1); }
alembic init migrations >/dev/null
"$PY" - "$recipes/alembic" <<'PY'
import sys, pathlib
d = pathlib.Path(sys.argv[1])
env = d / "migrations/env.py"
s = env.read_text()
assert "target_metadata = None" in s and "connection=connection, target_metadata=target_metadata" in s
s = s.replace("target_metadata = None", (d / "env-part.py").read_text())
s = s.replace("connection=connection, target_metadata=target_metadata",
              "connection=connection, target_metadata=target_metadata, **configure_options")
env.write_text(s)
mako = d / "migrations/script.py.mako"
mako.write_text(mako.read_text().replace("import sqlalchemy as sa", "import sqlalchemy as sa\nimport models"))
ini = d / "alembic.ini"
ini.write_text(ini.read_text().replace("driver://user:pass@localhost/dbname", "postgresql+psycopg2://"))
PY
ops() { sed -n '/^def upgrade/,/^def downgrade/p' "$recipes"/alembic/migrations/versions/*_"$1".py | grep -E '^ +op\.' | sed 's/^ *//; s/(.*//' | sort | uniq -c | tr -s ' ' | tr '\n' '|'; }
out=$(alembic revision --autogenerate -m first)
sf_check "alembic autogenerate: two tables" " 2 op.create_table|" "$(ops first)"
sf_check "alembic autogenerate: the key as models.Snowflake() with its server default" \
  "    sa.Column('id', models.Snowflake(), server_default=sa.text('snowflake_next()'), nullable=False)," \
  "$(grep -F "models.Snowflake(), server_default" "$recipes"/alembic/migrations/versions/*_first.py)"
out=$(alembic upgrade head) && status=0 || status=$?
sf_check "alembic upgrade head runs" 0 "$status"
sf_check "Alembic made the columns" 'shops.id snowflake snowflake_next()|products.id bigint snowflake_next()|products.shop_id snowflake -' \
  "$(col_types alembic shops.id products.id products.shop_id)"
out=$(alembic revision --autogenerate -m second)
sf_check "alembic autogenerate again: nothing to do (no op, no warning about the type)" "|" \
  "$(ops second)|$(echo "$out" | grep "Couldn't determine" || true)"
rm "$recipes"/alembic/migrations/versions/*_second.py
q alembic -c "ALTER TABLE products ALTER COLUMN shop_id TYPE bigint"
alembic revision --autogenerate -m tosnowflake >/dev/null
sf_check "a bigint column the model says is Snowflake: autogenerate alters its type" " 1 op.alter_column|" "$(ops tosnowflake)"
alembic upgrade head >/dev/null
sf_check "the alteration runs" "snowflake" "$(q alembic -c "SELECT format_type(atttypid, NULL) FROM pg_attribute WHERE attrelid = 'products'::regclass AND attname = 'shop_id'")"
out=$(cd "$recipes/alembic" && PGDATABASE=alembic PYTHONPATH=. "$PY" - <<'PY' 2>&1
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from models import Product, Shop
with Session(create_engine("postgresql+psycopg2://", future=True)) as session:
    shop = Shop(name="corner")
    session.add(shop)
    session.flush()
    session.add(Product(shop_id=shop.id))
    session.commit()
    product = session.query(Product).filter_by(shop_id=shop.id).one()
    print(type(shop.id).__name__, shop.id, type(product.id).__name__, product.id)
PY
)
sf_check_match "the models: str for the snowflake key, int for the bigint key" "^str $idre int $idre$" "$out"
# Under 1.1 include_name kept autogenerate off the extension's tables; from 1.2 there are none in
# the application's schema, and autogenerate finds nothing without it either (footprint.sh).
sed -i 's/include_name=include_name, //' "$recipes/alembic/migrations/env.py"
alembic revision --autogenerate -m unfiltered >/dev/null
echo "   without include_name, autogenerate writes: $(ops unfiltered)"
sf_check "without include_name, autogenerate writes no operation (upgrade() is pass)" "pass" \
  "$(sed -n '/^def upgrade/,/^def downgrade/p' "$recipes"/alembic/migrations/versions/*_unfiltered.py | grep -E '^ +(op\.|pass)' | sed 's/^ *//; s/(.*//' | sort -u | tr '\n' ' ' | sed 's/ $//')"

echo "-- Django"
newdb django
mkdir -p "$recipes/django/blog"
touch "$recipes/django/blog/__init__.py"
cat >"$recipes/django/settings.py" <<'PY'
SECRET_KEY = "test"
INSTALLED_APPS = ["blog"]
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "django", "HOST": "", "USER": ""}}
USE_TZ = True
PY
django() { (cd "$recipes/django" && PGDATABASE=django PYTHONPATH=. DJANGO_SETTINGS_MODULE=settings "$PY" "$@" 2>&1); }
out=$(django -m django makemigrations blog) && status=0 || status=$?
sf_check "makemigrations runs" 0 "$status"
out=$(django -m django sqlmigrate blog 0001)
sf_check_match "the key column: snowflake with the default, no bigserial" 'CREATE TABLE "blog_post" \("id" snowflake DEFAULT snowflake_next\(\) NOT NULL PRIMARY KEY' "$out"
sf_check_match "the reference: a snowflake column" '"post_id" snowflake NOT NULL' "$out"
out=$(django -m django migrate) && status=0 || status=$?
sf_check "migrate runs" 0 "$status"
out=$(django -m django makemigrations --check --dry-run) && status=0 || status=$?
sf_check "makemigrations --check: no change" "0 No changes detected" "$status $out"
out=$(django -c 'import django; django.setup(); exec(open("app.py").read())') && status=0 || status=$?
sf_check "django/app.py runs" 0 "$status"
sf_check_match "django/app.py: str for the snowflake key, int for the bigint key; the reference finds the row" "^str $idre int $idre
True$" "$out"
sf_check "Django made the columns" 'blog_post.id snowflake snowflake_next()|blog_comment.id bigint snowflake_next()|blog_comment.post_id snowflake -' \
  "$(col_types django blog_post.id blog_comment.id blog_comment.post_id)"

sf_summary
