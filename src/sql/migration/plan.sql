-- The migration toolkit, phase 0: the plan, computed from the catalog whenever it is needed, the checks
-- every phase makes first, and the dry run (README: "Migrating from UUID keys", "Security").

-- snowflake_uuid_time(u uuid) -> timestamptz: the creation time inside a time-based uuid:
-- version 7 (48-bit Unix milliseconds), version 1 and version 6 (60-bit count of 100 ns since
-- 1582-10-15, truncated to the microsecond). NULL for other versions (v4 is random) and for
-- uuids that are not of the RFC 9562 variant. Raises nothing.
CREATE OR REPLACE FUNCTION snowflake_uuid_time(u uuid) RETURNS timestamptz
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    -- Whole hours, then the rest: interval * float8 is exact only for small factors.
    SELECT CASE
        WHEN substr(h, 17, 1) NOT IN ('8', '9', 'a', 'b') THEN NULL
        WHEN substr(h, 13, 1) = '7' THEN
            timestamptz '1970-01-01 00:00:00+00' + make_interval(hours => (ms / 3600000)::int)
              + (ms % 3600000) * interval '1 millisecond'
        WHEN substr(h, 13, 1) IN ('1', '6') THEN
            timestamptz '1582-10-15 00:00:00+00' + make_interval(hours => (us / 3600000000)::int)
              + (us % 3600000000) * interval '1 microsecond'
    END
    FROM (SELECT encode(uuid_send(u), 'hex') AS h) s,
         LATERAL (SELECT ('x' || substr(h, 1, 12))::bit(48)::bigint AS ms,
                         ('x' || CASE substr(h, 13, 1)
                                     WHEN '1' THEN substr(h, 14, 3) || substr(h, 9, 4) || substr(h, 1, 8)
                                     ELSE substr(h, 1, 12) || substr(h, 14, 3) END)::bit(60)::bigint / 10 AS us) t
$$;

-- The schema-qualified, quoted name of a table, whatever the search_path.
CREATE OR REPLACE FUNCTION _snowflake_qname(rel regclass) RETURNS text
LANGUAGE sql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
    SELECT format('%I.%I', n.nspname, c.relname)
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = rel
$$;

-- _snowflake_migration_dependents(rels oid[], atts int2[]) -> table (kind, object, action,
-- refused, before_sql, after_sql): every object that depends on one of the migrated columns
-- (tables rels, columns atts), except what the migration handles itself (indexes, primary,
-- unique and foreign keys, its own CHECKs and triggers, the column's own default), and what the
-- cut-over does to it. Views (not materialized, with nothing depending on them) are dropped in
-- the cut-over's transaction (before_sql) and created again after the renames (after_sql: the
-- same definition, owner, options, privileges and comment), so that their columns follow the
-- names to the bigint columns; row-level security policies are altered onto the new columns with
-- the same expressions. Everything else is refused: rules, materialized views, views other views
-- depend on, triggers with WHEN or UPDATE OF, CHECK and exclusion constraints, generated columns
-- and defaults of other columns, statistics objects, publication column lists. PL/pgSQL
-- functions that declare a variable of a migrated column's type (%TYPE) are listed for review.
-- Statements are computed from the catalog by the call that runs them. Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_migration_dependents(rels oid[], atts int2[])
RETURNS TABLE (kind text, object text, action text, refused boolean, before_sql text, after_sql text[])
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    d record;
    v record;
    p record;
    col text;
BEGIN
    FOR d IN
        SELECT DISTINCT ON (x.classid, x.objid) x.* FROM (
        SELECT dep.classid, dep.objid, u.r, u.a
        FROM unnest(rels, atts) u(r, a)
        JOIN pg_depend dep ON dep.refclassid = 'pg_class'::regclass AND dep.refobjid = u.r AND dep.refobjsubid = u.a
        UNION
        -- a view grouped by the key depends on the primary key itself
        SELECT dep.classid, dep.objid, u.r, u.a
        FROM unnest(rels, atts) u(r, a)
        JOIN pg_constraint con ON con.conrelid = u.r AND u.a = ANY (con.conkey) AND con.contype IN ('p', 'u')
        JOIN pg_depend dep ON dep.refclassid = 'pg_constraint'::regclass AND dep.refobjid = con.oid AND dep.classid = 'pg_rewrite'::regclass
        ) x  -- one row per object, however many of the columns it uses
        ORDER BY x.classid, x.objid, x.r, x.a
    LOOP
        col := format('%s.%I', @extschema@._snowflake_qname(d.r::regclass),
                      (SELECT att.attname FROM pg_attribute att WHERE att.attrelid = d.r AND att.attnum = d.a));
        object := pg_describe_object(d.classid, d.objid, 0);
        before_sql := NULL; after_sql := NULL; refused := true;
        IF d.classid = 'pg_class'::regclass THEN
            CONTINUE WHEN (SELECT c.relkind FROM pg_class c WHERE c.oid = d.objid) IN ('i', 'I', 'S');
            kind := 'relation'; action := format('refused: depends on %s', col);
        ELSIF d.classid = 'pg_constraint'::regclass THEN
            SELECT con.contype, con.conname INTO p FROM pg_constraint con WHERE con.oid = d.objid;
            -- 'n': PostgreSQL 18 catalogs NOT NULL as a constraint; the migration carries nullability itself.
            CONTINUE WHEN p.contype IN ('p', 'u', 'f', 'n') OR p.conname LIKE '%\_snowflake\_filled';
            kind := 'constraint';
            action := format('refused: a %s constraint over %s stays on the uuid column; drop it before the migration and add it again after',
                             CASE p.contype WHEN 'c' THEN 'CHECK' WHEN 'x' THEN 'exclusion' ELSE p.contype::text END, col);
        ELSIF d.classid = 'pg_attrdef'::regclass THEN
            CONTINUE WHEN (SELECT ad.adnum FROM pg_attrdef ad WHERE ad.oid = d.objid) = d.a;
            kind := 'column';
            action := format('refused: a generated column or default uses %s; drop it before the migration and add it again after', col);
        ELSIF d.classid = 'pg_trigger'::regclass THEN
            CONTINUE WHEN (SELECT t.tgname FROM pg_trigger t WHERE t.oid = d.objid) LIKE 'snowflake\_fill\_%';
            kind := 'trigger';
            action := format('refused: its WHEN clause or UPDATE OF list names %s; drop it before the migration and create it again after', col);
        ELSIF d.classid = 'pg_policy'::regclass THEN
            SELECT pol.polname, pol.polrelid, pg_get_expr(pol.polqual, pol.polrelid) AS qual,
                   pg_get_expr(pol.polwithcheck, pol.polrelid) AS chk INTO p
            FROM pg_policy pol WHERE pol.oid = d.objid;
            kind := 'policy'; refused := false;
            action := format('carried: altered at the cut-over to use the bigint column that takes the name of %s, with the same expressions', col);
            after_sql := ARRAY[format('ALTER POLICY %I ON %s%s%s', p.polname, @extschema@._snowflake_qname(p.polrelid::regclass),
                                      ' USING (' || p.qual || ')', ' WITH CHECK (' || p.chk || ')')];
        ELSIF d.classid = 'pg_rewrite'::regclass THEN
            SELECT r.ev_class, r.rulename, c.relkind, c.relname, c.reloptions, c.relacl, pg_get_userbyid(c.relowner) AS owner,
                   @extschema@._snowflake_qname(r.ev_class::regclass) AS q INTO v
            FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class WHERE r.oid = d.objid;
            CONTINUE WHEN v.ev_class = ANY (rels) AND v.rulename = '_RETURN';
            object := CASE v.relkind WHEN 'v' THEN 'view ' WHEN 'm' THEN 'materialized view ' ELSE 'rule ' || quote_ident(v.rulename) || ' on ' END || v.q;
            kind := CASE v.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' ELSE 'rule' END;
            IF v.relkind = 'v' AND v.rulename = '_RETURN'
               AND NOT EXISTS (SELECT 1 FROM pg_depend d2 JOIN pg_rewrite r2 ON r2.oid = d2.objid
                               WHERE d2.classid = 'pg_rewrite'::regclass AND d2.refclassid = 'pg_class'::regclass
                                 AND d2.refobjid = v.ev_class AND r2.ev_class <> v.ev_class)
               AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = v.ev_class)
               AND NOT EXISTS (SELECT 1 FROM pg_rewrite r3 WHERE r3.ev_class = v.ev_class AND r3.rulename <> '_RETURN') THEN
                refused := false;
                action := format('carried: created again at the cut-over with the same definition, so that it reads the bigint column that takes the name of %s', col);
                before_sql := format('DROP VIEW %s', v.q);
                after_sql := ARRAY[format('CREATE VIEW %s%s AS %s', v.q,
                                          CASE WHEN v.reloptions IS NOT NULL THEN format(' WITH (%s)', array_to_string(v.reloptions, ', ')) ELSE '' END,
                                          rtrim(pg_get_viewdef(v.ev_class), E'; \n')),
                                   format('ALTER VIEW %s OWNER TO %I', v.q, v.owner)]
                    || ARRAY(SELECT format('GRANT %s ON %s TO %s%s', g.privilege_type, v.q,
                                           CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(g.grantee)) END,
                                           CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
                             FROM aclexplode(v.relacl) g ORDER BY g.grantee, g.privilege_type)
                    || ARRAY(SELECT format('COMMENT ON VIEW %s IS %L', v.q, obj_description(v.ev_class, 'pg_class'))
                             WHERE obj_description(v.ev_class, 'pg_class') IS NOT NULL);
            ELSE
                action := format('refused: %s uses %s; drop it before the migration and create it again after',
                                 CASE WHEN v.relkind = 'm' THEN 'a materialized view (its data would have to be computed again)'
                                      WHEN v.relkind = 'v' THEN 'a view that other views, rules or triggers depend on'
                                      ELSE 'a rule' END, col);
            END IF;
        ELSE
            kind := (SELECT c.relname FROM pg_class c WHERE c.oid = d.classid);
            action := format('refused: depends on %s; drop it before the migration and create it again after', col);
        END IF;
        RETURN NEXT;
    END LOOP;
    -- Publications of the migrated tables (a column list is refused above): subscribers hold
    -- copies of these tables, which must get the same columns before the cut-over reaches them.
    FOR p IN
        SELECT DISTINCT pub.pubname, r.r
        FROM unnest(rels) r(r)
        JOIN pg_publication pub ON pub.puballtables
                                OR EXISTS (SELECT 1 FROM pg_publication_rel pr WHERE pr.prpubid = pub.oid AND pr.prrelid = r.r)
                                OR EXISTS (SELECT 1 FROM pg_publication_namespace pn JOIN pg_class c ON c.relnamespace = pn.pnnspid
                                           WHERE pn.pnpubid = pub.oid AND c.oid = r.r)
        ORDER BY 1, 2
    LOOP
        kind := 'publication'; object := format('publication %I of %s', p.pubname, @extschema@._snowflake_qname(p.r::regclass));
        refused := false; before_sql := NULL; after_sql := NULL;
        action := 'review: subscribers get the new columns only if their tables get them too (migrate the subscriber''s copy first, or add the columns there); the cut-over renames columns under the publication';
        RETURN NEXT;
    END LOOP;
    -- Not in pg_depend: PL/pgSQL variables declared with a migrated column's type.
    FOR p IN
        SELECT pr.oid, u.r, att.attname, c.relname
        FROM unnest(rels, atts) u(r, a)
        JOIN pg_class c ON c.oid = u.r
        JOIN pg_attribute att ON att.attrelid = u.r AND att.attnum = u.a
        JOIN pg_proc pr ON pr.prosrc ~* ('\m' || c.relname || '\s*\.\s*' || att.attname || '\s*%\s*type')
        JOIN pg_language l ON l.oid = pr.prolang AND l.lanname = 'plpgsql'
        ORDER BY pr.oid
    LOOP
        kind := 'function'; object := 'function ' || p.oid::regprocedure::text; refused := false;
        action := format('review: declares a variable of type %s.%s%%TYPE, which stays uuid in sessions that compiled it before the cut-over; replace the function (CREATE OR REPLACE) after it',
                         quote_ident(p.relname), quote_ident(p.attname));
        before_sql := NULL; after_sql := NULL;
        RETURN NEXT;
    END LOOP;
END
$fn$;

-- _snowflake_migration_dependents_of(tbl regclass): _snowflake_migration_dependents() for the key
-- of tbl and the columns of the foreign keys that reference it (the columns a migration of tbl
-- changes). Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_migration_dependents_of(tbl regclass)
RETURNS TABLE (kind text, object text, action text, refused boolean, before_sql text, after_sql text[])
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH pk AS (SELECT con.conkey[1] AS a FROM pg_constraint con WHERE con.conrelid = tbl AND con.contype = 'p'),
    cols AS (SELECT tbl::oid AS r, pk.a FROM pk
             UNION
             SELECT con.conrelid, con.conkey[array_position(con.confkey, pk.a)]
             FROM pg_constraint con, pk
             WHERE con.contype = 'f' AND con.confrelid = tbl AND pk.a = ANY (con.confkey) AND con.conparentid = 0)
    SELECT d.*
    FROM (SELECT array_agg(cols.r) AS rr, array_agg(cols.a) AS aa FROM cols) c,
         @extschema@._snowflake_migration_dependents(c.rr, c.aa) d
    WHERE c.rr IS NOT NULL
$$;

-- _snowflake_migration_context(tbl regclass, started boolean) -> one row: what every phase of
-- the plan needs, from the catalog: the table, its key, and the migrated columns (the key, then
-- one per referencing table and column) in parallel arrays, with their twins, the CHECK condition
-- of a nullable reference, the fill trigger's name, schema and owner; the foreign keys. Raises the
-- plan's errors about the shape of the tables and the names it needs. Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_migration_context(tbl regclass, started boolean)
RETURNS TABLE (parent_q_ text, key_att_ int2, key_col_ text, new_col_ text, parent_owner_ name, rels_ oid[], fks_ oid[],
               m_rel_ oid[], m_att_ int2[], m_col_ text[], m_new_ text[], m_notnull_ boolean[], m_check_ text[],
               m_fill_ text[], m_nsp_ text[], m_owner_ text[])
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    rel record;
    pk record;
    fk record;
    key_att int2;
    key_col text;
    new_col text;
    parent_q text;
    -- migrated columns, in parallel arrays: table, attnum, its bigint twin, the CHECK, trigger
    m_rel oid[] := '{}';
    m_att int2[] := '{}';
    m_col text[] := '{}';
    m_new text[] := '{}';
    m_notnull boolean[] := '{}';
    m_check text[] := '{}';
    m_fill text[] := '{}';
    m_nsp text[] := '{}';              -- the schema of the table (where its fill function lives)
    m_owner text[] := '{}';            -- its owner (who owns its fill function)
    rels oid[];
    fks oid[] := '{}';
    i int;
    pos int;
    a int2;
    nm text;
    cond text;
    parent_owner name;
BEGIN
    SELECT c.oid, c.relkind, c.relname, n.nspname INTO rel
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = tbl;
    IF rel.relkind <> 'r' THEN
        RAISE EXCEPTION '%.% is not an ordinary table', quote_ident(rel.nspname), quote_ident(rel.relname) USING ERRCODE = 'feature_not_supported',
            HINT = 'Partitioned tables, views and foreign tables cannot be migrated by snowflake_migration_start().';
    END IF;
    parent_q := format('%I.%I', rel.nspname, rel.relname);
    SELECT pg_get_userbyid(c.relowner) INTO parent_owner FROM pg_class c WHERE c.oid = tbl;

    SELECT con.conname, con.conkey, con.conindid INTO pk
    FROM pg_constraint con WHERE con.conrelid = tbl AND con.contype = 'p';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'table % has no primary key', parent_q USING ERRCODE = 'feature_not_supported';
    END IF;
    IF cardinality(pk.conkey) <> 1 THEN
        RAISE EXCEPTION 'the primary key of % has % columns; only a single uuid column can be migrated',
            parent_q, cardinality(pk.conkey) USING ERRCODE = 'feature_not_supported';
    END IF;
    key_att := pk.conkey[1];
    SELECT att.attname INTO key_col FROM pg_attribute att WHERE att.attrelid = tbl AND att.attnum = key_att;
    IF (SELECT att.atttypid FROM pg_attribute att WHERE att.attrelid = tbl AND att.attnum = key_att) <> 'uuid'::regtype THEN
        RAISE EXCEPTION 'primary key column % of % is of type %, not uuid', key_col, parent_q,
            (SELECT format_type(att.atttypid, att.atttypmod) FROM pg_attribute att WHERE att.attrelid = tbl AND att.attnum = key_att)
            USING ERRCODE = 'datatype_mismatch';
    END IF;

    -- The parent key first, then one column per (referencing table, referencing column).
    m_rel := m_rel || tbl::oid;
    m_att := m_att || key_att;
    m_col := m_col || key_col;
    m_notnull := m_notnull || true;
    m_check := m_check || NULL::text;
    FOR fk IN
        SELECT con.oid, con.conname, con.conrelid, con.conkey, con.confkey, cc.relkind,
               format('%I.%I', cn.nspname, cc.relname) AS child_q
        FROM pg_constraint con
        JOIN pg_class cc ON cc.oid = con.conrelid
        JOIN pg_namespace cn ON cn.oid = cc.relnamespace
        WHERE con.contype = 'f' AND con.confrelid = tbl AND key_att = ANY (con.confkey)
          AND con.conparentid = 0
        ORDER BY con.conrelid <> tbl, format('%I.%I', cn.nspname, cc.relname), con.conname
    LOOP
        IF fk.relkind <> 'r' THEN
            RAISE EXCEPTION 'foreign key % on % references %, but % is not an ordinary table',
                fk.conname, fk.child_q, parent_q, fk.child_q USING ERRCODE = 'feature_not_supported';
        END IF;
        fks := fks || fk.oid;
        pos := array_position(fk.confkey, key_att);
        a := fk.conkey[pos];
        IF EXISTS (SELECT 1 FROM unnest(m_rel, m_att) u(r, t) WHERE u.r = fk.conrelid AND u.t = a) THEN
            CONTINUE;  -- a column shared by two foreign keys gets one twin
        END IF;
        m_rel := m_rel || fk.conrelid;
        m_att := m_att || a;
        m_col := m_col || (SELECT att.attname::text FROM pg_attribute att WHERE att.attrelid = fk.conrelid AND att.attnum = a);
        m_notnull := m_notnull || (SELECT att.attnotnull FROM pg_attribute att WHERE att.attrelid = fk.conrelid AND att.attnum = a);
        -- Every row must get the twin once its parent exists; a row the foreign key does not
        -- check (MATCH SIMPLE, some referencing column NULL) need not.
        SELECT string_agg(format('%I IS NULL', att.attname), ' OR ' ORDER BY att.attnum) INTO cond
        FROM pg_attribute att
        WHERE att.attrelid = fk.conrelid AND att.attnum = ANY (fk.conkey) AND NOT att.attnotnull;
        m_check := m_check || cond;
    END LOOP;

    FOR i IN 1 .. cardinality(m_rel) LOOP
        m_new := m_new || (m_col[i] || '_snowflake');
        m_fill := m_fill || ('snowflake_fill_' || left(md5(@extschema@._snowflake_qname(m_rel[i]::regclass) || '.' || m_col[i]), 12));
        m_nsp := m_nsp || (SELECT n.nspname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = m_rel[i]);
        m_owner := m_owner || (SELECT pg_get_userbyid(c.relowner)::text FROM pg_class c WHERE c.oid = m_rel[i]);
        -- The fill function of a referencing table runs as that table's owner and reads the parent.
        IF i > 1 AND m_owner[i] <> parent_owner AND NOT has_table_privilege(m_owner[i], tbl, 'SELECT') THEN
            RAISE EXCEPTION 'role % (owner of %) cannot read %, which its trigger must do during the migration',
                m_owner[i], @extschema@._snowflake_qname(m_rel[i]::regclass), parent_q USING ERRCODE = 'insufficient_privilege',
                HINT = format('GRANT SELECT ON %s TO %I, or give both tables one owner.', parent_q, m_owner[i]);
        END IF;
        IF octet_length(m_col[i] || '_snowflake') > 63 THEN
            RAISE EXCEPTION 'column name %_snowflake is too long', m_col[i] USING ERRCODE = 'name_too_long',
                HINT = 'Rename the column to at most 53 bytes first.';
        END IF;
        FOREACH nm IN ARRAY CASE WHEN started THEN ARRAY[m_col[i] || '_uuid'] ELSE ARRAY[m_col[i] || '_snowflake', m_col[i] || '_uuid'] END LOOP
            IF EXISTS (SELECT 1 FROM pg_attribute att WHERE att.attrelid = m_rel[i] AND att.attname = nm AND NOT att.attisdropped) THEN
                RAISE EXCEPTION 'column % of % already exists', nm, @extschema@._snowflake_qname(m_rel[i]::regclass)
                    USING ERRCODE = 'duplicate_column',
                    HINT = 'The migration needs this name (<column>_snowflake while it runs, <column>_uuid after the cut-over); a migration may already be under way: SELECT * FROM snowflake_migration_plan(...).';
            END IF;
        END LOOP;
    END LOOP;
    new_col := m_new[1];
    rels := ARRAY(SELECT r FROM unnest(m_rel) WITH ORDINALITY u(r, o) GROUP BY r ORDER BY min(o));
    parent_q_ := parent_q; key_att_ := key_att; key_col_ := key_col; new_col_ := new_col; parent_owner_ := parent_owner;
    rels_ := rels; fks_ := fks; m_rel_ := m_rel; m_att_ := m_att; m_col_ := m_col; m_new_ := m_new;
    m_notnull_ := m_notnull; m_check_ := m_check; m_fill_ := m_fill; m_nsp_ := m_nsp; m_owner_ := m_owner;
    RETURN NEXT;
END
$fn$;

-- _snowflake_migration_steps_start(tbl, started): phase 1's statements (see _snowflake_migration_steps).
CREATE OR REPLACE FUNCTION _snowflake_migration_steps_start(tbl regclass, started boolean)
RETURNS TABLE (step integer, phase text, kind text, target text, object text, statement text, undo text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    key_att int2;
    key_col text;
    new_col text;
    parent_q text;
    -- migrated columns, in parallel arrays: table, attnum, its bigint twin, the CHECK, trigger
    m_rel oid[] := '{}';
    m_att int2[] := '{}';
    m_col text[] := '{}';
    m_new text[] := '{}';
    m_notnull boolean[] := '{}';
    m_check text[] := '{}';
    m_fill text[] := '{}';
    m_nsp text[] := '{}';              -- the schema of the table (where its fill function lives)
    m_owner text[] := '{}';            -- its owner (who owns its fill function)
    rels oid[];
    fks oid[] := '{}';
    i int;
    a int2;
    parent_owner name;
    ctx record;
BEGIN
    step := 0;
    SELECT * INTO ctx FROM @extschema@._snowflake_migration_context(tbl, started);
    parent_q := ctx.parent_q_; key_att := ctx.key_att_; key_col := ctx.key_col_; new_col := ctx.new_col_;
    parent_owner := ctx.parent_owner_; rels := ctx.rels_; fks := ctx.fks_;
    m_rel := ctx.m_rel_; m_att := ctx.m_att_; m_col := ctx.m_col_; m_new := ctx.m_new_; m_notnull := ctx.m_notnull_;
    m_check := ctx.m_check_; m_fill := ctx.m_fill_; m_nsp := ctx.m_nsp_; m_owner := ctx.m_owner_;
    -- ---- start: one short transaction; new rows get snowflake IDs from its commit on ----
    phase := 'start'; kind := 'ddl'; object := NULL;
    FOR i IN 1 .. cardinality(m_rel) LOOP
        target := @extschema@._snowflake_qname(m_rel[i]::regclass);
        -- Nullable, no default: ADD COLUMN is then a catalog change, not a table rewrite.
        step := step + 1;
        statement := format('ALTER TABLE %s ADD COLUMN %I bigint', target, m_new[i]);
        undo := format('ALTER TABLE %s DROP COLUMN IF EXISTS %I', target, m_new[i]);
        RETURN NEXT;
        IF i = 1 THEN
            step := step + 1;
            statement := format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT @extschema@.snowflake_next()', target, new_col);
            undo := NULL;
            RETURN NEXT;
        ELSE
            -- A referencing row written from now on carries its parent's new key. The writer may
            -- have no right to read the parent (INSERT on the referencing table was enough
            -- before): the function runs as the owner of the table it is attached to (SECURITY
            -- DEFINER, lookups pinned). EXECUTE is revoked from PUBLIC once the trigger is made,
            -- so no other role can attach it elsewhere.
            step := step + 1;
            statement := format($f$CREATE FUNCTION %1$I.%2$I() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$
BEGIN
  IF NEW.%3$I IS NULL THEN
    NEW.%4$I := NULL;%8$s
  ELSIF TG_OP OPERATOR(pg_catalog.=) 'INSERT' OR NEW.%4$I IS NULL OR NEW.%3$I IS DISTINCT FROM OLD.%3$I THEN
    NEW.%4$I := (SELECT p.%5$I FROM %6$s p WHERE p.%7$I OPERATOR(pg_catalog.=) NEW.%3$I);
  END IF;
  RETURN NEW;
END $body$$f$, m_nsp[i], m_fill[i], m_col[i], m_new[i], new_col, parent_q, key_col,
                CASE WHEN m_rel[i] = tbl::oid THEN format(E'\n  ELSIF NEW.%I OPERATOR(pg_catalog.=) NEW.%I THEN\n    NEW.%I := NEW.%I;', m_col[i], key_col, m_new[i], new_col) ELSE '' END);
            undo := format('DROP FUNCTION IF EXISTS %I.%I()', m_nsp[i], m_fill[i]);
            RETURN NEXT;
            step := step + 1;
            statement := format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION %I.%I()',
                                m_fill[i], target, m_nsp[i], m_fill[i]);
            undo := format('DROP TRIGGER IF EXISTS %I ON %s', m_fill[i], target);
            RETURN NEXT;
            step := step + 1; undo := NULL;
            statement := format('REVOKE ALL ON FUNCTION %I.%I() FROM PUBLIC', m_nsp[i], m_fill[i]);
            RETURN NEXT;
            step := step + 1;
            statement := format('ALTER FUNCTION %I.%I() OWNER TO %I', m_nsp[i], m_fill[i], m_owner[i]);
            RETURN NEXT;
        END IF;
    END LOOP;

END
$fn$;

-- _snowflake_migration_steps_backfill(tbl, started): phases 2-3's statements: batches and CHECKs.
CREATE OR REPLACE FUNCTION _snowflake_migration_steps_backfill(tbl regclass, started boolean)
RETURNS TABLE (step integer, phase text, kind text, target text, object text, statement text, undo text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    key_att int2;
    key_col text;
    new_col text;
    parent_q text;
    -- migrated columns, in parallel arrays: table, attnum, its bigint twin, the CHECK, trigger
    m_rel oid[] := '{}';
    m_att int2[] := '{}';
    m_col text[] := '{}';
    m_new text[] := '{}';
    m_notnull boolean[] := '{}';
    m_check text[] := '{}';
    m_fill text[] := '{}';
    m_nsp text[] := '{}';              -- the schema of the table (where its fill function lives)
    m_owner text[] := '{}';            -- its owner (who owns its fill function)
    rels oid[];
    fks oid[] := '{}';
    i int;
    nm text;
    parent_owner name;
    ctx record;
BEGIN
    step := 0;
    SELECT * INTO ctx FROM @extschema@._snowflake_migration_context(tbl, started);
    parent_q := ctx.parent_q_; key_att := ctx.key_att_; key_col := ctx.key_col_; new_col := ctx.new_col_;
    parent_owner := ctx.parent_owner_; rels := ctx.rels_; fks := ctx.fks_;
    m_rel := ctx.m_rel_; m_att := ctx.m_att_; m_col := ctx.m_col_; m_new := ctx.m_new_; m_notnull := ctx.m_notnull_;
    m_check := ctx.m_check_; m_fill := ctx.m_fill_; m_nsp := ctx.m_nsp_; m_owner := ctx.m_owner_;
    -- ---- backfill: batches, each its own transaction; CHECKs prove completeness ----
    phase := 'backfill';
    FOR i IN 1 .. cardinality(m_rel) LOOP
        target := @extschema@._snowflake_qname(m_rel[i]::regclass);
        nm := left(m_new[i], 53) || '_filled';
        IF NOT started AND EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conrelid = m_rel[i] AND con.conname = nm) THEN
            RAISE EXCEPTION 'constraint % of % already exists', nm, target USING ERRCODE = 'duplicate_object';
        END IF;
        IF i = 1 THEN
            step := step + 1; kind := 'parent_batches'; undo := NULL;
            statement := format('UPDATE %s p SET %I = m.new_id FROM @extschema@.snowflake_migration_map m WHERE m.relation = $1 AND m.n >= $2 AND m.n < $3 AND p.%I = m.key AND p.%I IS NULL',
                                target, new_col, key_col, new_col);
            object := new_col;
            RETURN NEXT;
            object := NULL;
            -- Added once the batches are done: before, old rows without an ID could not be updated.
            step := step + 1; kind := 'ddl';
            statement := format('ALTER TABLE %s ADD CONSTRAINT %I CHECK (%I IS NOT NULL) NOT VALID', target, nm, new_col);
            undo := format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', target, nm);
            RETURN NEXT;
        ELSE
            -- Added before the pass: from then on every write must carry the twin (the trigger
            -- fills it), so rows the application moves during the pass need no second sweep.
            step := step + 1; kind := 'ddl';
            statement := format('ALTER TABLE %s ADD CONSTRAINT %I CHECK (%s%I IS NOT NULL) NOT VALID', target, nm,
                                coalesce(m_check[i] || ' OR ', ''), m_new[i]);
            undo := format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', target, nm);
            RETURN NEXT;
            step := step + 1; kind := 'child_batches'; undo := NULL;
            statement := format('UPDATE %s c SET %I = p.%I FROM %s p WHERE c.ctid >= $1 AND c.ctid < $2 AND c.%I IS NULL AND p.%I = c.%I',
                                target, m_new[i], new_col, parent_q, m_new[i], key_col, m_col[i]);
            object := m_new[i];
            RETURN NEXT;
            object := NULL;
        END IF;
        step := step + 1; kind := 'ddl'; undo := NULL;
        statement := format('ALTER TABLE %s VALIDATE CONSTRAINT %I', target, nm);
        RETURN NEXT;
    END LOOP;

END
$fn$;

-- _snowflake_migration_steps_index(tbl, started, moves): the twins of the indexes over migrated
-- columns and the unique index on the old primary-key columns; with moves, instead, what the cut-over
-- does with them (kinds pk, rename, unique), for _snowflake_migration_steps_cutover().
CREATE OR REPLACE FUNCTION _snowflake_migration_steps_index(tbl regclass, started boolean, moves boolean)
RETURNS TABLE (step integer, phase text, kind text, target text, object text, statement text, undo text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    pk record;
    ix record;
    key_att int2;
    key_col text;
    new_col text;
    parent_q text;
    -- migrated columns, in parallel arrays: table, attnum, its bigint twin, the CHECK, trigger
    m_rel oid[] := '{}';
    m_att int2[] := '{}';
    m_col text[] := '{}';
    m_new text[] := '{}';
    m_notnull boolean[] := '{}';
    m_check text[] := '{}';
    m_fill text[] := '{}';
    m_nsp text[] := '{}';              -- the schema of the table (where its fill function lives)
    m_owner text[] := '{}';            -- its owner (who owns its fill function)
    rels oid[];
    fks oid[] := '{}';
    i int;
    j int;
    a int2;
    cols text;
    incl text;
    nm text;
    parent_owner name;
    twin_of_pk text;
    idx_renames text[] := '{}';
    idx_rename_tables text[] := '{}';
    uq record;
    uq_moves text[] := '{}';
    uq_move_tables text[] := '{}';
    ctx record;
BEGIN
    step := 0;
    SELECT * INTO ctx FROM @extschema@._snowflake_migration_context(tbl, started);
    parent_q := ctx.parent_q_; key_att := ctx.key_att_; key_col := ctx.key_col_; new_col := ctx.new_col_;
    parent_owner := ctx.parent_owner_; rels := ctx.rels_; fks := ctx.fks_;
    m_rel := ctx.m_rel_; m_att := ctx.m_att_; m_col := ctx.m_col_; m_new := ctx.m_new_; m_notnull := ctx.m_notnull_;
    m_check := ctx.m_check_; m_fill := ctx.m_fill_; m_nsp := ctx.m_nsp_; m_owner := ctx.m_owner_;
    -- ---- index: twins of every index over a migrated column, built CONCURRENTLY by the user ----
    phase := 'index'; kind := 'index';
    FOR ix IN
        SELECT x.indexrelid, x.indrelid, x.indisunique, x.indisprimary, x.indnullsnotdistinct, x.indnkeyatts,
               ARRAY(SELECT unnest(x.indkey::int2[])) AS indkey, ARRAY(SELECT unnest(x.indoption::int2[])) AS indoption, x.indexprs IS NOT NULL OR x.indpred IS NOT NULL AS complex,
               am.amname, ic.relname, n.nspname
        FROM pg_index x
        JOIN pg_class ic ON ic.oid = x.indexrelid
        JOIN pg_namespace n ON n.oid = ic.relnamespace
        JOIN pg_am am ON am.oid = ic.relam
        WHERE x.indrelid = ANY (rels)
          AND EXISTS (SELECT 1 FROM unnest(m_rel, m_att) u(r, t) WHERE u.r = x.indrelid AND u.t = ANY (x.indkey::int2[]))
          -- not the lookup index on the uuids that the migration builds beside the primary key
          AND NOT EXISTS (SELECT 1 FROM pg_constraint pc JOIN pg_class pi ON pi.oid = pc.conindid
                          WHERE pc.conrelid = x.indrelid AND pc.contype = 'p' AND left(pi.relname, 58) || '_uuid' = ic.relname)
        ORDER BY array_position(rels, x.indrelid), NOT x.indisprimary, ic.relname
    LOOP
        target := @extschema@._snowflake_qname(ix.indrelid::regclass);
        IF ix.complex OR ix.amname NOT IN ('btree', 'hash') THEN
            IF ix.indisunique OR ix.indisprimary THEN
                RAISE EXCEPTION 'unique index %.% on a migrated column has expressions, a predicate or access method %',
                    ix.nspname, ix.relname, ix.amname USING ERRCODE = 'feature_not_supported';
            END IF;
            CONTINUE WHEN moves;
            RAISE NOTICE 'index %.% is not copied to the bigint key: it %; recreate it after the cut-over',
                ix.nspname, ix.relname,
                concat_ws(' and ', CASE WHEN (SELECT x.indexprs IS NOT NULL FROM pg_index x WHERE x.indexrelid = ix.indexrelid) THEN 'has expressions' END,
                                   CASE WHEN (SELECT x.indpred IS NOT NULL FROM pg_index x WHERE x.indexrelid = ix.indexrelid) THEN 'is partial (has a WHERE clause)' END,
                                   CASE WHEN ix.amname NOT IN ('btree', 'hash') THEN format('uses access method %s', ix.amname) END);
            CONTINUE;
        END IF;
        cols := NULL; incl := NULL;
        FOR j IN 1 .. cardinality(ix.indkey) LOOP
            a := ix.indkey[j];
            SELECT coalesce(u.nw, att.attname::text) INTO nm
            FROM pg_attribute att
            LEFT JOIN unnest(m_rel, m_att, m_new) u(r, t, nw) ON u.r = att.attrelid AND u.t = att.attnum
            WHERE att.attrelid = ix.indrelid AND att.attnum = a;
            IF j <= ix.indnkeyatts THEN
                cols := concat_ws(', ', cols, quote_ident(nm)
                    || CASE WHEN ix.amname = 'btree' AND ix.indoption[j] & 1 = 1 THEN ' DESC' ELSE '' END
                    || CASE WHEN ix.amname = 'btree' AND ix.indoption[j] & 2 = 2 AND ix.indoption[j] & 1 = 0 THEN ' NULLS FIRST'
                            WHEN ix.amname = 'btree' AND ix.indoption[j] & 2 = 0 AND ix.indoption[j] & 1 = 1 THEN ' NULLS LAST'
                            ELSE '' END);
            ELSE
                incl := concat_ws(', ', incl, quote_ident(nm));
            END IF;
        END LOOP;
        nm := left(ix.relname, 53) || '_snowflake';
        IF NOT started AND to_regclass(format('%I.%I', ix.nspname, nm)) IS NOT NULL THEN
            RAISE EXCEPTION 'relation %.% already exists', ix.nspname, nm USING ERRCODE = 'duplicate_table';
        END IF;
        step := step + 1;
        object := format('%I.%I', ix.nspname, nm);
        statement := format('CREATE %sINDEX CONCURRENTLY %I ON %s USING %s (%s)%s%s',
                            CASE WHEN ix.indisunique THEN 'UNIQUE ' ELSE '' END, nm, target, ix.amname, cols,
                            CASE WHEN incl IS NOT NULL THEN format(' INCLUDE (%s)', incl) ELSE '' END,
                            CASE WHEN ix.indnullsnotdistinct THEN ' NULLS NOT DISTINCT' ELSE '' END);
        undo := format('DROP INDEX IF EXISTS %s', object);
        IF NOT moves THEN RETURN NEXT; END IF;
        IF ix.indisprimary THEN
            IF ix.indrelid <> tbl::oid AND EXISTS (SELECT 1 FROM pg_constraint con WHERE con.contype = 'f' AND con.conindid = ix.indexrelid) THEN
                RAISE EXCEPTION 'the primary key of % contains a migrated column and is referenced by foreign keys', target
                    USING ERRCODE = 'feature_not_supported', HINT = 'Migrate that table''s own key first.';
            END IF;
            twin_of_pk := concat_ws(E'\n', twin_of_pk, format('%s|%I|%I', target,
                (SELECT con.conname FROM pg_constraint con WHERE con.conindid = ix.indexrelid AND con.contype = 'p'), nm));
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
            IF octet_length(uq.conname) > 58 OR (NOT started AND EXISTS (
                    SELECT 1 FROM pg_constraint con WHERE con.conrelid = ix.indrelid AND con.conname = uq.conname || '_uuid'))
               OR to_regclass(format('%I.%I', ix.nspname, uq.conname || '_uuid')) IS NOT NULL THEN
                RAISE EXCEPTION 'constraint % of % cannot be renamed to %_uuid at the cut-over', uq.conname, target, uq.conname
                    USING ERRCODE = 'duplicate_object';
            END IF;
            uq_moves := uq_moves || format('ALTER TABLE %s RENAME CONSTRAINT %I TO %I', target, uq.conname, uq.conname || '_uuid')
                                 || format('ALTER TABLE %s ADD CONSTRAINT %I UNIQUE USING INDEX %I%s', target, uq.conname, left(ix.relname, 53) || '_snowflake',
                                           CASE WHEN uq.condeferrable THEN ' DEFERRABLE' || CASE WHEN uq.condeferred THEN ' INITIALLY DEFERRED' ELSE '' END ELSE '' END);
            uq_move_tables := uq_move_tables || target || target;
        ELSE
            IF octet_length(ix.relname) > 58 OR to_regclass(format('%I.%I', ix.nspname, ix.relname || '_uuid')) IS NOT NULL THEN
                RAISE EXCEPTION 'index %.% cannot be renamed to %_uuid at the cut-over', ix.nspname, ix.relname, ix.relname
                    USING ERRCODE = 'duplicate_table';
            END IF;
            idx_renames := idx_renames || format('ALTER INDEX %I.%I RENAME TO %I', ix.nspname, ix.relname, ix.relname || '_uuid')
                                       || format('ALTER INDEX %I.%I RENAME TO %I', ix.nspname, nm, ix.relname);
            idx_rename_tables := idx_rename_tables || target || target;
        END IF;
    END LOOP;
    object := NULL;

    -- What the cut-over does with these indexes, for _snowflake_migration_steps_cutover().
    IF moves THEN
        FOR ix IN SELECT split_part(l, '|', 1) AS t, split_part(l, '|', 2) AS con, split_part(l, '|', 3) AS twin
                  FROM unnest(string_to_array(twin_of_pk, E'\n')) l
        LOOP
            step := step + 1; kind := 'pk'; target := ix.t; object := ix.con; statement := ix.twin;
            RETURN NEXT;
        END LOOP;
        FOR i IN 1 .. cardinality(idx_renames) LOOP
            step := step + 1; kind := 'rename'; target := idx_rename_tables[i]; object := NULL; statement := idx_renames[i];
            RETURN NEXT;
        END LOOP;
        FOR i IN 1 .. cardinality(uq_moves) LOOP
            step := step + 1; kind := 'unique'; target := uq_move_tables[i]; object := NULL; statement := uq_moves[i];
            RETURN NEXT;
        END LOOP;
    END IF;
END
$fn$;

-- _snowflake_migration_steps_constrain(tbl, started): the foreign keys on the twins.
CREATE OR REPLACE FUNCTION _snowflake_migration_steps_constrain(tbl regclass, started boolean)
RETURNS TABLE (step integer, phase text, kind text, target text, object text, statement text, undo text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    fk record;
    key_att int2;
    key_col text;
    new_col text;
    parent_q text;
    -- migrated columns, in parallel arrays: table, attnum, its bigint twin, the CHECK, trigger
    m_rel oid[] := '{}';
    m_att int2[] := '{}';
    m_col text[] := '{}';
    m_new text[] := '{}';
    m_notnull boolean[] := '{}';
    m_check text[] := '{}';
    m_fill text[] := '{}';
    m_nsp text[] := '{}';              -- the schema of the table (where its fill function lives)
    m_owner text[] := '{}';            -- its owner (who owns its fill function)
    rels oid[];
    fks oid[] := '{}';
    a int2;
    nm text;
    parent_owner name;
    ctx record;
BEGIN
    step := 0;
    SELECT * INTO ctx FROM @extschema@._snowflake_migration_context(tbl, started);
    parent_q := ctx.parent_q_; key_att := ctx.key_att_; key_col := ctx.key_col_; new_col := ctx.new_col_;
    parent_owner := ctx.parent_owner_; rels := ctx.rels_; fks := ctx.fks_;
    m_rel := ctx.m_rel_; m_att := ctx.m_att_; m_col := ctx.m_col_; m_new := ctx.m_new_; m_notnull := ctx.m_notnull_;
    m_check := ctx.m_check_; m_fill := ctx.m_fill_; m_nsp := ctx.m_nsp_; m_owner := ctx.m_owner_;
    -- ---- constrain: the foreign keys again, on the bigint twins; NOT VALID, then VALIDATE ----
    phase := 'constrain'; kind := 'ddl';
    FOR fk IN
        SELECT con.*, format('%I.%I', cn.nspname, cc.relname) AS child_q
        FROM pg_constraint con
        JOIN pg_class cc ON cc.oid = con.conrelid JOIN pg_namespace cn ON cn.oid = cc.relnamespace
        WHERE con.oid = ANY (fks)
        ORDER BY array_position(fks, con.oid)
    LOOP
        target := fk.child_q;
        nm := left(fk.conname, 53) || '_snowflake';
        IF NOT started AND EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conrelid = fk.conrelid AND con.conname = nm) THEN
            RAISE EXCEPTION 'constraint % of % already exists', nm, target USING ERRCODE = 'duplicate_object';
        END IF;
        step := step + 1;
        statement := format('ALTER TABLE %s ADD CONSTRAINT %I FOREIGN KEY (%s) REFERENCES %s (%s)%s ON UPDATE %s ON DELETE %s%s%s NOT VALID',
            target, nm,
            (SELECT string_agg(quote_ident(coalesce(u.nw, att.attname::text)), ', ' ORDER BY k.o)
             FROM unnest(fk.conkey) WITH ORDINALITY k(att_no, o)
             JOIN pg_attribute att ON att.attrelid = fk.conrelid AND att.attnum = k.att_no
             LEFT JOIN unnest(m_rel, m_att, m_new) u(r, t, nw) ON u.r = att.attrelid AND u.t = att.attnum),
            parent_q,
            (SELECT string_agg(quote_ident(CASE WHEN k.att_no = key_att THEN new_col ELSE att.attname::text END), ', ' ORDER BY k.o)
             FROM unnest(fk.confkey) WITH ORDINALITY k(att_no, o)
             JOIN pg_attribute att ON att.attrelid = tbl AND att.attnum = k.att_no),
            CASE fk.confmatchtype WHEN 'f' THEN ' MATCH FULL' ELSE '' END,
            CASE fk.confupdtype WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' ELSE 'SET DEFAULT' END,
            CASE fk.confdeltype WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' ELSE 'SET DEFAULT' END,
            CASE WHEN fk.confdelsetcols IS NOT NULL AND cardinality(fk.confdelsetcols) > 0 THEN
                (SELECT format(' (%s)', string_agg(quote_ident(coalesce(u.nw, att.attname::text)), ', ' ORDER BY k.o))
                 FROM unnest(fk.confdelsetcols) WITH ORDINALITY k(att_no, o)
                 JOIN pg_attribute att ON att.attrelid = fk.conrelid AND att.attnum = k.att_no
                 LEFT JOIN unnest(m_rel, m_att, m_new) u(r, t, nw) ON u.r = att.attrelid AND u.t = att.attnum)
                ELSE '' END,
            CASE WHEN fk.condeferrable THEN ' DEFERRABLE' || CASE WHEN fk.condeferred THEN ' INITIALLY DEFERRED' ELSE '' END ELSE '' END);
        undo := format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', target, nm);
        RETURN NEXT;
        step := step + 1;
        statement := format('ALTER TABLE %s VALIDATE CONSTRAINT %I', target, nm);
        undo := NULL;
        RETURN NEXT;
    END LOOP;

END
$fn$;

-- _snowflake_migration_steps_cutover(tbl, started): the swap's statements.
CREATE OR REPLACE FUNCTION _snowflake_migration_steps_cutover(tbl regclass, started boolean)
RETURNS TABLE (step integer, phase text, kind text, target text, object text, statement text, undo text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    pk record;
    fk record;
    ix record;
    key_att int2;
    key_col text;
    new_col text;
    parent_q text;
    -- migrated columns, in parallel arrays: table, attnum, its bigint twin, the CHECK, trigger
    m_rel oid[] := '{}';
    m_att int2[] := '{}';
    m_col text[] := '{}';
    m_new text[] := '{}';
    m_notnull boolean[] := '{}';
    m_check text[] := '{}';
    m_fill text[] := '{}';
    m_nsp text[] := '{}';              -- the schema of the table (where its fill function lives)
    m_owner text[] := '{}';            -- its owner (who owns its fill function)
    rels oid[];
    fks oid[] := '{}';
    i int;
    a int2;
    lock_list text;
    parent_owner name;
    twin_of_pk text;
    idx_renames text[] := '{}';
    idx_rename_tables text[] := '{}';
    uq_moves text[] := '{}';
    uq_move_tables text[] := '{}';
    dep record;
    ctx record;
BEGIN
    step := 0;
    SELECT * INTO ctx FROM @extschema@._snowflake_migration_context(tbl, started);
    parent_q := ctx.parent_q_; key_att := ctx.key_att_; key_col := ctx.key_col_; new_col := ctx.new_col_;
    parent_owner := ctx.parent_owner_; rels := ctx.rels_; fks := ctx.fks_;
    m_rel := ctx.m_rel_; m_att := ctx.m_att_; m_col := ctx.m_col_; m_new := ctx.m_new_; m_notnull := ctx.m_notnull_;
    m_check := ctx.m_check_; m_fill := ctx.m_fill_; m_nsp := ctx.m_nsp_; m_owner := ctx.m_owner_;
    -- ---- cutover: one transaction of catalog changes; no statement scans a table ----
    -- The index phase says which indexes and constraints move.
    twin_of_pk := (SELECT string_agg(concat_ws('|', x.target, x.object, x.statement), E'\n' ORDER BY x.step)
                   FROM @extschema@._snowflake_migration_steps_index(tbl, started, true) x WHERE x.kind = 'pk');
    SELECT coalesce(array_agg(x.statement ORDER BY x.step), '{}'), coalesce(array_agg(x.target ORDER BY x.step), '{}')
    INTO idx_renames, idx_rename_tables
    FROM @extschema@._snowflake_migration_steps_index(tbl, started, true) x WHERE x.kind = 'rename';
    SELECT coalesce(array_agg(x.statement ORDER BY x.step), '{}'), coalesce(array_agg(x.target ORDER BY x.step), '{}')
    INTO uq_moves, uq_move_tables
    FROM @extschema@._snowflake_migration_steps_index(tbl, started, true) x WHERE x.kind = 'unique';
    phase := 'cutover'; kind := 'ddl'; undo := NULL;
    SELECT string_agg(@extschema@._snowflake_qname(r::regclass), ', ' ORDER BY o) INTO lock_list FROM unnest(rels) WITH ORDINALITY u(r, o);
    step := step + 1; target := parent_q;
    statement := format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', lock_list);
    RETURN NEXT;
    -- Views over the key: dropped now, created again at the end over the bigint columns.
    FOR dep IN SELECT dd.object, dd.before_sql FROM @extschema@._snowflake_migration_dependents(m_rel, m_att) dd
               WHERE dd.before_sql IS NOT NULL AND NOT dd.refused ORDER BY dd.object
    LOOP
        step := step + 1; target := dep.object;
        statement := dep.before_sql;
        RETURN NEXT;
    END LOOP;
    target := parent_q;
    FOR fk IN
        SELECT con.conname, format('%I.%I', cn.nspname, cc.relname) AS child_q
        FROM pg_constraint con
        JOIN pg_class cc ON cc.oid = con.conrelid JOIN pg_namespace cn ON cn.oid = cc.relnamespace
        WHERE con.oid = ANY (fks) ORDER BY array_position(fks, con.oid)
    LOOP
        step := step + 1; target := fk.child_q;
        statement := format('ALTER TABLE %s DROP CONSTRAINT %I', target, fk.conname);
        RETURN NEXT;
    END LOOP;
    -- Primary keys over a migrated column move to their twins; SET NOT NULL is proved by the
    -- validated CHECK, so it does not scan.
    FOR i IN 1 .. cardinality(m_rel) LOOP
        IF i = 1 OR (m_notnull[i] AND m_check[i] IS NULL) THEN
            step := step + 1; target := @extschema@._snowflake_qname(m_rel[i]::regclass);
            statement := format('ALTER TABLE %s ALTER COLUMN %I SET NOT NULL', target, m_new[i]);
            RETURN NEXT;
        END IF;
    END LOOP;
    FOR ix IN SELECT split_part(l, '|', 1) AS t, split_part(l, '|', 2) AS con, split_part(l, '|', 3) AS twin
              FROM unnest(string_to_array(twin_of_pk, E'\n')) l
    LOOP
        step := step + 1; target := ix.t;
        statement := format('ALTER TABLE %s DROP CONSTRAINT %s', ix.t, ix.con);
        RETURN NEXT;
        step := step + 1;
        statement := format('ALTER TABLE %s ADD CONSTRAINT %s PRIMARY KEY USING INDEX %s', ix.t, ix.con, ix.twin);
        RETURN NEXT;
    END LOOP;
    FOR i IN 1 .. cardinality(m_rel) LOOP
        target := @extschema@._snowflake_qname(m_rel[i]::regclass);
        -- New rows will not fill the old column: it must accept NULL.
        IF m_notnull[i] THEN
            step := step + 1;
            statement := format('ALTER TABLE %s ALTER COLUMN %I DROP NOT NULL', target, m_col[i]);
            RETURN NEXT;
        END IF;
        step := step + 1;
        statement := format('ALTER TABLE %s RENAME COLUMN %I TO %I', target, m_col[i], m_col[i] || '_uuid');
        RETURN NEXT;
        step := step + 1;
        statement := format('ALTER TABLE %s RENAME COLUMN %I TO %I', target, m_new[i], m_col[i]);
        RETURN NEXT;
        step := step + 1;
        statement := format('ALTER TABLE %s DROP CONSTRAINT %I', target, left(m_new[i], 53) || '_filled');
        RETURN NEXT;
        IF i > 1 THEN
            step := step + 1;
            statement := format('DROP TRIGGER %I ON %s', m_fill[i], target);
            RETURN NEXT;
            step := step + 1;
            statement := format('DROP FUNCTION %I.%I()', m_nsp[i], m_fill[i]);
            RETURN NEXT;
        END IF;
    END LOOP;
    FOR fk IN
        SELECT con.conname, format('%I.%I', cn.nspname, cc.relname) AS child_q
        FROM pg_constraint con
        JOIN pg_class cc ON cc.oid = con.conrelid JOIN pg_namespace cn ON cn.oid = cc.relnamespace
        WHERE con.oid = ANY (fks) ORDER BY array_position(fks, con.oid)
    LOOP
        step := step + 1; target := fk.child_q;
        statement := format('ALTER TABLE %s RENAME CONSTRAINT %I TO %I', target, left(fk.conname, 53) || '_snowflake', fk.conname);
        RETURN NEXT;
    END LOOP;
    FOR i IN 1 .. cardinality(idx_renames) LOOP
        step := step + 1;
        target := idx_rename_tables[i];
        statement := idx_renames[i];
        RETURN NEXT;
    END LOOP;
    FOR i IN 1 .. cardinality(uq_moves) LOOP
        step := step + 1;
        target := uq_move_tables[i];
        statement := uq_moves[i];
        RETURN NEXT;
    END LOOP;
    -- Column privileges go with the name: whoever could insert, update, select or reference the
    -- uuid column by name can do the same with the bigint column that takes its name. Last, and
    -- of their own kind: grants made during the migration are carried as they are at the cut-over.
    kind := 'grant';
    FOR i IN 1 .. cardinality(m_rel) LOOP
        target := @extschema@._snowflake_qname(m_rel[i]::regclass);
        FOR ix IN
            SELECT g.privilege_type, g.is_grantable,
                   CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(g.grantee)) END AS grantee
            FROM pg_attribute att, aclexplode(att.attacl) g
            WHERE att.attrelid = m_rel[i] AND att.attnum = m_att[i]
            ORDER BY 3, 1
        LOOP
            step := step + 1;
            statement := format('GRANT %s (%I) ON %s TO %s%s', ix.privilege_type, m_col[i], target, ix.grantee,
                                CASE WHEN ix.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
            RETURN NEXT;
        END LOOP;
    END LOOP;
    -- Views created again and policies altered, now that the old names are the bigint columns.
    kind := 'carry';
    FOR dep IN SELECT dd.object, a.sql FROM @extschema@._snowflake_migration_dependents(m_rel, m_att) dd,
                      unnest(dd.after_sql) WITH ORDINALITY a(sql, o)
               WHERE NOT dd.refused ORDER BY dd.object, a.o
    LOOP
        step := step + 1; target := dep.object;
        statement := dep.sql;
        RETURN NEXT;
    END LOOP;
END
$fn$;

-- _snowflake_migration_steps(tbl regclass, started boolean): the whole plan, computed from the
-- catalog by the call that runs it; every phase calls it again, so no statement is ever read
-- back from a table. With started, the objects the migration itself has added are expected
-- (the plan of a migration under way is the same plan). Identifiers go through %I and
-- _snowflake_qname, values through USING. Locks nothing. Raises 0A000 for shapes it cannot
-- migrate, 42804 for a key that is not a uuid, 42701/42P07/42622 for names it needs that are
-- taken or too long.
CREATE OR REPLACE FUNCTION _snowflake_migration_steps(tbl regclass, started boolean DEFAULT false)
RETURNS TABLE (step integer, phase text, kind text, target text, object text, statement text, undo text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    r record;
BEGIN
    step := 0;
    FOR r IN
        SELECT 1 AS p, x.step AS s, x.phase, x.kind, x.target, x.object, x.statement, x.undo FROM @extschema@._snowflake_migration_steps_start(tbl, started) x
        UNION ALL SELECT 2, x.step, x.phase, x.kind, x.target, x.object, x.statement, x.undo FROM @extschema@._snowflake_migration_steps_backfill(tbl, started) x
        UNION ALL SELECT 3, x.step, x.phase, x.kind, x.target, x.object, x.statement, x.undo FROM @extschema@._snowflake_migration_steps_index(tbl, started, false) x
        UNION ALL SELECT 4, x.step, x.phase, x.kind, x.target, x.object, x.statement, x.undo FROM @extschema@._snowflake_migration_steps_constrain(tbl, started) x
        UNION ALL SELECT 5, x.step, x.phase, x.kind, x.target, x.object, x.statement, x.undo FROM @extschema@._snowflake_migration_steps_cutover(tbl, started) x
        ORDER BY 1, 2
    LOOP
        step := step + 1;
        phase := r.phase; kind := r.kind; target := r.target; object := r.object; statement := r.statement; undo := r.undo;
        RETURN NEXT;
    END LOOP;
END
$fn$;

-- _snowflake_order_by(tbl regclass, order_by text) -> text: order_by parsed into a whitelist: a
-- comma-separated list of columns of tbl ("quoted" or plain, folded to lower case as SQL does),
-- each with optional ASC or DESC and NULLS FIRST or NULLS LAST. Returns it rebuilt from quoted
-- identifiers and those keywords (which parses to itself again); nothing of the input reaches SQL.
-- Raises 22023 for anything else, 42703 for a column tbl lacks. Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_order_by(tbl regclass, order_by text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    rest text := order_by;
    tok text[];
    col text;
    items text[] := '{}';
BEGIN
    IF rest IS NULL OR btrim(rest, E' \t\r\n') = '' THEN
        RAISE EXCEPTION 'order_by is empty' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Give columns of the table, e.g. order_by => ''name, rank DESC NULLS LAST''.';
    END IF;
    LOOP
        rest := ltrim(rest, E' \t\r\n');
        tok := regexp_match(rest, '^"((?:[^"]|"")+)"');
        IF tok IS NOT NULL THEN
            col := replace(tok[1], '""', '"');
            rest := substr(rest, length(tok[1]) + 3);
        ELSE
            tok := regexp_match(rest, '^([A-Za-z_][A-Za-z0-9_$]*)');
            IF tok IS NULL THEN
                RAISE EXCEPTION 'order_by must be a list of columns of %, each with optional ASC or DESC and NULLS FIRST or NULLS LAST', tbl::text
                    USING ERRCODE = 'invalid_parameter_value',
                    DETAIL = format('Expected a column name at: %s', left(rest, 40)),
                    HINT = 'Expressions are not accepted; add a column computed from them first if you need one.';
            END IF;
            col := lower(tok[1]);
            rest := substr(rest, length(tok[1]) + 1);
        END IF;
        tok := regexp_match(rest, '^(?:\s+(asc|desc))?(?:\s+nulls\s+(first|last))?\s*(,|$)', 'i');
        IF tok IS NULL THEN
            RAISE EXCEPTION 'order_by must be a list of columns of %, each with optional ASC or DESC and NULLS FIRST or NULLS LAST', tbl::text
                USING ERRCODE = 'invalid_parameter_value',
                DETAIL = format('Unexpected after %s: %s', quote_ident(col), left(rest, 40)),
                HINT = 'Expressions are not accepted; add a column computed from them first if you need one.';
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped) THEN
            RAISE EXCEPTION 'column % of % does not exist', quote_ident(col), tbl::text USING ERRCODE = 'undefined_column';
        END IF;
        items := items || (quote_ident(col) || coalesce(' ' || upper(tok[1]), '') || coalesce(' NULLS ' || upper(tok[2]), ''));
        rest := substr(rest, length((regexp_match(rest, '^(?:\s+(?:asc|desc))?(?:\s+nulls\s+(?:first|last))?\s*(?:,|$)', 'i'))[1]) + 1);
        EXIT WHEN tok[3] = '';
    END LOOP;
    RETURN array_to_string(items, ', ');
END
$fn$;

-- _snowflake_migration_owner_check(tbl regclass): raises 42501 unless the caller has the
-- privileges of the table's owner (as ALTER TABLE requires); the migration functions call it
-- first, so that a role learns nothing of, and changes nothing in, another owner's migration.
CREATE OR REPLACE FUNCTION _snowflake_migration_owner_check(tbl regclass) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF NOT coalesce((SELECT pg_has_role(c.relowner, 'USAGE') FROM pg_class c WHERE c.oid = tbl), false) THEN
        RAISE EXCEPTION 'must be owner of table %', tbl::text USING ERRCODE = 'insufficient_privilege',
            HINT = 'A migration is run by the owner of the table (or a member of the owning role).';
    END IF;
END
$fn$;

-- _snowflake_migration_writer_check(tbl regclass): the backfill writes every row of the tables
-- it touches, which runs the code attached to them (triggers, CHECK constraints, index
-- expressions, the sort order of a type) with the rights of the writer. Raises 42501 unless both
-- the current user and the session user (whom RESET ROLE returns to) are the owner of each of
-- those tables, or the owner is a superuser: a superuser's session never runs code that a table's
-- owner wrote. Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_migration_writer_check(tbl regclass) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT DISTINCT g.target, c.relowner
             FROM @extschema@._snowflake_migration_steps(tbl, true) g
             JOIN pg_class c ON c.oid = to_regclass(g.target)
             WHERE g.phase = 'backfill'
    LOOP
        IF NOT (SELECT a.rolsuper FROM pg_roles a WHERE a.oid = r.relowner)
           AND (current_user <> pg_get_userbyid(r.relowner) OR session_user <> pg_get_userbyid(r.relowner)) THEN
            RAISE EXCEPTION 'the backfill writes the rows of %, and must run as its owner %', r.target, pg_get_userbyid(r.relowner)
                USING ERRCODE = 'insufficient_privilege',
                DETAIL = format('Writing rows runs the code attached to the table (triggers, constraints, index expressions) with the rights of the writer; this session is %s as %s.', session_user, current_user),
                HINT = format('Connect as %s and call it again (SET ROLE is not enough: code the table runs could RESET ROLE).', quote_ident(pg_get_userbyid(r.relowner)));
        END IF;
    END LOOP;
END
$fn$;

-- _snowflake_outside_block(what text, tbl regclass): the procedures commit as they go, which
-- they cannot do inside a transaction block; PostgreSQL then says only "invalid transaction
-- termination". This says what to do instead (25001) when it can tell: when the transaction
-- around the CALL has already written something. (A block that has only read is told by
-- PostgreSQL's own error at the first COMMIT, before any work.)
CREATE OR REPLACE FUNCTION _snowflake_outside_block(what text, tbl regclass) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
        RAISE EXCEPTION '% must be called outside a transaction block', what
            USING ERRCODE = 'active_sql_transaction',
            DETAIL = 'It commits as it goes (each batch, each constraint, the swap); inside BEGIN ... COMMIT or a function it cannot.',
            HINT = format('End the transaction (COMMIT or ROLLBACK), then CALL %s(%L, ...) on its own.', what, tbl::text);
    END IF;
END
$fn$;

-- _snowflake_migration_verify(tbl regclass): the plan computed now must have the shape of the
-- plan recorded at the start, step for step (what each step does, to which table and object),
-- up to the cut-over (whose statements are computed when it runs, views and grants included).
-- Raises 55000 naming the first difference: a foreign key, an index or a column added or dropped
-- since the start.
CREATE OR REPLACE FUNCTION _snowflake_migration_verify(tbl regclass) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    d record;
    added text;
    gone text;
BEGIN
    SELECT string_agg(DISTINCT g.target, ', ') INTO added FROM @extschema@._snowflake_migration_steps(tbl, true) g
    WHERE g.phase <> 'cutover' AND g.target NOT IN (SELECT x.target FROM @extschema@.snowflake_migration_step x WHERE x.relation = mig);
    SELECT string_agg(DISTINCT x.target, ', ') INTO gone FROM @extschema@.snowflake_migration_step x
    WHERE x.relation = mig AND x.phase <> 'cutover'
      AND x.target NOT IN (SELECT g.target FROM @extschema@._snowflake_migration_steps(tbl, true) g);
    SELECT * INTO d FROM (
        (SELECT 'planned at the start' AS side, x.step, x.phase, x.kind, x.target, x.object
         FROM @extschema@.snowflake_migration_step x WHERE x.relation = mig AND x.phase <> 'cutover'
         EXCEPT
         SELECT 'planned at the start', g.step, g.phase, g.kind, g.target, g.object
         FROM @extschema@._snowflake_migration_steps(tbl, true) g WHERE g.phase <> 'cutover')
        UNION ALL
        (SELECT 'planned now', g.step, g.phase, g.kind, g.target, g.object
         FROM @extschema@._snowflake_migration_steps(tbl, true) g WHERE g.phase <> 'cutover'
         EXCEPT
         SELECT 'planned now', x.step, x.phase, x.kind, x.target, x.object
         FROM @extschema@.snowflake_migration_step x WHERE x.relation = mig AND x.phase <> 'cutover')) diff
    ORDER BY diff.step, diff.side LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'the schema of % changed since its migration started', mig
            USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = coalesce('Tables that reference it now and did not at the start: ' || added || '. ', '')
                  || coalesce('Tables it changed at the start that do not reference it now: ' || gone || '. ', '')
                  || format('First difference: step %s (%s, %s on %s%s), %s only.', d.step, d.phase, d.kind, d.target, coalesce(', ' || d.object, ''), d.side),
            HINT = format('Undo the change, or abort the migration (SELECT snowflake_migration_abort(%L)) and start it again.', mig);
    END IF;
END
$fn$;

-- snowflake_migration_plan(tbl regclass) -> table (step, phase, target, statement, status): the
-- dry run. Before the start it computes the plan from the catalog and changes nothing (status
-- 'planned'); once started it computes the same plan again (statements are never stored, so
-- what it shows, and what psql's \gexec runs from it, is derived from the catalog now) with each
-- step's recorded status; once cut over, the steps without statements. Locks nothing. Raises
-- 42501 for a table the caller does not own, and what
-- snowflake_migration_start() would raise for a table it cannot migrate.
CREATE OR REPLACE FUNCTION snowflake_migration_plan(tbl regclass)
RETURNS TABLE (step integer, phase text, target text, statement text, status text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    m record;
    done boolean;
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    SELECT * INTO m FROM @extschema@.snowflake_migration x WHERE x.relation = mig;
    done := FOUND AND m.phase = 'done';
    IF done THEN
        RETURN QUERY SELECT s.step, s.phase, s.target, NULL::text, 'done'::text
                     FROM @extschema@.snowflake_migration_step s WHERE s.relation = mig ORDER BY s.step;
    ELSIF FOUND THEN
        RETURN QUERY
        SELECT g.step, g.phase, g.target, g.statement,
               CASE WHEN g.phase = 'cutover' THEN 'pending'
                    WHEN s.step IS NULL THEN 'not in the plan of the start'
                    WHEN s.finished THEN 'done'
                    WHEN g.kind = 'index' THEN
                        CASE (SELECT x.indisvalid FROM pg_index x WHERE x.indexrelid = to_regclass(g.object))
                            WHEN true THEN 'done' WHEN false THEN 'invalid: drop it and run again' ELSE 'to run' END
                    WHEN g.kind = 'parent_batches' AND s.total IS NOT NULL THEN format('%s of %s rows', s.done, s.total)
                    WHEN g.kind = 'child_batches' AND s.total IS NOT NULL THEN format('%s of %s blocks', s.done, s.total)
                    ELSE 'pending' END
        FROM @extschema@._snowflake_migration_steps(tbl, true) g
        LEFT JOIN @extschema@.snowflake_migration_step s ON s.relation = mig AND s.step = g.step
        ORDER BY g.step;
    ELSE
        RETURN QUERY SELECT g.step, g.phase, g.target, g.statement, 'planned'::text
                     FROM @extschema@._snowflake_migration_steps(tbl, false) g ORDER BY g.step;
    END IF;
    -- The objects that use the key or a referencing column, and what the cut-over does to each.
    IF NOT done THEN
        RETURN QUERY SELECT NULL::integer, 'dependent'::text, d.object,
                            nullif(concat_ws(E';\n', d.before_sql, array_to_string(d.after_sql, E';\n')), ''), d.action
                     FROM @extschema@._snowflake_migration_dependents_of(tbl) d ORDER BY d.object;
    END IF;
END
$fn$;

COMMENT ON FUNCTION snowflake_uuid_time(uuid) IS 'the creation time inside a version 7, 1 or 6 uuid; NULL for other uuids';
COMMENT ON FUNCTION snowflake_migration_plan(regclass) IS 'dry run and progress of a migration from a uuid key to a snowflake key';
