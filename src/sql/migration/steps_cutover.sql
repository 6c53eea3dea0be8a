-- The migration toolkit, the cut-over's statements: one transaction of catalog changes (no
-- statement scans a table), built from the plan's context in sections, each a function.

-- _snowflake_migration_steps_cutover(ctx): the swap's statements, in this order: lock the
-- tables; a widened integer key's boundary recorded; views over the key dropped; the keys (old
-- foreign keys dropped, primary keys moved to their twins: _snowflake_cutover_keys, from the
-- index phase's moves, computed once); each column's swap (_snowflake_swap_column_steps); the
-- foreign keys (_snowflake_cutover_foreign_keys); the other indexes and UNIQUE constraints take
-- the old names; replica identities (_snowflake_cutover_replica_identity); the column privileges
-- (kind grant); the views created again and the policies altered onto the new columns (carry).
CREATE OR REPLACE FUNCTION _snowflake_migration_steps_cutover(ctx @extschema@._snowflake_migration_plan_context)
RETURNS TABLE (step integer, phase text, kind text, target text, object text, statement text, undo text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    c @extschema@._snowflake_migrated_column;
    -- what the cut-over does with the indexes, computed once
    moves @extschema@._snowflake_plan_statement[] := ARRAY(SELECT ROW(x.kind, x.target, x.object, x.statement, x.undo)::@extschema@._snowflake_plan_statement
                       FROM @extschema@._snowflake_migration_steps_index(ctx, true) x ORDER BY x.step);
    -- the objects over the migrated columns it carries: views dropped before, created again after
    drops @extschema@._snowflake_plan_statement[];
    carries @extschema@._snowflake_plan_statement[];
    s @extschema@._snowflake_plan_statement[];
BEGIN
    WITH d AS MATERIALIZED (
        SELECT * FROM @extschema@._snowflake_migration_dependents(ARRAY(SELECT u.rel FROM unnest(ctx.cols) u), ARRAY(SELECT u.att FROM unnest(ctx.cols) u)) d
        WHERE NOT d.refused)
    SELECT ARRAY(SELECT ROW('ddl', d.object, NULL, d.before_sql, NULL)::@extschema@._snowflake_plan_statement FROM d WHERE d.before_sql IS NOT NULL ORDER BY d.object),
           ARRAY(SELECT ROW('carry', d.object, NULL, a.sql, NULL)::@extschema@._snowflake_plan_statement FROM d, unnest(d.after_sql) WITH ORDINALITY a(sql, o) ORDER BY d.object, a.o)
    INTO drops, carries;
    s := ARRAY[ROW('ddl', ctx.parent_q, NULL, format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE',
                                                     (SELECT string_agg(@extschema@._snowflake_qname(u.r::regclass), ', ' ORDER BY u.o)
                                                      FROM unnest(ctx.rels) WITH ORDINALITY u(r, o))), NULL)::@extschema@._snowflake_plan_statement];
    -- An integer key being widened: checked and its boundary recorded first (integer.sql).
    IF ctx.widen THEN
        s := s || ROW('ddl', ctx.parent_q, NULL, format('SELECT @extschema@._snowflake_integer_record_cut(%L::regclass)', ctx.parent_q), NULL)::@extschema@._snowflake_plan_statement;
    END IF;
    -- Views over the key: dropped now, created again at the end over the bigint columns.
    s := s || drops || ARRAY(SELECT x FROM @extschema@._snowflake_cutover_keys(ctx, moves) x);
    FOREACH c IN ARRAY ctx.cols LOOP
        s := s || ARRAY(SELECT ROW('ddl', c.qname, NULL, x.st, NULL)::@extschema@._snowflake_plan_statement
                        FROM unnest(@extschema@._snowflake_swap_column_steps(ctx, c)) WITH ORDINALITY x(st, o) ORDER BY x.o);
    END LOOP;
    s := s || ARRAY(SELECT x FROM @extschema@._snowflake_cutover_foreign_keys(ctx) x)
           || ARRAY(SELECT ROW('ddl', m.target, NULL, m.statement, NULL)::@extschema@._snowflake_plan_statement
                    FROM unnest(moves) WITH ORDINALITY m WHERE m.kind IN ('rename', 'unique') ORDER BY m.ordinality)
           || ARRAY(SELECT x FROM @extschema@._snowflake_cutover_replica_identity(ctx) x);
    -- Column privileges go with the name: whoever could insert, update, select or reference
    -- the uuid column by name can do the same with the bigint column that takes its name.
    -- Last, and of their own kind: grants made during the migration are carried as they are.
    s := s || ARRAY(SELECT ROW('grant', u.qname, NULL, g.statement, NULL)::@extschema@._snowflake_plan_statement
                    FROM unnest(ctx.cols) WITH ORDINALITY u, @extschema@._snowflake_column_grants(u.rel, u.att, u.col) WITH ORDINALITY g(statement, o)
                    ORDER BY u.ordinality, g.o)
    -- Views created again and policies altered, now that the old names are the bigint columns.
           || carries;
    RETURN QUERY SELECT x.o::integer, 'cutover', x.kind, x.target, NULL::text, x.statement, NULL::text
                 FROM unnest(s) WITH ORDINALITY x(kind, target, object, statement, undo, o) ORDER BY x.o;
END
$fn$;

-- _snowflake_cutover_keys(ctx, moves) -> setof _snowflake_plan_statement: the swap's first
-- statements, on the keys: the policies over a widened key's old columns made true; the old
-- foreign keys dropped; NOT NULL set on the twins that need it (proved by their validated
-- CHECKs: no scan); then, from the index phase's moves, each primary key (kind pk) dropped and
-- added again USING INDEX its twin, a partitioned table's (kind pkp) as they are.
CREATE OR REPLACE FUNCTION _snowflake_cutover_keys(ctx @extschema@._snowflake_migration_plan_context, moves @extschema@._snowflake_plan_statement[])
RETURNS SETOF @extschema@._snowflake_plan_statement
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    -- A widened key's old columns are dropped, which a policy over them (or over a partition's
    -- column of the same name) would stop: its expressions become true in this transaction (no
    -- other sees them) and are set again over the new columns at the end (kind carry), from the
    -- definitions read before.
    IF ctx.widen THEN
        RETURN QUERY
            SELECT 'ddl'::text, p.q, NULL::text, format('ALTER POLICY %I ON %s%s%s', p.polname, p.q, CASE WHEN p.has_qual THEN ' USING (true)' ELSE '' END,
                                                       CASE WHEN p.has_check THEN ' WITH CHECK (true)' ELSE '' END), NULL::text
            FROM (SELECT DISTINCT pol.polname, @extschema@._snowflake_qname(pol.polrelid::regclass) AS q,
                                  pol.polqual IS NOT NULL AS has_qual, pol.polwithcheck IS NOT NULL AS has_check
                  FROM unnest(ctx.cols) u
                  CROSS JOIN LATERAL (SELECT u.rel AS r, u.att AS a
                                      UNION SELECT pa.attrelid, pa.attnum FROM pg_inherits i
                                            JOIN pg_attribute pa ON pa.attrelid = i.inhrelid AND pa.attname = u.col AND NOT pa.attisdropped
                                            WHERE i.inhparent = u.rel) x
                  JOIN pg_depend d ON d.classid = 'pg_policy'::regclass AND d.refclassid = 'pg_class'::regclass
                                  AND d.refobjid = x.r AND d.refobjsubid = x.a
                  JOIN pg_policy pol ON pol.oid = d.objid) p
            ORDER BY p.q, p.polname;
    END IF;
    RETURN QUERY
        SELECT 'ddl'::text, f.child_q, NULL::text, format('ALTER TABLE %s DROP CONSTRAINT %I', f.child_q, f.conname), NULL::text
        FROM (SELECT con.conname, format('%I.%I', cn.nspname, cc.relname) AS child_q, array_position(ctx.fks, con.oid) AS o
              FROM pg_constraint con JOIN pg_class cc ON cc.oid = con.conrelid JOIN pg_namespace cn ON cn.oid = cc.relnamespace
              WHERE con.oid = ANY (ctx.fks)) f
        ORDER BY f.o;
    RETURN QUERY
        SELECT 'ddl'::text, c.qname, NULL::text, format('ALTER TABLE %s ALTER COLUMN %I SET NOT NULL', c.qname, c.twin), NULL::text
        FROM unnest(ctx.cols) WITH ORDINALITY c
        WHERE c.is_key OR (c.not_null AND (ctx.widen OR c.unchecked IS NULL))
        ORDER BY c.ordinality;
    RETURN QUERY
        SELECT 'ddl'::text, m.target, NULL::text, v.st, NULL::text
        FROM unnest(moves) WITH ORDINALITY m,
             LATERAL (VALUES (1, CASE WHEN m.kind = 'pkp' THEN m.statement ELSE format('ALTER TABLE %s DROP CONSTRAINT %s', m.target, m.object) END),
                             (2, CASE WHEN m.kind = 'pk' THEN format('ALTER TABLE %s ADD CONSTRAINT %s PRIMARY KEY USING INDEX %s',
                                                                     m.target, m.object, m.statement) END)) v(i, st)
        WHERE m.kind IN ('pk', 'pkp') AND v.st IS NOT NULL
        ORDER BY m.ordinality, v.i;
END
$fn$;

-- _snowflake_swap_column_steps(ctx, c) -> text[]: the swap's statements for migrated column c:
-- the uuid column becomes <column>_uuid (accepting NULL: new rows will not fill it) and the twin
-- takes its name and comment; its CHECK goes; a subscriber's key gets its default only now (before,
-- rows the publisher sent without the twin would have taken this server's own IDs); a
-- referencing column's fill trigger and function go. A widened key's: _snowflake_widen_column_steps.
CREATE OR REPLACE FUNCTION _snowflake_swap_column_steps(ctx @extschema@._snowflake_migration_plan_context, c @extschema@._snowflake_migrated_column)
RETURNS text[]
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    note text := col_description(c.rel, c.att);
    st text[] := '{}';
BEGIN
    IF ctx.widen THEN
        RETURN @extschema@._snowflake_widen_column_steps(ctx.tbl, c);
    END IF;
    IF c.not_null THEN
        st := st || format('ALTER TABLE %s ALTER COLUMN %I DROP NOT NULL', c.qname, c.col);
    END IF;
    st := st || format('ALTER TABLE %s RENAME COLUMN %I TO %I', c.qname, c.col, c.col || '_uuid')
             || format('ALTER TABLE %s RENAME COLUMN %I TO %I', c.qname, c.twin, c.col);
    IF note IS NOT NULL THEN
        st := st || format('COMMENT ON COLUMN %s.%I IS %L', c.qname, c.col, note)
                 || format('COMMENT ON COLUMN %s.%I IS NULL', c.qname, c.col || '_uuid');
    END IF;
    st := st || format('ALTER TABLE %s DROP CONSTRAINT %I', c.qname, left(c.twin, 53) || '_filled');
    IF c.is_key AND ctx.replica THEN
        st := st || format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT @extschema@.snowflake_next()', c.qname, c.col);
    ELSIF NOT c.is_key AND NOT ctx.replica THEN
        st := st || format('DROP TRIGGER %I ON %s', c.fill, c.qname) || format('DROP FUNCTION %I.%I()', c.nsp, c.fill);
    END IF;
    RETURN st;
END
$fn$;

-- _snowflake_cutover_foreign_keys(ctx) -> setof _snowflake_plan_statement: the foreign keys on
-- the twins take the names of those the swap dropped, the partitions' own ones too; those that
-- reference a partitioned table (whose key becomes unique only at the swap) are added now, NOT
-- VALID, over the columns that now carry the old names: their rows are proved already
-- (_snowflake_cutover_check_twins), and they are validated after the swap has committed.
CREATE OR REPLACE FUNCTION _snowflake_cutover_foreign_keys(ctx @extschema@._snowflake_migration_plan_context)
RETURNS SETOF @extschema@._snowflake_plan_statement
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    r record;
    parted boolean := (SELECT k.relkind FROM pg_class k WHERE k.oid = ctx.tbl) = 'p';
BEGIN
    FOR r IN SELECT con.oid, con.conrelid, con.conname, format('%I.%I', cn.nspname, cc.relname) AS child_q
             FROM pg_constraint con JOIN pg_class cc ON cc.oid = con.conrelid JOIN pg_namespace cn ON cn.oid = cc.relnamespace
             WHERE con.oid = ANY (ctx.fks) ORDER BY array_position(ctx.fks, con.oid)
    LOOP
        IF parted THEN
            RETURN NEXT ROW('ddl', r.child_q, NULL, format('ALTER TABLE %s ADD CONSTRAINT %I %s NOT VALID', r.child_q, r.conname,
                                                           regexp_replace(pg_get_constraintdef(r.oid), ' NOT VALID$', '')),
                            NULL)::@extschema@._snowflake_plan_statement;
            CONTINUE;
        END IF;
        RETURN NEXT ROW('ddl', r.child_q, NULL, format('ALTER TABLE %s RENAME CONSTRAINT %I TO %I', r.child_q, left(r.conname, 53) || '_snowflake', r.conname),
                        NULL)::@extschema@._snowflake_plan_statement;
        RETURN QUERY
            SELECT 'ddl'::text, p.q, NULL::text, format('ALTER TABLE %s RENAME CONSTRAINT %I TO %I', p.q, left(r.conname, 53) || '_snowflake', p.conname), NULL::text
            FROM (SELECT pc.conname, @extschema@._snowflake_qname(pc.conrelid::regclass) AS q
                  FROM pg_constraint pc WHERE pc.conparentid = r.oid AND pc.conrelid <> r.conrelid) p
            ORDER BY p.q;
    END LOOP;
END
$fn$;

-- _snowflake_cutover_replica_identity(ctx) -> setof _snowflake_plan_statement: REPLICA IDENTITY
-- USING INDEX over a migrated column, set again on its twin, which has the old index's name now
-- (a primary key's index goes with the constraint: without this, a published table would refuse
-- every UPDATE and DELETE after the cut-over).
CREATE OR REPLACE FUNCTION _snowflake_cutover_replica_identity(ctx @extschema@._snowflake_migration_plan_context)
RETURNS SETOF @extschema@._snowflake_plan_statement
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    RETURN QUERY
    SELECT 'ddl'::text, r.t, NULL::text, format('ALTER TABLE %s REPLICA IDENTITY USING INDEX %I', r.t, r.relname), NULL::text
    FROM (SELECT @extschema@._snowflake_qname(x.indrelid::regclass) AS t, ic.relname
          FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid JOIN pg_class tc ON tc.oid = x.indrelid
          WHERE x.indrelid = ANY (ctx.rels) AND x.indisreplident AND tc.relkind = 'r'
            AND (x.indisprimary OR (x.indexprs IS NULL AND x.indpred IS NULL))
            AND EXISTS (SELECT 1 FROM unnest(ctx.cols) u WHERE u.rel = x.indrelid AND u.att = ANY (x.indkey::int2[]))) r
    ORDER BY r.t;
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
