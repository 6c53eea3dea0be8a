-- The migration toolkit: the plan's statements, phase by phase, each builder a function over the
-- description of the migrated columns (_snowflake_migration_context, built once per plan): here
-- the start, the backfill and the foreign keys; the index phase in steps_index.sql, the cut-over
-- in steps_cutover.sql.

-- One statement of a plan as a value: what the index phase's and the cut-over's builders return
-- to each other (the index moves the cut-over makes, the views and policies it carries). Nothing
-- of it is stored.
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

-- Helpers below are PL/pgSQL, not SQL: a SQL function's query is parsed and planned again at
-- every call (PostgreSQL before 18), a PL/pgSQL one's once per session; they are called once
-- per migrated column or foreign key, while the cut-over holds its locks.

-- _snowflake_fill_function(c, ctx) -> text: the CREATE FUNCTION statement of the fill trigger of
-- migrated column c. Widening an integer key (src/sql/migration/integer.sql): every twin is the
-- old value. Otherwise the twin is computed from the uuid column at every write, whatever the
-- writer put into it (a twin set to another parent's new id would move the row to that parent
-- at the cut-over). The writer may have no right to read the parent (INSERT on the referencing
-- table was enough before): the function runs as the owner of the table it is attached to
-- (SECURITY DEFINER, lookups pinned). An UPDATE that changes neither the uuid nor the twin keeps
-- the twin the trigger wrote before (no lookup).
CREATE OR REPLACE FUNCTION _snowflake_fill_function(c @extschema@._snowflake_migrated_column,
                                                    ctx @extschema@._snowflake_migration_plan_context) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    RETURN CASE WHEN ctx.widen THEN format($f$CREATE FUNCTION %1$I.%2$I() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $body$
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
            CASE WHEN c.rel = ctx.tbl::oid THEN format(E'\n  ELSIF NEW.%I OPERATOR(pg_catalog.=) NEW.%I THEN\n    NEW.%I := NEW.%I;', c.col, ctx.key_col, c.twin, ctx.new_col) ELSE '' END,
            @extschema@._snowflake_match(c, 'p', 'NEW'),
            (SELECT string_agg(format(' AND NEW.%1$I IS NOT DISTINCT FROM OLD.%1$I', c.pairs[i]), '' ORDER BY i)
             FROM generate_series(2, coalesce(cardinality(c.pairs), 0), 2) i)) END;
END
$fn$;

-- _snowflake_fill_steps(c, ctx) -> (statement, undo), in order: the fill trigger of migrated
-- column c: its function (_snowflake_fill_function), the trigger, EXECUTE on the function revoked
-- from PUBLIC once the trigger is made (so no other role can attach it elsewhere), and the
-- function given to the owner of c's table (as whom it runs).
CREATE OR REPLACE FUNCTION _snowflake_fill_steps(c @extschema@._snowflake_migrated_column,
                                                 ctx @extschema@._snowflake_migration_plan_context)
RETURNS TABLE (statement text, undo text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    statement := @extschema@._snowflake_fill_function(c, ctx);
    undo := format('DROP FUNCTION IF EXISTS %I.%I()', c.nsp, c.fill);
    RETURN NEXT;
    statement := format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION %I.%I()',
                        c.fill, c.qname, c.nsp, c.fill);
    undo := format('DROP TRIGGER IF EXISTS %I ON %s', c.fill, c.qname);
    RETURN NEXT;
    undo := NULL;
    statement := format('REVOKE ALL ON FUNCTION %I.%I() FROM PUBLIC', c.nsp, c.fill);
    RETURN NEXT;
    statement := format('ALTER FUNCTION %I.%I() OWNER TO %I', c.nsp, c.fill, c.owner);
    RETURN NEXT;
END
$fn$;

-- _snowflake_migration_steps_start(ctx): phase 1's statements (see _snowflake_migration_steps):
-- each migrated column's twin, then the key's default, or the column's fill trigger
-- (_snowflake_fill_steps).
CREATE OR REPLACE FUNCTION _snowflake_migration_steps_start(ctx @extschema@._snowflake_migration_plan_context)
RETURNS TABLE (step integer, phase text, kind text, target text, object text, statement text, undo text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    c @extschema@._snowflake_migrated_column;
    r record;
BEGIN
    step := 0;
    phase := 'start'; kind := 'ddl'; object := NULL;
    FOREACH c IN ARRAY ctx.cols LOOP
        target := c.qname;
        -- Nullable, no default: ADD COLUMN is then a catalog change, not a table rewrite.
        step := step + 1;
        statement := format('ALTER TABLE %s ADD COLUMN %I %s', target, c.twin,
                            CASE ctx.new_type WHEN 'snowflake' THEN '@extschema@.snowflake' ELSE 'bigint' END);
        undo := format('ALTER TABLE %s DROP COLUMN IF EXISTS %I', target, c.twin);
        RETURN NEXT;
        -- A subscriber's copy: the publisher sends every twin (src/sql/migration/replica.sql).
        CONTINUE WHEN ctx.replica;
        IF c.is_key AND NOT ctx.widen THEN
            step := step + 1;
            statement := format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT @extschema@.snowflake_next()', target, ctx.new_col);
            undo := NULL;
            RETURN NEXT;
            CONTINUE;
        END IF;
        FOR r IN SELECT * FROM @extschema@._snowflake_fill_steps(c, ctx) LOOP
            step := step + 1; statement := r.statement; undo := r.undo;
            RETURN NEXT;
        END LOOP;
    END LOOP;
END
$fn$;

-- _snowflake_backfill_column_steps(c, nm, ctx) -> (kind, target, object, statement, undo), in
-- order: the backfill of migrated column c and its CHECK nm, then VALIDATE (phases 2-3). A
-- widened integer key's columns (src/sql/migration/integer.sql): the CHECK before the pass (the
-- trigger fills every write from now on), then one pass of each table in ranges of blocks;
-- validated, it proves every twin equal to its old value (and, for a NOT NULL column, not null:
-- the swap's SET NOT NULL then reads no row). The uuid key: the batches of the map, then the
-- CHECK (before, old rows without an ID could not be updated). A referencing column: the CHECK
-- before the pass, so that every write from then on must carry the twin (the trigger fills it)
-- and rows the application moves during the pass need no second sweep; the pass in ranges of
-- blocks of each partition (ctids are per partition).
CREATE OR REPLACE FUNCTION _snowflake_backfill_column_steps(c @extschema@._snowflake_migrated_column, nm text,
                                                            ctx @extschema@._snowflake_migration_plan_context)
RETURNS TABLE (kind text, target text, object text, statement text, undo text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    lf record;
    -- the CHECK: after the key's batches of the map, before any other column's pass
    check_stmt text := format('ALTER TABLE %s ADD CONSTRAINT %I CHECK (%s) NOT VALID', c.qname, nm,
                              CASE WHEN NOT ctx.widen THEN coalesce(c.unchecked || ' OR ', '') || format('%I IS NOT NULL', c.twin)
                                   WHEN c.not_null THEN format('%I IS NOT NULL AND %I = %I', c.twin, c.twin, c.col)
                                   ELSE format('%I IS NOT DISTINCT FROM %I', c.twin, c.col) END);
BEGIN
    IF c.is_key AND NOT ctx.widen THEN
        kind := 'parent_batches'; target := c.qname; object := c.twin; undo := NULL;
        statement := format('UPDATE %s p SET %I = m.new_id FROM snowflake_internal.snowflake_migration_map m WHERE m.relation = $1 AND m.n >= $2 AND m.n < $3 AND p.%I = m.key AND p.%I IS NULL',
                            target, c.twin, c.col, c.twin);
        RETURN NEXT;
    END IF;
    kind := 'ddl'; target := c.qname; object := NULL; statement := check_stmt;
    undo := format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', target, nm);
    RETURN NEXT;
    kind := 'child_batches'; object := c.twin; undo := NULL;
    FOR lf IN SELECT * FROM @extschema@._snowflake_leaves(c.rel) WHERE ctx.widen OR NOT c.is_key LOOP  -- (the key's: none)
        target := lf.qname;
        statement := CASE WHEN ctx.widen
            THEN format('UPDATE %s c SET %I = c.%I WHERE c.ctid >= $1 AND c.ctid < $2 AND c.%I IS NULL AND c.%I IS NOT NULL',
                        target, c.twin, c.col, c.twin, c.col)
            ELSE format('UPDATE %s c SET %I = p.%I FROM %s p WHERE c.ctid >= $1 AND c.ctid < $2 AND c.%I IS NULL AND p.%I = c.%I%s',
                        target, c.twin, ctx.new_col, ctx.parent_q, c.twin, ctx.key_col, c.col, @extschema@._snowflake_match(c, 'p', 'c')) END;
        RETURN NEXT;
    END LOOP;
    kind := 'ddl'; target := c.qname; object := NULL;
    statement := format('ALTER TABLE %s VALIDATE CONSTRAINT %I', target, nm);
    RETURN NEXT;
END
$fn$;

-- _snowflake_migration_steps_backfill(ctx): phases 2-3's statements: batches and CHECKs
-- (_snowflake_backfill_column_steps), column after column.
CREATE OR REPLACE FUNCTION _snowflake_migration_steps_backfill(ctx @extschema@._snowflake_migration_plan_context)
RETURNS TABLE (step integer, phase text, kind text, target text, object text, statement text, undo text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    c @extschema@._snowflake_migrated_column;
    nm text;
    r record;
BEGIN
    step := 0;
    phase := 'backfill';
    FOREACH c IN ARRAY ctx.cols LOOP
        nm := left(c.twin, 53) || '_filled';
        IF NOT ctx.started AND EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conrelid = c.rel AND con.conname = nm) THEN
            RAISE EXCEPTION 'constraint % of % already exists', nm, c.qname USING ERRCODE = 'duplicate_object';
        END IF;
        FOR r IN SELECT * FROM @extschema@._snowflake_backfill_column_steps(c, nm, ctx) LOOP
            step := step + 1;
            kind := r.kind; target := r.target; object := r.object; statement := r.statement; undo := r.undo;
            RETURN NEXT;
        END LOOP;
    END LOOP;
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

-- _snowflake_fk_twin_def(fk, ctx) -> text: the definition of the twin of foreign key fk (a row of
-- pg_constraint that references ctx's table), "FOREIGN KEY (...) REFERENCES ... (...) ...": each
-- migrated column replaced by its twin, with fk's match type, actions and deferrability.
CREATE OR REPLACE FUNCTION _snowflake_fk_twin_def(fk pg_constraint, ctx @extschema@._snowflake_migration_plan_context)
RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    RETURN format('FOREIGN KEY (%s) REFERENCES %s (%s)%s ON UPDATE %s ON DELETE %s%s%s',
        @extschema@._snowflake_twin_list(fk.conrelid, fk.conkey, ctx.cols),
        ctx.parent_q,
        @extschema@._snowflake_twin_list(ctx.tbl, fk.confkey, ctx.cols),
        CASE fk.confmatchtype WHEN 'f' THEN ' MATCH FULL' ELSE '' END,
        CASE fk.confupdtype WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' ELSE 'SET DEFAULT' END,
        CASE fk.confdeltype WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' ELSE 'SET DEFAULT' END,
        CASE WHEN fk.confdelsetcols IS NOT NULL AND cardinality(fk.confdelsetcols) > 0 THEN
            format(' (%s)', @extschema@._snowflake_twin_list(fk.conrelid, fk.confdelsetcols, ctx.cols)) ELSE '' END,
        CASE WHEN fk.condeferrable THEN ' DEFERRABLE' || CASE WHEN fk.condeferred THEN ' INITIALLY DEFERRED' ELSE '' END ELSE '' END);
END
$fn$;

-- _snowflake_fk_twin_steps(rel, qname, parted, nm, def) -> (target, statement, undo), in order:
-- foreign key nm with definition def added to table rel (qname; parted: partitioned) NOT VALID,
-- then validated (writes go on). PostgreSQL before 18 cannot add a NOT VALID foreign key to a
-- partitioned table: each partition gets it that way, and the one added to the parent then
-- attaches them without checking a row again.
CREATE OR REPLACE FUNCTION _snowflake_fk_twin_steps(rel oid, qname text, parted boolean, nm text, def text)
RETURNS TABLE (target text, statement text, undo text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    lf record;
BEGIN
    FOR lf IN SELECT * FROM @extschema@._snowflake_leaves(rel) LOOP
        target := lf.qname;
        statement := format('ALTER TABLE %s ADD CONSTRAINT %I %s NOT VALID', target, nm, def);
        undo := format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', target, nm);
        RETURN NEXT;
        statement := format('ALTER TABLE %s VALIDATE CONSTRAINT %I', target, nm);
        undo := NULL;
        RETURN NEXT;
    END LOOP;
    IF parted THEN
        target := qname;
        statement := format('ALTER TABLE %s ADD CONSTRAINT %I %s', target, nm, def);
        undo := format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', target, nm);
        RETURN NEXT;
    END IF;
END
$fn$;

-- _snowflake_migration_steps_constrain(ctx): the foreign keys again, on the twins (phase
-- constrain): for each foreign key that references the key, its twin (_snowflake_fk_twin_def)
-- added NOT VALID, then validated (_snowflake_fk_twin_steps).
CREATE OR REPLACE FUNCTION _snowflake_migration_steps_constrain(ctx @extschema@._snowflake_migration_plan_context)
RETURNS TABLE (step integer, phase text, kind text, target text, object text, statement text, undo text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    fk record;
    r record;
    nm text;
BEGIN
    step := 0;
    -- A partitioned table's key becomes unique (its primary key) only at the swap, which then adds
    -- the foreign keys that reference it NOT VALID, validated once it has committed.
    IF (SELECT k.relkind FROM pg_class k WHERE k.oid = ctx.tbl) = 'p' THEN
        RETURN;
    END IF;
    phase := 'constrain'; kind := 'ddl';
    FOR fk IN
        SELECT con.conrelid, con.conname, format('%I.%I', cn.nspname, cc.relname) AS child_q, cc.relkind = 'p' AS parted,
               @extschema@._snowflake_fk_twin_def(con, ctx) AS def
        FROM pg_constraint con
        JOIN pg_class cc ON cc.oid = con.conrelid JOIN pg_namespace cn ON cn.oid = cc.relnamespace
        WHERE con.oid = ANY (ctx.fks)
        ORDER BY array_position(ctx.fks, con.oid)
    LOOP
        nm := left(fk.conname, 53) || '_snowflake';
        IF NOT ctx.started AND EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conrelid = fk.conrelid AND con.conname = nm) THEN
            RAISE EXCEPTION 'constraint % of % already exists', nm, fk.child_q USING ERRCODE = 'duplicate_object';
        END IF;
        FOR r IN SELECT * FROM @extschema@._snowflake_fk_twin_steps(fk.conrelid, fk.child_q, fk.parted, nm, fk.def) LOOP
            step := step + 1; target := r.target; statement := r.statement; undo := r.undo;
            RETURN NEXT;
        END LOOP;
    END LOOP;
END
$fn$;
