-- The migration toolkit, phase 4: foreign keys on the twins, then the swap in one short transaction.

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

COMMENT ON PROCEDURE snowflake_migration_cutover(regclass) IS 'migration phase 4: swap primary and foreign keys to the snowflake keys in one short transaction';
