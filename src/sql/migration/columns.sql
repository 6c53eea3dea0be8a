-- The migration toolkit: one description of the columns a migration changes, built from the
-- catalog once per plan (_snowflake_migration_context), which every phase's step builder reads.

-- One migrated column: the key of the migrated table, or a column of a foreign key that
-- references it. A composite type, not a table: nothing of it is stored.
CREATE TYPE _snowflake_migrated_column AS (
    is_key    boolean,  -- the primary-key column of the migrated table itself
    rel       oid,      -- its table
    qname     text,     -- the table's schema-qualified, quoted name
    att       int2,     -- its attnum
    col       text,     -- its name (uuid)
    twin      text,     -- <col>_snowflake, its bigint twin while the migration runs
    not_null  boolean,  -- declared NOT NULL
    unchecked text,     -- the condition under which its foreign key checks nothing (MATCH SIMPLE, a NULL column)
    fill      text,     -- the name of its fill trigger and trigger function
    nsp       text,     -- the schema of its table (where the fill function lives)
    owner     text,     -- the owner of its table (who owns the fill function)
    -- a referencing column of a key with more columns (PRIMARY KEY (id, created_at)): the other
    -- columns of its foreign key, as pairs (the parent's column, its own), that find its parent row
    pairs     text[]
);

-- What every phase of a migration's plan reads: computed once per plan from the catalog
-- (_snowflake_migration_context) and handed to each phase's function. Nothing of it is stored.
CREATE TYPE _snowflake_migration_plan_context AS (
    tbl          regclass, -- the migrated table
    started      boolean,  -- a migration under way: the objects it added are expected
    parent_q     text,     -- the table's schema-qualified, quoted name
    key_att      int2,     -- its key column's attnum
    key_col      text,     -- its key column's name
    new_col      text,     -- the key's twin
    parent_owner name,     -- the table's owner
    rels         oid[],    -- the tables the migration changes, the migrated table first
    fks          oid[],    -- the foreign keys that reference the key
    cols         @extschema@._snowflake_migrated_column[],  -- the key first, then one per referencing table and column
    widen        boolean,  -- a smallint or integer key widened (_snowflake_widens)
    replica      boolean,  -- a subscriber's copy (_snowflake_migration_replica)
    new_type     text      -- the type of the new key, bigint or snowflake (_snowflake_target_type)
);

-- _snowflake_migration_context(tbl regclass, started boolean) -> _snowflake_migration_plan_context:
-- what every phase of the plan needs, from the catalog (see the type). Raises the plan's errors
-- about the shape of the tables and the names it needs, and 22023 for a target type that is
-- neither bigint nor snowflake. Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_migration_context(tbl regclass, started boolean)
RETURNS @extschema@._snowflake_migration_plan_context
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    -- the result's fields, returned at the end
    parent_q text; key_att int2; key_col text; new_col text; parent_owner name; rels oid[]; fks oid[];
    cols @extschema@._snowflake_migrated_column[];
    rel record;
    pk record;
    fk record;
    c @extschema@._snowflake_migrated_column;
    a int2;
    nm text;
    widen boolean;
BEGIN
    SELECT k.oid, k.relkind, k.relname, n.nspname, pg_get_userbyid(k.relowner) AS owner INTO rel
    FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace WHERE k.oid = tbl;
    IF rel.relkind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '%.% is not a table', quote_ident(rel.nspname), quote_ident(rel.relname) USING ERRCODE = 'feature_not_supported',
            HINT = 'Views and foreign tables cannot be migrated by snowflake_migration_start().';
    END IF;
    PERFORM @extschema@._snowflake_leaves(tbl);  -- refuses partitions it cannot handle
    parent_q := format('%I.%I', rel.nspname, rel.relname);
    parent_owner := rel.owner;
    SELECT con.conname, con.conkey, con.conindid INTO pk
    FROM pg_constraint con WHERE con.conrelid = tbl AND con.contype = 'p';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'table % has no primary key', parent_q USING ERRCODE = 'feature_not_supported';
    END IF;
    -- A key of several columns (a partitioned table's includes the partition key) has one uuid.
    key_att := @extschema@._snowflake_key_att(tbl);
    IF key_att IS NULL THEN
        RAISE EXCEPTION 'the primary key of % has % columns, and not exactly one of them is a uuid',
            parent_q, cardinality(pk.conkey) USING ERRCODE = 'feature_not_supported';
    END IF;
    SELECT att.attname INTO key_col FROM pg_attribute att WHERE att.attrelid = tbl AND att.attnum = key_att;
    -- A uuid key, or a smallint or integer key being widened (src/sql/migration/integer.sql).
    widen := (SELECT att.atttypid FROM pg_attribute att WHERE att.attrelid = tbl AND att.attnum = key_att) IN ('int2'::regtype, 'int4'::regtype);
    IF NOT widen AND (SELECT att.atttypid FROM pg_attribute att WHERE att.attrelid = tbl AND att.attnum = key_att) <> 'uuid'::regtype THEN
        RAISE EXCEPTION 'primary key column % of % is of type %, not uuid, smallint, integer or bigint', key_col, parent_q,
            (SELECT format_type(att.atttypid, att.atttypmod) FROM pg_attribute att WHERE att.attrelid = tbl AND att.attnum = key_att)
            USING ERRCODE = 'datatype_mismatch';
    END IF;

    -- The parent key first, then one column per (referencing table, referencing column).
    fks := '{}';
    cols := ARRAY[ROW(true, tbl::oid, parent_q, key_att, key_col, NULL, true, NULL, NULL, NULL, NULL, '{}')::@extschema@._snowflake_migrated_column];
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
        IF fk.relkind NOT IN ('r', 'p') THEN
            RAISE EXCEPTION 'foreign key % on % references %, but % is not a table',
                fk.conname, fk.child_q, parent_q, fk.child_q USING ERRCODE = 'feature_not_supported';
        END IF;
        PERFORM @extschema@._snowflake_leaves(fk.conrelid);  -- refuses partitions it cannot handle
        fks := fks || fk.oid;
        a := fk.conkey[array_position(fk.confkey, key_att)];
        CONTINUE WHEN EXISTS (SELECT 1 FROM unnest(cols) u WHERE u.rel = fk.conrelid AND u.att = a);  -- one twin per column
        IF rel.relkind = 'p' AND fk.relkind = 'p' AND current_setting('server_version_num')::int < 180000 THEN
            RAISE EXCEPTION 'foreign key % on partitioned table % references partitioned table %', fk.conname, fk.child_q, parent_q
                USING ERRCODE = 'feature_not_supported',
                DETAIL = 'Its new foreign key is added NOT VALID by the cut-over, which PostgreSQL supports on a partitioned table from version 18 on.';
        END IF;
        c := ROW(false, fk.conrelid, fk.child_q, a, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                 ARRAY(SELECT x::text FROM unnest(fk.confkey, fk.conkey) WITH ORDINALITY u(pa, ca, o),
                                    LATERAL (VALUES (1, (SELECT attname FROM pg_attribute WHERE attrelid = tbl AND attnum = u.pa)),
                                                    (2, (SELECT attname FROM pg_attribute WHERE attrelid = fk.conrelid AND attnum = u.ca))) v(i, x)
                       WHERE u.pa = ANY (pk.conkey) AND u.pa <> key_att ORDER BY u.o, v.i));
        SELECT att.attname, att.attnotnull INTO c.col, c.not_null FROM pg_attribute att WHERE att.attrelid = fk.conrelid AND att.attnum = a;
        -- Every row must get the twin once its parent exists; a row the foreign key does not
        -- check (MATCH SIMPLE, some referencing column NULL) need not.
        SELECT string_agg(format('%I IS NULL', att.attname), ' OR ' ORDER BY att.attnum) INTO c.unchecked
        FROM pg_attribute att
        WHERE att.attrelid = fk.conrelid AND att.attnum = ANY (fk.conkey) AND NOT att.attnotnull;
        cols := cols || c;
    END LOOP;

    FOR i IN 1 .. cardinality(cols) LOOP
        c := cols[i];
        c.twin := c.col || '_snowflake';
        c.fill := 'snowflake_fill_' || left(md5(c.qname || '.' || c.col), 12);
        SELECT n.nspname::text, pg_get_userbyid(k.relowner)::text INTO c.nsp, c.owner
        FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace WHERE k.oid = c.rel;
        -- The fill function of a referencing table runs as that table's owner and reads the parent.
        IF NOT c.is_key AND c.owner <> parent_owner AND NOT has_table_privilege(c.owner, tbl, 'SELECT') THEN
            RAISE EXCEPTION 'role % (owner of %) cannot read %, which its trigger must do during the migration',
                c.owner, c.qname, parent_q USING ERRCODE = 'insufficient_privilege',
                HINT = format('GRANT SELECT ON %s TO %I, or give both tables one owner.', parent_q, c.owner);
        END IF;
        IF octet_length(c.twin) > 63 THEN
            RAISE EXCEPTION 'column name % is too long', c.twin USING ERRCODE = 'name_too_long',
                HINT = 'Rename the column to at most 53 bytes first.';
        END IF;
        -- (a widened column keeps no old column <column>_uuid)
        FOREACH nm IN ARRAY CASE WHEN widen AND started THEN '{}'::text[] WHEN widen THEN ARRAY[c.twin]
                                 WHEN started THEN ARRAY[c.col || '_uuid'] ELSE ARRAY[c.twin, c.col || '_uuid'] END LOOP
            IF EXISTS (SELECT 1 FROM pg_attribute att WHERE att.attrelid = c.rel AND att.attname = nm AND NOT att.attisdropped) THEN
                RAISE EXCEPTION 'column % of % already exists', nm, c.qname
                    USING ERRCODE = 'duplicate_column',
                    HINT = 'The migration needs this name (<column>_snowflake while it runs, <column>_uuid after the cut-over); a migration may already be under way: SELECT * FROM snowflake_migration_plan(...).';
            END IF;
        END LOOP;
        cols[i] := c;
    END LOOP;
    new_col := cols[1].twin;
    rels := ARRAY(SELECT u.rel FROM unnest(cols) WITH ORDINALITY u GROUP BY u.rel ORDER BY min(u.ordinality));
    RETURN ROW(tbl, started, parent_q, key_att, key_col, new_col, parent_owner, rels, fks, cols, @extschema@._snowflake_widens(tbl),
               @extschema@._snowflake_migration_replica(tbl, started), @extschema@._snowflake_target_type(tbl, started))::@extschema@._snowflake_migration_plan_context;
END
$fn$;

-- _snowflake_leaves(rel oid) -> table (leaf oid, qname text): where the rows of table rel are: rel
-- itself for an ordinary table, its partitions (in name order) for a partitioned one, whose
-- batches, indexes and foreign keys the migration makes one partition at a time. Raises 0A000
-- for a partition that is itself partitioned or a foreign table. Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_leaves(rel oid) RETURNS TABLE (leaf oid, qname text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    bad text;
BEGIN
    IF (SELECT k.relkind FROM pg_class k WHERE k.oid = rel) <> 'p' THEN
        RETURN QUERY SELECT rel, @extschema@._snowflake_qname(rel::regclass);
        RETURN;
    END IF;
    SELECT string_agg(@extschema@._snowflake_qname(k.oid::regclass), ', ') INTO bad
    FROM pg_inherits i JOIN pg_class k ON k.oid = i.inhrelid WHERE i.inhparent = rel AND k.relkind <> 'r';
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'partitions % of % are partitioned themselves or foreign tables', bad, @extschema@._snowflake_qname(rel::regclass)
            USING ERRCODE = 'feature_not_supported',
            HINT = 'The migration handles one level of partitions, each an ordinary table.';
    END IF;
    RETURN QUERY SELECT i.inhrelid, @extschema@._snowflake_qname(i.inhrelid::regclass)
                 FROM pg_inherits i WHERE i.inhparent = rel ORDER BY 2;
END
$fn$;

-- _snowflake_key_att(tbl regclass) -> int2: the migrated column of tbl's primary key: its only
-- column, or the one uuid column of a key of several (NULL when there is none or more than one).
CREATE OR REPLACE FUNCTION _snowflake_key_att(tbl regclass) RETURNS int2
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN cardinality(con.conkey) = 1 THEN con.conkey[1]
                ELSE (SELECT min(a.attnum) FROM pg_attribute a WHERE a.attrelid = tbl AND a.attnum = ANY (con.conkey)
                      AND a.atttypid = 'uuid'::regtype HAVING count(*) = 1) END
    FROM pg_constraint con WHERE con.conrelid = tbl AND con.contype = 'p'
$$;

-- _snowflake_match(c, p, r) -> text: the other conditions that find the parent row of a row (alias
-- r) of c's table in the migrated table (alias p) when its key has several columns, e.g.
-- ' AND p.created_at OPERATOR(pg_catalog.=) NEW.order_created_at'; '' for a key of one column.
CREATE OR REPLACE FUNCTION _snowflake_match(c @extschema@._snowflake_migrated_column, p text, r text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(string_agg(format(' AND %s.%I OPERATOR(pg_catalog.=) %s.%I', p, c.pairs[i], r, c.pairs[i + 1]), '' ORDER BY i), '')
    FROM generate_series(1, coalesce(cardinality(c.pairs), 0), 2) i
$$;
