#!/usr/bin/env bash
# The extension's footprint as schema-diff tools see it (docs/applications.md, "The extension's
# footprint"): Alembic's autogenerate (Debian's python3-alembic) and drizzle-kit push (npm), with
# their default settings (no include_name, include_object or tablesFilter), against application
# databases with the extension: a fresh 1.2 one whose table was migrated (so the migration
# toolkit's state has rows), and a 1.1 one, migrated under 1.1, before and after ALTER EXTENSION
# snowflake UPDATE. Both tools report no change where the models match the application's tables,
# and both do see a table the models lack (so "no change" is not blindness).
# Installs what it lacks: Debian's python3-sqlalchemy, -alembic, -psycopg2; pg, drizzle-orm and
# drizzle-kit from npm, into orms.sh's directory (SF_ORM_NODE_DIR, default
# /var/cache/snowflake/node-orms), which already has them when orms.sh ran. In a matrix run it
# runs on the first major only: the tools see the catalog, which is the same on every major.
source "$(dirname "$0")/../lib/servers.sh"
source "$(dirname "$0")/../lib/checks.sh"
sf_first_major_only

PY=/usr/bin/python3
sf_app_deps -- psycopg2 sqlalchemy alembic
NODE_DIR=${SF_ORM_NODE_DIR:-/var/cache/snowflake/node-orms}
sf_npm_install "$NODE_DIR" pg@8.23.1 drizzle-orm@0.45.4 drizzle-kit@0.31.11
export PATH=$NODE_DIR/node_modules/.bin:$PATH

sf_workdir
sf_init p "shared_preload_libraries = 'snowflake'" "snowflake.machine_id = 17"
sf_start p
export PGHOST=$SF_WORK/p PGUSER=postgres
q() { local db=$1; shift; sf_as_pg psql -h "$PGHOST" -U postgres -d "$db" -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
echo "versions: $("$PY" -c 'import sqlalchemy, alembic; print(f"SQLAlchemy {sqlalchemy.__version__}, Alembic {alembic.__version__}")'), drizzle-kit $(drizzle-kit --version 2>/dev/null | grep -o 'drizzle-kit: v[0-9.]*' | grep -o 'v[0-9.]*' | head -1)"

# The application: authors (keyed by uuid, then migrated to snowflake IDs by the toolkit, its
# leftover uuid column dropped as docs/migration.md says) and posts (a snowflake key from the start).
app_tables="
CREATE TABLE authors (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text NOT NULL,
                      created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE posts (id bigint PRIMARY KEY DEFAULT snowflake_next(), body text);
INSERT INTO authors (name, created_at) SELECT 'a' || i, '2024-06-01'::timestamptz + i * interval '1 hour' FROM generate_series(1, 50) i;
INSERT INTO posts (body) SELECT 'p' || i FROM generate_series(1, 10) i;"
migrate_authors() {
  q "$1" -c "SELECT snowflake_migration_start('authors')" -c "CALL snowflake_migration_backfill('authors', time_column => 'created_at')" >/dev/null
  q "$1" -c "SELECT statement FROM snowflake_migration_plan('authors') WHERE phase = 'index'" | while read -r stmt; do q "$1" -c "$stmt"; done
  q "$1" -c "CALL snowflake_migration_cutover('authors')" -c "ALTER TABLE authors DROP COLUMN id_uuid" >/dev/null
}

# The models: what the application's tables are after the migration, and nothing of the extension.
models=$SF_WORK/models
mkdir -p "$models/drizzle"
chmod a+rx "$SF_WORK" "$models"
cat >"$models/models.py" <<'PY'
from sqlalchemy import BigInteger, Column, DateTime, Text, text
from sqlalchemy.orm import declarative_base

Base = declarative_base()

class Author(Base):
    __tablename__ = "authors"
    id = Column(BigInteger, primary_key=True, server_default=text("snowflake_next()"))
    name = Column(Text, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))

class Post(Base):
    __tablename__ = "posts"
    id = Column(BigInteger, primary_key=True, server_default=text("snowflake_next()"))
    body = Column(Text)
PY
# alembic init's env.py with one change, the models' metadata: default settings otherwise.
alembic_project() {
  local dir=$SF_WORK/alembic-$1
  mkdir -p "$dir" && cp "$models/models.py" "$dir/"
  (cd "$dir" && "$PY" -m alembic init migrations >/dev/null)
  sed -i 's/^target_metadata = None$/import models\ntarget_metadata = models.Base.metadata/' "$dir/migrations/env.py"
  sed -i "s|driver://user:pass@localhost/dbname|postgresql+psycopg2:///$1|" "$dir/alembic.ini"
  grep -q '^target_metadata = models.Base.metadata' "$dir/migrations/env.py" || echo "env.py not as expected" >&2
}
# autogenerate DB NAME: the operations alembic revision --autogenerate writes into upgrade(),
# with the table each names; "pass" when it writes none. The revision is removed again (Alembic
# generates the next only when the database is at the newest revision), and so is Alembic's own
# table alembic_version, which it creates: each tool sees the database as if it were the only one.
autogenerate() {
  local dir=$SF_WORK/alembic-$1
  (cd "$dir" && PYTHONPATH=. "$PY" -m alembic revision --autogenerate -m "$2" >"$dir/$2.log" 2>&1) || cat "$dir/$2.log" >&2
  sed -n '/^def upgrade/,/^def downgrade/p' "$dir"/migrations/versions/*_"$2".py | grep -E "^ +(op\.|pass)" |
    sed -E "s/^ *//; s/^(op\.[a-z_]+)\('([a-z_]+)'.*/\1 \2/; s/^(op\.[a-z_]+)\(.*/\1/" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'
  rm -f "$dir"/migrations/versions/*_"$2".py
  q "$1" -c "DROP TABLE IF EXISTS alembic_version"
}
cat >"$models/drizzle/schema.js" <<'JS'
const { pgTable, bigint, text, timestamp } = require('drizzle-orm/pg-core');
const { sql } = require('drizzle-orm');
exports.authors = pgTable('authors', {
  id: bigint('id', { mode: 'bigint' }).primaryKey().default(sql`snowflake_next()`),
  name: text('name').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});
exports.posts = pgTable('posts', {
  id: bigint('id', { mode: 'bigint' }).primaryKey().default(sql`snowflake_next()`),
  body: text('body'),
});
JS
cat >"$models/drizzle/drizzle.config.js" <<'JS'
module.exports = {
  dialect: 'postgresql',
  schema: './schema.js',
  dbCredentials: { host: process.env.PGHOST, user: process.env.PGUSER, database: process.env.PGDATABASE, ssl: false },
};
JS
ln -sfn "$NODE_DIR/node_modules" "$models/drizzle/node_modules"
# push DB: drizzle-kit push --force (applies without asking, as a deploy does), output in $out.
push() { out=$(cd "$models/drizzle" && PGDATABASE=$1 timeout 120 drizzle-kit push --force --verbose 2>&1) && status=0 || status=$?; }
# What the extension has in the application's schema, and the rows of its state.
in_public() { q "$1" -c "SELECT coalesce(string_agg(relname || ':' || relkind::text, ' ' ORDER BY relname COLLATE \"C\"), '-') FROM pg_class
                          WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'v', 'm', 'S', 'p', 'f')"; }
state_rows() { q "$1" -c "SELECT (SELECT count(*) FROM snowflake_internal.snowflake_migration WHERE phase = 'done') || ' ' ||
                                 (SELECT count(*) FROM snowflake_internal.snowflake_migration_lane)"; }

echo "-- a fresh 1.2 application database, its table migrated by the toolkit"
q postgres -c "CREATE DATABASE app"
q app -c "CREATE EXTENSION snowflake" -c "$app_tables"
migrate_authors app
sf_check "the migration ran: the key is a snowflake ID now" "bigint snowflake_next()" \
  "$(q app -c "SELECT format_type(atttypid, NULL) || ' ' || pg_get_expr(adbin, adrelid) FROM pg_attribute JOIN pg_attrdef ON adrelid = attrelid AND adnum = attnum
               WHERE attrelid = 'authors'::regclass AND attname = 'id'")"
sf_check "the toolkit's state has rows (a done migration, its lane)" "1 1" "$(state_rows app)"
sf_check "the application's schema holds the application's tables only" "authors:r posts:r" "$(in_public app)"
sf_check "no policy on a table of the application's schema" "0" \
  "$(q app -c "SELECT count(*) FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid WHERE c.relnamespace = 'public'::regnamespace")"
alembic_project app
sf_check "Alembic autogenerate, default settings: no change" "pass" "$(autogenerate app check)"
push app
sf_check "drizzle-kit push: runs" 0 "$status"
sf_check_match "drizzle-kit push: no change" "No changes detected" "$out"
sf_check "after push: the extension's objects and state are all there" "1 1|t|t" \
  "$(state_rows app)|$(q app -c "SELECT to_regprocedure('snowflake_next()') IS NOT NULL")|$(q app -c "SELECT count(*) = 2 FROM pg_policy WHERE polrelid = 'snowflake_internal.snowflake_migration_lane'::regclass")"
# Not blindness: a table the models lack is seen by both (and push drops it, as it would have
# dropped the extension's tables before 1.2).
q app -c "CREATE TABLE stray (id bigint PRIMARY KEY)"
sf_check "control: a table the models lack, autogenerate drops it" "op.drop_table stray" "$(autogenerate app stray)"
push app
sf_check "control: a table the models lack, drizzle-kit push drops it" "0 -" "$status $(q app -c "SELECT coalesce(to_regclass('stray')::text, '-')")"

echo "-- a 1.1 application database, migrated under 1.1, then updated"
q postgres -c "CREATE DATABASE app11"
q app11 -c "CREATE EXTENSION snowflake VERSION '1.1'" -c "$app_tables"
migrate_authors app11
alembic_project app11
sf_check "1.1: the extension's tables are in public" \
  "authors:r posts:r snowflake_lease:r snowflake_lease_grant:r snowflake_lease_settings:r snowflake_leases:v snowflake_migration:r snowflake_migration_map:r snowflake_migration_step:r" \
  "$(in_public app11)"
sf_check "1.1: autogenerate drops the extension's tables (the issue)" \
  "op.drop_table snowflake_lease op.drop_table snowflake_lease_grant op.drop_table snowflake_lease_settings op.drop_table snowflake_migration op.drop_table snowflake_migration_map op.drop_table snowflake_migration_step" \
  "$(autogenerate app11 before)"
before=$(q app11 -c "SELECT string_agg(relation || ' ' || phase, ',') FROM snowflake_migration")
q app11 -c "ALTER EXTENSION snowflake UPDATE" 2>&1 | grep -v '^$' || true
sf_check "updated: the migration's record kept, now in snowflake_internal" "public.authors done" \
  "$(q app11 -c "SELECT string_agg(relation || ' ' || phase, ',') FROM snowflake_internal.snowflake_migration")"
sf_check "updated: it is the record 1.1 had" "public.authors done" "$before"
sf_check "updated: the application's schema holds the application's tables only" "authors:r posts:r" "$(in_public app11)"
sf_check "updated: Alembic autogenerate, default settings: no change" "pass" "$(autogenerate app11 after)"
push app11
sf_check "updated: drizzle-kit push: runs" 0 "$status"
sf_check_match "updated: drizzle-kit push: no change" "No changes detected" "$out"

sf_summary
