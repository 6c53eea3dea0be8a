-- The migration toolkit: the plan's statements, phase by phase, each builder a function over the
-- description of the migrated columns (_snowflake_migration_context, built once per plan).

-- One statement of a plan as a value, for the builders that pass statements on to another
-- (what the cut-over does with the indexes, the views and policies it carries). Nothing of it
-- is stored.
CREATE TYPE _snowflake_plan_statement AS (kind text, target text, object text, statement text, undo text);

-- _snowflake_target_type(tbl, started) -> 'bigint' or 'snowflake': the type of the new key.
-- Before the start, the session's choice (SET snowflake_migration.target_type = 'snowflake'; the
-- default bigint), so that the dry run shows what the start will do; once started, the type of
-- the twin the start made. Raises 22023 for another choice.
CREATE OR REPLACE FUNCTION _snowflake_target_type(tbl regclass, started boolean) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    chosen text;
BEGIN
    IF started THEN
        SELECT CASE WHEN a.atttypid = '@extschema@.snowflake'::regtype THEN 'snowflake' ELSE 'bigint' END INTO chosen
        FROM snowflake_internal.snowflake_migration m
        JOIN pg_attribute a ON a.attrelid = tbl AND a.attname = m.new_column AND NOT a.attisdropped
        WHERE m.relation = @extschema@._snowflake_qname(tbl);
        RETURN coalesce(chosen, 'bigint');
    END IF;
    chosen := coalesce(nullif(current_setting('snowflake_migration.target_type', true), ''), 'bigint');
    IF chosen NOT IN ('bigint', 'snowflake') THEN
        RAISE EXCEPTION 'snowflake_migration.target_type must be bigint or snowflake, not %', quote_literal(chosen)
            USING ERRCODE = 'invalid_parameter_value',
            HINT = 'bigint (the default) or snowflake, the type that reads and writes IDs as strings in JSON.';
    END IF;
    RETURN chosen;
END
$fn$;

-- _snowflake_migration_steps_start(ctx): phase 1's statements (see _snowflake_migration_steps).
-- Each referencing column gets a fill trigger that computes its twin from the uuid column at
-- every write, whatever the writer put into the twin (a twin set to another parent's new id
-- would move the row to that parent at the cut-over).
CREATE OR REPLACE FUNCTION _snowflake_migration_steps_start(ctx @extschema@._snowflake_migration_plan_context)
RETURNS TABLE (step integer, phase text, kind text, target text, object text, statement text, undo text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    c @extschema@._snowflake_migrated_column;
    tbl regclass := ctx.tbl;
    new_type text := ctx.new_type;
    widen boolean := ctx.widen;
    replica boolean := ctx.replica;
BEGIN
    step := 0;
    phase := 'start'; kind := 'ddl'; object := NULL;
    FOREACH c IN ARRAY ctx.cols LOOP
        target := c.qname;
        -- Nullable, no default: ADD COLUMN is then a catalog change, not a table rewrite.
        step := step + 1;
        statement := format('ALTER TABLE %s ADD COLUMN %I %s', target, c.twin,
                            CASE new_type WHEN 'snowflake' THEN '@extschema@.snowflake' ELSE 'bigint' END);
        undo := format('ALTER TABLE %s DROP COLUMN IF EXISTS %I', target, c.twin);
        RETURN NEXT;
        -- A subscriber's copy: the publisher sends every twin (src/sql/migration/replica.sql).
        CONTINUE WHEN replica;
        IF c.is_key AND NOT widen THEN
            step := step + 1;
            statement := format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT @extschema@.snowflake_next()', target, ctx.new_col);
            undo := NULL;
            RETURN NEXT;
            CONTINUE;
        END IF;
        -- The writer may have no right to read the parent (INSERT on the referencing table was
        -- enough before): the function runs as the owner of the table it is attached to
        -- (SECURITY DEFINER, lookups pinned). EXECUTE is revoked from PUBLIC once the trigger is
        -- made, so no other role can attach it elsewhere. An UPDATE that changes neither the
        -- uuid nor the twin keeps the twin the trigger wrote before (no lookup).
        step := step + 1;
        -- Widening an integer key (src/sql/migration/integer.sql): every twin is the old value.
        statement := CASE WHEN widen THEN format($f$CREATE FUNCTION %1$I.%2$I() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $body$
BEGIN
  NEW.%4$I := NEW.%3$I;
  RETURN NEW;
END $body$$f$, c.nsp, c.fill, c.col, c.twin) ELSE format($f$CREATE FUNCTION %1$I.%2$I() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$
BEGIN
  IF NEW.%3$I IS NULL THEN
    NEW.%4$I := NULL;%8$s
  ELSIF TG_OP OPERATOR(pg_catalog.=) 'UPDATE' AND NEW.%3$I OPERATOR(pg_catalog.=) OLD.%3$I AND NEW.%4$I OPERATOR(pg_catalog.=) OLD.%4$I%10$s THEN
    NULL;
  ELSE
    NEW.%4$I := (SELECT p.%5$I FROM %6$s p WHERE p.%7$I OPERATOR(pg_catalog.=) NEW.%3$I%9$s);
  END IF;
  RETURN NEW;
END $body$$f$, c.nsp, c.fill, c.col, c.twin, ctx.new_col, ctx.parent_q, ctx.key_col,
            CASE WHEN c.rel = tbl::oid THEN format(E'\n  ELSIF NEW.%I OPERATOR(pg_catalog.=) NEW.%I THEN\n    NEW.%I := NEW.%I;', c.col, ctx.key_col, c.twin, ctx.new_col) ELSE '' END,
            @extschema@._snowflake_match(c, 'p', 'NEW'),
            (SELECT string_agg(format(' AND NEW.%1$I IS NOT DISTINCT FROM OLD.%1$I', c.pairs[i]), '' ORDER BY i)
             FROM generate_series(2, coalesce(cardinality(c.pairs), 0), 2) i)) END;
        undo := format('DROP FUNCTION IF EXISTS %I.%I()', c.nsp, c.fill);
        RETURN NEXT;
        step := step + 1;
        statement := format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION %I.%I()',
                            c.fill, target, c.nsp, c.fill);
        undo := format('DROP TRIGGER IF EXISTS %I ON %s', c.fill, target);
        RETURN NEXT;
        step := step + 1; undo := NULL;
        statement := format('REVOKE ALL ON FUNCTION %I.%I() FROM PUBLIC', c.nsp, c.fill);
        RETURN NEXT;
        step := step + 1;
        statement := format('ALTER FUNCTION %I.%I() OWNER TO %I', c.nsp, c.fill, c.owner);
        RETURN NEXT;
    END LOOP;
END
$fn$;

-- _snowflake_migration_steps_backfill(ctx): phases 2-3's statements: batches and CHECKs.
CREATE OR REPLACE FUNCTION _snowflake_migration_steps_backfill(ctx @extschema@._snowflake_migration_plan_context)
RETURNS TABLE (step integer, phase text, kind text, target text, object text, statement text, undo text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    c @extschema@._snowflake_migrated_column;
    nm text;
    lf record;
    started boolean := ctx.started;
    widen boolean := ctx.widen;
BEGIN
    step := 0;
    phase := 'backfill';
    FOREACH c IN ARRAY ctx.cols LOOP
        target := c.qname;
        nm := left(c.twin, 53) || '_filled';
        IF NOT started AND EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conrelid = c.rel AND con.conname = nm) THEN
            RAISE EXCEPTION 'constraint % of % already exists', nm, target USING ERRCODE = 'duplicate_object';
        END IF;
        IF widen THEN
            -- Before the pass (the trigger fills every write from now on), then one pass of each
            -- table in ranges of blocks; validated, it proves every twin equal to its old value
            -- (and, for a NOT NULL column, not null: the swap's SET NOT NULL then reads no row).
            step := step + 1; kind := 'ddl'; object := NULL;
            statement := format('ALTER TABLE %s ADD CONSTRAINT %I CHECK (%s) NOT VALID', target, nm,
                                CASE WHEN c.not_null THEN format('%I IS NOT NULL AND %I = %I', c.twin, c.twin, c.col)
                                     ELSE format('%I IS NOT DISTINCT FROM %I', c.twin, c.col) END);
            undo := format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', target, nm);
            RETURN NEXT;
            kind := 'child_batches'; undo := NULL; object := c.twin;
            FOR lf IN SELECT * FROM @extschema@._snowflake_leaves(c.rel) LOOP
                step := step + 1; target := lf.qname;
                statement := format('UPDATE %s c SET %I = c.%I WHERE c.ctid >= $1 AND c.ctid < $2 AND c.%I IS NULL AND c.%I IS NOT NULL',
                                    target, c.twin, c.col, c.twin, c.col);
                RETURN NEXT;
            END LOOP;
            object := NULL; target := c.qname;
        ELSIF c.is_key THEN
            step := step + 1; kind := 'parent_batches'; undo := NULL; object := c.twin;
            statement := format('UPDATE %s p SET %I = m.new_id FROM snowflake_internal.snowflake_migration_map m WHERE m.relation = $1 AND m.n >= $2 AND m.n < $3 AND p.%I = m.key AND p.%I IS NULL',
                                target, c.twin, c.col, c.twin);
            RETURN NEXT;
            -- Added once the batches are done: before, old rows without an ID could not be updated.
            step := step + 1; kind := 'ddl'; object := NULL;
            statement := format('ALTER TABLE %s ADD CONSTRAINT %I CHECK (%I IS NOT NULL) NOT VALID', target, nm, c.twin);
            undo := format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', target, nm);
            RETURN NEXT;
        ELSE
            -- Added before the pass: from then on every write must carry the twin (the trigger
            -- fills it), so rows the application moves during the pass need no second sweep.
            step := step + 1; kind := 'ddl'; object := NULL;
            statement := format('ALTER TABLE %s ADD CONSTRAINT %I CHECK (%s%I IS NOT NULL) NOT VALID', target, nm,
                                coalesce(c.unchecked || ' OR ', ''), c.twin);
            undo := format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', target, nm);
            RETURN NEXT;
            -- In ranges of blocks of each partition (ctids are per partition).
            kind := 'child_batches'; undo := NULL; object := c.twin;
            FOR lf IN SELECT * FROM @extschema@._snowflake_leaves(c.rel) LOOP
                step := step + 1; target := lf.qname;
                statement := format('UPDATE %s c SET %I = p.%I FROM %s p WHERE c.ctid >= $1 AND c.ctid < $2 AND c.%I IS NULL AND p.%I = c.%I%s',
                                    target, c.twin, ctx.new_col, ctx.parent_q, c.twin, ctx.key_col, c.col, @extschema@._snowflake_match(c, 'p', 'c'));
                RETURN NEXT;
            END LOOP;
            object := NULL; target := c.qname;
        END IF;
        step := step + 1; kind := 'ddl'; undo := NULL;
        statement := format('ALTER TABLE %s VALIDATE CONSTRAINT %I', target, nm);
        RETURN NEXT;
    END LOOP;
END
$fn$;

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

-- _snowflake_migration_steps_index(ctx, moves): the twins of the indexes over migrated
-- columns and the unique index on the old primary-key columns; with moves, instead, what the cut-over
-- does with them (kinds pk, rename, unique), for _snowflake_migration_steps_cutover().
CREATE OR REPLACE FUNCTION _snowflake_migration_steps_index(ctx @extschema@._snowflake_migration_plan_context, moves boolean)
RETURNS TABLE (step integer, phase text, kind text, target text, object text, statement text, undo text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    tbl regclass := ctx.tbl;
    started boolean := ctx.started;
    ix record;
    tc record;
    uq record;
    nm text;
    def text;
    ch record;
    pkp text[] := '{}';
    pka text[] := '{}';
    -- what the cut-over does, (kind, target, object, statement), returned after the index steps
    moved text[] := '{}';
    -- A widened integer key keeps no old column: its indexes go with it (DROP COLUMN), nothing is
    -- renamed <name>_uuid and the primary key needs no lookup index on the old values.
    widen boolean := ctx.widen;
    -- the migrated columns and their tables, with each partition's column of the same name: an
    -- index of one partition alone (attached to no index of its parent) gets its twin too
    pcols @extschema@._snowflake_migrated_column[];
    prels oid[];
BEGIN
    step := 0;
    pcols := ctx.cols || ARRAY(
        SELECT ROW(c.is_key, i.inhrelid, @extschema@._snowflake_qname(i.inhrelid::regclass), pa.attnum, c.col, c.twin, c.not_null,
                   c.unchecked, c.fill, c.nsp, c.owner, c.pairs)::@extschema@._snowflake_migrated_column
        FROM unnest(ctx.cols) WITH ORDINALITY c JOIN pg_inherits i ON i.inhparent = c.rel
        JOIN pg_class k ON k.oid = i.inhrelid AND k.relispartition
        JOIN pg_attribute pa ON pa.attrelid = i.inhrelid AND pa.attname = c.col AND NOT pa.attisdropped
        ORDER BY c.ordinality, @extschema@._snowflake_qname(i.inhrelid::regclass));
    prels := ctx.rels || ARRAY(SELECT u.rel FROM unnest(pcols) WITH ORDINALITY u WHERE u.rel <> ALL (ctx.rels)
                               GROUP BY u.rel ORDER BY min(u.ordinality));
    phase := 'index'; kind := 'index';
    FOR ix IN
        SELECT x.indexrelid, x.indrelid, x.indisunique, x.indisprimary, x.indnullsnotdistinct, x.indnkeyatts,
               ARRAY(SELECT unnest(x.indkey::int2[])) AS indkey, ARRAY(SELECT unnest(x.indoption::int2[])) AS indoption,
               x.indexprs IS NOT NULL AS has_exprs, x.indpred IS NOT NULL AS partial,
               am.amname, ic.relname, n.nspname, ic.relkind = 'I' AS parted
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
                          WHERE pc.conrelid = x.indrelid AND pc.contype = 'p' AND left(pi.relname, 58) || '_uuid' = ic.relname)
        ORDER BY array_position(prels, x.indrelid), NOT x.indisprimary, ic.relname
    LOOP
        target := @extschema@._snowflake_qname(ix.indrelid::regclass);
        IF ix.has_exprs OR ix.partial OR ix.amname NOT IN ('btree', 'hash') THEN
            IF ix.indisunique OR ix.indisprimary THEN
                RAISE EXCEPTION 'unique index %.% on a migrated column has expressions, a predicate or access method %',
                    ix.nspname, ix.relname, ix.amname USING ERRCODE = 'feature_not_supported';
            END IF;
            CONTINUE WHEN moves;
            RAISE NOTICE 'index %.% is not copied to the bigint key: it %; recreate it after the cut-over',
                ix.nspname, ix.relname,
                concat_ws(' and ', CASE WHEN ix.has_exprs THEN 'has expressions' END,
                                   CASE WHEN ix.partial THEN 'is partial (has a WHERE clause)' END,
                                   CASE WHEN ix.amname NOT IN ('btree', 'hash') THEN format('uses access method %s', ix.amname) END);
            CONTINUE;
        END IF;
        SELECT * INTO tc FROM @extschema@._snowflake_index_columns(ix.indrelid, ix.indkey, ix.indoption, ix.indnkeyatts::int2, ix.amname, pcols);
        nm := left(ix.relname, 53) || '_snowflake';
        IF NOT started AND to_regclass(format('%I.%I', ix.nspname, nm)) IS NOT NULL THEN
            RAISE EXCEPTION 'relation %.% already exists', ix.nspname, nm USING ERRCODE = 'duplicate_table';
        END IF;
        step := step + 1;
        object := format('%I.%I', ix.nspname, nm);
        def := format('USING %s (%s)%s%s', ix.amname, tc.keys,
                      CASE WHEN tc.included IS NOT NULL THEN format(' INCLUDE (%s)', tc.included) ELSE '' END,
                      CASE WHEN ix.indnullsnotdistinct THEN ' NULLS NOT DISTINCT' ELSE '' END);
        statement := format('CREATE %sINDEX CONCURRENTLY %I ON %s %s', CASE WHEN ix.indisunique THEN 'UNIQUE ' ELSE '' END, nm, target, def);
        undo := format('DROP INDEX IF EXISTS %s', object);
        IF ix.parted AND ix.indisprimary AND ix.indrelid = tbl::oid THEN
            -- The key of a partitioned migrated table: each partition's twin of its primary key,
            -- CONCURRENTLY, without a parent (PostgreSQL makes no primary key of an index on a
            -- partitioned table: the cut-over makes each partition's, then the parent's, and
            -- attaches them); the lookup index on the uuids on the parent alone, then per partition.
            FOR ch IN SELECT * FROM @extschema@._snowflake_parted_index(ix.indexrelid, NULL, def, true, '_snowflake', started) LOOP
                step := step + 1; kind := ch.kind; target := ch.target; object := ch.object; statement := ch.statement; undo := ch.undo;
                IF NOT moves THEN RETURN NEXT; END IF;
                pkp := pkp || ARRAY['pkp', target, NULL, format('ALTER TABLE %s ADD CONSTRAINT %I PRIMARY KEY USING INDEX %I', target,
                                    (SELECT con.conname FROM pg_constraint con WHERE con.conindid = to_regclass(ch.old_name) AND con.contype = 'p'), ch.new_rel)]
                ;
                pka := pka || ARRAY['pkp', target, NULL, format('ALTER INDEX %I.%s ATTACH PARTITION %s', ix.nspname,
                                    (SELECT quote_ident(con.conname) FROM pg_constraint con WHERE con.conindid = ix.indexrelid AND con.contype = 'p'),
                                    format('%I.%I', ch.nsp, (SELECT con.conname FROM pg_constraint con WHERE con.conindid = to_regclass(ch.old_name) AND con.contype = 'p')))];
            END LOOP;
            target := @extschema@._snowflake_qname(ix.indrelid::regclass);
            moved := moved || ARRAY['pkp', target, NULL, format('ALTER TABLE %s DROP CONSTRAINT %s', target,
                                    (SELECT quote_ident(con.conname) FROM pg_constraint con WHERE con.conindid = ix.indexrelid AND con.contype = 'p'))]
                           || pkp || ARRAY['pkp', target, NULL, format('ALTER TABLE ONLY %s ADD CONSTRAINT %s PRIMARY KEY (%s)', target,
                                    (SELECT quote_ident(con.conname) FROM pg_constraint con WHERE con.conindid = ix.indexrelid AND con.contype = 'p'), tc.keys)]
                           || pka;
            target := @extschema@._snowflake_qname(ix.indrelid::regclass);
            FOR ch IN SELECT * FROM @extschema@._snowflake_parted_index(ix.indexrelid, left(ix.relname, 58) || '_uuid',
                          format('USING btree (%s)', (SELECT string_agg(quote_ident(att.attname), ', ' ORDER BY k.o) FROM unnest(ix.indkey) WITH ORDINALITY k(a, o)
                                                      JOIN pg_attribute att ON att.attrelid = ix.indrelid AND att.attnum = k.a)), true, '_uuid', started) LOOP
                step := step + 1; kind := ch.kind; target := ch.target; object := ch.object; statement := ch.statement; undo := ch.undo;
                IF NOT moves THEN RETURN NEXT; END IF;
            END LOOP;
            CONTINUE;
        ELSIF ix.parted THEN
            IF ix.indisprimary THEN
                RAISE EXCEPTION 'the primary key of partitioned table % contains a column that references %', target, ctx.parent_q
                    USING ERRCODE = 'feature_not_supported', HINT = 'Migrate that table''s own key first.';
            END IF;
            SELECT con.conname, con.condeferrable, con.condeferred INTO uq
            FROM pg_constraint con WHERE con.conindid = ix.indexrelid AND con.contype = 'u' AND con.conrelid = ix.indrelid;
            IF FOUND THEN
                -- A UNIQUE constraint of a partitioned table: PostgreSQL makes no constraint of an
                -- index on a partitioned table, so it is carried like a partitioned primary key:
                -- each partition's twin CONCURRENTLY, without a parent; at the swap the old
                -- constraint and the partitions' are renamed <name>_uuid, each partition's twin
                -- becomes its constraint under the old name, then the parent's (ON ONLY), to which
                -- they are attached: catalog changes only.
                IF widen THEN  -- (a widened column is dropped at the swap, its constraint only then)
                    RAISE EXCEPTION 'UNIQUE constraint % of partitioned table % contains an integer column that is widened', uq.conname, target
                        USING ERRCODE = 'feature_not_supported', HINT = 'Drop the constraint before the migration and add it again after the cut-over.';
                END IF;
                pkp := '{}'; pka := '{}';
                FOR ch IN SELECT * FROM @extschema@._snowflake_parted_index(ix.indexrelid, NULL, def, true, '_snowflake', started) LOOP
                    step := step + 1; kind := ch.kind; target := ch.target; object := ch.object; statement := ch.statement; undo := ch.undo;
                    IF NOT started AND NOT widen AND to_regclass(format('%I.%I', ch.nsp, ch.old_rel || '_uuid')) IS NOT NULL THEN
                        RAISE EXCEPTION 'index % cannot be renamed to %_uuid at the cut-over', ch.old_name, ch.old_rel USING ERRCODE = 'duplicate_table';
                    END IF;
                    IF NOT moves THEN RETURN NEXT; END IF;
                    pkp := pkp || CASE WHEN widen THEN '{}'::text[] ELSE ARRAY['pkp', target, NULL, format('ALTER INDEX %s RENAME TO %I', ch.old_name, ch.old_rel || '_uuid')] END
                               || ARRAY['pkp', target, NULL, format('ALTER TABLE %s ADD CONSTRAINT %I UNIQUE USING INDEX %I%s', target, ch.old_rel, ch.new_rel,
                                        CASE WHEN uq.condeferrable THEN ' DEFERRABLE' || CASE WHEN uq.condeferred THEN ' INITIALLY DEFERRED' ELSE '' END ELSE '' END)];
                    pka := pka || ARRAY['pkp', target, NULL, format('ALTER INDEX %I.%I ATTACH PARTITION %I.%I', ix.nspname, uq.conname, ch.nsp, ch.old_rel)];
                END LOOP;
                target := @extschema@._snowflake_qname(ix.indrelid::regclass);
                IF NOT widen AND (octet_length(uq.conname) > 58 OR NOT started AND to_regclass(format('%I.%I', ix.nspname, uq.conname || '_uuid')) IS NOT NULL) THEN
                    RAISE EXCEPTION 'constraint % of % cannot be renamed to %_uuid at the cut-over', uq.conname, target, uq.conname
                        USING ERRCODE = 'duplicate_object';
                END IF;
                IF moves THEN
                    moved := moved || CASE WHEN widen THEN '{}'::text[] ELSE ARRAY['pkp', target, NULL, format('ALTER INDEX %I.%I RENAME TO %I', ix.nspname, ix.relname, uq.conname || '_uuid')] END
                                   || pkp
                                   || ARRAY['pkp', target, NULL, format('ALTER TABLE ONLY %s ADD CONSTRAINT %I UNIQUE%s (%s)%s%s', target, uq.conname,
                                            CASE WHEN ix.indnullsnotdistinct THEN ' NULLS NOT DISTINCT' ELSE '' END, tc.keys,
                                            CASE WHEN tc.included IS NOT NULL THEN format(' INCLUDE (%s)', tc.included) ELSE '' END,
                                            CASE WHEN uq.condeferrable THEN ' DEFERRABLE' || CASE WHEN uq.condeferred THEN ' INITIALLY DEFERRED' ELSE '' END ELSE '' END)]
                                   || pka;
                END IF;
                CONTINUE;
            END IF;
            -- Any other index (unique or not): on the parent alone, then per partition, attached.
            FOR ch IN SELECT * FROM @extschema@._snowflake_parted_index(ix.indexrelid, nm, def, ix.indisunique, '_snowflake', started) LOOP
                step := step + 1; kind := ch.kind; target := ch.target; object := ch.object; statement := ch.statement; undo := ch.undo;
                IF NOT moves THEN RETURN NEXT; END IF;
                CONTINUE WHEN ch.kind <> 'index';
                moved := moved || CASE WHEN widen THEN '{}'::text[] ELSE ARRAY['rename', target, NULL, format('ALTER INDEX %s RENAME TO %I', ch.old_name, ch.old_rel || '_uuid')] END
                               || ARRAY['rename', target, NULL, format('ALTER INDEX %s RENAME TO %I', object, ch.old_rel)];
            END LOOP;
            kind := 'index'; target := @extschema@._snowflake_qname(ix.indrelid::regclass); object := format('%I.%I', ix.nspname, nm);
        ELSIF NOT moves THEN
            RETURN NEXT;
        END IF;
        IF ix.indisprimary THEN
            IF ix.indrelid <> tbl::oid AND EXISTS (SELECT 1 FROM pg_constraint con WHERE con.contype = 'f' AND con.conindid = ix.indexrelid) THEN
                RAISE EXCEPTION 'the primary key of % contains a migrated column and is referenced by foreign keys', target
                    USING ERRCODE = 'feature_not_supported', HINT = 'Migrate that table''s own key first.';
            END IF;
            moved := moved || ARRAY['pk', target,
                (SELECT quote_ident(con.conname) FROM pg_constraint con WHERE con.conindid = ix.indexrelid AND con.contype = 'p'), quote_ident(nm)];
            CONTINUE WHEN widen;
            -- The primary key's index goes with the constraint at the cut-over: a unique index on
            -- the old columns, built now, keeps lookups by the uuids (<column>_uuid) fast.
            nm := left(ix.relname, 58) || '_uuid';
            IF NOT started AND to_regclass(format('%I.%I', ix.nspname, nm)) IS NOT NULL THEN
                RAISE EXCEPTION 'relation %.% already exists', ix.nspname, nm USING ERRCODE = 'duplicate_table';
            END IF;
            step := step + 1;
            object := format('%I.%I', ix.nspname, nm);
            statement := format('CREATE UNIQUE INDEX CONCURRENTLY %I ON %s USING btree (%s)', nm, target,
                                (SELECT string_agg(quote_ident(att.attname), ', ' ORDER BY k.o)
                                 FROM unnest(ix.indkey) WITH ORDINALITY k(a, o)
                                 JOIN pg_attribute att ON att.attrelid = ix.indrelid AND att.attnum = k.a));
            undo := format('DROP INDEX IF EXISTS %s', object);
            IF NOT moves THEN RETURN NEXT; END IF;
        ELSIF EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = ix.indexrelid AND con.contype = 'u' AND con.conrelid = ix.indrelid) THEN
            -- A UNIQUE constraint stays a constraint with its name and options on the new
            -- columns; the old one is kept, renamed <name>_uuid, for lookups by the uuids.
            SELECT con.conname, con.condeferrable, con.condeferred INTO uq
            FROM pg_constraint con WHERE con.conindid = ix.indexrelid AND con.contype = 'u' AND con.conrelid = ix.indrelid;
            IF NOT widen AND octet_length(uq.conname) > 58 OR NOT widen AND (NOT started AND EXISTS (
                    SELECT 1 FROM pg_constraint con WHERE con.conrelid = ix.indrelid AND con.conname = uq.conname || '_uuid'))
               OR NOT widen AND to_regclass(format('%I.%I', ix.nspname, uq.conname || '_uuid')) IS NOT NULL THEN
                RAISE EXCEPTION 'constraint % of % cannot be renamed to %_uuid at the cut-over', uq.conname, target, uq.conname
                    USING ERRCODE = 'duplicate_object';
            END IF;
            moved := moved || CASE WHEN widen THEN '{}'::text[] ELSE ARRAY['unique', target, NULL, format('ALTER TABLE %s RENAME CONSTRAINT %I TO %I', target, uq.conname, uq.conname || '_uuid')] END
                           || ARRAY['unique', target, NULL, format('ALTER TABLE %s ADD CONSTRAINT %I UNIQUE USING INDEX %I%s', target, uq.conname, left(ix.relname, 53) || '_snowflake',
                                    CASE WHEN uq.condeferrable THEN ' DEFERRABLE' || CASE WHEN uq.condeferred THEN ' INITIALLY DEFERRED' ELSE '' END ELSE '' END)];
        ELSE
            IF NOT widen AND (octet_length(ix.relname) > 58 OR to_regclass(format('%I.%I', ix.nspname, ix.relname || '_uuid')) IS NOT NULL) THEN
                RAISE EXCEPTION 'index %.% cannot be renamed to %_uuid at the cut-over', ix.nspname, ix.relname, ix.relname
                    USING ERRCODE = 'duplicate_table';
            END IF;
            moved := moved || CASE WHEN widen THEN '{}'::text[] ELSE ARRAY['rename', target, NULL, format('ALTER INDEX %I.%I RENAME TO %I', ix.nspname, ix.relname, ix.relname || '_uuid')] END
                           || ARRAY['rename', target, NULL, format('ALTER INDEX %I.%I RENAME TO %I', ix.nspname, nm, ix.relname)];
        END IF;
    END LOOP;
    object := NULL;
    -- What the cut-over does with these indexes, for _snowflake_migration_steps_cutover(): the
    -- primary keys, then the renamed indexes, then the UNIQUE constraints.
    IF moves THEN
        FOR ix IN SELECT moved[i] AS k, moved[i + 1] AS t, moved[i + 2] AS o, moved[i + 3] AS s
                  FROM generate_series(1, cardinality(moved), 4) i
                  ORDER BY array_position(ARRAY['pk', 'pkp', 'rename', 'unique'], moved[i]), i
        LOOP
            step := step + 1; kind := ix.k; target := ix.t; object := ix.o; statement := ix.s;
            RETURN NEXT;
        END LOOP;
    END IF;
END
$fn$;

-- _snowflake_twin_list(rel, atts, cols) -> text: the columns atts of rel, quoted, each migrated
-- one replaced by its twin, in the order given.
CREATE OR REPLACE FUNCTION _snowflake_twin_list(rel oid, atts int2[], cols @extschema@._snowflake_migrated_column[]) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT string_agg(quote_ident(coalesce(u.twin, att.attname::text)), ', ' ORDER BY k.o)
    FROM unnest(atts) WITH ORDINALITY k(a, o)
    JOIN pg_attribute att ON att.attrelid = rel AND att.attnum = k.a
    LEFT JOIN unnest(cols) u ON u.rel = att.attrelid AND u.att = att.attnum
$$;

-- _snowflake_migration_steps_constrain(ctx): the foreign keys on the twins.
CREATE OR REPLACE FUNCTION _snowflake_migration_steps_constrain(ctx @extschema@._snowflake_migration_plan_context)
RETURNS TABLE (step integer, phase text, kind text, target text, object text, statement text, undo text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    fk record;
    lf record;
    nm text;
    def text;
    tbl regclass := ctx.tbl;
    started boolean := ctx.started;
BEGIN
    step := 0;
    -- A partitioned table's key becomes unique (its primary key) only at the swap, which then adds
    -- the foreign keys that reference it NOT VALID, validated once it has committed.
    IF (SELECT k.relkind FROM pg_class k WHERE k.oid = tbl) = 'p' THEN
        RETURN;
    END IF;
    -- ---- constrain: the foreign keys again, on the bigint twins; NOT VALID, then VALIDATE ----
    phase := 'constrain'; kind := 'ddl';
    FOR fk IN
        SELECT con.*, format('%I.%I', cn.nspname, cc.relname) AS child_q, cc.relkind
        FROM pg_constraint con
        JOIN pg_class cc ON cc.oid = con.conrelid JOIN pg_namespace cn ON cn.oid = cc.relnamespace
        WHERE con.oid = ANY (ctx.fks)
        ORDER BY array_position(ctx.fks, con.oid)
    LOOP
        target := fk.child_q;
        nm := left(fk.conname, 53) || '_snowflake';
        IF NOT started AND EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conrelid = fk.conrelid AND con.conname = nm) THEN
            RAISE EXCEPTION 'constraint % of % already exists', nm, target USING ERRCODE = 'duplicate_object';
        END IF;
        def := format('FOREIGN KEY (%s) REFERENCES %s (%s)%s ON UPDATE %s ON DELETE %s%s%s',
            @extschema@._snowflake_twin_list(fk.conrelid, fk.conkey, ctx.cols),
            ctx.parent_q,
            @extschema@._snowflake_twin_list(tbl, fk.confkey, ctx.cols),
            CASE fk.confmatchtype WHEN 'f' THEN ' MATCH FULL' ELSE '' END,
            CASE fk.confupdtype WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' ELSE 'SET DEFAULT' END,
            CASE fk.confdeltype WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' ELSE 'SET DEFAULT' END,
            CASE WHEN fk.confdelsetcols IS NOT NULL AND cardinality(fk.confdelsetcols) > 0 THEN
                format(' (%s)', @extschema@._snowflake_twin_list(fk.conrelid, fk.confdelsetcols, ctx.cols)) ELSE '' END,
            CASE WHEN fk.condeferrable THEN ' DEFERRABLE' || CASE WHEN fk.condeferred THEN ' INITIALLY DEFERRED' ELSE '' END ELSE '' END);
        -- Added NOT VALID, then validated (writes go on). PostgreSQL before 18 cannot add a NOT
        -- VALID foreign key to a partitioned table: each partition gets it that way, and the one
        -- added to the parent then attaches them without checking a row again.
        FOR lf IN SELECT * FROM @extschema@._snowflake_leaves(fk.conrelid) LOOP
            step := step + 1; target := lf.qname;
            statement := format('ALTER TABLE %s ADD CONSTRAINT %I %s NOT VALID', target, nm, def);
            undo := format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', target, nm);
            RETURN NEXT;
            step := step + 1;
            statement := format('ALTER TABLE %s VALIDATE CONSTRAINT %I', target, nm);
            undo := NULL;
            RETURN NEXT;
        END LOOP;
        IF fk.relkind = 'p' THEN
            step := step + 1; target := fk.child_q;
            statement := format('ALTER TABLE %s ADD CONSTRAINT %I %s', target, nm, def);
            undo := format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', target, nm);
            RETURN NEXT;
        END IF;
    END LOOP;
END
$fn$;

-- _snowflake_migration_steps_cutover(ctx): the swap's statements.
CREATE OR REPLACE FUNCTION _snowflake_migration_steps_cutover(ctx @extschema@._snowflake_migration_plan_context)
RETURNS TABLE (step integer, phase text, kind text, target text, object text, statement text, undo text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    c @extschema@._snowflake_migrated_column;
    r record;
    lf record;
    st text;
    tbl regclass := ctx.tbl;
    widen boolean := ctx.widen;
    replica boolean := ctx.replica;
    -- what the cut-over does with the indexes (_snowflake_migration_steps_index), computed once
    moves @extschema@._snowflake_plan_statement[] := ARRAY(SELECT ROW(x.kind, x.target, x.object, x.statement, x.undo)::@extschema@._snowflake_plan_statement
                                 FROM @extschema@._snowflake_migration_steps_index(ctx, true) x ORDER BY x.step);
    -- views dropped before the swap, and what carries views and policies after it
    drops @extschema@._snowflake_plan_statement[];
    carries @extschema@._snowflake_plan_statement[];
BEGIN
    step := 0;
    WITH dd AS MATERIALIZED (
        SELECT * FROM @extschema@._snowflake_migration_dependents(ARRAY(SELECT u.rel FROM unnest(ctx.cols) u), ARRAY(SELECT u.att FROM unnest(ctx.cols) u)) d
        WHERE NOT d.refused)
    SELECT ARRAY(SELECT ROW(NULL, dd.object, NULL, dd.before_sql, NULL)::@extschema@._snowflake_plan_statement FROM dd WHERE dd.before_sql IS NOT NULL ORDER BY dd.object),
           ARRAY(SELECT ROW(NULL, dd.object, NULL, a.sql, NULL)::@extschema@._snowflake_plan_statement FROM dd, unnest(dd.after_sql) WITH ORDINALITY a(sql, o) ORDER BY dd.object, a.o)
    INTO drops, carries;
    -- ---- cutover: one transaction of catalog changes; no statement scans a table ----
    phase := 'cutover'; kind := 'ddl'; undo := NULL; target := ctx.parent_q;
    step := step + 1;
    statement := format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE',
                        (SELECT string_agg(@extschema@._snowflake_qname(u.r::regclass), ', ' ORDER BY u.o) FROM unnest(ctx.rels) WITH ORDINALITY u(r, o)));
    RETURN NEXT;
    -- An integer key being widened: checked and its boundary recorded first (integer.sql).
    IF widen THEN
        step := step + 1;
        statement := format('SELECT @extschema@._snowflake_integer_record_cut(%L::regclass)', ctx.parent_q);
        RETURN NEXT;
    END IF;
    -- Views over the key: dropped now, created again at the end over the bigint columns.
    FOR r IN SELECT * FROM unnest(drops) LOOP
        step := step + 1; target := r.target; statement := r.statement;
        RETURN NEXT;
    END LOOP;
    -- A widened key's old columns are dropped, which a policy over them (or over a partition's
    -- column of the same name) would stop: its expressions become true in this transaction (no
    -- other sees them) and are set again over the new columns at the end (kind carry), from the
    -- definitions read before.
    IF widen THEN
        FOR r IN SELECT DISTINCT pol.polname, @extschema@._snowflake_qname(pol.polrelid::regclass) AS q,
                                 pol.polqual IS NOT NULL AS has_qual, pol.polwithcheck IS NOT NULL AS has_check
                 FROM unnest(ctx.cols) u
                 CROSS JOIN LATERAL (SELECT u.rel AS r, u.att AS a
                                     UNION SELECT pa.attrelid, pa.attnum FROM pg_inherits i
                                           JOIN pg_attribute pa ON pa.attrelid = i.inhrelid AND pa.attname = u.col AND NOT pa.attisdropped
                                           WHERE i.inhparent = u.rel) x
                 JOIN pg_depend d ON d.classid = 'pg_policy'::regclass AND d.refclassid = 'pg_class'::regclass
                                 AND d.refobjid = x.r AND d.refobjsubid = x.a
                 JOIN pg_policy pol ON pol.oid = d.objid
                 ORDER BY 2, 1
        LOOP
            step := step + 1; target := r.q;
            statement := format('ALTER POLICY %I ON %s%s%s', r.polname, r.q, CASE WHEN r.has_qual THEN ' USING (true)' ELSE '' END,
                                CASE WHEN r.has_check THEN ' WITH CHECK (true)' ELSE '' END);
            RETURN NEXT;
        END LOOP;
    END IF;
    FOR r IN SELECT con.conname, format('%I.%I', cn.nspname, cc.relname) AS child_q
             FROM pg_constraint con JOIN pg_class cc ON cc.oid = con.conrelid JOIN pg_namespace cn ON cn.oid = cc.relnamespace
             WHERE con.oid = ANY (ctx.fks) ORDER BY array_position(ctx.fks, con.oid)
    LOOP
        step := step + 1; target := r.child_q;
        statement := format('ALTER TABLE %s DROP CONSTRAINT %I', target, r.conname);
        RETURN NEXT;
    END LOOP;
    -- Primary keys over a migrated column move to their twins; SET NOT NULL is proved by the
    -- validated CHECK, so it does not scan.
    FOREACH c IN ARRAY ctx.cols LOOP
        CONTINUE WHEN NOT (c.is_key OR (c.not_null AND (widen OR c.unchecked IS NULL)));
        step := step + 1; target := c.qname;
        statement := format('ALTER TABLE %s ALTER COLUMN %I SET NOT NULL', target, c.twin);
        RETURN NEXT;
    END LOOP;
    FOR r IN SELECT x.kind, x.target, x.object, x.statement FROM unnest(moves) WITH ORDINALITY x
             WHERE x.kind IN ('pk', 'pkp') ORDER BY x.ordinality
    LOOP
        step := step + 1; target := r.target;
        IF r.kind = 'pkp' THEN  -- a partitioned table's: the statements as they are
            statement := r.statement;
            RETURN NEXT;
            CONTINUE;
        END IF;
        statement := format('ALTER TABLE %s DROP CONSTRAINT %s', r.target, r.object);
        RETURN NEXT;
        step := step + 1;
        statement := format('ALTER TABLE %s ADD CONSTRAINT %s PRIMARY KEY USING INDEX %s', r.target, r.object, r.statement);
        RETURN NEXT;
    END LOOP;
    FOREACH c IN ARRAY ctx.cols LOOP
        target := c.qname;
        IF widen THEN
            FOREACH st IN ARRAY @extschema@._snowflake_widen_column_steps(tbl, c) LOOP
                step := step + 1; statement := st;
                RETURN NEXT;
            END LOOP;
            CONTINUE;
        END IF;
        -- New rows will not fill the old column: it must accept NULL.
        IF c.not_null THEN
            step := step + 1;
            statement := format('ALTER TABLE %s ALTER COLUMN %I DROP NOT NULL', target, c.col);
            RETURN NEXT;
        END IF;
        step := step + 1;
        statement := format('ALTER TABLE %s RENAME COLUMN %I TO %I', target, c.col, c.col || '_uuid');
        RETURN NEXT;
        step := step + 1;
        statement := format('ALTER TABLE %s RENAME COLUMN %I TO %I', target, c.twin, c.col);
        RETURN NEXT;
        -- The column's comment goes with its name.
        IF col_description(c.rel, c.att) IS NOT NULL THEN
            step := step + 1;
            statement := format('COMMENT ON COLUMN %s.%I IS %L', target, c.col, col_description(c.rel, c.att));
            RETURN NEXT;
            step := step + 1;
            statement := format('COMMENT ON COLUMN %s.%I IS NULL', target, c.col || '_uuid');
            RETURN NEXT;
        END IF;
        step := step + 1;
        statement := format('ALTER TABLE %s DROP CONSTRAINT %I', target, left(c.twin, 53) || '_filled');
        RETURN NEXT;
        IF c.is_key AND replica THEN
            -- A subscriber's key gets the publisher's default only now: before, rows the
            -- publisher sent without the twin would have taken this server's own IDs.
            step := step + 1;
            statement := format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT @extschema@.snowflake_next()', target, c.col);
            RETURN NEXT;
        ELSIF NOT c.is_key AND NOT replica THEN
            step := step + 1;
            statement := format('DROP TRIGGER %I ON %s', c.fill, target);
            RETURN NEXT;
            step := step + 1;
            statement := format('DROP FUNCTION %I.%I()', c.nsp, c.fill);
            RETURN NEXT;
        END IF;
    END LOOP;
    FOR r IN SELECT con.oid, con.conrelid, con.conname, format('%I.%I', cn.nspname, cc.relname) AS child_q
             FROM pg_constraint con JOIN pg_class cc ON cc.oid = con.conrelid JOIN pg_namespace cn ON cn.oid = cc.relnamespace
             WHERE con.oid = ANY (ctx.fks) ORDER BY array_position(ctx.fks, con.oid)
    LOOP
        step := step + 1; target := r.child_q;
        IF (SELECT k.relkind FROM pg_class k WHERE k.oid = tbl) = 'p' THEN
            -- over the columns that now carry the old names; the rows are proved already
            -- (_snowflake_cutover_check_twins): validated after the swap has committed
            statement := format('ALTER TABLE %s ADD CONSTRAINT %I %s NOT VALID', target, r.conname,
                                regexp_replace(pg_get_constraintdef(r.oid), ' NOT VALID$', ''));
            RETURN NEXT;
            CONTINUE;
        END IF;
        statement := format('ALTER TABLE %s RENAME CONSTRAINT %I TO %I', target, left(r.conname, 53) || '_snowflake', r.conname);
        RETURN NEXT;
        -- The partitions' own foreign keys take the names of those they replace.
        FOR lf IN SELECT pc.conname, @extschema@._snowflake_qname(pc.conrelid::regclass) AS q
                  FROM pg_constraint pc WHERE pc.conparentid = r.oid AND pc.conrelid <> r.conrelid ORDER BY 2
        LOOP
            step := step + 1; target := lf.q;
            statement := format('ALTER TABLE %s RENAME CONSTRAINT %I TO %I', target, left(r.conname, 53) || '_snowflake', lf.conname);
            RETURN NEXT;
        END LOOP;
    END LOOP;
    FOR r IN SELECT x.target, x.statement FROM unnest(moves) WITH ORDINALITY x
             WHERE x.kind IN ('rename', 'unique') ORDER BY x.ordinality
    LOOP
        step := step + 1; target := r.target; statement := r.statement;
        RETURN NEXT;
    END LOOP;
    -- REPLICA IDENTITY USING INDEX over a migrated column: its twin has the old index's name now
    -- (a primary key's index goes with the constraint: without this, a published table would
    -- refuse every UPDATE and DELETE after the cut-over).
    FOR r IN SELECT @extschema@._snowflake_qname(x.indrelid::regclass) AS t, ic.relname
             FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid JOIN pg_class tc ON tc.oid = x.indrelid
             WHERE x.indrelid = ANY (ctx.rels) AND x.indisreplident AND tc.relkind = 'r'
               AND (x.indisprimary OR (x.indexprs IS NULL AND x.indpred IS NULL))
               AND EXISTS (SELECT 1 FROM unnest(ctx.cols) u WHERE u.rel = x.indrelid AND u.att = ANY (x.indkey::int2[]))
             ORDER BY 1
    LOOP
        step := step + 1; target := r.t;
        statement := format('ALTER TABLE %s REPLICA IDENTITY USING INDEX %I', r.t, r.relname);
        RETURN NEXT;
    END LOOP;
    -- Column privileges go with the name: whoever could insert, update, select or reference the
    -- uuid column by name can do the same with the bigint column that takes its name. Last, and
    -- of their own kind: grants made during the migration are carried as they are at the cut-over.
    kind := 'grant';
    FOREACH c IN ARRAY ctx.cols LOOP
        target := c.qname;
        FOR r IN SELECT * FROM @extschema@._snowflake_column_grants(c.rel, c.att, c.col) g LOOP
            step := step + 1; statement := r.statement;
            RETURN NEXT;
        END LOOP;
    END LOOP;
    -- Views created again and policies altered, now that the old names are the bigint columns.
    kind := 'carry';
    FOR r IN SELECT * FROM unnest(carries) LOOP
        step := step + 1; target := r.target; statement := r.statement;
        RETURN NEXT;
    END LOOP;
END
$fn$;

-- _snowflake_column_grants(rel, att, onto) -> setof statement: the column privileges of column
-- att of rel, as GRANT statements on column onto of the same table (grantor aside); for a
-- partitioned table also those granted on each partition's column of that name (a GRANT on the
-- parent does not reach its partitions, and a role may have been granted one partition alone).
CREATE OR REPLACE FUNCTION _snowflake_column_grants(rel oid, att int2, onto text) RETURNS TABLE (statement text)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT format('GRANT %s (%I) ON %s TO %s%s', g.privilege_type, onto, @extschema@._snowflake_qname(a.attrelid::regclass),
                  CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(g.grantee)) END,
                  CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
    FROM pg_attribute a0
    JOIN pg_attribute a ON a.attrelid = rel AND a.attnum = att
                        OR a.attname = a0.attname AND NOT a.attisdropped
                           AND a.attrelid IN (SELECT i.inhrelid FROM pg_inherits i JOIN pg_class k ON k.oid = i.inhrelid
                                              WHERE i.inhparent = rel AND k.relispartition)
    CROSS JOIN LATERAL aclexplode(a.attacl) g
    WHERE a0.attrelid = rel AND a0.attnum = att
    ORDER BY a.attrelid <> rel, @extschema@._snowflake_qname(a.attrelid::regclass),
             CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(g.grantee)) END, g.privilege_type
$$;

-- _snowflake_widen_column_steps(tbl, c) -> text[]: the swap's statements for one column of a
-- widened integer key (src/sql/migration/integer.sql): its CHECK, fill trigger and function go;
-- a serial's sequence becomes the new column's (DROP COLUMN would take it with the old one); the
-- old column is dropped (catalog only; its indexes and constraints go with it, their twins take
-- their names) and the twin takes its name, comment and default (the key: snowflake_next()).
CREATE OR REPLACE FUNCTION _snowflake_widen_column_steps(tbl regclass, c @extschema@._snowflake_migrated_column) RETURNS text[]
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    k record;
    def text := (SELECT pg_get_expr(ad.adbin, ad.adrelid) FROM pg_attrdef ad WHERE ad.adrelid = c.rel AND ad.adnum = c.att);
    st text[] := ARRAY[format('ALTER TABLE %s DROP CONSTRAINT %I', c.qname, left(c.twin, 53) || '_filled'),
                       format('DROP TRIGGER %I ON %s', c.fill, c.qname),
                       format('DROP FUNCTION %I.%I()', c.nsp, c.fill)];
BEGIN
    SELECT * INTO k FROM @extschema@._snowflake_integer_key(tbl) x;
    IF c.is_key AND k.ident = '' AND EXISTS (
            SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = k.seq AND d.refclassid = 'pg_class'::regclass
                                        AND d.refobjid = c.rel AND d.refobjsubid = c.att AND d.deptype = 'a') THEN
        st := st || format('ALTER SEQUENCE %s OWNED BY %s.%I', k.seq::text, c.qname, c.twin);
    END IF;
    st := st || format('ALTER TABLE %s DROP COLUMN %I', c.qname, c.col)
             || format('ALTER TABLE %s RENAME COLUMN %I TO %I', c.qname, c.twin, c.col);
    IF col_description(c.rel, c.att) IS NOT NULL THEN
        st := st || format('COMMENT ON COLUMN %s.%I IS %L', c.qname, c.col, col_description(c.rel, c.att));
    END IF;
    IF c.is_key THEN
        st := st || format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT @extschema@.snowflake_next()', c.qname, c.col);
    ELSIF def IS NOT NULL THEN
        st := st || format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT %s', c.qname, c.col, def);
    END IF;
    RETURN st;
END
$fn$;
