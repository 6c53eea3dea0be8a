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
-- what every phase of the plan needs, from the catalog (see the type), in three steps, each with
-- its own errors, in this order: the key (_snowflake_context_key), the referencing columns
-- (_snowflake_context_referencing), the names and rights each column needs
-- (_snowflake_context_names); then 22023 for a target type that is neither bigint nor snowflake.
-- Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_migration_context(tbl regclass, started boolean)
RETURNS @extschema@._snowflake_migration_plan_context
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    k record;
    fks oid[];
    cols @extschema@._snowflake_migrated_column[];
BEGIN
    SELECT * INTO k FROM @extschema@._snowflake_context_key(tbl);
    SELECT r.fk_oids, r.columns INTO fks, cols
    FROM @extschema@._snowflake_context_referencing(tbl, k.relkind, k.key, k.pk_atts) r;
    cols := @extschema@._snowflake_context_names(tbl, cols, k.widen, started);
    RETURN ROW(tbl, started, (k.key).qname, (k.key).att, (k.key).col, cols[1].twin, k.owner,
               ARRAY(SELECT u.rel FROM unnest(cols) WITH ORDINALITY u GROUP BY u.rel ORDER BY min(u.ordinality)), fks, cols,
               @extschema@._snowflake_widens(tbl), @extschema@._snowflake_migration_replica(tbl, started),
               @extschema@._snowflake_target_type(tbl, started))::@extschema@._snowflake_migration_plan_context;
END
$fn$;

-- _snowflake_context_key(tbl regclass) -> (key, owner, relkind, pk_atts, widen): the migrated
-- table's key column described (its twin and fill not yet named), the table's owner and kind,
-- the columns of its primary key, and whether the key is a smallint or integer to widen
-- (src/sql/migration/integer.sql) rather than a uuid. Raises 0A000 when tbl is not a table
-- (or has partitions the migration cannot handle), has no primary key, or a key of several
-- columns of which not exactly one is a uuid; 42804 for a key of another type. Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_context_key(tbl regclass, OUT key @extschema@._snowflake_migrated_column,
                                                    OUT owner name, OUT relkind "char", OUT pk_atts int2[], OUT widen boolean)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    rel record;
    att record;
BEGIN
    SELECT k.relkind, k.relname, n.nspname, pg_get_userbyid(k.relowner) AS owner INTO rel
    FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace WHERE k.oid = tbl;
    IF rel.relkind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '%.% is not a table', quote_ident(rel.nspname), quote_ident(rel.relname) USING ERRCODE = 'feature_not_supported',
            HINT = 'Views and foreign tables cannot be migrated by snowflake_migration_start().';
    END IF;
    PERFORM @extschema@._snowflake_leaves(tbl);  -- refuses partitions it cannot handle
    key := ROW(true, tbl::oid, format('%I.%I', rel.nspname, rel.relname), NULL, NULL, NULL, true, NULL, NULL,
               rel.nspname, rel.owner, '{}');
    owner := rel.owner;
    relkind := rel.relkind;
    SELECT con.conkey INTO pk_atts FROM pg_constraint con WHERE con.conrelid = tbl AND con.contype = 'p';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'table % has no primary key', key.qname USING ERRCODE = 'feature_not_supported';
    END IF;
    -- A key of several columns (a partitioned table's includes the partition key) has one uuid.
    key.att := @extschema@._snowflake_key_att(tbl);
    IF key.att IS NULL THEN
        RAISE EXCEPTION 'the primary key of % has % columns, and not exactly one of them is a uuid',
            key.qname, cardinality(pk_atts) USING ERRCODE = 'feature_not_supported';
    END IF;
    SELECT a.attname, a.atttypid, format_type(a.atttypid, a.atttypmod) AS type INTO att
    FROM pg_attribute a WHERE a.attrelid = tbl AND a.attnum = key.att;
    key.col := att.attname;
    -- A uuid key, or a smallint or integer key being widened (src/sql/migration/integer.sql).
    widen := att.atttypid IN ('int2'::regtype, 'int4'::regtype);
    IF NOT widen AND att.atttypid <> 'uuid'::regtype THEN
        RAISE EXCEPTION 'primary key column % of % is of type %, not uuid, smallint, integer or bigint', key.col, key.qname, att.type
            USING ERRCODE = 'datatype_mismatch';
    END IF;
END
$fn$;

-- _snowflake_context_referencing(tbl regclass, relkind "char", key, pk_atts int2[]) ->
-- (fk_oids, columns): the foreign keys that reference the key column of tbl (not their clones on
-- partitions), tbl's own first, then by table and name, and the migrated columns: key, then one
-- per referencing table and column (several foreign keys over one column share it), each with
-- its nullability, the condition under which its foreign key checks nothing, and the pairs that
-- find its parent row under a key of several columns. Raises 0A000 for a foreign key on what is
-- not a table, partitions the migration cannot handle, and a partitioned table referencing a
-- partitioned tbl before PostgreSQL 18. Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_context_referencing(tbl regclass, relkind "char", key @extschema@._snowflake_migrated_column,
                                                            pk_atts int2[], OUT fk_oids oid[], OUT columns @extschema@._snowflake_migrated_column[])
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    fk record;
BEGIN
    fk_oids := '{}';
    columns := ARRAY[key];
    FOR fk IN
        SELECT con.oid, con.conname, cc.relkind AS child_kind,
               ROW(false, con.conrelid, format('%I.%I', cn.nspname, cc.relname), a.attnum, a.attname, NULL, a.attnotnull,
                   -- Every row must get the twin once its parent exists; a row the foreign key does not
                   -- check (MATCH SIMPLE, some referencing column NULL) need not.
                   (SELECT string_agg(format('%I IS NULL', att.attname), ' OR ' ORDER BY att.attnum) FROM pg_attribute att
                    WHERE att.attrelid = con.conrelid AND att.attnum = ANY (con.conkey) AND NOT att.attnotnull),
                   NULL, cn.nspname, pg_get_userbyid(cc.relowner),
                   ARRAY(SELECT x::text FROM unnest(con.confkey, con.conkey) WITH ORDINALITY u(pa, ca, o),
                                        LATERAL (VALUES (1, (SELECT attname FROM pg_attribute WHERE attrelid = tbl AND attnum = u.pa)),
                                                        (2, (SELECT attname FROM pg_attribute WHERE attrelid = con.conrelid AND attnum = u.ca))) v(i, x)
                         WHERE u.pa = ANY (pk_atts) AND u.pa <> key.att ORDER BY u.o, v.i))::@extschema@._snowflake_migrated_column AS c
        FROM pg_constraint con
        JOIN pg_class cc ON cc.oid = con.conrelid
        JOIN pg_namespace cn ON cn.oid = cc.relnamespace
        JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[array_position(con.confkey, key.att)]
        WHERE con.contype = 'f' AND con.confrelid = tbl AND key.att = ANY (con.confkey)
          AND con.conparentid = 0
        ORDER BY con.conrelid <> tbl, format('%I.%I', cn.nspname, cc.relname), con.conname
    LOOP
        IF fk.child_kind NOT IN ('r', 'p') THEN
            RAISE EXCEPTION 'foreign key % on % references %, but % is not a table',
                fk.conname, (fk.c).qname, key.qname, (fk.c).qname USING ERRCODE = 'feature_not_supported';
        END IF;
        PERFORM @extschema@._snowflake_leaves((fk.c).rel);  -- refuses partitions it cannot handle
        fk_oids := fk_oids || fk.oid;
        CONTINUE WHEN EXISTS (SELECT 1 FROM unnest(columns) u WHERE u.rel = (fk.c).rel AND u.att = (fk.c).att);  -- one twin per column
        IF relkind = 'p' AND fk.child_kind = 'p' AND current_setting('server_version_num')::int < 180000 THEN
            RAISE EXCEPTION 'foreign key % on partitioned table % references partitioned table %', fk.conname, (fk.c).qname, key.qname
                USING ERRCODE = 'feature_not_supported',
                DETAIL = 'Its new foreign key is added NOT VALID by the cut-over, which PostgreSQL supports on a partitioned table from version 18 on.';
        END IF;
        columns := columns || fk.c;
    END LOOP;
END
$fn$;

-- _snowflake_context_names(tbl regclass, cols, widen boolean, started boolean) -> cols with
-- their twin (<column>_snowflake) and fill trigger named. Checks, column by column in order, that
-- a referencing table's owner can read tbl (42501: its fill function must), that the twin's name
-- fits (42622), and that the names the migration still has to add are free (42701): the twin
-- before the start, <column>_uuid before the cut-over (a widened column keeps no old column).
-- Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_context_names(tbl regclass, cols @extschema@._snowflake_migrated_column[],
                                                      widen boolean, started boolean)
RETURNS @extschema@._snowflake_migrated_column[]
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    c @extschema@._snowflake_migrated_column;
    nm text;
BEGIN
    FOR i IN 1 .. cardinality(cols) LOOP
        c := cols[i];
        c.twin := c.col || '_snowflake';
        c.fill := 'snowflake_fill_' || left(md5(c.qname || '.' || c.col), 12);
        -- The fill function of a referencing table runs as that table's owner and reads the parent.
        IF NOT c.is_key AND c.owner <> cols[1].owner AND NOT has_table_privilege(c.owner, tbl, 'SELECT') THEN
            RAISE EXCEPTION 'role % (owner of %) cannot read %, which its trigger must do during the migration',
                c.owner, c.qname, cols[1].qname USING ERRCODE = 'insufficient_privilege',
                HINT = format('GRANT SELECT ON %s TO %I, or give both tables one owner.', cols[1].qname, c.owner);
        END IF;
        IF octet_length(c.twin) > 63 THEN
            RAISE EXCEPTION 'column name % is too long', c.twin USING ERRCODE = 'name_too_long',
                HINT = 'Rename the column to at most 53 bytes first.';
        END IF;
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
    RETURN cols;
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
