-- The migration toolkit, phase 0: the plan, computed from the catalog whenever it is needed, the checks
-- every phase makes first, and the dry run (docs/migration.md, docs/security.md).

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
-- cut-over does to it: first the objects PostgreSQL records a dependency of
-- (_snowflake_dependent), then the publications of the tables (_snowflake_dependent_publications),
-- then the functions whose source uses the columns (_snowflake_dependent_code). Statements are
-- computed from the catalog by the call that runs them. Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_migration_dependents(rels oid[], atts int2[])
RETURNS TABLE (kind text, object text, action text, refused boolean, before_sql text, after_sql text[])
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    d record;
    leaves record;
BEGIN
    -- A view, policy, trigger or constraint defined on one partition alone depends on that
    -- partition's column, not the parent's: the partitions' columns of the same names join the
    -- list (one level: _snowflake_leaves refuses deeper ones). What a partition has from its
    -- parent (cloned triggers, inherited constraints and generation expressions) is the parent's.
    SELECT array_agg(x.r ORDER BY x.o, x.l) AS rels, array_agg(x.a ORDER BY x.o, x.l) AS atts INTO leaves
    FROM (SELECT u.r, u.a, u.o, 0 AS l FROM unnest(rels, atts) WITH ORDINALITY u(r, a, o)
          UNION ALL
          SELECT i.inhrelid, pa.attnum, u.o, 1
          FROM unnest(rels, atts) WITH ORDINALITY u(r, a, o)
          JOIN pg_attribute ua ON ua.attrelid = u.r AND ua.attnum = u.a
          JOIN pg_inherits i ON i.inhparent = u.r
          JOIN pg_class pc ON pc.oid = i.inhrelid AND pc.relispartition
          JOIN pg_attribute pa ON pa.attrelid = i.inhrelid AND pa.attname = ua.attname AND NOT pa.attisdropped) x;
    FOR d IN
        SELECT DISTINCT ON (x.classid, x.objid) x.* FROM (
        SELECT dep.classid, dep.objid, u.r, u.a
        FROM unnest(leaves.rels, leaves.atts) u(r, a)
        JOIN pg_depend dep ON dep.refclassid = 'pg_class'::regclass AND dep.refobjid = u.r AND dep.refobjsubid = u.a
        UNION
        -- a view grouped by the key depends on the primary key itself
        SELECT dep.classid, dep.objid, u.r, u.a
        FROM unnest(leaves.rels, leaves.atts) u(r, a)
        JOIN pg_constraint con ON con.conrelid = u.r AND u.a = ANY (con.conkey) AND con.contype IN ('p', 'u')
        JOIN pg_depend dep ON dep.refclassid = 'pg_constraint'::regclass AND dep.refobjid = con.oid AND dep.classid = 'pg_rewrite'::regclass
        ) x  -- one row per object, however many of the columns it uses
        ORDER BY x.classid, x.objid, x.r, x.a
    LOOP
        RETURN QUERY SELECT * FROM @extschema@._snowflake_dependent(d.classid, d.objid, d.r, d.a, rels, leaves.rels);
    END LOOP;
    RETURN QUERY SELECT * FROM @extschema@._snowflake_dependent_publications(rels);
    RETURN QUERY SELECT * FROM @extschema@._snowflake_dependent_code(rels, atts, leaves.rels, leaves.atts);
END
$fn$;

-- _snowflake_dependent(classid, objid, r, a, parents, rels) -> no row or one row as
-- _snowflake_migration_dependents gives: the object (classid, objid) that depends on column a of
-- table r (one of rels: the migrated tables parents and their partitions), and what the cut-over
-- does to it. Row-level security policies are altered onto the new columns with the same
-- expressions (refused when they compare with a uuid); views go to _snowflake_dependent_view;
-- everything else is refused: CHECK and exclusion constraints, generated columns and defaults of
-- other columns, triggers with WHEN or UPDATE OF, statistics objects, publication column lists.
-- No row for what the migration handles itself or a partition has from its parent. Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_dependent(classid oid, objid oid, r oid, a int2, parents oid[], rels oid[])
RETURNS TABLE (kind text, object text, action text, refused boolean, before_sql text, after_sql text[])
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    p record;
    col text := format('%s.%I', @extschema@._snowflake_qname(r::regclass),
                       (SELECT att.attname FROM pg_attribute att WHERE att.attrelid = r AND att.attnum = a));
BEGIN
    object := pg_describe_object(classid, objid, 0);
    refused := true;
    IF classid = 'pg_class'::regclass THEN
        IF (SELECT c.relkind FROM pg_class c WHERE c.oid = objid) IN ('i', 'I', 'S') THEN RETURN; END IF;
        kind := 'relation'; action := format('refused: depends on %s', col);
    ELSIF classid = 'pg_constraint'::regclass THEN
        SELECT con.contype, con.conname, con.conislocal INTO p FROM pg_constraint con WHERE con.oid = objid;
        -- 'n': PostgreSQL 18 catalogs NOT NULL as a constraint; the migration carries nullability itself.
        IF p.contype IN ('p', 'u', 'f', 'n') OR p.conname LIKE '%\_snowflake\_filled' OR (r <> ALL (parents) AND NOT p.conislocal) THEN
            RETURN;
        END IF;
        kind := 'constraint';
        action := format('refused: a %s constraint over %s stays on the uuid column; drop it before the migration and add it again after',
                         CASE p.contype WHEN 'c' THEN 'CHECK' WHEN 'x' THEN 'exclusion' ELSE p.contype::text END, col);
    ELSIF classid = 'pg_attrdef'::regclass THEN
        IF (SELECT ad.adnum FROM pg_attrdef ad WHERE ad.oid = objid) = a OR (r <> ALL (parents) AND EXISTS (
                SELECT 1 FROM pg_attrdef ad JOIN pg_attribute pa ON pa.attrelid = ad.adrelid AND pa.attnum = ad.adnum
                JOIN pg_inherits i ON i.inhrelid = ad.adrelid
                JOIN pg_attribute qa ON qa.attrelid = i.inhparent AND qa.attname = pa.attname
                JOIN pg_attrdef qd ON qd.adrelid = qa.attrelid AND qd.adnum = qa.attnum
                WHERE ad.oid = objid)) THEN
            RETURN;
        END IF;
        kind := 'column';
        action := format('refused: a generated column or default uses %s; drop it before the migration and add it again after', col);
    ELSIF classid = 'pg_trigger'::regclass THEN
        IF (SELECT t.tgname LIKE 'snowflake\_fill\_%' OR t.tgparentid <> 0 FROM pg_trigger t WHERE t.oid = objid) THEN RETURN; END IF;
        kind := 'trigger';
        action := format('refused: its WHEN clause or UPDATE OF list names %s; drop it before the migration and create it again after', col);
    ELSIF classid = 'pg_policy'::regclass THEN
        SELECT pol.polname, pol.polrelid, pg_get_expr(pol.polqual, pol.polrelid) AS qual,
               pg_get_expr(pol.polwithcheck, pol.polrelid) AS chk INTO p
        FROM pg_policy pol WHERE pol.oid = objid;
        kind := 'policy'; refused := concat(p.qual, ' ', p.chk) ~* '::uuid\M|\muuid\s*\(';
        action := CASE WHEN refused
            THEN format('refused: its expressions use %s and compare with a uuid, which the key stops being at the cut-over; compare with a value of the key''s own column instead (or drop it and create it again after the cut-over)', col)
            ELSE format('carried: altered at the cut-over to use the bigint column that takes the name of %s, with the same expressions (the start tries them on the bigint columns first)', col) END;
        after_sql := ARRAY[format('ALTER POLICY %I ON %s%s%s', p.polname, @extschema@._snowflake_qname(p.polrelid::regclass),
                                  ' USING (' || p.qual || ')', ' WITH CHECK (' || p.chk || ')')];
    ELSIF classid = 'pg_rewrite'::regclass THEN
        RETURN QUERY SELECT * FROM @extschema@._snowflake_dependent_view(objid, col, rels);
        RETURN;
    ELSE
        kind := (SELECT c.relname FROM pg_class c WHERE c.oid = classid);
        action := format('refused: depends on %s; drop it before the migration and create it again after', col);
    END IF;
    RETURN NEXT;
END
$fn$;

-- _snowflake_dependent_view(rule oid, col text, rels oid[]) -> no row or one row as
-- _snowflake_migration_dependents gives, for the rule (a view's _RETURN, or another rule) that
-- uses column col: a view of ours (not materialized, with nothing depending on it) is dropped in
-- the cut-over's transaction (before_sql) and created again after the renames (after_sql: the
-- same definition, owner, options, privileges and comment), so that its columns follow the names
-- to the bigint columns; materialized views, views other objects depend on, other roles' views
-- and rules are refused. No row for a table's own _RETURN (rels). Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_dependent_view(rule oid, col text, rels oid[])
RETURNS TABLE (kind text, object text, action text, refused boolean, before_sql text, after_sql text[])
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v record;
BEGIN
    SELECT r.ev_class, r.rulename, c.relkind, c.relname, c.reloptions, c.relacl, pg_get_userbyid(c.relowner) AS owner,
           pg_has_role(c.relowner, 'USAGE') AS ours,
           @extschema@._snowflake_qname(r.ev_class::regclass) AS q INTO v
    FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class WHERE r.oid = rule;
    IF v.ev_class = ANY (rels) AND v.rulename = '_RETURN' THEN RETURN; END IF;
    object := CASE v.relkind WHEN 'v' THEN 'view ' WHEN 'm' THEN 'materialized view ' ELSE 'rule ' || quote_ident(v.rulename) || ' on ' END || v.q;
    kind := CASE v.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' ELSE 'rule' END;
    refused := true;
    IF v.relkind IN ('v', 'm') AND NOT v.ours THEN
        action := format('refused: owned by role %s, which the migration cannot drop and create again over the bigint column that takes the name of %s; %s or a superuser drops it before the start (and creates it after the cut-over)',
                         quote_ident(v.owner), col, quote_ident(v.owner));
    ELSIF v.relkind = 'v' AND v.rulename = '_RETURN'
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
    RETURN NEXT;
END
$fn$;

-- _snowflake_dependent_publications(parents oid[]) -> rows as _snowflake_migration_dependents
-- gives, one per publication of a migrated table (a column list is refused by
-- _snowflake_dependent): subscribers hold copies of these tables, which must get the same
-- columns before the cut-over reaches them. Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_dependent_publications(parents oid[])
RETURNS TABLE (kind text, object text, action text, refused boolean, before_sql text, after_sql text[])
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    RETURN QUERY
        SELECT 'publication', format('publication %I of %s', p.pubname, @extschema@._snowflake_qname(p.r::regclass)),
               'review: a subscriber''s copy is migrated with the same calls on the subscriber, each phase there first, the cut-over at the point where its subscription stops (docs/migration.md#logical-replication); the publication keeps the table',
               false, NULL::text, NULL::text[]
        FROM (SELECT DISTINCT pub.pubname, r.r
              FROM unnest(parents) r(r)
              JOIN pg_publication pub ON pub.puballtables
                                      OR EXISTS (SELECT 1 FROM pg_publication_rel pr WHERE pr.prpubid = pub.oid AND pr.prrelid = r.r)
                                      OR EXISTS (SELECT 1 FROM pg_publication_namespace pn JOIN pg_class c ON c.relnamespace = pn.pnnspid
                                                 WHERE pn.pnpubid = pub.oid AND c.oid = r.r)) p
        ORDER BY p.pubname, p.r;
END
$fn$;

-- _snowflake_dependent_code(parents oid[], parent_atts int2[], rels oid[], atts int2[]) -> rows as
-- _snowflake_migration_dependents gives, one per SQL or PL/pgSQL function, procedure or trigger
-- function (not the extension's) whose source mentions a migrated column (parents, parent_atts):
-- its name, and its table's name or a trigger on its table (a partition's name, or a trigger of a
-- partition's own, counts as its parent's). PostgreSQL records no dependency on a body. Refused:
-- a trigger writing the key into a uuid column (_snowflake_code_uuid_writes, over rels and atts:
-- the tables with their partitions) and code that takes, returns or names the type uuid; SQL
-- bodies are checked by the start; the rest is listed for review. Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_dependent_code(parents oid[], parent_atts int2[], rels oid[], atts int2[])
RETURNS TABLE (kind text, object text, action text, refused boolean, before_sql text, after_sql text[])
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    RETURN QUERY
        SELECT k.kind, k.kind || ' ' || p.oid::regprocedure::text,
               CASE
                WHEN w.writes IS NOT NULL THEN format('refused: as a trigger it writes %s; the cut-over makes those values bigint and the write would then fail (42804); before the start make that column bigint or text (writing the value as text), or drop the trigger and create it again after the cut-over (writing the kept uuid column if the uuid is wanted)', w.writes)
                WHEN p.uuid_typed THEN format('refused: its source mentions %s and takes, returns or names the type uuid, which the key stops being at the cut-over (e.g. id = p_id with p_id uuid fails with 42883); make it independent of the key''s type (text, or the kept <column>_uuid after the cut-over) before the start, or drop it and create it again after the cut-over', p.cols)
                WHEN p.typed THEN format('review: declares a variable of a migrated column''s %%TYPE (%s), which stays uuid in sessions that compiled it before the cut-over; replace the function (CREATE OR REPLACE) after it', p.cols)
                WHEN p.lanname = 'sql' THEN format('checked by the start: its source mentions %s; the start parses it again against the bigint columns and refuses the migration if it does not parse', p.cols)
                ELSE format('review: its source mentions %s; PL/pgSQL is checked only when it runs: after the cut-over these are bigint (a value of them written into a uuid column or compared with a uuid fails)', p.cols) END,
               p.uuid_typed OR w.writes IS NOT NULL, NULL::text, NULL::text[]
        FROM (SELECT pr.oid, l.lanname, pr.prokind,
                     string_agg(DISTINCT format('%I.%I', c.relname, att.attname), ', ') AS cols,
                     bool_or(pr.prosrc ~* ('\m' || c.relname || '\s*\.\s*' || att.attname || '\s*%\s*type')) AS typed,
                     'uuid'::regtype = ANY (pr.proargtypes::oid[]) OR pr.prorettype = 'uuid'::regtype OR pr.prosrc ~* '\muuid\M' AS uuid_typed
              FROM unnest(parents, parent_atts) u(r, a)
              JOIN pg_class c ON c.oid = u.r
              JOIN pg_attribute att ON att.attrelid = u.r AND att.attnum = u.a
              CROSS JOIN LATERAL (SELECT array_agg(i.inhrelid) AS leaves, string_agg('|' || k.relname, '') AS names
                                  FROM pg_inherits i JOIN pg_class k ON k.oid = i.inhrelid AND k.relispartition WHERE i.inhparent = u.r) pt
              JOIN pg_proc pr ON pr.prosrc ~* ('\m' || att.attname || '\M')
                             AND (pr.prosrc ~* ('\m(' || c.relname || coalesce(pt.names, '') || ')\M')
                                  OR EXISTS (SELECT 1 FROM pg_trigger t WHERE (t.tgrelid = u.r OR t.tgrelid = ANY (pt.leaves))
                                                                          AND t.tgfoid = pr.oid AND t.tgparentid = 0))
              JOIN pg_language l ON l.oid = pr.prolang AND l.lanname IN ('plpgsql', 'sql')
              WHERE pr.proname NOT LIKE 'snowflake\_fill\_%'
                AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_proc'::regclass AND e.objid = pr.oid AND e.deptype = 'e')
              GROUP BY pr.oid, l.lanname, pr.prokind) p
        CROSS JOIN LATERAL (SELECT CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END AS kind) k
        CROSS JOIN LATERAL (SELECT @extschema@._snowflake_code_uuid_writes(p.oid, rels, atts) AS writes) w
        ORDER BY p.oid;
END
$fn$;

-- _snowflake_migration_dependents_of(tbl regclass): _snowflake_migration_dependents() for the key
-- of tbl and the columns of the foreign keys that reference it (the columns a migration of tbl
-- changes). Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_migration_dependents_of(tbl regclass)
RETURNS TABLE (kind text, object text, action text, refused boolean, before_sql text, after_sql text[])
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH pk AS (SELECT @extschema@._snowflake_key_att(tbl) AS a),
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

-- _snowflake_migration_steps(tbl regclass, started boolean): the whole plan, computed from the
-- catalog by the call that runs it; every phase calls it again, so no statement is ever read
-- back from a table. With started, the objects the migration itself has added are expected
-- (the plan of a migration under way is the same plan). Identifiers go through %I and
-- _snowflake_qname, values through USING. Locks nothing. Raises 0A000 for shapes it cannot
-- migrate, 42804 for a key that is not a uuid, 42701/42P07/42622 for names it needs that are
-- taken or too long. Generic plans (plan_cache_mode): the builders' catalog queries are planned
-- once per session, not again at each of a session's first calls (a phase computes the plan
-- several times).
CREATE OR REPLACE FUNCTION _snowflake_migration_steps(tbl regclass, started boolean DEFAULT false)
RETURNS TABLE (step integer, phase text, kind text, target text, object text, statement text, undo text)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan AS $$
    SELECT * FROM @extschema@._snowflake_migration_plan_steps(@extschema@._snowflake_migration_context(tbl, started))
$$;

-- _snowflake_migration_plan_steps(ctx) -> the plan's rows (as _snowflake_migration_steps): the
-- five phases' statements over one context, computed once by the caller (the cut-over computes
-- it under its locks: each context computed again would lengthen every writer's stall), numbered
-- in phase order. Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_migration_plan_steps(ctx @extschema@._snowflake_migration_plan_context)
RETURNS TABLE (step integer, phase text, kind text, target text, object text, statement text, undo text)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT (row_number() OVER (ORDER BY x.p, x.s))::integer, x.phase, x.kind, x.target, x.object, x.statement, x.undo
    FROM (SELECT 1 AS p, x.step AS s, x.phase, x.kind, x.target, x.object, x.statement, x.undo FROM @extschema@._snowflake_migration_steps_start(ctx) x
          UNION ALL SELECT 2, x.step, x.phase, x.kind, x.target, x.object, x.statement, x.undo FROM @extschema@._snowflake_migration_steps_backfill(ctx) x
          UNION ALL SELECT 3, x.step, x.phase, x.kind, x.target, x.object, x.statement, x.undo FROM @extschema@._snowflake_migration_steps_index(ctx, false) x
          UNION ALL SELECT 4, x.step, x.phase, x.kind, x.target, x.object, x.statement, x.undo FROM @extschema@._snowflake_migration_steps_constrain(ctx) x
          UNION ALL SELECT 5, x.step, x.phase, x.kind, x.target, x.object, x.statement, x.undo FROM @extschema@._snowflake_migration_steps_cutover(ctx) x) x
    ORDER BY x.p, x.s
$$;

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

-- _snowflake_migration_row(tbl regclass) -> the row of snowflake_migration for tbl; raises 55000
-- when no migration of tbl is recorded (or the caller may not see it). Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_migration_row(tbl regclass) RETURNS snowflake_internal.snowflake_migration
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    m snowflake_internal.snowflake_migration;
BEGIN
    SELECT * INTO m FROM snowflake_internal.snowflake_migration x WHERE x.relation = @extschema@._snowflake_qname(tbl);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no migration of % is under way', @extschema@._snowflake_qname(tbl)
            USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = format('Start one with SELECT snowflake_migration_start(%L).', @extschema@._snowflake_qname(tbl));
    END IF;
    RETURN m;
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
    WHERE g.phase <> 'cutover' AND g.target NOT IN (SELECT x.target FROM snowflake_internal.snowflake_migration_step x WHERE x.relation = mig);
    SELECT string_agg(DISTINCT x.target, ', ') INTO gone FROM snowflake_internal.snowflake_migration_step x
    WHERE x.relation = mig AND x.phase <> 'cutover'
      AND x.target NOT IN (SELECT g.target FROM @extschema@._snowflake_migration_steps(tbl, true) g);
    SELECT * INTO d FROM (
        (SELECT 'planned at the start' AS side, x.step, x.phase, x.kind, x.target, x.object
         FROM snowflake_internal.snowflake_migration_step x WHERE x.relation = mig AND x.phase <> 'cutover'
         EXCEPT
         SELECT 'planned at the start', g.step, g.phase, g.kind, g.target, g.object
         FROM @extschema@._snowflake_migration_steps(tbl, true) g WHERE g.phase <> 'cutover')
        UNION ALL
        (SELECT 'planned now', g.step, g.phase, g.kind, g.target, g.object
         FROM @extschema@._snowflake_migration_steps(tbl, true) g WHERE g.phase <> 'cutover'
         EXCEPT
         SELECT 'planned now', x.step, x.phase, x.kind, x.target, x.object
         FROM snowflake_internal.snowflake_migration_step x WHERE x.relation = mig AND x.phase <> 'cutover')) diff
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

-- _snowflake_migration_overlap(tbl regclass): the tables of a chain (accounts -> orders -> notes)
-- may migrate at the same time, each started before the other's cut-over: each migration changes
-- its own key and the columns that reference it, never a column of the other, and the other's
-- twins, triggers and constraints are not in its plan. Except where one index (or the UNIQUE or
-- primary key constraint it backs) holds a column of each: both would build a twin of it and
-- rename it at their cut-overs. Raises 55000 then, naming the index and the other migration
-- under way (of the migrations the caller can see: those of tables it owns). Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_migration_overlap(tbl regclass) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    ctx record;
    m record;
    other @extschema@._snowflake_migrated_column[];
    hit text;
BEGIN
    SELECT * INTO ctx FROM @extschema@._snowflake_migration_context(tbl, false);
    FOR m IN SELECT x.relation, to_regclass(x.relation) AS rel FROM snowflake_internal.snowflake_migration x
             WHERE x.phase <> 'done' AND x.relation <> mig AND to_regclass(x.relation) IS NOT NULL ORDER BY 1
    LOOP
        CONTINUE WHEN @extschema@._snowflake_integer_migration(m.rel);
        BEGIN
            other := (SELECT x.cols FROM @extschema@._snowflake_migration_context(m.rel, true) x);
        EXCEPTION WHEN OTHERS THEN
            CONTINUE;  -- that migration's own phases say what is wrong with it
        END;
        SELECT string_agg(format('%I.%I on %s', n.nspname, ic.relname, @extschema@._snowflake_qname(x.indrelid::regclass)), ', ' ORDER BY n.nspname, ic.relname)
        INTO hit
        FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid JOIN pg_namespace n ON n.oid = ic.relnamespace
        WHERE x.indrelid = ANY (ctx.rels)
          AND EXISTS (SELECT 1 FROM unnest(ctx.cols) u WHERE u.rel = x.indrelid AND u.att = ANY (x.indkey::int2[]))
          AND EXISTS (SELECT 1 FROM unnest(other) u JOIN pg_attribute a ON a.attrelid = u.rel AND a.attname IN (u.col, u.twin)
                      WHERE u.rel = x.indrelid AND a.attnum = ANY (x.indkey::int2[]));
        IF hit IS NOT NULL THEN
            RAISE EXCEPTION 'the migration of % cannot run beside the migration of % under way: index % holds columns of both', mig, m.relation, hit
                USING ERRCODE = 'object_not_in_prerequisite_state',
                DETAIL = 'Each migration would build a twin of that index and rename it at its cut-over.',
                HINT = format('Migrate them one after the other, in either order: cut over %s first (CALL snowflake_migration_cutover(%L)) and then start this one, or abort it (SELECT snowflake_migration_abort(%L)) and start it again after this one''s cut-over (docs/migration.md, section "Partitioned tables").',
                              m.relation, m.relation, m.relation);
        END IF;
    END LOOP;
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
    -- Tables keyed by integers: src/sql/migration/integer.sql.
    IF @extschema@._snowflake_integer_migration(tbl) THEN
        RETURN QUERY SELECT * FROM @extschema@._snowflake_integer_plan(tbl);
        RETURN;
    END IF;
    SELECT * INTO m FROM snowflake_internal.snowflake_migration x WHERE x.relation = mig;
    done := FOUND AND m.phase = 'done';
    IF done THEN
        RETURN QUERY SELECT s.step, s.phase, s.target, NULL::text, 'done'::text
                     FROM snowflake_internal.snowflake_migration_step s WHERE s.relation = mig ORDER BY s.step;
    ELSIF FOUND THEN
        RETURN QUERY
        SELECT g.step, g.phase, g.target, g.statement,
               CASE WHEN g.phase = 'cutover' THEN 'pending'
                    WHEN s.step IS NULL THEN 'not in the plan of the start'
                    WHEN s.finished THEN 'done'
                    WHEN g.kind = 'index' THEN
                        CASE (SELECT x.indisvalid FROM pg_index x WHERE x.indexrelid = to_regclass(g.object))
                            WHEN true THEN 'done' WHEN false THEN 'invalid: drop it and run again' ELSE 'to run' END
                    -- a partitioned table's index: made on the parent alone, then its partitions' attached
                    WHEN g.kind = 'index_only' THEN CASE WHEN to_regclass(g.object) IS NULL THEN 'to run' ELSE 'done' END
                    WHEN g.kind = 'attach' THEN
                        CASE WHEN EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = to_regclass(g.object)) THEN 'done' ELSE 'to run' END
                    WHEN g.kind = 'parent_batches' AND s.total IS NOT NULL THEN format('%s of %s rows', s.done, s.total)
                    WHEN g.kind = 'child_batches' AND s.total IS NOT NULL THEN format('%s of %s blocks', s.done, s.total)
                    ELSE 'pending' END
        FROM @extschema@._snowflake_migration_steps(tbl, true) g
        LEFT JOIN snowflake_internal.snowflake_migration_step s ON s.relation = mig AND s.step = g.step
        ORDER BY g.step;
    ELSE
        -- A smallint or integer key to widen: what the start refuses (integer.sql), refused now.
        IF @extschema@._snowflake_widens(tbl) THEN
            PERFORM @extschema@._snowflake_integer_check(tbl);
        END IF;
        PERFORM @extschema@._snowflake_migration_overlap(tbl);
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
