# What the migration tests share: the documented index step, a listing of a schema to compare
# before and after (an abort restores it, a subscriber's matches its publisher's), a call that
# reports how often it gave way, the partitioned orders table the partition tests share; and their
# server. Source it: it loads servers.sh, checks.sh and writers.sh first if they are not loaded.
declare -F sf_psql >/dev/null || source "$(dirname "${BASH_SOURCE[0]}")/servers.sh"
declare -F sf_check >/dev/null || source "$(dirname "${BASH_SOURCE[0]}")/checks.sh"
declare -F sf_writers_start >/dev/null || source "$(dirname "${BASH_SOURCE[0]}")/writers.sh"

# sf_migration_node NAME MACHINE_ID [postgresql.conf lines...]: a server for a live migration test
# (in a new $SF_WORK the first time): the library preloaded, that machine id, room for the writers
# (max_connections = 40), started, with the extension created.
sf_migration_node() {
  local name=$1 machine_id=$2
  shift 2
  [ -n "${SF_WORK:-}" ] || sf_workdir
  sf_init "$name" "shared_preload_libraries = 'snowflake'" "snowflake.machine_id = $machine_id" "max_connections = 40" "$@"
  sf_start "$name"
  sf_psql "$name" -c "CREATE EXTENSION snowflake"
}

# sf_migration_orders_sql [TABLE_CONSTRAINT...]: prints the DDL of the partitioned orders table the
# partition tests share (accounts must exist): id uuid, created_at, account_id referencing accounts
# ON UPDATE CASCADE, amount; PRIMARY KEY (id, created_at) and each TABLE_CONSTRAINT given; by
# month of 2024 (orders_2024_01 to _03, then orders_recent), with an index on account_id.
sf_migration_orders_sql() {
  local extra="" c
  for c in "$@"; do extra+=", $c"; done
  cat <<SQL
CREATE TABLE orders (id uuid NOT NULL DEFAULT gen_random_uuid(), created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                     account_id uuid NOT NULL REFERENCES accounts ON UPDATE CASCADE, amount int NOT NULL,
                     PRIMARY KEY (id, created_at)$extra) PARTITION BY RANGE (created_at);
CREATE TABLE orders_2024_01 PARTITION OF orders FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');
CREATE TABLE orders_2024_02 PARTITION OF orders FOR VALUES FROM ('2024-02-01') TO ('2024-03-01');
CREATE TABLE orders_2024_03 PARTITION OF orders FOR VALUES FROM ('2024-03-01') TO ('2024-04-01');
CREATE TABLE orders_recent PARTITION OF orders FOR VALUES FROM ('2024-04-01') TO (MAXVALUE);
CREATE INDEX orders_account_idx ON orders (account_id);
SQL
}

# sf_migration_indexes NODE TABLE: step 4a of docs/migration.md as written there (psql runs each
# statement of the plan's index phase on its own); psql's output and status.
sf_migration_indexes() {
  sf_psql "$1" -v t="$2" <<'SQL'
SELECT statement FROM snowflake_migration_plan(:'t') WHERE phase = 'index' AND status <> 'done' \gexec
SQL
}

# sf_migration_call NODE WHAT SQL: one check that SQL (a cut-over, an abort) succeeds on NODE while
# the writers run; prints how many attempts gave way to them and how long it took (not asserted).
# Its output, NOTICEs included, is left in SF_CALL_OUT.
sf_migration_call() {
  local t0=$(date +%s%N)
  if SF_CALL_OUT=$(sf_psql "$1" -c "$3" 2>&1); then sf_pass "$2"; else sf_fail "$2: $SF_CALL_OUT"; fi
  echo "  $2: $(echo "$SF_CALL_OUT" | grep -c "gave way" || true) attempts gave way, $(( ($(date +%s%N) - t0) / 1000000 )) ms in all"
}

# sf_schema_listing NODE [TABLE...]: the schema public of NODE, one entry a line, sorted: every
# column (type, NOT NULL, default, privileges, comment), constraint (definition, validated,
# inherited from a partitioned table's), index (definition, valid, the index it is attached to),
# trigger, view definition and policy of the tables and views named (with their partitions), or
# of all, and then the functions too. Compare two listings with sf_check_lines.
sf_schema_listing() {
  local node=$1
  shift
  sf_psql "$node" -v tables="$*" <<'SQL'
WITH rel AS (
  SELECT c.oid, c.relname, c.relkind FROM pg_class c
  WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
    AND (:'tables' = '' OR c.oid IN (SELECT t.relid FROM unnest(string_to_array(:'tables', ' ')) n, pg_partition_tree(n::regclass) t))
)
SELECT format('%s column %s %s not null %s default %s acl %s comment %s', r.relname, a.attname,
              format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attacl,
              col_description(r.oid, a.attnum))
FROM rel r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = r.oid AND d.adnum = a.attnum
UNION ALL
SELECT format('%s constraint %s %s validated %s inherited %s', r.relname, k.conname, pg_get_constraintdef(k.oid),
              k.convalidated, k.conparentid <> 0)
FROM rel r JOIN pg_constraint k ON k.conrelid = r.oid
UNION ALL
SELECT format('%s index %s valid %s attached to %s', r.relname, pg_get_indexdef(i.indexrelid), i.indisvalid,
              (SELECT h.inhparent::regclass FROM pg_inherits h WHERE h.inhrelid = i.indexrelid))
FROM rel r JOIN pg_index i ON i.indrelid = r.oid
UNION ALL
SELECT format('%s trigger %s %s', r.relname, t.tgname, pg_get_triggerdef(t.oid))
FROM rel r JOIN pg_trigger t ON t.tgrelid = r.oid WHERE NOT t.tgisinternal
UNION ALL
SELECT format('%s view %s', r.relname, regexp_replace(pg_get_viewdef(r.oid), '\s+', ' ', 'g')) FROM rel r WHERE r.relkind IN ('v', 'm')
UNION ALL
SELECT format('%s policy %s %s %s %s', r.relname, p.polname, p.polcmd, pg_get_expr(p.polqual, p.polrelid),
              pg_get_expr(p.polwithcheck, p.polrelid))
FROM rel r JOIN pg_policy p ON p.polrelid = r.oid
UNION ALL
SELECT format('function %s', p.oid::regprocedure) FROM pg_proc p
WHERE p.pronamespace = 'public'::regnamespace AND :'tables' = ''
ORDER BY 1
SQL
}
