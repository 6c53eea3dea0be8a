-- The migration toolkit for applications: a key the application holds (an old uuid or a key as it
-- is now) resolved to the row's key now, by one statement that works before, during and after the
-- cut-over (docs/migration.md, "Applications through the migration").

-- _snowflake_migration_key(tbl regclass, key text, key_type anyelement) -> anyelement: the value,
-- of key_type's type, that the key column of tbl holds now for the row the application knows by
-- key. key_type's type is the key's type as the calling statement was analysed: uuid (before the
-- cut-over) gives key itself; another type gives key itself when it is an integer in decimal (a
-- key in its current form), else key read as an old uuid and resolved by
-- _snowflake_migration_key_of_uuid. The type decides, not the catalog read here: a statement that
-- waited for the cut-over's lock is analysed again against the new columns while its snapshot
-- still sees the old catalog. Locks nothing. Raises 22P02 for a key that is neither form, and what
-- _snowflake_migration_key_of_uuid raises.
CREATE OR REPLACE FUNCTION _snowflake_migration_key(tbl regclass, key text, key_type anyelement)
RETURNS anyelement LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    result ALIAS FOR $0;
BEGIN
    IF pg_typeof(key_type) = 'uuid'::regtype OR key ~ '^\s*[+-]?[0-9]{1,19}\s*$' THEN
        result := key;  -- read as the key's type, as a parameter compared with the key would be
    ELSE
        result := @extschema@._snowflake_migration_key_of_uuid(tbl, CAST(key AS uuid));
    END IF;
    RETURN result;
END
$fn$;

-- _snowflake_migration_key_of_uuid(tbl regclass, old uuid) -> text: the key, as text, of the row of
-- tbl whose kept uuid column <key>_uuid holds old (through its unique index), NULL when none does.
-- The key is the primary-key column that has a uuid column <column>_uuid beside it. VOLATILE, so
-- that its reads take a snapshot of their own: they see a cut-over that committed while the
-- calling statement waited for its lock. SECURITY INVOKER: the caller reads tbl with its own
-- privileges and policies (SELECT on the key and on <key>_uuid). Locks nothing beyond that read.
-- Raises 42P10 for a table without a primary key, 42703 (with a hint) when no <key>_uuid exists.
CREATE OR REPLACE FUNCTION _snowflake_migration_key_of_uuid(tbl regclass, old uuid) RETURNS text
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    k record;
    found_key text;
BEGIN
    SELECT a.attname, kept.attname AS kept INTO k
    FROM pg_constraint con
    CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY u(att, i)
    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = u.att
    LEFT JOIN pg_attribute kept ON kept.attrelid = con.conrelid AND kept.attname = a.attname || '_uuid'
                               AND kept.atttypid = 'uuid'::regtype AND NOT kept.attisdropped
    WHERE con.conrelid = tbl AND con.contype = 'p'
    ORDER BY kept.attname IS NOT NULL DESC, u.i
    LIMIT 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'table % has no primary key', tbl::text USING ERRCODE = 'invalid_column_reference';
    ELSIF k.kept IS NULL THEN
        RAISE EXCEPTION 'column %_uuid of % does not exist: the old uuid % cannot be resolved', k.attname, tbl::text, old
            USING ERRCODE = 'undefined_column',
            HINT = 'The kept uuid column was dropped (or the table was never migrated from a uuid key): only keys in their current form resolve.';
    END IF;
    EXECUTE format('SELECT CAST(%I AS pg_catalog.text) FROM %s WHERE %I OPERATOR(pg_catalog.=) $1', k.attname, tbl::text, k.kept)
        INTO found_key USING old;
    RETURN found_key;
END
$fn$;

-- snowflake_migration_key(tbl text, key text|uuid, key_type uuid|bigint|integer|snowflake): the
-- call forms, each with exact argument types (a function planted elsewhere on the path is then
-- never a better match, see call_forms.sql), without SET search_path so that the table's name
-- resolves on the caller's search_path (nothing else in them is looked up by name);
-- key_type a typed NULL of the column compared, e.g.
--     WHERE id = snowflake_migration_key('accounts', $1, (NULL::accounts).id)
-- PostgreSQL resolves (NULL::accounts).id, and so the overload, when it analyses the statement, and
-- analyses a prepared statement again after the cut-over: the same statement text compares uuids
-- before it and bigints after it, through the key's index either way, with parameters and results
-- of the same types. Raises what _snowflake_migration_key raises, and 42P01 for an unknown table.
DO $forms$
DECLARE
    kt text;
    vt text;
BEGIN
    FOREACH kt IN ARRAY ARRAY['text', 'uuid'] LOOP
        FOREACH vt IN ARRAY ARRAY['uuid', 'bigint', 'integer', '@extschema@.snowflake'] LOOP
            EXECUTE pg_catalog.format(
                'CREATE OR REPLACE FUNCTION @extschema@.snowflake_migration_key(tbl text, key %s, key_type %s) RETURNS %s '
                'LANGUAGE sql STABLE '
                'AS $$ SELECT @extschema@._snowflake_migration_key(CAST($1 AS pg_catalog.regclass), CAST($2 AS pg_catalog.text), $3) $$',
                kt, vt, vt);
            EXECUTE pg_catalog.format(
                'COMMENT ON FUNCTION @extschema@.snowflake_migration_key(text, %s, %s) IS %L', kt, vt,
                'the key a row has now for a key an application holds (an old uuid or the current key), before and after the cut-over');
        END LOOP;
    END LOOP;
END
$forms$;
