-- The migration toolkit from uuid keys to snowflake keys (README: "Migrating from UUID keys"); its state is in migration_state.sql.

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
    rel record;
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
    j int;
    pos int;
    a int2;
    cols text;
    incl text;
    nm text;
    tq text;
    cond text;
    lock_list text;
    parent_owner name;
    twin_of_pk text;
    idx_renames text[] := '{}';
    idx_rename_tables text[] := '{}';
BEGIN
    step := 0;
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
        ORDER BY array_position(rels, x.indrelid), NOT x.indisprimary, ic.relname
    LOOP
        target := @extschema@._snowflake_qname(ix.indrelid::regclass);
        IF ix.complex OR ix.amname NOT IN ('btree', 'hash') THEN
            IF ix.indisunique OR ix.indisprimary THEN
                RAISE EXCEPTION 'unique index %.% on a migrated column has expressions, a predicate or access method %',
                    ix.nspname, ix.relname, ix.amname USING ERRCODE = 'feature_not_supported';
            END IF;
            RAISE NOTICE 'index %.% (expressions, predicate or access method %) is not copied to the bigint key; recreate it after the cut-over',
                ix.nspname, ix.relname, ix.amname;
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
        RETURN NEXT;
        IF ix.indisprimary THEN
            IF ix.indrelid <> tbl::oid AND EXISTS (SELECT 1 FROM pg_constraint con WHERE con.contype = 'f' AND con.conindid = ix.indexrelid) THEN
                RAISE EXCEPTION 'the primary key of % contains a migrated column and is referenced by foreign keys', target
                    USING ERRCODE = 'feature_not_supported', HINT = 'Migrate that table''s own key first.';
            END IF;
            twin_of_pk := concat_ws(E'\n', twin_of_pk, format('%s|%I|%I', target,
                (SELECT con.conname FROM pg_constraint con WHERE con.conindid = ix.indexrelid AND con.contype = 'p'), nm));
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

    -- ---- cutover: one transaction of catalog changes; no statement scans a table ----
    phase := 'cutover'; kind := 'ddl'; undo := NULL;
    SELECT string_agg(@extschema@._snowflake_qname(r::regclass), ', ' ORDER BY o) INTO lock_list FROM unnest(rels) WITH ORDINALITY u(r, o);
    step := step + 1; target := parent_q;
    statement := format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', lock_list);
    RETURN NEXT;
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
END
$fn$;

-- _snowflake_migration_build_map(tbl regclass) -> bigint: numbers the rows of the table that
-- have no snowflake ID yet and records the ID each will get; returns how many. Runs in the first
-- backfill transaction (one scan of the table under ACCESS SHARE). Every check happens before
-- anything is written: 22004 (a row has no time), 22008 (a time a snowflake ID cannot hold),
-- 54000 (more rows in one millisecond than the reserved machine ids can number), 55000 (live
-- IDs of the table already use a reserved machine id).
--
-- The ID of a backfilled row: milliseconds of its time, a machine id from the reserved range,
-- and its rank among the rows of that millisecond (ordered by time, then by the old key): rank r
-- goes to machine id lo + r / 4096, sequence r % 4096, so IDs still sort by rank when a
-- millisecond holds more than 4096 rows. Rows without a time (order_by) and, with pre_epoch =>
-- 'pack', rows dated before 2024 are "packed": the k-th gets millisecond k / capacity of the
-- epoch and slot k % capacity, in order, below every dated row; dated rows of those first
-- milliseconds take the slots after them.
CREATE OR REPLACE FUNCTION _snowflake_migration_build_map(tbl regclass) RETURNS bigint
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    m record;
    lo bigint;
    cap bigint;
    epoch constant timestamptz := '2024-01-01 00:00:00+00';
    last_ms constant timestamptz := '2093-09-06 15:47:35.551+00';
    st record;
    ov record;
    npacked bigint := 0;
    n bigint;
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    SELECT * INTO m FROM @extschema@.snowflake_migration x WHERE x.relation = mig;
    lo := lower(m.machine_ids);
    cap := 4096 * (upper(m.machine_ids) - lower(m.machine_ids));

    EXECUTE format('SELECT count(*) FROM %s WHERE %I IS NOT NULL AND @extschema@.snowflake_machine_id(%I) <@ $1',
                   mig, m.new_column, m.new_column) INTO n USING m.machine_ids;
    IF n > 0 THEN
        RAISE EXCEPTION '% rows of % already have IDs made with a machine id in %, the range reserved for the backfill', n, mig, m.machine_ids
            USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'Some server issues IDs with a reserved machine id; call it again with backfill_machine_ids no server uses.';
    END IF;

    CREATE TEMP TABLE _snowflake_src (key uuid, t timestamptz, k bigint) ON COMMIT DROP;
    IF m.source = 'order' THEN
        -- The order, parsed again into quoted columns and keywords: no stored text reaches SQL.
        EXECUTE format('INSERT INTO pg_temp._snowflake_src SELECT %1$I, NULL, row_number() OVER (ORDER BY %3$s, %1$I) - 1 FROM %4$s WHERE %2$I IS NULL',
                       m.key_column, m.new_column, @extschema@._snowflake_order_by(tbl, m.source_value), mig);
        GET DIAGNOSTICS npacked = ROW_COUNT;
    ELSE
        EXECUTE format('INSERT INTO pg_temp._snowflake_src SELECT %1$I, %3$s, NULL FROM %4$s WHERE %2$I IS NULL',
                       m.key_column, m.new_column,
                       CASE m.source WHEN 'uuid' THEN format('@extschema@.snowflake_uuid_time(%I)', m.key_column)
                                     ELSE format('%I::timestamptz', m.source_value) END,
                       mig);
        SELECT count(*) FILTER (WHERE s.t IS NULL) AS no_time, min(s.key::text) FILTER (WHERE s.t IS NULL) AS no_time_key,
               count(*) FILTER (WHERE s.t < epoch) AS early, min(s.t) AS earliest,
               count(*) FILTER (WHERE date_trunc('milliseconds', s.t) > last_ms) AS late, max(s.t) AS latest
        INTO st FROM _snowflake_src s;
        IF st.no_time > 0 THEN
            IF m.source = 'uuid' THEN
                RAISE EXCEPTION '% rows of % have a uuid without a time (for example %)', st.no_time, mig, st.no_time_key
                    USING ERRCODE = 'null_value_not_allowed',
                    DETAIL = 'Only version 1, 6 and 7 uuids carry their creation time; version 4 is random.',
                    HINT = 'Call it again with a time column (time_column => ...) or an order you choose (order_by => ...).';
            END IF;
            RAISE EXCEPTION '% rows of % have no time in column % (for example %)', st.no_time, mig, m.source_value, st.no_time_key
                USING ERRCODE = 'null_value_not_allowed',
                HINT = 'Fill the column in for those rows, or call it again with an order you choose (order_by => ...).';
        END IF;
        IF st.late > 0 THEN
            RAISE EXCEPTION '% rows of % are dated after 2093-09-06 15:47:35.551 UTC (the latest at %), which a snowflake ID cannot hold',
                st.late, mig, st.latest USING ERRCODE = 'datetime_field_overflow';
        END IF;
        IF st.early > 0 AND m.pre_epoch = 'refuse' THEN
            RAISE EXCEPTION '% rows of % are dated before 2024-01-01 00:00:00 UTC (the earliest at %), which a snowflake ID cannot hold',
                st.early, mig, st.earliest USING ERRCODE = 'datetime_field_overflow',
                HINT = 'Call it again with pre_epoch => ''pack'' to give them IDs in the first milliseconds of 2024, in time order, below every later row.';
        END IF;
        npacked := st.early;
    END IF;

    -- The packed rows must stay below every live ID, which are all younger than the migration.
    IF npacked > 0 AND (npacked - 1) / cap >= @extschema@.snowflake_compose(m.started_at) >> 22 THEN
        RAISE EXCEPTION '% rows of % cannot be packed below the IDs made since %', npacked, mig, m.started_at
            USING ERRCODE = 'program_limit_exceeded', HINT = 'Reserve more machine ids for the backfill.';
    END IF;

    SELECT g.ms, g.cnt + o.occ AS cnt, count(*) OVER () AS crowded INTO ov
    FROM (SELECT @extschema@.snowflake_compose(s.t) >> 22 AS ms, count(*) AS cnt
          FROM _snowflake_src s WHERE s.t >= epoch GROUP BY 1) g,
         LATERAL (SELECT greatest(0, least(cap, npacked - g.ms * cap)) AS occ) o
    WHERE g.cnt + o.occ > cap
    ORDER BY g.ms LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION '% rows of % fall in the millisecond %, more than the machine ids % reserved for the backfill can number',
            ov.cnt, mig, (@extschema@.snowflake_decode(ov.ms << 22)).ts, m.machine_ids
            USING ERRCODE = 'program_limit_exceeded',
            DETAIL = format('%s milliseconds are that crowded; each reserved machine id numbers 4096 rows per millisecond.', ov.crowded),
            HINT = format('Call it again with %s machine ids reserved, e.g. backfill_machine_ids => ''[%s,%s]''.',
                          (ov.cnt + 4095) / 4096, greatest(0, upper(m.machine_ids) - (ov.cnt + 4095) / 4096), upper(m.machine_ids) - 1);
    END IF;

    INSERT INTO @extschema@.snowflake_migration_map (relation, n, key, new_id)
    SELECT mig, row_number() OVER (ORDER BY z.new_id), z.key, z.new_id
    FROM (
        SELECT p.key, (p.k / cap) * 4194304 + lo * 4096 + p.k % cap AS new_id
        FROM (SELECT s.key, CASE WHEN m.source = 'order' THEN s.k
                                 ELSE row_number() OVER (ORDER BY s.t, s.key) - 1 END AS k
              FROM _snowflake_src s WHERE m.source = 'order' OR s.t < epoch) p
        UNION ALL
        SELECT y.key, y.ms * 4194304 + lo * 4096 + y.r + greatest(0, least(cap, npacked - y.ms * cap))
        FROM (SELECT x.key, x.ms, row_number() OVER (PARTITION BY x.ms ORDER BY x.t, x.key) - 1 AS r
              FROM (SELECT s.key, s.t, @extschema@.snowflake_compose(s.t) >> 22 AS ms
                    FROM _snowflake_src s WHERE s.t >= epoch) x) y
    ) z;
    GET DIAGNOSTICS n = ROW_COUNT;
    DROP TABLE _snowflake_src;
    -- Only its owner may analyze the map (a table owner migrating her own table would get a warning).
    IF pg_has_role((SELECT c.relowner FROM pg_class c WHERE c.oid = '@extschema@.snowflake_migration_map'::regclass), 'USAGE') THEN
        ANALYZE @extschema@.snowflake_migration_map;
    END IF;
    RETURN n;
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

-- _snowflake_migration_verify(tbl regclass): the plan computed now must have the shape of the
-- plan recorded at the start, step for step (what each step does, to which table and object).
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
    WHERE g.target NOT IN (SELECT x.target FROM @extschema@.snowflake_migration_step x WHERE x.relation = mig);
    SELECT string_agg(DISTINCT x.target, ', ') INTO gone FROM @extschema@.snowflake_migration_step x
    WHERE x.relation = mig AND x.target NOT IN (SELECT g.target FROM @extschema@._snowflake_migration_steps(tbl, true) g);
    SELECT * INTO d FROM (
        (SELECT 'planned at the start' AS side, x.step, x.phase, x.kind, x.target, x.object
         FROM @extschema@.snowflake_migration_step x WHERE x.relation = mig AND x.kind <> 'grant'
         EXCEPT
         SELECT 'planned at the start', g.step, g.phase, g.kind, g.target, g.object
         FROM @extschema@._snowflake_migration_steps(tbl, true) g WHERE g.kind <> 'grant')
        UNION ALL
        (SELECT 'planned now', g.step, g.phase, g.kind, g.target, g.object
         FROM @extschema@._snowflake_migration_steps(tbl, true) g WHERE g.kind <> 'grant'
         EXCEPT
         SELECT 'planned now', x.step, x.phase, x.kind, x.target, x.object
         FROM @extschema@.snowflake_migration_step x WHERE x.relation = mig AND x.kind <> 'grant')) diff
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
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    SELECT * INTO m FROM @extschema@.snowflake_migration x WHERE x.relation = mig;
    IF FOUND AND m.phase = 'done' THEN
        RETURN QUERY SELECT s.step, s.phase, s.target, NULL::text, 'done'::text
                     FROM @extschema@.snowflake_migration_step s WHERE s.relation = mig ORDER BY s.step;
    ELSIF FOUND THEN
        RETURN QUERY
        SELECT g.step, g.phase, g.target, g.statement,
               CASE WHEN s.step IS NULL AND g.kind = 'grant' THEN 'pending'
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
                     FROM @extschema@._snowflake_migration_steps(tbl) g ORDER BY g.step;
    END IF;
END
$fn$;

-- snowflake_migration_start(tbl regclass): phase 1, one short transaction. Adds the bigint twin
-- of the key (nullable, no default: no rewrite) and sets its default to snowflake_next(); adds a
-- twin to every referencing column with a trigger that fills it. Takes ACCESS EXCLUSIVE locks on
-- the table and the referencing tables for catalog changes only (set lock_timeout). Raises 42501
-- for a table the caller does not own, 55000 if a migration of the table exists or the generator
-- cannot issue IDs, and the plan's errors.
CREATE OR REPLACE FUNCTION snowflake_migration_start(tbl regclass) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    s record;
    key_col text;
    touched text;
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    SELECT x.phase INTO s FROM @extschema@.snowflake_migration x WHERE x.relation = mig;
    IF FOUND AND s.phase = 'done' THEN
        RAISE EXCEPTION '% was migrated already: its key is a snowflake bigint', mig
            USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'Its record stays in snowflake_migration; nothing is left to do.';
    ELSIF FOUND THEN
        RAISE EXCEPTION 'a migration of % is already under way (phase %)', mig, s.phase
            USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = format('See SELECT * FROM snowflake_migration_plan(%L); snowflake_migration_abort(%L) undoes it before the cut-over.', mig, mig);
    END IF;
    -- The new default must work: this raises if snowflake is not preloaded or has no machine id.
    PERFORM @extschema@.snowflake_next();

    INSERT INTO @extschema@.snowflake_migration_step (relation, step, phase, kind, target, object)
    SELECT mig, g.step, g.phase, g.kind, g.target, g.object
    FROM @extschema@._snowflake_migration_steps(tbl) g;
    SELECT a.attname INTO key_col
    FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
    WHERE c.conrelid = tbl AND c.contype = 'p';
    INSERT INTO @extschema@.snowflake_migration (relation, key_column, new_column, phase)
    VALUES (mig, key_col, key_col || '_snowflake', 'started');

    -- The statements the plan computed a moment ago, in this call: none is read back.
    FOR s IN SELECT g.statement FROM @extschema@._snowflake_migration_steps(tbl) g
             WHERE g.phase = 'start' ORDER BY g.step
    LOOP
        EXECUTE s.statement;
    END LOOP;
    UPDATE @extschema@.snowflake_migration_step x SET finished = true WHERE x.relation = mig AND x.phase = 'start';

    SELECT string_agg(DISTINCT x.target, ', ') INTO touched
    FROM @extschema@.snowflake_migration_step x WHERE x.relation = mig;
    RAISE NOTICE 'snowflake: migrating %: new rows get snowflake IDs in column %; tables touched: %',
        mig, quote_ident(key_col || '_snowflake'), touched
        USING HINT = format('Next: CALL snowflake_migration_backfill(%L, time_column => ... | uuid_time => true | order_by => ...).', mig);
END
$fn$;

-- snowflake_migration_backfill(tbl, ...): phases 2 and 3, a procedure: CALL it outside a
-- transaction block; every batch commits. The first call fixes where IDs come from (exactly one
-- of time_column, uuid_time => true, order_by), the machine ids reserved for them (default
-- [1023,1023]) and what happens to rows dated before 2024 (pre_epoch: 'refuse' or 'pack');
-- numbers the rows (see _snowflake_migration_build_map; the options are fixed once that commits,
-- so a first call refused by a check can be repeated with other options); then fills the table, then every
-- referencing table (ranges of blocks), proving each with a validated CHECK. Resumable: call it
-- again after an error or a cancel. Locks: ROW EXCLUSIVE per batch; brief ACCESS EXCLUSIVE to
-- add each CHECK. Raises 22023 for bad options, 55000 out of order, and the map's errors.
-- _snowflake_backfill_prepare(tbl, ...) -> boolean: the first transaction of a backfill call:
-- checks the caller, the plan and the options; on the first call fixes the options and builds the
-- map. False when the backfill is done already. Raises what snowflake_migration_backfill() lists.
CREATE OR REPLACE FUNCTION _snowflake_backfill_prepare(
    tbl regclass,
    time_column name,
    uuid_time boolean,
    order_by text,
    backfill_machine_ids int4range,
    pre_epoch text,
    batch_size integer)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    m record;
    s record;
    src text;
    live text;
    n bigint;
    tries int;
    sample bigint;
    per_batch bigint;
    upto bigint;
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    IF batch_size IS NULL OR batch_size < 1 THEN
        RAISE EXCEPTION 'batch_size must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO m FROM @extschema@.snowflake_migration x WHERE x.relation = mig;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no migration of % is under way', mig USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = format('Start one with SELECT snowflake_migration_start(%L).', mig);
    END IF;
    IF m.phase <> 'started' THEN
        RAISE NOTICE 'snowflake: the backfill of % is done (phase %)', mig, m.phase;
        RETURN false;
    END IF;
    PERFORM @extschema@._snowflake_migration_verify(tbl);
    PERFORM @extschema@._snowflake_migration_writer_check(tbl);
    -- Parsed into a whitelist of the table's columns before anything is written.
    IF order_by IS NOT NULL THEN
        order_by := @extschema@._snowflake_order_by(tbl, order_by);
    END IF;
    IF num_nonnulls(time_column, CASE WHEN uuid_time THEN true END, order_by) > 1 THEN
        RAISE EXCEPTION 'give only one of time_column, uuid_time => true and order_by' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    src := CASE WHEN time_column IS NOT NULL THEN 'column' WHEN uuid_time THEN 'uuid' WHEN order_by IS NOT NULL THEN 'order' END;

    IF m.map_rows IS NOT NULL THEN
        IF (src IS NOT NULL AND (src, coalesce(time_column::text, order_by)) IS DISTINCT FROM (m.source, m.source_value))
           OR backfill_machine_ids <> m.machine_ids OR pre_epoch <> m.pre_epoch THEN
            RAISE EXCEPTION 'the backfill of % was started with other options', mig
                USING ERRCODE = 'object_not_in_prerequisite_state',
                DETAIL = format('source %s %s, backfill_machine_ids %s, pre_epoch %s', m.source, coalesce(m.source_value, ''), m.machine_ids, m.pre_epoch),
                HINT = format('Resume with CALL snowflake_migration_backfill(%L), or abort the migration to change them.', mig);
        END IF;
    ELSE
        IF src IS NULL THEN
            RAISE EXCEPTION 'say where the IDs of existing rows come from' USING ERRCODE = 'invalid_parameter_value',
                HINT = 'Pass time_column => ''created_at'', uuid_time => true (version 7, 1 or 6 uuids) or order_by => ''an expression''.';
        END IF;
        m.machine_ids := coalesce(backfill_machine_ids, int4range(1023, 1023, '[]'));
        IF isempty(m.machine_ids) OR lower_inf(m.machine_ids) OR upper_inf(m.machine_ids)
           OR lower(m.machine_ids) < 0 OR upper(m.machine_ids) > 1024 THEN
            RAISE EXCEPTION 'backfill_machine_ids % must be a non-empty range within [0,1023]', m.machine_ids
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        m.pre_epoch := coalesce(pre_epoch, 'refuse');
        IF m.pre_epoch NOT IN ('refuse', 'pack') THEN
            RAISE EXCEPTION 'pre_epoch must be ''refuse'' or ''pack'', not %', quote_literal(m.pre_epoch)
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF src = 'column' AND NOT EXISTS (
            SELECT 1 FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = time_column AND a.attnum > 0 AND NOT a.attisdropped) THEN
            RAISE EXCEPTION 'column % of % does not exist', time_column, mig USING ERRCODE = 'undefined_column';
        END IF;
        IF src = 'column' AND (SELECT a.atttypid FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = time_column)
                              NOT IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype) THEN
            RAISE EXCEPTION 'column % of % is of type %, not a timestamp', time_column, mig,
                (SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = time_column)
                USING ERRCODE = 'datatype_mismatch';
        END IF;
        m.source := src;
        m.source_value := coalesce(time_column::text, order_by);
    END IF;

    -- Checked at every call: the server may have been restarted with another machine id.
    live := current_setting('snowflake.machine_id', true);
    IF live IS NOT NULL AND live::int >= 0 AND live::int <@ m.machine_ids THEN
        RAISE EXCEPTION 'backfill_machine_ids % contain snowflake.machine_id %, the machine id of live IDs', m.machine_ids, live
            USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Reserve for the backfill machine ids that no server issues IDs with.';
    END IF;

    IF m.map_rows IS NULL THEN
        UPDATE @extschema@.snowflake_migration x
        SET source = m.source, source_value = m.source_value, machine_ids = m.machine_ids, pre_epoch = m.pre_epoch
        WHERE x.relation = mig;
        n := @extschema@._snowflake_migration_build_map(tbl);
        UPDATE @extschema@.snowflake_migration x SET map_rows = n WHERE x.relation = mig;
        UPDATE @extschema@.snowflake_migration_step x SET total = n WHERE x.relation = mig AND x.kind = 'parent_batches';
        RAISE NOTICE 'snowflake: %: % rows to backfill, IDs from %', mig, n,
            CASE m.source WHEN 'uuid' THEN 'the uuids' WHEN 'column' THEN 'column ' || quote_ident(m.source_value) ELSE 'the order ' || m.source_value END;
    END IF;
    RETURN true;
END
$fn$;


-- _snowflake_backfill_next(tbl regclass, batch_size integer) -> boolean: one unit of backfill work,
-- for one transaction: the next DDL step or the next batch of the first unfinished step, its
-- statement computed from the catalog now, its progress recorded. False when nothing is left
-- (the phase is then 'backfilled'). Locks: ROW EXCLUSIVE per batch; ACCESS EXCLUSIVE briefly to
-- add a CHECK. A deadlock, serialization failure or lock timeout is retried up to 5 times.
CREATE OR REPLACE FUNCTION _snowflake_backfill_next(tbl regclass, batch_size integer) RETURNS boolean
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    s record;
    n bigint;
    tries int;
    sample bigint;
    per_batch bigint;
    upto bigint;
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    -- The next unfinished step: its statement computed now from the catalog, its progress recorded.
    SELECT g.step, g.kind, g.target, g.object, g.statement, x.done, x.total, x.batch INTO s
    FROM @extschema@._snowflake_migration_steps(tbl, true) g
    JOIN @extschema@.snowflake_migration_step x ON x.relation = mig AND x.step = g.step
    WHERE g.phase = 'backfill' AND NOT x.finished ORDER BY g.step LIMIT 1;
    IF NOT FOUND THEN
        UPDATE @extschema@.snowflake_migration x SET phase = 'backfilled' WHERE x.relation = mig;
        RAISE NOTICE 'snowflake: %: backfill done', mig
            USING HINT = format('Next, outside a transaction block: SELECT statement FROM snowflake_migration_plan(%L) WHERE phase = ''index'' \gexec, then CALL snowflake_migration_cutover(%L).', mig, mig);
        RETURN false;
    END IF;
    IF s.kind = 'child_batches' AND s.total IS NULL THEN
        s.total := pg_relation_size(s.target::regclass) / current_setting('block_size')::bigint;
        UPDATE @extschema@.snowflake_migration_step x SET total = s.total WHERE x.relation = mig AND x.step = s.step;
    END IF;
    IF s.kind <> 'ddl' AND s.done >= s.total THEN
        UPDATE @extschema@.snowflake_migration_step x SET finished = true WHERE x.relation = mig AND x.step = s.step;
        RETURN true;
    END IF;
    IF s.batch IS NOT NULL THEN
        per_batch := s.batch;
    ELSIF s.kind = 'child_batches' THEN
        -- The batch in blocks, from the rows in the first blocks before the first batch (a
        -- deterministic estimate, kept for the rest of the step).
        EXECUTE format('SELECT count(*) FROM %s WHERE ctid < $1', s.target) INTO sample
            USING format('(%s,0)', least(16, s.total))::tid;
        per_batch := greatest(1, batch_size / greatest(1, ceil(sample::numeric / greatest(1, least(16, s.total))))::bigint);
    ELSE
        per_batch := batch_size;
    END IF;
    upto := least(s.done + per_batch, s.total);
    tries := 0;
    LOOP
        BEGIN
            IF s.kind = 'ddl' THEN
                EXECUTE s.statement;
            ELSIF s.kind = 'parent_batches' THEN
                EXECUTE s.statement USING mig, s.done + 1, upto + 1;
            ELSE
                EXECUTE s.statement USING format('(%s,0)', s.done)::tid,
                    CASE WHEN upto >= s.total THEN '(4294967295,0)'::tid ELSE format('(%s,0)', upto)::tid END;
            END IF;
            GET DIAGNOSTICS n = ROW_COUNT;
            EXIT;
        EXCEPTION WHEN deadlock_detected OR serialization_failure OR lock_not_available THEN
            tries := tries + 1;
            IF tries >= 5 THEN
                RAISE;
            END IF;
            RAISE NOTICE 'snowflake: %: retrying after %', mig, SQLERRM;
        END;
    END LOOP;
    IF s.kind = 'ddl' THEN
        UPDATE @extschema@.snowflake_migration_step x SET finished = true WHERE x.relation = mig AND x.step = s.step;
        RETURN true;
    END IF;
    UPDATE @extschema@.snowflake_migration_step x SET done = upto, finished = upto >= s.total, batch = per_batch
    WHERE x.relation = mig AND x.step = s.step;
    IF s.kind = 'parent_batches' THEN
        RAISE NOTICE 'snowflake: %: % of % rows backfilled', s.target, upto, s.total;
    ELSE
        RAISE NOTICE 'snowflake: %.%: % of % blocks done (% rows filled)', s.target, quote_ident(s.object), upto, s.total, n;
    END IF;
    RETURN true;
END
$fn$;

CREATE OR REPLACE PROCEDURE snowflake_migration_backfill(
    tbl regclass,
    time_column name DEFAULT NULL,
    uuid_time boolean DEFAULT NULL,
    order_by text DEFAULT NULL,
    backfill_machine_ids int4range DEFAULT NULL,
    pre_epoch text DEFAULT NULL,
    batch_size integer DEFAULT 10000)
LANGUAGE plpgsql AS $fn$
-- A procedure cannot pin its search_path (a SET clause forbids COMMIT): this one only calls the
-- extension's functions, schema-qualified with their exact argument types, and commits between
-- them; each of them pins its own.
BEGIN
    -- Fails at once ("invalid transaction termination") inside a transaction block, before any work.
    COMMIT;
    IF NOT @extschema@._snowflake_backfill_prepare(tbl, time_column, uuid_time, order_by, backfill_machine_ids, pre_epoch, batch_size) THEN
        RETURN;
    END IF;
    COMMIT;
    LOOP
        EXIT WHEN NOT @extschema@._snowflake_backfill_next(tbl, batch_size);
        COMMIT;
    END LOOP;
    COMMIT;
END
$fn$;

-- snowflake_migration_cutover(tbl regclass): phases 4, a procedure: CALL it outside a
-- transaction block. Adds the foreign keys on the bigint columns NOT VALID and validates them
-- (each its own transaction, writes go on), then swaps in one transaction of catalog changes
-- only: primary key and foreign keys to the bigint columns, bigint columns take the old names,
-- uuid columns are kept as <column>_uuid. Every statement is computed from the catalog when it
-- runs. Takes ACCESS EXCLUSIVE locks on every table touched for that last transaction (set
-- lock_timeout; on a timeout nothing changed, call it again); the ID map is deleted after it.
-- Raises 42501 for a table the caller does not own, 55000 before the backfill is done, while an
-- index it needs is missing or invalid, or when the schema changed since the start.
-- _snowflake_cutover_prepare(tbl regclass) -> boolean: the checks before a cut-over: the
-- caller, the phase, the plan, the indexes. False when it is cut over already.
CREATE OR REPLACE FUNCTION _snowflake_cutover_prepare(tbl regclass) RETURNS boolean
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    m record;
    missing text;
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    SELECT * INTO m FROM @extschema@.snowflake_migration x WHERE x.relation = mig;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no migration of % is under way', mig USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF m.phase = 'done' THEN
        RAISE NOTICE 'snowflake: % is cut over already', mig;
        RETURN false;
    END IF;
    IF m.phase = 'started' THEN
        RAISE EXCEPTION 'the backfill of % is not done', mig USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = format('CALL snowflake_migration_backfill(%L) first.', mig);
    END IF;
    PERFORM @extschema@._snowflake_migration_verify(tbl);
    SELECT string_agg(g.statement, E';\n' ORDER BY g.step) INTO missing
    FROM @extschema@._snowflake_migration_steps(tbl, true) g
    WHERE g.kind = 'index'
      AND NOT coalesce((SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass(g.object)), false);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'indexes the cut-over of % needs are missing or invalid', mig
            USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = missing,
            HINT = format('Run them outside a transaction block (drop an invalid one first): SELECT statement FROM snowflake_migration_plan(%L) WHERE phase = ''index'' AND status <> ''done'' \gexec', mig);
    END IF;
    RETURN true;
END
$fn$;

-- _snowflake_cutover_constrain_next(tbl regclass) -> boolean: the next foreign key on the bigint
-- columns (added NOT VALID, then validated: each its own transaction, writes go on), computed
-- now. False when all are there (the phase is then 'constrained').
CREATE OR REPLACE FUNCTION _snowflake_cutover_constrain_next(tbl regclass) RETURNS boolean
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    s record;
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    SELECT g.step, g.statement INTO s
    FROM @extschema@._snowflake_migration_steps(tbl, true) g
    JOIN @extschema@.snowflake_migration_step x ON x.relation = mig AND x.step = g.step
    WHERE g.phase = 'constrain' AND NOT x.finished ORDER BY g.step LIMIT 1;
    IF NOT FOUND THEN
        UPDATE @extschema@.snowflake_migration x SET phase = 'constrained' WHERE x.relation = mig;
        RETURN false;
    END IF;
    EXECUTE s.statement;
    UPDATE @extschema@.snowflake_migration_step x SET finished = true WHERE x.relation = mig AND x.step = s.step;
    RETURN true;
END
$fn$;

-- _snowflake_cutover_swap(tbl regclass): the swap, in the caller's transaction: catalog changes
-- only, computed now. Takes ACCESS EXCLUSIVE locks on every table touched.
CREATE OR REPLACE FUNCTION _snowflake_cutover_swap(tbl regclass) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    s record;
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    FOR s IN SELECT g.statement FROM @extschema@._snowflake_migration_steps(tbl, true) g
             WHERE g.phase = 'cutover' ORDER BY g.step
    LOOP
        EXECUTE s.statement;
    END LOOP;
    UPDATE @extschema@.snowflake_migration_step x SET finished = true WHERE x.relation = mig;
    UPDATE @extschema@.snowflake_migration x SET phase = 'done', cut_over_at = now() WHERE x.relation = mig;
END
$fn$;

-- _snowflake_cutover_finish(tbl regclass): after the swap has committed: deletes the ID map (no
-- work for the swap's locks) and says what happened.
CREATE OR REPLACE FUNCTION _snowflake_cutover_finish(tbl regclass) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    m record;
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    SELECT * INTO m FROM @extschema@.snowflake_migration x WHERE x.relation = mig;
    DELETE FROM @extschema@.snowflake_migration_map x WHERE x.relation = mig;
    RAISE NOTICE 'snowflake: % cut over: % is the bigint primary key; the uuids stay in %', mig,
        quote_ident(m.key_column), quote_ident(m.key_column || '_uuid');
END
$fn$;

CREATE OR REPLACE PROCEDURE snowflake_migration_cutover(tbl regclass)
LANGUAGE plpgsql AS $fn$
-- No SET clause (it would forbid COMMIT): only schema-qualified calls of the extension's own
-- functions, which pin their search_path, and COMMITs between them.
BEGIN
    COMMIT;  -- fails at once inside a transaction block
    IF NOT @extschema@._snowflake_cutover_prepare(tbl) THEN
        RETURN;
    END IF;
    COMMIT;
    LOOP
        EXIT WHEN NOT @extschema@._snowflake_cutover_constrain_next(tbl);
        COMMIT;
    END LOOP;
    COMMIT;
    PERFORM @extschema@._snowflake_cutover_swap(tbl);
    COMMIT;
    PERFORM @extschema@._snowflake_cutover_finish(tbl);
    COMMIT;
END
$fn$;

-- snowflake_migration_abort(tbl regclass): undoes a migration before its cut-over, in one
-- transaction: drops every column, trigger, function, constraint and index it added (DROP INDEX
-- and DROP COLUMN take ACCESS EXCLUSIVE locks briefly) and forgets its state. What it drops is
-- computed from the catalog now (IF EXISTS: from any phase). Raises 42501 for a table the caller
-- does not own, 55000 when there is no migration of the table or its cut-over is done.
CREATE OR REPLACE FUNCTION snowflake_migration_abort(tbl regclass) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    m record;
    s record;
    quiet text;
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    SELECT * INTO m FROM @extschema@.snowflake_migration x WHERE x.relation = mig;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no migration of % is under way', mig USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF m.phase = 'done' THEN
        RAISE EXCEPTION 'the migration of % is cut over; it cannot be aborted', mig
            USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = format('The uuids are kept in column %s.', quote_ident(m.key_column || '_uuid'));
    END IF;
    -- Undo everything, done or not: the statements say IF EXISTS; their "skipping" notices are noise.
    quiet := current_setting('client_min_messages');
    PERFORM set_config('client_min_messages', 'warning', true);
    FOR s IN SELECT g.undo FROM @extschema@._snowflake_migration_steps(tbl, true) g
             WHERE g.undo IS NOT NULL ORDER BY g.step DESC
    LOOP
        EXECUTE s.undo;
    END LOOP;
    PERFORM set_config('client_min_messages', quiet, true);
    DELETE FROM @extschema@.snowflake_migration_map x WHERE x.relation = mig;
    DELETE FROM @extschema@.snowflake_migration_step x WHERE x.relation = mig;
    DELETE FROM @extschema@.snowflake_migration x WHERE x.relation = mig;
    RAISE NOTICE 'snowflake: migration of % aborted', mig;
END
$fn$;

COMMENT ON FUNCTION snowflake_uuid_time(uuid) IS 'the creation time inside a version 7, 1 or 6 uuid; NULL for other uuids';
COMMENT ON FUNCTION snowflake_migration_plan(regclass) IS 'dry run and progress of a migration from a uuid key to a snowflake key';
COMMENT ON FUNCTION snowflake_migration_start(regclass) IS 'migration phase 1: new rows get snowflake keys in a bigint twin of the uuid key';
COMMENT ON PROCEDURE snowflake_migration_backfill(regclass, name, boolean, text, int4range, text, integer) IS 'migration phases 2-3: give existing rows and referencing rows their snowflake keys, in batches';
COMMENT ON PROCEDURE snowflake_migration_cutover(regclass) IS 'migration phase 4: swap primary and foreign keys to the snowflake keys in one short transaction';
COMMENT ON FUNCTION snowflake_migration_abort(regclass) IS 'undo a migration before its cut-over';
