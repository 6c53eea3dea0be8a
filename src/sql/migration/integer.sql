-- The migration toolkit for tables keyed by integers, docs/migration.md, section "Tables keyed by integers":
-- the same calls as for uuid keys (plan, start, backfill, index phase, cut-over,
-- abort) dispatch here when the primary key is one smallint, integer or bigint column. A bigint
-- key keeps its values and its type: the cut-over swaps its default (a sequence's nextval, or an
-- IDENTITY) for snowflake_next() in one catalog-only transaction; abort, before or after the
-- cut-over, restores it. A smallint or integer key is widened (to bigint, or to the type
-- snowflake when the session chooses it) by the uuid toolkit's phases, with the hooks below.

-- What the integer path keeps besides snowflake_migration: the key's type, where its values came
-- from (the sequence, the identity and the identity sequence's settings, to create it again at
-- an abort after the cut-over: DROP IDENTITY drops that sequence), the largest key at the start
-- and the boundary recorded at the cut-over (every key below it is an old key). Numbers and
-- names only: no statement is stored, so none is read back and executed.
CREATE TABLE snowflake_internal.snowflake_migration_integer (
    relation      text PRIMARY KEY,
    key_type      text NOT NULL CHECK (key_type IN ('smallint', 'integer', 'bigint')),
    identity      text CHECK (identity IN ('always', 'by default')),   -- NULL: no identity
    seq_schema    text,                 -- the sequence of the default or the identity
    seq_name      text,
    seq_start     bigint,               -- an identity sequence's settings, recorded at the cut-over
    seq_increment bigint,
    seq_min       bigint,
    seq_max       bigint,
    seq_cache     bigint,
    seq_cycle     boolean,
    seq_last      bigint,               -- its last value (NULL: never called)
    old_max       bigint,               -- the largest key at the start (NULL: no rows)
    boundary      bigint                -- snowflake_compose() of the cut-over: old keys are below it
);
SELECT pg_catalog.pg_extension_config_dump('snowflake_internal.snowflake_migration_integer', '');
ALTER TABLE snowflake_internal.snowflake_migration_integer ENABLE ROW LEVEL SECURITY;
CREATE POLICY owner_only ON snowflake_internal.snowflake_migration_integer USING (@extschema@._snowflake_owns(relation));
GRANT SELECT, INSERT, UPDATE, DELETE ON snowflake_internal.snowflake_migration_integer TO PUBLIC;

-- _snowflake_integer_key(tbl regclass) -> one row when the primary key of tbl is one smallint,
-- integer or bigint column (none otherwise): its name, attnum and type, its identity kind
-- (attidentity: 'a', 'd' or ''), the sequence its values come from (the identity's, or the one
-- whose nextval() is its default; NULL if none) and its default expression (NULL if none).
-- Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_integer_key(tbl regclass)
RETURNS TABLE (key_col name, key_att int2, key_type regtype, ident "char", seq regclass, def text)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT a.attname, a.attnum, a.atttypid::regtype, a.attidentity,
           coalesce((SELECT d.objid::regclass FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
                     WHERE a.attidentity <> '' AND d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
                       AND d.refobjid = tbl AND d.refobjsubid = a.attnum AND d.deptype = 'i' LIMIT 1),
                    (SELECT d.refobjid::regclass FROM pg_depend d JOIN pg_class s ON s.oid = d.refobjid AND s.relkind = 'S'
                     WHERE ad.oid IS NOT NULL AND d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid
                       AND d.refclassid = 'pg_class'::regclass LIMIT 1)),
           pg_get_expr(ad.adbin, ad.adrelid)
    FROM pg_constraint con
    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
    LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
    WHERE con.conrelid = tbl AND con.contype = 'p' AND cardinality(con.conkey) = 1
      AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)
$$;

-- _snowflake_integer_kind(tbl regclass) -> text: which path the migration calls on tbl take for an
-- integer key: 'bigint' (the default swapped, nothing rewritten: this file) or 'widen' (a smallint
-- or integer key widened by the uuid toolkit, steps.sql, with the hooks below): the one its
-- migration recorded, or with none recorded the key's type now. NULL for a uuid migration (a
-- uuid migration that is cut over leaves a bigint key: it stays a uuid migration) and for keys
-- of other types. Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_integer_kind(tbl regclass) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN i.relation IS NOT NULL THEN CASE WHEN i.key_type = 'bigint' THEN 'bigint' ELSE 'widen' END
                WHEN EXISTS (SELECT 1 FROM snowflake_internal.snowflake_migration m WHERE m.relation = @extschema@._snowflake_qname(tbl)) THEN NULL
                ELSE (SELECT CASE WHEN k.key_type = 'int8'::regtype THEN 'bigint' ELSE 'widen' END FROM @extschema@._snowflake_integer_key(tbl) k) END
    FROM (SELECT 1) one
    LEFT JOIN snowflake_internal.snowflake_migration_integer i ON i.relation = @extschema@._snowflake_qname(tbl)
$$;

-- _snowflake_integer_migration(tbl regclass) -> boolean: whether the migration calls on tbl take
-- the bigint path of this file. Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_integer_migration(tbl regclass) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(@extschema@._snowflake_integer_kind(tbl) = 'bigint', false)
$$;

-- _snowflake_widens(tbl regclass) -> boolean: whether the migration of tbl widens a smallint or
-- integer key: the uuid toolkit's steps then copy the old values into the twins instead of
-- numbering them, and drop the old columns at the swap. Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_widens(tbl regclass) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(@extschema@._snowflake_integer_kind(tbl) = 'widen', false)
$$;

-- _snowflake_integer_boundary(tbl regclass) -> bigint: the boundary the integer-key migration of
-- tbl recorded at its cut-over (keys below it are old keys), 0 when none is recorded or the caller
-- cannot see it (row-level security: then the collision guard refuses as before, never passes
-- more). Called by the collision guard (src/pg/guard.cpp) only for a row it would refuse. Locks
-- nothing.
CREATE OR REPLACE FUNCTION _snowflake_integer_boundary(tbl regclass) RETURNS bigint
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce((SELECT i.boundary FROM snowflake_internal.snowflake_migration_integer i
                     WHERE i.relation = @extschema@._snowflake_qname(tbl)), 0)
$$;

-- _snowflake_integer_refs(tbl regclass) -> the columns that reference the key of tbl through a
-- foreign key (one row per foreign key and column): the foreign key, its table, the column's
-- name and type. Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_integer_refs(tbl regclass)
RETURNS TABLE (conname name, rel regclass, qname text, col name, typ regtype)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT con.conname, con.conrelid::regclass, @extschema@._snowflake_qname(con.conrelid::regclass), a.attname, a.atttypid::regtype
    FROM pg_constraint con
    JOIN pg_constraint pk ON pk.conrelid = tbl AND pk.contype = 'p'
    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[array_position(con.confkey, pk.conkey[1])]
    WHERE con.contype = 'f' AND con.confrelid = tbl AND pk.conkey[1] = ANY (con.confkey) AND con.conparentid = 0
    ORDER BY 3, 1
$$;

-- _snowflake_integer_boundary_check(tbl regclass, k record-like args): raises 22003 unless every
-- key of tbl and every value its sequence has given out is below the first ID this server would
-- issue now (snowflake_compose(clock_timestamp(), 0, 0)), so that every new ID is above every
-- old key. Returns (largest key, that first ID). One index scan for max(key).
CREATE OR REPLACE FUNCTION _snowflake_integer_boundary_check(tbl regclass, key_col name, seq regclass,
                                                             OUT old_max bigint, OUT first_id bigint)
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    seq_last bigint;
BEGIN
    EXECUTE format('SELECT max(%I)::bigint FROM %s', key_col, mig) INTO old_max;
    IF seq IS NOT NULL THEN
        seq_last := pg_sequence_last_value(seq);
    END IF;
    first_id := @extschema@.snowflake_compose(clock_timestamp(), 0, 0);
    IF greatest(old_max, seq_last) >= first_id THEN
        RAISE EXCEPTION 'the keys of % reach the snowflake range: % is not below %, the first ID this server would issue now',
            mig, greatest(old_max, seq_last), first_id
            USING ERRCODE = 'numeric_value_out_of_range',
            DETAIL = format('Largest key %s%s. New IDs must be above every old key, so that none can be issued twice.',
                            coalesce(old_max::text, 'none (no rows)'),
                            coalesce(format(', last value of sequence %s %s', seq::text, seq_last), '')),
            HINT = 'Keys this large are snowflake IDs already, or come from a sequence set far ahead: nothing to migrate, or renumber the keys first.';
    END IF;
END
$fn$;

-- _snowflake_integer_check(tbl regclass) -> the key of tbl (_snowflake_integer_key), after the
-- checks every phase of the integer path makes before it changes anything: an ordinary table; a
-- default that is a sequence's nextval(), an identity or none; a sequence that no other column
-- uses; for a bigint key, referencing columns of type bigint; for a key to widen, referencing
-- columns outside partition keys. Raises 0A000 with what to do.
-- Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_integer_check(tbl regclass)
RETURNS TABLE (key_col name, key_att int2, key_type regtype, ident "char", seq regclass, def text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    k record;
BEGIN
    IF (SELECT c.relkind FROM pg_class c WHERE c.oid = tbl) <> 'r' THEN
        RAISE EXCEPTION '% is not an ordinary table', mig USING ERRCODE = 'feature_not_supported',
            HINT = 'Partitioned tables, views and foreign tables cannot be migrated by snowflake_migration_start().';
    END IF;
    SELECT * INTO k FROM @extschema@._snowflake_integer_key(tbl) x;
    IF k.def IS NOT NULL AND k.ident = '' AND (k.seq IS NULL OR k.def <> format('nextval(%L::regclass)', k.seq::text)) THEN
        RAISE EXCEPTION 'the default of %.% is %, not a sequence''s nextval()', mig, quote_ident(k.key_col), k.def
            USING ERRCODE = 'feature_not_supported',
            HINT = 'The migration replaces a sequence default or an identity with snowflake_next(); set the default yourself, or drop it first.';
    END IF;
    PERFORM @extschema@._snowflake_integer_sequence_check(tbl, k.key_col, k.key_att, k.seq);
    PERFORM @extschema@._snowflake_integer_refs_check(tbl, k.key_type);
    key_col := k.key_col; key_att := k.key_att; key_type := k.key_type; ident := k.ident; seq := k.seq; def := k.def;
    RETURN NEXT;
END
$fn$;

-- _snowflake_integer_sequence_check(tbl, key_col, key_att, seq): raises 0A000 when seq, the
-- sequence the key key_col (attnum key_att) of tbl takes its values from, is the default of
-- another column too (it would keep numbering that column after the cut-over, and an abort
-- would give it back to this key). Nothing for a NULL seq. Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_integer_sequence_check(tbl regclass, key_col name, key_att int2, seq regclass) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    others text;
BEGIN
    IF seq IS NULL THEN
        RETURN;
    END IF;
    SELECT string_agg(format('%s.%I', @extschema@._snowflake_qname(ad.adrelid::regclass), a.attname), ', ' ORDER BY 1) INTO others
    FROM pg_depend d
    JOIN pg_attrdef ad ON d.classid = 'pg_attrdef'::regclass AND ad.oid = d.objid
    JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
    WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = seq
      AND NOT (ad.adrelid = tbl AND ad.adnum = key_att);
    IF others IS NOT NULL THEN
        RAISE EXCEPTION 'sequence % gives the keys of %.% and the values of %', seq::text, mig, quote_ident(key_col), others
            USING ERRCODE = 'feature_not_supported',
            DETAIL = 'A shared sequence keeps numbering the other columns after the cut-over, and an abort would give it back to this key.',
            HINT = format('Give %s a sequence of its own first: CREATE SEQUENCE, setval() it past max(%I), ALTER TABLE %s ALTER COLUMN %I SET DEFAULT nextval(...).',
                          mig, key_col, mig, key_col);
    END IF;
END
$fn$;

-- _snowflake_integer_refs_check(tbl, key_type): raises 0A000 when the columns that reference the
-- key of tbl (of type key_type) cannot follow it: for a key to widen, a referencing column in the
-- partition key of its table (the cut-over drops the old column, which PostgreSQL refuses there);
-- for a bigint key, a referencing column of another type (it could not hold snowflake IDs).
-- Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_integer_refs_check(tbl regclass, key_type regtype) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    others text;
BEGIN
    IF key_type <> 'bigint'::regtype THEN
        -- A widened column is dropped at the cut-over, which PostgreSQL refuses for a column of a
        -- partition key (or one its expressions use).
        SELECT string_agg(DISTINCT format('%s.%I', r.qname, r.col), ', ') INTO others
        FROM @extschema@._snowflake_integer_refs(tbl) r
        JOIN pg_attribute a ON a.attrelid = r.rel AND a.attname = r.col
        -- (the columns of a partition key and of its expressions depend on their table, internally)
        JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = r.rel AND d.objsubid = a.attnum AND d.deptype = 'i'
                        AND d.refclassid = 'pg_class'::regclass AND d.refobjid = r.rel AND d.refobjsubid = 0
        JOIN pg_partitioned_table pt ON pt.partrelid = r.rel;
        IF others IS NOT NULL THEN
            RAISE EXCEPTION 'columns that reference the key of % are in the partition key of their table: %', mig, others
                USING ERRCODE = 'feature_not_supported',
                DETAIL = 'Widening replaces each referencing column with a bigint one and drops the old column at the cut-over; PostgreSQL cannot drop a column of a partition key.',
                HINT = 'Partition that table by other columns, or keep this key as it is.';
        END IF;
    END IF;
    IF key_type = 'bigint'::regtype THEN
        SELECT string_agg(format('%s.%I (%s, foreign key %I)', r.qname, r.col, r.typ::text, r.conname), ', ') INTO others
        FROM @extschema@._snowflake_integer_refs(tbl) r WHERE r.typ <> 'bigint'::regtype;
        IF others IS NOT NULL THEN
            RAISE EXCEPTION 'columns that reference the bigint key of % cannot hold snowflake IDs: %', mig, others
                USING ERRCODE = 'feature_not_supported',
                HINT = 'Widen them to bigint first (ALTER TABLE ... ALTER COLUMN ... TYPE bigint, which rewrites the table).';
        END IF;
    END IF;
END
$fn$;

-- _snowflake_integer_target_check(tbl regclass): a bigint key keeps its column and type (the
-- cut-over swaps its default only), so the session's choice of the new key's type
-- (snowflake_migration.target_type, _snowflake_target_type) cannot be 'snowflake' for it: raises
-- 0A000 then, 22023 for a value that is neither. For the dry run and the start. Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_integer_target_check(tbl regclass) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
BEGIN
    IF @extschema@._snowflake_target_type(tbl, false) = 'snowflake' THEN
        RAISE EXCEPTION 'the bigint key of % keeps its type: snowflake_migration.target_type = ''snowflake'' changes uuid, smallint and integer keys only', mig
            USING ERRCODE = 'feature_not_supported',
            HINT = format('RESET snowflake_migration.target_type to migrate %s (its key stays bigint, with DEFAULT snowflake_next()).', mig);
    END IF;
END
$fn$;

-- _snowflake_integer_plan(tbl regclass) -> the rows of snowflake_migration_plan() for a table
-- keyed by a bigint (a widened key's plan is the uuid toolkit's): what each phase does (a statement, or a comment saying what it checks or
-- that it has nothing to do; the index phase has no statement for psql's \gexec to run), and its
-- status. Raises what snowflake_migration_start() would raise, except the range check (the
-- start makes it). Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_integer_plan(tbl regclass)
RETURNS TABLE (step integer, phase text, target text, statement text, status text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    k record;
    m record;
    i record;
    src text;
    seqname text;
BEGIN
    SELECT * INTO m FROM snowflake_internal.snowflake_migration x WHERE x.relation = mig;
    SELECT * INTO i FROM snowflake_internal.snowflake_migration_integer x WHERE x.relation = mig;
    IF i.relation IS NOT NULL AND m.phase = 'done' THEN
        SELECT m.key_column::name AS key_col, i.key_type::regtype AS key_type,
               (CASE i.identity WHEN 'always' THEN 'a' WHEN 'by default' THEN 'd' ELSE '' END)::"char" AS ident,
               CASE WHEN i.seq_name IS NOT NULL THEN to_regclass(format('%I.%I', i.seq_schema, i.seq_name)) END AS seq INTO k;
    ELSE
        SELECT * INTO k FROM @extschema@._snowflake_integer_check(tbl) x;
        IF m.phase IS NULL THEN
            PERFORM @extschema@._snowflake_integer_target_check(tbl);
        END IF;
    END IF;
    -- after the cut-over an identity's sequence is gone: its recorded name
    seqname := coalesce(k.seq::text, CASE WHEN i.seq_name IS NOT NULL THEN format('%I.%I', i.seq_schema, i.seq_name) END);
    src := CASE k.ident WHEN 'a' THEN format('IDENTITY ALWAYS (sequence %s)', seqname)
                        WHEN 'd' THEN format('IDENTITY BY DEFAULT (sequence %s)', seqname)
                        ELSE CASE WHEN seqname IS NOT NULL THEN format('DEFAULT nextval(%L) (serial, bigserial or a sequence default)', seqname) ELSE 'no default' END END;
    step := 1; phase := 'start'; target := mig;
    statement := format('-- checks: every key of %s and every value of its sequence is below snowflake_compose(now(), 0, 0), the first ID this server would issue now; %s; no other column uses its sequence. Changes no table.',
                        mig, src);
    status := CASE WHEN m.phase IS NULL THEN 'planned' ELSE 'done' END;
    RETURN NEXT;
    step := 2; phase := 'backfill';
    statement := format('-- nothing to do: a bigint key keeps its values (%s); the backfill says so and succeeds', quote_ident(k.key_col));
    status := CASE WHEN m.phase IS NULL THEN 'planned' WHEN m.phase = 'started' THEN 'pending' ELSE 'done' END;
    RETURN NEXT;
    step := 3; phase := 'index'; statement := NULL;
    status := 'nothing to do: a bigint key needs no new index';
    RETURN NEXT;
    RETURN QUERY SELECT * FROM @extschema@._snowflake_integer_plan_cutover(tbl, k.key_col, k.ident, k.seq, seqname, step,
        CASE WHEN m.phase IS NULL THEN 'planned' WHEN m.phase = 'done' THEN 'done' ELSE 'pending' END);
END
$fn$;

-- _snowflake_integer_plan_cutover(tbl, key_col, ident, seq, seqname, after, cutover_status) -> the
-- cut-over's rows of _snowflake_integer_plan, numbered from after + 1: the identity dropped
-- (ident 'a' or 'd'), the key key_col's default swapped for snowflake_next(), what becomes of
-- the sequence seqname (seq: the sequence that exists now), and a row per referencing column,
-- which keeps its values. Every row has the status cutover_status. Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_integer_plan_cutover(tbl regclass, key_col name, ident "char", seq regclass, seqname text,
                                                           after integer, cutover_status text)
RETURNS TABLE (step integer, phase text, target text, statement text, status text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    r record;
BEGIN
    step := after; phase := 'cutover'; target := mig; status := cutover_status;
    IF ident <> '' THEN
        step := step + 1;
        statement := format('ALTER TABLE %s ALTER COLUMN %I DROP IDENTITY', mig, key_col);
        RETURN NEXT;
    END IF;
    step := step + 1;
    statement := format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT @extschema@.snowflake_next()', mig, key_col);
    RETURN NEXT;
    step := step + 1;
    statement := CASE WHEN ident <> '' THEN format('-- the identity sequence %s goes with the identity; its settings and last value are recorded, and an abort creates it again', seqname)
                      WHEN seq IS NOT NULL THEN format('-- sequence %s is kept (an abort sets it back as the default); drop it when nothing calls it', seqname)
                      ELSE '-- an abort drops the default again' END;
    RETURN NEXT;
    FOR r IN SELECT * FROM @extschema@._snowflake_integer_refs(tbl) LOOP
        step := step + 1; target := r.qname;
        statement := format('-- %s.%I (%s, foreign key %I): nothing to change', r.qname, r.col, r.typ::text, r.conname);
        RETURN NEXT;
    END LOOP;
END
$fn$;

-- _snowflake_integer_record_start(tbl regclass) -> (key_col, old_max, first_id): what the start of
-- any integer key checks and records: _snowflake_integer_check, a generator that can issue IDs
-- (55000 otherwise), every key and sequence value below the first ID this server would issue
-- now (22003); then the row of snowflake_migration_integer (the key's type, identity, sequence
-- and largest key). Changes no table.
CREATE OR REPLACE FUNCTION _snowflake_integer_record_start(tbl regclass, OUT key_col name, OUT old_max bigint, OUT first_id bigint)
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    k record;
    b record;
BEGIN
    SELECT * INTO k FROM @extschema@._snowflake_integer_check(tbl) x;
    -- The new default must work: this raises if snowflake is not preloaded or has no machine id.
    PERFORM @extschema@.snowflake_next();
    SELECT * INTO b FROM @extschema@._snowflake_integer_boundary_check(tbl, k.key_col, k.seq);
    INSERT INTO snowflake_internal.snowflake_migration_integer (relation, key_type, identity, seq_schema, seq_name, old_max)
    SELECT @extschema@._snowflake_qname(tbl), k.key_type::text, CASE k.ident WHEN 'a' THEN 'always' WHEN 'd' THEN 'by default' END,
           n.nspname, s.relname, b.old_max
    FROM (SELECT 1) one LEFT JOIN pg_class s ON s.oid = k.seq LEFT JOIN pg_namespace n ON n.oid = s.relnamespace;
    key_col := k.key_col; old_max := b.old_max; first_id := b.first_id;
END
$fn$;

-- _snowflake_integer_start(tbl): snowflake_migration_start() for a bigint key: the checks and the
-- record (_snowflake_integer_record_start), no table changes, so no lock is taken. Raises 55000
-- if a migration of the table exists, 0A000 for target type snowflake (_snowflake_integer_target_check).
CREATE OR REPLACE FUNCTION _snowflake_integer_start(tbl regclass) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    b record;
    m record;
BEGIN
    SELECT x.phase INTO m FROM snowflake_internal.snowflake_migration x WHERE x.relation = mig;
    IF FOUND AND m.phase = 'done' THEN
        RAISE EXCEPTION '% was migrated already: its key is a snowflake bigint', mig
            USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = format('Its record stays in snowflake_internal.snowflake_migration; snowflake_migration_abort(%L) gives the key its sequence back.', mig);
    ELSIF FOUND THEN
        RAISE EXCEPTION 'a migration of % is already under way (phase %)', mig, m.phase
            USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = format('See SELECT * FROM snowflake_migration_plan(%L); snowflake_migration_abort(%L) undoes it.', mig, mig);
    END IF;
    PERFORM @extschema@._snowflake_integer_target_check(tbl);
    SELECT * INTO b FROM @extschema@._snowflake_integer_record_start(tbl) x;
    INSERT INTO snowflake_internal.snowflake_migration (relation, key_column, new_column, phase)
    VALUES (mig, b.key_col, b.key_col, 'started');
    RAISE NOTICE 'snowflake: migrating %: bigint key %, largest key %, below %, the first ID this server issues now; nothing to rewrite',
        mig, quote_ident(b.key_col), coalesce(b.old_max::text, 'none'), b.first_id
        USING HINT = format('Next: CALL snowflake_migration_backfill(%L) (nothing to do), then CALL snowflake_migration_cutover(%L).', mig, mig);
END
$fn$;

-- _snowflake_integer_backfill(tbl regclass): snowflake_migration_backfill() for a bigint key:
-- nothing to do; says so and moves the phase on. Raises 55000 when no migration is under way.
CREATE OR REPLACE FUNCTION _snowflake_integer_backfill(tbl regclass) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    m record;
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    m := @extschema@._snowflake_migration_row(tbl);
    IF m.phase = 'started' THEN
        UPDATE snowflake_internal.snowflake_migration x SET phase = 'backfilled' WHERE x.relation = mig;
    END IF;
    RAISE NOTICE 'snowflake: %: nothing to backfill: a bigint key keeps its values', mig
        USING HINT = format('Next: CALL snowflake_migration_cutover(%L).', mig);
END
$fn$;

-- _snowflake_integer_record_cut(tbl regclass): the part of a cut-over that an integer key needs,
-- bigint or widened, run under the cut-over's ACCESS EXCLUSIVE lock before anything changes: the
-- key must be as the start recorded it (55000 otherwise), its keys and sequence still below the
-- first ID this server would issue now (22003, _snowflake_integer_boundary_check); records the
-- identity sequence's settings and last value (the swap drops it; an abort creates it again) and
-- that first ID as the boundary (old keys are below it).
CREATE OR REPLACE FUNCTION _snowflake_integer_record_cut(tbl regclass) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    i record;
    k record;
    b record;
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    SELECT * INTO k FROM @extschema@._snowflake_integer_check(tbl) x;
    SELECT * INTO i FROM snowflake_internal.snowflake_migration_integer x WHERE x.relation = mig;
    IF k.key_type::text <> i.key_type OR k.seq IS DISTINCT FROM (CASE WHEN i.seq_name IS NOT NULL THEN to_regclass(format('%I.%I', i.seq_schema, i.seq_name)) END)
       OR k.ident IS DISTINCT FROM (CASE i.identity WHEN 'always' THEN 'a' WHEN 'by default' THEN 'd' ELSE '' END)::"char" THEN
        RAISE EXCEPTION 'the key of % changed since its migration started', mig
            USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = format('Now: %s, %s, sequence %s.', k.key_type::text, coalesce(k.def, 'no default'), coalesce(k.seq::text, 'none')),
            HINT = format('Undo the change, or abort the migration (SELECT snowflake_migration_abort(%L)) and start it again.', mig);
    END IF;
    SELECT * INTO b FROM @extschema@._snowflake_integer_boundary_check(tbl, k.key_col, k.seq);
    UPDATE snowflake_internal.snowflake_migration_integer x
    SET seq_start = s.seqstart, seq_increment = s.seqincrement, seq_min = s.seqmin, seq_max = s.seqmax,
        seq_cache = s.seqcache, seq_cycle = s.seqcycle, seq_last = pg_sequence_last_value(k.seq)
    FROM pg_sequence s WHERE x.relation = mig AND k.ident <> '' AND s.seqrelid = k.seq;
    UPDATE snowflake_internal.snowflake_migration_integer x SET boundary = b.first_id WHERE x.relation = mig;
END
$fn$;

-- _snowflake_integer_swap(tbl regclass): the cut-over of a bigint key, run by _snowflake_run_locked
-- under its lock: _snowflake_integer_record_cut, then drops the identity and sets the default to
-- snowflake_next(). Catalog changes only.
CREATE OR REPLACE FUNCTION _snowflake_integer_swap(tbl regclass) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    k record;
BEGIN
    PERFORM @extschema@._snowflake_integer_record_cut(tbl);
    SELECT * INTO k FROM @extschema@._snowflake_integer_key(tbl) x;
    IF k.ident <> '' THEN
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I DROP IDENTITY', @extschema@._snowflake_qname(tbl), k.key_col);
    END IF;
    EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT @extschema@.snowflake_next()', @extschema@._snowflake_qname(tbl), k.key_col);
END
$fn$;

-- _snowflake_integer_cutover(tbl, lock_wait, give_up_after, since): snowflake_migration_cutover()
-- for a bigint key, in the caller's transaction: _snowflake_integer_swap under an ACCESS
-- EXCLUSIVE lock on the table alone, taken as every swap takes its locks (_snowflake_run_locked:
-- at most lock_wait at a time, giving way to writers, retried until give_up_after, then 55P03
-- having changed nothing). Raises 55000 when no migration is under way, 22003 as the start does.
CREATE OR REPLACE FUNCTION _snowflake_integer_cutover(tbl regclass, lock_wait interval, give_up_after interval, since timestamptz)
RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    m record;
    i record;
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    m := @extschema@._snowflake_migration_row(tbl);
    IF m.phase = 'done' THEN
        RAISE NOTICE 'snowflake: % is cut over already', mig;
        RETURN;
    END IF;
    PERFORM @extschema@._snowflake_run_locked(tbl, 'integer cutover', lock_wait, give_up_after, since);
    UPDATE snowflake_internal.snowflake_migration x SET phase = 'done', cut_over_at = now() WHERE x.relation = mig;
    SELECT * INTO i FROM snowflake_internal.snowflake_migration_integer x WHERE x.relation = mig;
    RAISE NOTICE 'snowflake: % cut over: % is DEFAULT snowflake_next(); old keys are below %', mig, quote_ident(m.key_column), i.boundary
        USING HINT = CASE WHEN i.identity IS NOT NULL THEN 'The identity is dropped; snowflake_migration_abort() creates it again.'
                          WHEN i.seq_name IS NOT NULL THEN format('Sequence %s is kept for snowflake_migration_abort(); drop it when nothing calls it.', format('%I.%I', i.seq_schema, i.seq_name))
                          ELSE 'snowflake_migration_abort() drops the default again.' END;
END
$fn$;

-- _snowflake_integer_restore(tbl regclass): an abort after the cut-over of an integer key (bigint
-- or widened), run by _snowflake_run_locked under its lock: the key gets its default back: the
-- sequence's nextval(), or the identity (its sequence created again with the recorded name,
-- settings and last value), or no default. Raises 55000 when the key's default is no longer
-- snowflake_next() or its sequence was dropped, 0A000 for an identity of a key widened to the type
-- snowflake (an identity column cannot be of that type).
CREATE OR REPLACE FUNCTION _snowflake_integer_restore(tbl regclass) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    m record := @extschema@._snowflake_migration_row(tbl);
    i record;
    k record;
    seq regclass;
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    SELECT * INTO i FROM snowflake_internal.snowflake_migration_integer x WHERE x.relation = mig;
    -- The key as the cut-over left it: bigint, or snowflake for a key widened to that type.
    SELECT a.attname AS key_col, a.atttypid::regtype AS key_type, a.attidentity AS ident, pg_get_expr(ad.adbin, ad.adrelid) AS def INTO k
    FROM pg_constraint con
    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
    LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
    WHERE con.conrelid = tbl AND con.contype = 'p' AND cardinality(con.conkey) = 1;
    IF k.key_col IS NULL OR k.key_col <> m.key_column OR k.ident <> ''
       OR k.def IS DISTINCT FROM (SELECT e.extnamespace::regnamespace::text || '.snowflake_next()' FROM pg_extension e WHERE e.extname = 'snowflake') THEN
        RAISE EXCEPTION 'the key of % is no longer %.% DEFAULT snowflake_next()', mig, mig, quote_ident(m.key_column)
            USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = format('Its default now: %s.', coalesce(k.def, 'none')),
            HINT = 'Set the default you want yourself, then delete the rows of this table from snowflake_migration and snowflake_migration_integer.';
    END IF;
    IF i.identity IS NOT NULL AND k.key_type <> 'int8'::regtype THEN
        RAISE EXCEPTION 'the key of % is of type %, which cannot be an identity column again', mig, k.key_type
            USING ERRCODE = 'feature_not_supported',
            DETAIL = format('It was GENERATED %s AS IDENTITY (sequence %I.%I); identity columns are smallint, integer or bigint.', upper(i.identity), i.seq_schema, i.seq_name),
            HINT = format('Keep DEFAULT snowflake_next(), or give %s.%I a sequence default of your own (CREATE SEQUENCE, setval() past the old keys, ALTER TABLE ... ALTER COLUMN ... SET DEFAULT nextval(...)) and delete the rows of %s from snowflake_migration and snowflake_migration_integer.',
                          mig, k.key_col, mig);
    END IF;
    IF i.identity IS NOT NULL THEN
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I DROP DEFAULT', mig, k.key_col);
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I ADD GENERATED %s AS IDENTITY (SEQUENCE NAME %I.%I START WITH %s INCREMENT BY %s MINVALUE %s MAXVALUE %s CACHE %s %sCYCLE)',
                       mig, k.key_col, upper(i.identity), i.seq_schema, i.seq_name, i.seq_start, i.seq_increment,
                       i.seq_min, i.seq_max, i.seq_cache, CASE WHEN i.seq_cycle THEN '' ELSE 'NO ' END);
        IF i.seq_last IS NOT NULL THEN
            PERFORM setval(format('%I.%I', i.seq_schema, i.seq_name)::regclass, i.seq_last, true);
        END IF;
        RETURN;
    END IF;
    IF i.seq_name IS NULL THEN
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I DROP DEFAULT', mig, k.key_col);
        RETURN;
    END IF;
    seq := to_regclass(format('%I.%I', i.seq_schema, i.seq_name));
    IF seq IS NULL OR (SELECT c.relkind FROM pg_class c WHERE c.oid = seq) <> 'S' THEN
        RAISE EXCEPTION 'sequence %.% of % was dropped', quote_ident(i.seq_schema), quote_ident(i.seq_name), mig
            USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'Create the sequence again (setval() it past the old keys), then call the abort again; or keep the snowflake default.';
    END IF;
    EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT nextval(%L::regclass)', mig, k.key_col, seq::text);
END
$fn$;

-- _snowflake_integer_abort(tbl, lock_wait, give_up_after): snowflake_migration_abort() for a
-- table keyed by an integer: of a bigint key before the cut-over, only the record is deleted (the
-- tables were not changed); of any integer key after it, _snowflake_integer_restore in one
-- catalog-only transaction locked like the cut-over (_snowflake_run_locked). Snowflake IDs issued
-- meanwhile stay (the sequence's values are far below them); a widened key stays bigint. Raises
-- 55000 when there is no migration, and what _snowflake_integer_restore raises; 55P03 as the
-- cut-over.
CREATE OR REPLACE FUNCTION _snowflake_integer_abort(tbl regclass, lock_wait interval, give_up_after interval) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    m record;
    i record;
BEGIN
    m := @extschema@._snowflake_migration_row(tbl);
    SELECT * INTO i FROM snowflake_internal.snowflake_migration_integer x WHERE x.relation = mig;
    IF m.phase = 'done' THEN
        PERFORM @extschema@._snowflake_run_locked(tbl, 'integer abort', lock_wait, give_up_after, clock_timestamp());
    END IF;
    DELETE FROM snowflake_internal.snowflake_migration_step x WHERE x.relation = mig;
    DELETE FROM snowflake_internal.snowflake_migration_integer x WHERE x.relation = mig;
    DELETE FROM snowflake_internal.snowflake_migration x WHERE x.relation = mig;
    RAISE NOTICE 'snowflake: migration of % aborted%', mig,
        CASE WHEN m.phase = 'done' THEN format(': %s is %s again', quote_ident(m.key_column),
             CASE WHEN i.identity IS NOT NULL THEN format('GENERATED %s AS IDENTITY', upper(i.identity))
                  WHEN i.seq_name IS NOT NULL THEN format('DEFAULT nextval(%L)', format('%I.%I', i.seq_schema, i.seq_name))
                  ELSE 'without a default' END) ELSE '' END;
END
$fn$;
