-- The migration toolkit from uuid keys to snowflake keys (README: "Migrating from UUID keys"); its state is in migration_state.sql.

-- snowflake_uuid_time(u uuid) -> timestamptz: the creation time inside a time-based uuid:
-- version 7 (48-bit Unix milliseconds), version 1 and version 6 (60-bit count of 100 ns since
-- 1582-10-15, truncated to the microsecond). NULL for other versions (v4 is random) and for
-- uuids that are not of the RFC 9562 variant. Raises nothing.
CREATE OR REPLACE FUNCTION snowflake_uuid_time(u uuid) RETURNS timestamptz
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
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
LANGUAGE sql STABLE STRICT AS $$
    SELECT format('%I.%I', n.nspname, c.relname)
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = rel
$$;

-- _snowflake_migration_steps(tbl regclass): the whole plan, computed from the catalog. Locks
-- nothing. Raises 0A000 for shapes it cannot migrate, 42804 for a key that is not a uuid,
-- 42701/42P07/42622 for names it needs that are taken or too long.
CREATE OR REPLACE FUNCTION _snowflake_migration_steps(tbl regclass)
RETURNS TABLE (step integer, phase text, kind text, target text, object text, statement text, undo text)
LANGUAGE plpgsql STABLE AS $fn$
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
        IF octet_length(m_col[i] || '_snowflake') > 63 THEN
            RAISE EXCEPTION 'column name %_snowflake is too long', m_col[i] USING ERRCODE = 'name_too_long',
                HINT = 'Rename the column to at most 53 bytes first.';
        END IF;
        FOREACH nm IN ARRAY ARRAY[m_col[i] || '_snowflake', m_col[i] || '_uuid'] LOOP
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
            -- A referencing row written from now on carries its parent's new key.
            step := step + 1;
            statement := format($f$CREATE FUNCTION %1$I.%2$I() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
  IF NEW.%3$I IS NULL THEN
    NEW.%4$I := NULL;%8$s
  ELSIF TG_OP = 'INSERT' OR NEW.%4$I IS NULL OR NEW.%3$I IS DISTINCT FROM OLD.%3$I THEN
    NEW.%4$I := (SELECT p.%5$I FROM %6$s p WHERE p.%7$I = NEW.%3$I);
  END IF;
  RETURN NEW;
END $body$$f$, rel.nspname, m_fill[i], m_col[i], m_new[i], new_col, parent_q, key_col,
                CASE WHEN m_rel[i] = tbl::oid THEN format(E'\n  ELSIF NEW.%I = NEW.%I THEN\n    NEW.%I := NEW.%I;', m_col[i], key_col, m_new[i], new_col) ELSE '' END);
            undo := format('DROP FUNCTION IF EXISTS %I.%I()', rel.nspname, m_fill[i]);
            RETURN NEXT;
            step := step + 1;
            statement := format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION %I.%I()',
                                m_fill[i], target, rel.nspname, m_fill[i]);
            undo := format('DROP TRIGGER IF EXISTS %I ON %s', m_fill[i], target);
            RETURN NEXT;
        END IF;
    END LOOP;

    -- ---- backfill: batches, each its own transaction; CHECKs prove completeness ----
    phase := 'backfill';
    FOR i IN 1 .. cardinality(m_rel) LOOP
        target := @extschema@._snowflake_qname(m_rel[i]::regclass);
        nm := left(m_new[i], 53) || '_filled';
        IF EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conrelid = m_rel[i] AND con.conname = nm) THEN
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
        IF to_regclass(format('%I.%I', ix.nspname, nm)) IS NOT NULL THEN
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
        IF EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conrelid = fk.conrelid AND con.conname = nm) THEN
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
            statement := format('DROP FUNCTION %I.%I()', rel.nspname, m_fill[i]);
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
END
$fn$;

-- _snowflake_migration_build_map(relation text) -> bigint: numbers the rows of the table that
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
CREATE OR REPLACE FUNCTION _snowflake_migration_build_map(mig text) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
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
        EXECUTE format('INSERT INTO _snowflake_src SELECT %1$I, NULL, row_number() OVER (ORDER BY %3$s, %1$I) - 1 FROM %4$s WHERE %2$I IS NULL',
                       m.key_column, m.new_column, m.source_value, mig);
        GET DIAGNOSTICS npacked = ROW_COUNT;
    ELSE
        EXECUTE format('INSERT INTO _snowflake_src SELECT %1$I, %3$s, NULL FROM %4$s WHERE %2$I IS NULL',
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
    ANALYZE @extschema@.snowflake_migration_map;
    RETURN n;
END
$fn$;

-- snowflake_migration_plan(tbl regclass) -> table (step, phase, target, statement, status): the
-- dry run. Before the start it computes the plan from the catalog and changes nothing (status
-- 'planned'); once started it shows the stored plan with each step's status. Locks nothing.
-- Raises what snowflake_migration_start() would raise for a table it cannot migrate.
CREATE OR REPLACE FUNCTION snowflake_migration_plan(tbl regclass)
RETURNS TABLE (step integer, phase text, target text, statement text, status text)
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
BEGIN
    IF EXISTS (SELECT 1 FROM @extschema@.snowflake_migration x WHERE x.relation = mig) THEN
        RETURN QUERY
        SELECT s.step, s.phase, s.target, s.statement,
               CASE WHEN s.finished THEN 'done'
                    WHEN s.kind = 'index' THEN
                        CASE (SELECT x.indisvalid FROM pg_index x WHERE x.indexrelid = to_regclass(s.object))
                            WHEN true THEN 'done' WHEN false THEN 'invalid: drop it and run again' ELSE 'to run' END
                    WHEN s.kind = 'parent_batches' AND s.total IS NOT NULL THEN format('%s of %s rows', s.done, s.total)
                    WHEN s.kind = 'child_batches' AND s.total IS NOT NULL THEN format('%s of %s blocks', s.done, s.total)
                    ELSE 'pending' END
        FROM @extschema@.snowflake_migration_step s
        WHERE s.relation = mig ORDER BY s.step;
    ELSE
        RETURN QUERY SELECT g.step, g.phase, g.target, g.statement, 'planned'::text
                     FROM @extschema@._snowflake_migration_steps(tbl) g ORDER BY g.step;
    END IF;
END
$fn$;

-- snowflake_migration_start(tbl regclass): phase 1, one short transaction. Adds the bigint twin
-- of the key (nullable, no default: no rewrite) and sets its default to snowflake_next(); adds a
-- twin to every referencing column with a trigger that fills it. Takes ACCESS EXCLUSIVE locks on
-- the table and the referencing tables for catalog changes only (set lock_timeout). Raises 55000
-- if a migration of the table exists or the generator cannot issue IDs, and the plan's errors.
CREATE OR REPLACE FUNCTION snowflake_migration_start(tbl regclass) RETURNS void
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    s record;
    key_col text;
    touched text;
BEGIN
    SELECT x.phase INTO s FROM @extschema@.snowflake_migration x WHERE x.relation = mig;
    IF FOUND THEN
        RAISE EXCEPTION 'a migration of % is already under way (phase %)', mig, s.phase
            USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = format('See SELECT * FROM snowflake_migration_plan(%L); snowflake_migration_abort(%L) undoes it before the cut-over.', mig, mig);
    END IF;
    -- The new default must work: this raises if snowflake is not preloaded or has no machine id.
    PERFORM @extschema@.snowflake_next();

    INSERT INTO @extschema@.snowflake_migration_step (relation, step, phase, kind, target, object, statement, undo)
    SELECT mig, g.step, g.phase, g.kind, g.target, g.object, g.statement, g.undo
    FROM @extschema@._snowflake_migration_steps(tbl) g;
    SELECT a.attname INTO key_col
    FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
    WHERE c.conrelid = tbl AND c.contype = 'p';
    INSERT INTO @extschema@.snowflake_migration (relation, key_column, new_column, phase)
    VALUES (mig, key_col, key_col || '_snowflake', 'started');

    FOR s IN SELECT x.statement FROM @extschema@.snowflake_migration_step x
             WHERE x.relation = mig AND x.phase = 'start' ORDER BY x.step
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
CREATE OR REPLACE PROCEDURE snowflake_migration_backfill(
    tbl regclass,
    time_column name DEFAULT NULL,
    uuid_time boolean DEFAULT NULL,
    order_by text DEFAULT NULL,
    backfill_machine_ids int4range DEFAULT NULL,
    pre_epoch text DEFAULT NULL,
    batch_size integer DEFAULT 10000)
LANGUAGE plpgsql AS $fn$
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
    -- Fails at once ("invalid transaction termination") inside a transaction block, before any work.
    COMMIT;
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
        RETURN;
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
        n := @extschema@._snowflake_migration_build_map(mig);
        UPDATE @extschema@.snowflake_migration x SET map_rows = n WHERE x.relation = mig;
        UPDATE @extschema@.snowflake_migration_step x SET total = n WHERE x.relation = mig AND x.kind = 'parent_batches';
        RAISE NOTICE 'snowflake: %: % rows to backfill, IDs from %', mig, n,
            CASE m.source WHEN 'uuid' THEN 'the uuids' WHEN 'column' THEN 'column ' || quote_ident(m.source_value) ELSE 'the order ' || m.source_value END;
        COMMIT;
    END IF;

    LOOP
        SELECT * INTO s FROM @extschema@.snowflake_migration_step x
        WHERE x.relation = mig AND x.phase = 'backfill' AND NOT x.finished ORDER BY x.step LIMIT 1;
        EXIT WHEN NOT FOUND;
        IF s.kind = 'child_batches' AND s.total IS NULL THEN
            s.total := pg_relation_size(s.target::regclass) / current_setting('block_size')::bigint;
            UPDATE @extschema@.snowflake_migration_step x SET total = s.total WHERE x.relation = mig AND x.step = s.step;
        END IF;
        IF s.kind = 'child_batches' THEN
            -- The batch in blocks, from the rows in the first blocks (a deterministic estimate).
            EXECUTE format('SELECT count(*) FROM %s WHERE ctid < $1', s.target) INTO sample
                USING format('(%s,0)', least(16, s.total))::tid;
            per_batch := greatest(1, batch_size / greatest(1, ceil(sample::numeric / greatest(1, least(16, s.total))))::bigint);
        ELSE
            per_batch := batch_size;
        END IF;
        WHILE s.kind = 'ddl' OR s.done < s.total LOOP
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
                COMMIT;
                EXIT;
            END IF;
            s.done := upto;
            UPDATE @extschema@.snowflake_migration_step x SET done = s.done, finished = s.done >= s.total
            WHERE x.relation = mig AND x.step = s.step;
            IF s.kind = 'parent_batches' THEN
                RAISE NOTICE 'snowflake: %: % of % rows backfilled', s.target, s.done, s.total;
            ELSE
                RAISE NOTICE 'snowflake: %.%: % of % blocks done (% rows filled)', s.target, quote_ident(s.object), s.done, s.total, n;
            END IF;
            COMMIT;
        END LOOP;
        IF s.kind <> 'ddl' THEN
            UPDATE @extschema@.snowflake_migration_step x SET finished = true WHERE x.relation = mig AND x.step = s.step;
            COMMIT;
        END IF;
    END LOOP;

    UPDATE @extschema@.snowflake_migration x SET phase = 'backfilled' WHERE x.relation = mig;
    RAISE NOTICE 'snowflake: %: backfill done', mig
        USING HINT = format('Next, outside a transaction block: SELECT statement FROM snowflake_migration_plan(%L) WHERE phase = ''index'' \gexec, then CALL snowflake_migration_cutover(%L).', mig, mig);
    COMMIT;
END
$fn$;

-- snowflake_migration_cutover(tbl regclass): phases 4, a procedure: CALL it outside a
-- transaction block. Adds the foreign keys on the bigint columns NOT VALID and validates them
-- (each its own transaction, writes go on), then swaps in one transaction of catalog changes
-- only: primary key and foreign keys to the bigint columns, bigint columns take the old names,
-- uuid columns are kept as <column>_uuid. Takes ACCESS EXCLUSIVE locks on every table touched
-- for that last transaction (set lock_timeout; on a timeout nothing changed, call it again).
-- Raises 55000 before the backfill is done or while an index it needs is missing or invalid.
CREATE OR REPLACE PROCEDURE snowflake_migration_cutover(tbl regclass)
LANGUAGE plpgsql AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    m record;
    s record;
    missing text;
BEGIN
    COMMIT;  -- fails at once inside a transaction block
    SELECT * INTO m FROM @extschema@.snowflake_migration x WHERE x.relation = mig;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no migration of % is under way', mig USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF m.phase = 'done' THEN
        RAISE NOTICE 'snowflake: % is cut over already', mig;
        RETURN;
    END IF;
    IF m.phase = 'started' THEN
        RAISE EXCEPTION 'the backfill of % is not done', mig USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = format('CALL snowflake_migration_backfill(%L) first.', mig);
    END IF;
    SELECT string_agg(x.statement, E';\n' ORDER BY x.step) INTO missing
    FROM @extschema@.snowflake_migration_step x
    WHERE x.relation = mig AND x.kind = 'index'
      AND NOT coalesce((SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass(x.object)), false);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'indexes the cut-over of % needs are missing or invalid', mig
            USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = missing,
            HINT = format('Run them outside a transaction block (drop an invalid one first): SELECT statement FROM snowflake_migration_plan(%L) WHERE phase = ''index'' AND status <> ''done'' \gexec', mig);
    END IF;

    LOOP
        SELECT * INTO s FROM @extschema@.snowflake_migration_step x
        WHERE x.relation = mig AND x.phase = 'constrain' AND NOT x.finished ORDER BY x.step LIMIT 1;
        EXIT WHEN NOT FOUND;
        EXECUTE s.statement;
        UPDATE @extschema@.snowflake_migration_step x SET finished = true WHERE x.relation = mig AND x.step = s.step;
        COMMIT;
    END LOOP;
    UPDATE @extschema@.snowflake_migration x SET phase = 'constrained' WHERE x.relation = mig;
    COMMIT;

    -- The cut-over: one transaction.
    FOR s IN SELECT x.statement FROM @extschema@.snowflake_migration_step x
             WHERE x.relation = mig AND x.phase = 'cutover' ORDER BY x.step
    LOOP
        EXECUTE s.statement;
    END LOOP;
    UPDATE @extschema@.snowflake_migration_step x SET finished = true WHERE x.relation = mig;
    UPDATE @extschema@.snowflake_migration x SET phase = 'done', cut_over_at = now() WHERE x.relation = mig;
    DELETE FROM @extschema@.snowflake_migration_map x WHERE x.relation = mig;
    COMMIT;
    RAISE NOTICE 'snowflake: % cut over: % is the bigint primary key; the uuids stay in %', mig,
        quote_ident(m.key_column), quote_ident(m.key_column || '_uuid');
END
$fn$;

-- snowflake_migration_abort(tbl regclass): undoes a migration before its cut-over, in one
-- transaction: drops every column, trigger, function, constraint and index it added (DROP INDEX
-- and DROP COLUMN take ACCESS EXCLUSIVE locks briefly) and forgets its state. Raises 55000 when
-- there is no migration of the table or its cut-over is done.
CREATE OR REPLACE FUNCTION snowflake_migration_abort(tbl regclass) RETURNS void
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    m record;
    s record;
    quiet text;
BEGIN
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
    FOR s IN SELECT x.undo FROM @extschema@.snowflake_migration_step x
             WHERE x.relation = mig AND x.undo IS NOT NULL ORDER BY x.step DESC
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
