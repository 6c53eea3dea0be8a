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
