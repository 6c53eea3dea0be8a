-- The migration toolkit, the index phase's statements: a twin of every index over a migrated
-- column, built CONCURRENTLY (per partition on a partitioned table, then attached), and what the
-- cut-over does with them (the moves), both computed from one description of each index
-- (_snowflake_index_twin) and the plan's context.

-- One index over a migrated column, as the index phase twins it. Nothing of it is stored.
CREATE TYPE _snowflake_index_twin AS (
    ix          oid,      -- the index
    rel         oid,      -- its table
    target      text,     -- its table's schema-qualified, quoted name
    nsp         name,     -- its schema
    name        name,     -- its name
    am          name,     -- its access method
    uniq        boolean,  -- unique
    prim        boolean,  -- its table's primary key
    parted      boolean,  -- an index of a partitioned table
    nnd         boolean,  -- NULLS NOT DISTINCT
    indkey      int2[],   -- its columns' attnums
    twin        text,     -- its twin's name, <name>_snowflake
    keys        text,     -- its twin's key columns (the migrated ones replaced by their twins), with their options
    included    text,     -- its twin's INCLUDE columns (NULL: none)
    def         text,     -- its twin's definition after the table's name: USING ... (keys) [INCLUDE ...] [NULLS NOT DISTINCT]
    unsupported text      -- why it gets no twin (expressions, a predicate, an access method), NULL when it does
);

-- _snowflake_index_columns(ix, cols) -> (keys, included): the column list of a twin of index ix
-- (pg_index row fields indrelid, indkey, indoption, indnkeyatts, amname): each migrated column
-- replaced by its twin, with the ordering options of a btree.
CREATE OR REPLACE FUNCTION _snowflake_index_columns(indrelid oid, indkey int2[], indoption int2[], indnkeyatts int2, amname name,
                                                    cols @extschema@._snowflake_migrated_column[], OUT keys text, OUT included text)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT string_agg(quote_ident(coalesce(u.twin, att.attname::text))
                      || CASE WHEN amname = 'btree' AND o & 1 = 1 THEN ' DESC' ELSE '' END
                      || CASE WHEN amname = 'btree' AND o & 2 = 2 AND o & 1 = 0 THEN ' NULLS FIRST'
                              WHEN amname = 'btree' AND o & 2 = 0 AND o & 1 = 1 THEN ' NULLS LAST' ELSE '' END, ', ' ORDER BY k.j)
               FILTER (WHERE k.j <= indnkeyatts),
           string_agg(quote_ident(coalesce(u.twin, att.attname::text)), ', ' ORDER BY k.j) FILTER (WHERE k.j > indnkeyatts)
    FROM unnest(indkey) WITH ORDINALITY k(a, j)
    CROSS JOIN LATERAL (SELECT indoption[k.j] AS o) opt
    JOIN pg_attribute att ON att.attrelid = indrelid AND att.attnum = k.a
    LEFT JOIN unnest(cols) u ON u.rel = att.attrelid AND u.att = att.attnum
$$;

-- _snowflake_index_twins(ctx) -> setof _snowflake_index_twin: the indexes over the migrated
-- columns of ctx, and over each partition's column of the same name (an index of one partition
-- alone, attached to no index of its parent, gets its twin too), table by table (the migrated
-- table first), the primary key first, then by name; without a partition's index attached to its
-- parent's (built and renamed with it) and the lookup index on the uuids the migration builds
-- beside a primary key. (PL/pgSQL, not SQL: a SQL function's query is planned at every call.)
CREATE OR REPLACE FUNCTION _snowflake_index_twins(ctx @extschema@._snowflake_migration_plan_context)
RETURNS SETOF @extschema@._snowflake_index_twin
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    pcols @extschema@._snowflake_migrated_column[] := ctx.cols || ARRAY(
        SELECT ROW(c.is_key, i.inhrelid, format('%I.%I', kn.nspname, k.relname), pa.attnum, c.col, c.twin, c.not_null,
                   c.unchecked, c.fill, c.nsp, c.owner, c.pairs)::@extschema@._snowflake_migrated_column
        FROM unnest(ctx.cols) WITH ORDINALITY c JOIN pg_inherits i ON i.inhparent = c.rel
        JOIN pg_class k ON k.oid = i.inhrelid AND k.relispartition JOIN pg_namespace kn ON kn.oid = k.relnamespace
        JOIN pg_attribute pa ON pa.attrelid = i.inhrelid AND pa.attname = c.col AND NOT pa.attisdropped
        ORDER BY c.ordinality, format('%I.%I', kn.nspname, k.relname));
    prels oid[] := ctx.rels || ARRAY(SELECT u.rel FROM unnest(pcols) WITH ORDINALITY u WHERE u.rel <> ALL (ctx.rels)
                                     GROUP BY u.rel ORDER BY min(u.ordinality));
BEGIN
    RETURN QUERY
    WITH x AS MATERIALIZED (  -- the indexes first: their columns are read for those alone
        SELECT x.*, n.nspname, ic.relname, ic.relkind, am.amname
        FROM pg_index x
        JOIN pg_class ic ON ic.oid = x.indexrelid
        JOIN pg_namespace n ON n.oid = ic.relnamespace
        JOIN pg_am am ON am.oid = ic.relam
        WHERE x.indrelid = ANY (prels)
          AND EXISTS (SELECT 1 FROM unnest(pcols) u WHERE u.rel = x.indrelid AND u.att = ANY (x.indkey::int2[]))
          -- a partition's index attached to its parent's is built and renamed with it
          AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = x.indexrelid)
          -- not the lookup index on the uuids that the migration builds beside the primary key
          AND NOT EXISTS (SELECT 1 FROM pg_constraint pc JOIN pg_class pi ON pi.oid = pc.conindid
                          WHERE pc.conrelid = x.indrelid AND pc.contype = 'p' AND left(pi.relname, 58) || '_uuid' = ic.relname))
    SELECT x.indexrelid, x.indrelid, @extschema@._snowflake_qname(x.indrelid::regclass), x.nspname, x.relname, x.amname, x.indisunique, x.indisprimary, x.relkind = 'I',
           x.indnullsnotdistinct, ARRAY(SELECT unnest(x.indkey::int2[])), left(x.relname, 53) || '_snowflake', tc.keys, tc.included,
           format('USING %s (%s)%s%s', x.amname, tc.keys, CASE WHEN tc.included IS NOT NULL THEN format(' INCLUDE (%s)', tc.included) ELSE '' END,
                  CASE WHEN x.indnullsnotdistinct THEN ' NULLS NOT DISTINCT' ELSE '' END),
           nullif(concat_ws(' and ', CASE WHEN x.indexprs IS NOT NULL THEN 'has expressions' END,
                                     CASE WHEN x.indpred IS NOT NULL THEN 'is partial (has a WHERE clause)' END,
                                     CASE WHEN x.amname NOT IN ('btree', 'hash') THEN format('uses access method %s', x.amname) END), '')
    FROM x CROSS JOIN LATERAL @extschema@._snowflake_index_columns(x.indrelid, ARRAY(SELECT unnest(x.indkey::int2[])),
                                                                   ARRAY(SELECT unnest(x.indoption::int2[])), x.indnkeyatts, x.amname, pcols) tc
    ORDER BY array_position(prels, x.indrelid), NOT x.indisprimary, x.relname;
END
$fn$;

-- _snowflake_parted_index(ix, nm, def, uniq, suffix, started) -> the index phase's statements
-- for an index over the partitioned index ix, which PostgreSQL cannot build CONCURRENTLY: with a
-- name nm, the index on the parent alone (kind index_only: a catalog change, invalid until
-- complete); then for each partition's index of ix (old_name, its table target) its twin
-- <name><suffix> CONCURRENTLY (kind index), attached to nm if there is one (kind attach, a
-- catalog change); the last attach makes nm valid. def: "USING ... (columns) ...". Raises 42P07
-- for a name taken. Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_parted_index(ix oid, nm text, def text, uniq boolean, suffix text, started boolean)
RETURNS TABLE (kind text, target text, object text, statement text, undo text, old_name text, old_rel text, new_rel text, nsp text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    p record;
    ch record;
    twin text;
BEGIN
    SELECT n.nspname, @extschema@._snowflake_qname(x.indrelid::regclass) AS tq INTO p
    FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE x.indexrelid = ix;
    IF nm IS NOT NULL THEN
        kind := 'index_only'; target := p.tq; object := format('%I.%I', p.nspname, nm); nsp := p.nspname;
        statement := format('CREATE %sINDEX %I ON ONLY %s %s', CASE WHEN uniq THEN 'UNIQUE ' ELSE '' END, nm, target, def);
        undo := format('DROP INDEX IF EXISTS %s', object);
        RETURN NEXT;
    END IF;
    FOR ch IN SELECT ci.relname, cn.nspname, @extschema@._snowflake_qname(cx.indrelid::regclass) AS tq
              FROM pg_inherits i JOIN pg_class ci ON ci.oid = i.inhrelid JOIN pg_namespace cn ON cn.oid = ci.relnamespace
              JOIN pg_index cx ON cx.indexrelid = i.inhrelid
              WHERE i.inhparent = ix ORDER BY 3
    LOOP
        twin := left(ch.relname, 63 - octet_length(suffix)) || suffix;
        IF octet_length(ch.relname) > 58 OR (NOT started AND to_regclass(format('%I.%I', ch.nspname, twin)) IS NOT NULL)
           OR (suffix = '_snowflake' AND nm IS NOT NULL AND to_regclass(format('%I.%I', ch.nspname, ch.relname || '_uuid')) IS NOT NULL) THEN
            RAISE EXCEPTION 'index %.% of partition % cannot be twinned as % (or renamed to %_uuid)', ch.nspname, ch.relname, ch.tq, twin, ch.relname
                USING ERRCODE = 'duplicate_table';
        END IF;
        kind := 'index'; target := ch.tq; object := format('%I.%I', ch.nspname, twin); nsp := ch.nspname;
        old_name := format('%I.%I', ch.nspname, ch.relname); old_rel := ch.relname; new_rel := twin;
        statement := format('CREATE %sINDEX CONCURRENTLY %I ON %s %s', CASE WHEN uniq THEN 'UNIQUE ' ELSE '' END, twin, target, def);
        undo := format('DROP INDEX IF EXISTS %s', object);
        RETURN NEXT;
        CONTINUE WHEN nm IS NULL;
        kind := 'attach'; undo := NULL;
        statement := format('ALTER INDEX %I.%I ATTACH PARTITION %s', p.nspname, nm, object);
        RETURN NEXT;
    END LOOP;
END
$fn$;

-- _snowflake_index_uuid_lookup(ctx, ix) -> setof _snowflake_plan_statement: for the primary key
-- ix, a unique index on its old columns (<name>_uuid, kind index), built now: the key's index goes
-- with the constraint at the cut-over, and this one keeps lookups by the uuids (<column>_uuid)
-- fast; per partition, attached, on a partitioned table. None for a widened key (its old column
-- is dropped). Raises 42P07 for a name taken.
CREATE OR REPLACE FUNCTION _snowflake_index_uuid_lookup(ctx @extschema@._snowflake_migration_plan_context, ix @extschema@._snowflake_index_twin)
RETURNS SETOF @extschema@._snowflake_plan_statement
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    nm text := left(ix.name, 58) || '_uuid';
    cols text := (SELECT string_agg(quote_ident(att.attname), ', ' ORDER BY k.o) FROM unnest(ix.indkey) WITH ORDINALITY k(a, o)
                  JOIN pg_attribute att ON att.attrelid = ix.rel AND att.attnum = k.a);
BEGIN
    IF ctx.widen THEN
        RETURN;
    ELSIF ix.parted THEN
        RETURN QUERY SELECT ch.kind, ch.target, ch.object, ch.statement, ch.undo
                     FROM @extschema@._snowflake_parted_index(ix.ix, nm, format('USING btree (%s)', cols), true, '_uuid', ctx.started) ch;
        RETURN;
    END IF;
    IF NOT ctx.started AND to_regclass(format('%I.%I', ix.nsp, nm)) IS NOT NULL THEN
        RAISE EXCEPTION 'relation %.% already exists', ix.nsp, nm USING ERRCODE = 'duplicate_table';
    END IF;
    RETURN NEXT ROW('index', ix.target, format('%I.%I', ix.nsp, nm),
                    format('CREATE UNIQUE INDEX CONCURRENTLY %I ON %s USING btree (%s)', nm, ix.target, cols),
                    format('DROP INDEX IF EXISTS %s', format('%I.%I', ix.nsp, nm)))::@extschema@._snowflake_plan_statement;
END
$fn$;

-- _snowflake_index_deferrable(ix oid) -> the options of the UNIQUE constraint of index ix as SQL
-- (' DEFERRABLE', ' DEFERRABLE INITIALLY DEFERRED' or '').
CREATE OR REPLACE FUNCTION _snowflake_index_deferrable(ix oid) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce((SELECT CASE WHEN con.condeferrable THEN ' DEFERRABLE' || CASE WHEN con.condeferred THEN ' INITIALLY DEFERRED' ELSE '' END ELSE '' END
                     FROM pg_constraint con JOIN pg_index x ON x.indexrelid = ix
                     WHERE con.conindid = ix AND con.contype = 'u' AND con.conrelid = x.indrelid), '')
$$;

-- _snowflake_index_moves(ctx, ix) -> setof _snowflake_plan_statement: what the cut-over does with
-- index ix of an ordinary table or the parent of a partitioned one, once its twin exists: a
-- primary key moves to its twin (kind pk: object the constraint, statement the twin); a UNIQUE
-- constraint stays a constraint with its name and options on the new columns, the old one kept
-- as <name>_uuid for lookups by the uuids (kind unique); any other index takes its name, the old
-- one renamed <name>_uuid (kind rename). A widened key's old indexes go with its column. Raises
-- 0A000 for another table's primary key that foreign keys reference, 42710/42P07 for a name taken.
CREATE OR REPLACE FUNCTION _snowflake_index_moves(ctx @extschema@._snowflake_migration_plan_context, ix @extschema@._snowflake_index_twin)
RETURNS SETOF @extschema@._snowflake_plan_statement
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    uq name := (SELECT con.conname FROM pg_constraint con WHERE con.conindid = ix.ix AND con.contype = 'u' AND con.conrelid = ix.rel);
    renamed text := CASE WHEN uq IS NOT NULL THEN format('ALTER TABLE %s RENAME CONSTRAINT %I TO %I', ix.target, uq, uq || '_uuid')
                         ELSE format('ALTER INDEX %I.%I RENAME TO %I', ix.nsp, ix.name, ix.name || '_uuid') END;
BEGIN
    IF ix.prim THEN
        IF ix.rel <> ctx.tbl::oid AND EXISTS (SELECT 1 FROM pg_constraint con WHERE con.contype = 'f' AND con.conindid = ix.ix) THEN
            RAISE EXCEPTION 'the primary key of % contains a migrated column and is referenced by foreign keys', ix.target
                USING ERRCODE = 'feature_not_supported', HINT = 'Migrate that table''s own key first.';
        END IF;
        RETURN NEXT ROW('pk', ix.target, (SELECT quote_ident(con.conname) FROM pg_constraint con WHERE con.conindid = ix.ix AND con.contype = 'p'),
                        quote_ident(ix.twin), NULL)::@extschema@._snowflake_plan_statement;
        RETURN;
    ELSIF uq IS NOT NULL AND NOT ctx.widen AND (octet_length(uq) > 58
            OR NOT ctx.started AND EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conrelid = ix.rel AND con.conname = uq || '_uuid')
            OR to_regclass(format('%I.%I', ix.nsp, uq || '_uuid')) IS NOT NULL) THEN
        RAISE EXCEPTION 'constraint % of % cannot be renamed to %_uuid at the cut-over', uq, ix.target, uq USING ERRCODE = 'duplicate_object';
    ELSIF uq IS NULL AND NOT ctx.widen AND (octet_length(ix.name) > 58 OR to_regclass(format('%I.%I', ix.nsp, ix.name || '_uuid')) IS NOT NULL) THEN
        RAISE EXCEPTION 'index %.% cannot be renamed to %_uuid at the cut-over', ix.nsp, ix.name, ix.name USING ERRCODE = 'duplicate_table';
    END IF;
    IF NOT ctx.widen THEN
        RETURN NEXT ROW(CASE WHEN uq IS NULL THEN 'rename' ELSE 'unique' END, ix.target, NULL, renamed, NULL)::@extschema@._snowflake_plan_statement;
    END IF;
    RETURN NEXT ROW(CASE WHEN uq IS NULL THEN 'rename' ELSE 'unique' END, ix.target, NULL,
                    CASE WHEN uq IS NULL THEN format('ALTER INDEX %I.%I RENAME TO %I', ix.nsp, ix.twin, ix.name)
                         ELSE format('ALTER TABLE %s ADD CONSTRAINT %I UNIQUE USING INDEX %I%s', ix.target, uq, ix.twin,
                                     @extschema@._snowflake_index_deferrable(ix.ix)) END, NULL)::@extschema@._snowflake_plan_statement;
END
$fn$;

-- _snowflake_index_steps_parted(ctx, ix) -> setof _snowflake_plan_statement: index ix of a
-- partitioned table, neither its primary key nor a UNIQUE constraint: the twin on the parent
-- alone, then each partition's CONCURRENTLY, attached (_snowflake_parted_index); at the cut-over
-- each partition's twin and then the parent's take the old names (kind rename).
CREATE OR REPLACE FUNCTION _snowflake_index_steps_parted(ctx @extschema@._snowflake_migration_plan_context, ix @extschema@._snowflake_index_twin)
RETURNS SETOF @extschema@._snowflake_plan_statement
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    ch record;
BEGIN
    FOR ch IN SELECT * FROM @extschema@._snowflake_parted_index(ix.ix, ix.twin, ix.def, ix.uniq, '_snowflake', ctx.started) LOOP
        RETURN NEXT ROW(ch.kind, ch.target, ch.object, ch.statement, ch.undo)::@extschema@._snowflake_plan_statement;
        CONTINUE WHEN ch.kind <> 'index';
        IF NOT ctx.widen THEN
            RETURN NEXT ROW('rename', ch.target, NULL, format('ALTER INDEX %s RENAME TO %I', ch.old_name, ch.old_rel || '_uuid'), NULL)::@extschema@._snowflake_plan_statement;
        END IF;
        RETURN NEXT ROW('rename', ch.target, NULL, format('ALTER INDEX %s RENAME TO %I', ch.object, ch.old_rel), NULL)::@extschema@._snowflake_plan_statement;
    END LOOP;
    RETURN QUERY SELECT * FROM @extschema@._snowflake_index_moves(ctx, ix);
END
$fn$;

-- _snowflake_index_steps_parted_key(ctx, ix) -> setof _snowflake_plan_statement: the primary
-- key ix of a partitioned migrated table. PostgreSQL makes no primary key of an index on a
-- partitioned table, so each partition's twin is built CONCURRENTLY without a parent (kind
-- index), and the cut-over (kind pkp, catalog changes only) drops the key, makes each
-- partition's twin its primary key, adds the parent's (ON ONLY) and attaches the partitions'
-- to it.
CREATE OR REPLACE FUNCTION _snowflake_index_steps_parted_key(ctx @extschema@._snowflake_migration_plan_context, ix @extschema@._snowflake_index_twin)
RETURNS SETOF @extschema@._snowflake_plan_statement
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    ch record;
    pk text := (SELECT quote_ident(con.conname) FROM pg_constraint con WHERE con.conindid = ix.ix AND con.contype = 'p');
    part_pk name;
    keys @extschema@._snowflake_plan_statement[] := '{}';
    attach @extschema@._snowflake_plan_statement[] := '{}';
BEGIN
    FOR ch IN SELECT * FROM @extschema@._snowflake_parted_index(ix.ix, NULL, ix.def, true, '_snowflake', ctx.started) LOOP
        RETURN NEXT ROW(ch.kind, ch.target, ch.object, ch.statement, ch.undo)::@extschema@._snowflake_plan_statement;
        part_pk := (SELECT con.conname FROM pg_constraint con WHERE con.conindid = to_regclass(ch.old_name) AND con.contype = 'p');
        keys := keys || ROW('pkp', ch.target, NULL, format('ALTER TABLE %s ADD CONSTRAINT %I PRIMARY KEY USING INDEX %I', ch.target, part_pk, ch.new_rel),
                            NULL)::@extschema@._snowflake_plan_statement;
        attach := attach || ROW('pkp', ch.target, NULL, format('ALTER INDEX %I.%s ATTACH PARTITION %s', ix.nsp, pk, format('%I.%I', ch.nsp, part_pk)),
                                NULL)::@extschema@._snowflake_plan_statement;
    END LOOP;
    RETURN NEXT ROW('pkp', ix.target, NULL, format('ALTER TABLE %s DROP CONSTRAINT %s', ix.target, pk), NULL)::@extschema@._snowflake_plan_statement;
    RETURN QUERY SELECT * FROM unnest(keys);
    RETURN NEXT ROW('pkp', ix.target, NULL, format('ALTER TABLE ONLY %s ADD CONSTRAINT %s PRIMARY KEY (%s)', ix.target, pk, ix.keys),
                    NULL)::@extschema@._snowflake_plan_statement;
    RETURN QUERY SELECT * FROM unnest(attach);
END
$fn$;

-- _snowflake_index_steps_parted_unique(ctx, ix, uq) -> setof _snowflake_plan_statement: index ix
-- of UNIQUE constraint uq of a partitioned table, carried like a partitioned primary key:
-- PostgreSQL makes no constraint of an index on a partitioned table, so each partition's twin is
-- built CONCURRENTLY without a parent (kind index); at the swap (kind pkp, catalog changes only)
-- the old constraint and the partitions' are renamed <name>_uuid, each partition's twin becomes
-- its constraint under the old name, then the parent's (ON ONLY), to which they are attached.
-- Raises 0A000 for a widened column (dropped at the swap, its constraint only then), 42P07 and
-- 42710 for names taken.
CREATE OR REPLACE FUNCTION _snowflake_index_steps_parted_unique(ctx @extschema@._snowflake_migration_plan_context,
                                                                ix @extschema@._snowflake_index_twin, uq name)
RETURNS SETOF @extschema@._snowflake_plan_statement
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    ch record;
    opts text := @extschema@._snowflake_index_deferrable(ix.ix);
    moved @extschema@._snowflake_plan_statement[] := '{}';
    attach @extschema@._snowflake_plan_statement[] := '{}';
BEGIN
    IF ctx.widen THEN
        RAISE EXCEPTION 'UNIQUE constraint % of partitioned table % contains an integer column that is widened', uq, ix.target
            USING ERRCODE = 'feature_not_supported', HINT = 'Drop the constraint before the migration and add it again after the cut-over.';
    END IF;
    FOR ch IN SELECT * FROM @extschema@._snowflake_parted_index(ix.ix, NULL, ix.def, true, '_snowflake', ctx.started) LOOP
        IF NOT ctx.started AND to_regclass(format('%I.%I', ch.nsp, ch.old_rel || '_uuid')) IS NOT NULL THEN
            RAISE EXCEPTION 'index % cannot be renamed to %_uuid at the cut-over', ch.old_name, ch.old_rel USING ERRCODE = 'duplicate_table';
        END IF;
        RETURN NEXT ROW(ch.kind, ch.target, ch.object, ch.statement, ch.undo)::@extschema@._snowflake_plan_statement;
        moved := moved || ROW('pkp', ch.target, NULL, format('ALTER INDEX %s RENAME TO %I', ch.old_name, ch.old_rel || '_uuid'), NULL)::@extschema@._snowflake_plan_statement
                       || ROW('pkp', ch.target, NULL, format('ALTER TABLE %s ADD CONSTRAINT %I UNIQUE USING INDEX %I%s', ch.target, ch.old_rel, ch.new_rel, opts),
                              NULL)::@extschema@._snowflake_plan_statement;
        attach := attach || ROW('pkp', ch.target, NULL, format('ALTER INDEX %I.%I ATTACH PARTITION %I.%I', ix.nsp, uq, ch.nsp, ch.old_rel),
                                NULL)::@extschema@._snowflake_plan_statement;
    END LOOP;
    IF octet_length(uq) > 58 OR NOT ctx.started AND to_regclass(format('%I.%I', ix.nsp, uq || '_uuid')) IS NOT NULL THEN
        RAISE EXCEPTION 'constraint % of % cannot be renamed to %_uuid at the cut-over', uq, ix.target, uq USING ERRCODE = 'duplicate_object';
    END IF;
    RETURN NEXT ROW('pkp', ix.target, NULL, format('ALTER INDEX %I.%I RENAME TO %I', ix.nsp, ix.name, uq || '_uuid'), NULL)::@extschema@._snowflake_plan_statement;
    RETURN QUERY SELECT * FROM unnest(moved);
    RETURN NEXT ROW('pkp', ix.target, NULL, format('ALTER TABLE ONLY %s ADD CONSTRAINT %I UNIQUE%s (%s)%s%s', ix.target, uq,
                                                   CASE WHEN ix.nnd THEN ' NULLS NOT DISTINCT' ELSE '' END, ix.keys,
                                                   CASE WHEN ix.included IS NOT NULL THEN format(' INCLUDE (%s)', ix.included) ELSE '' END, opts),
                    NULL)::@extschema@._snowflake_plan_statement;
    RETURN QUERY SELECT * FROM unnest(attach);
END
$fn$;

-- _snowflake_migration_steps_index(ctx, moves): the index phase's statements: the twins of the
-- indexes over migrated columns (_snowflake_index_twins) and the unique index on the old
-- primary-key columns; with moves, instead, what the cut-over does with them, for
-- _snowflake_migration_steps_cutover(): the primary keys (kinds pk, pkp), then the renamed
-- indexes (rename), then the UNIQUE constraints (unique). An index the twins cannot copy is
-- named in a NOTICE (a unique one raises 0A000).
CREATE OR REPLACE FUNCTION _snowflake_migration_steps_index(ctx @extschema@._snowflake_migration_plan_context, moves boolean)
RETURNS TABLE (step integer, phase text, kind text, target text, object text, statement text, undo text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    ix @extschema@._snowflake_index_twin;
    uq name;
    -- every index's steps and moves, in order
    steps @extschema@._snowflake_plan_statement[] := '{}';
BEGIN
    FOR ix IN SELECT * FROM @extschema@._snowflake_index_twins(ctx) LOOP
        IF ix.unsupported IS NOT NULL THEN
            IF ix.uniq OR ix.prim THEN
                RAISE EXCEPTION 'unique index %.% on a migrated column has expressions, a predicate or access method %',
                    ix.nsp, ix.name, ix.am USING ERRCODE = 'feature_not_supported';
            END IF;
            CONTINUE WHEN moves;
            RAISE NOTICE 'index %.% is not copied to the bigint key: it %; recreate it after the cut-over', ix.nsp, ix.name, ix.unsupported;
            CONTINUE;
        END IF;
        IF NOT ctx.started AND to_regclass(format('%I.%I', ix.nsp, ix.twin)) IS NOT NULL THEN
            RAISE EXCEPTION 'relation %.% already exists', ix.nsp, ix.twin USING ERRCODE = 'duplicate_table';
        ELSIF ix.parted AND ix.prim AND ix.rel <> ctx.tbl::oid THEN
            RAISE EXCEPTION 'the primary key of partitioned table % contains a column that references %', ix.target, ctx.parent_q
                USING ERRCODE = 'feature_not_supported', HINT = 'Migrate that table''s own key first.';
        END IF;
        uq := (SELECT con.conname FROM pg_constraint con WHERE con.conindid = ix.ix AND con.contype = 'u' AND con.conrelid = ix.rel);
        IF NOT ix.parted THEN  -- an ordinary table's: its twin CONCURRENTLY, then its moves
            steps := steps || ROW('index', ix.target, format('%I.%I', ix.nsp, ix.twin),
                                  format('CREATE %sINDEX CONCURRENTLY %I ON %s %s', CASE WHEN ix.uniq THEN 'UNIQUE ' ELSE '' END, ix.twin, ix.target, ix.def),
                                  format('DROP INDEX IF EXISTS %s', format('%I.%I', ix.nsp, ix.twin)))::@extschema@._snowflake_plan_statement
                             || ARRAY(SELECT s FROM @extschema@._snowflake_index_moves(ctx, ix) s);
        ELSIF ix.prim THEN
            steps := steps || ARRAY(SELECT s FROM @extschema@._snowflake_index_steps_parted_key(ctx, ix) s);
        ELSIF uq IS NOT NULL THEN
            steps := steps || ARRAY(SELECT s FROM @extschema@._snowflake_index_steps_parted_unique(ctx, ix, uq) s);
        ELSE
            steps := steps || ARRAY(SELECT s FROM @extschema@._snowflake_index_steps_parted(ctx, ix) s);
        END IF;
        -- (the cut-over, which asks for the moves alone, never needs it)
        IF ix.prim AND NOT moves THEN
            steps := steps || ARRAY(SELECT s FROM @extschema@._snowflake_index_uuid_lookup(ctx, ix) s);
        END IF;
    END LOOP;
    RETURN QUERY
        SELECT (row_number() OVER (ORDER BY CASE WHEN moves THEN array_position(ARRAY['pk', 'pkp', 'rename', 'unique'], s.kind) END, s.o))::integer,
               'index', s.kind, s.target, s.object, s.statement, s.undo
        FROM unnest(steps) WITH ORDINALITY s(kind, target, object, statement, undo, o)
        WHERE (s.kind IN ('pk', 'pkp', 'rename', 'unique')) = moves
        ORDER BY 1;
END
$fn$;
