-- The migration toolkit, phase 4: foreign keys on the twins, then the swap in one short transaction.

-- snowflake_migration_cutover(tbl regclass, lock_wait interval, give_up_after interval): phase 4,
-- a procedure: CALL it outside a transaction block. Adds the foreign keys on the bigint columns
-- NOT VALID and validates them (each its own transaction, writes go on), then swaps in one
-- transaction of catalog changes only: primary key, UNIQUE constraints and foreign keys move to
-- the bigint columns, which take the old names; the uuid columns stay as <column>_uuid with a
-- unique index; views over the key are created again and policies altered onto the new columns;
-- every session's cached plans are invalidated so that PL/pgSQL code replans against the new
-- columns. Every statement is computed from the catalog when it runs. On a subscriber's copy
-- (src/sql/migration/replica.sql) it waits before the swap until its subscription has stopped at
-- the first change in the publisher's new shape, and enables it again in the swap's transaction.
-- Locks: each table in one order, the referenced table first (as a writer that inserts a parent
-- and then its children does), each attempt waiting at most lock_wait (lock_timeout) so that
-- writers queue behind it no longer than that; an attempt that times out or deadlocks is rolled
-- back (nothing changed) and retried with back-off until give_up_after has passed, then 55P03
-- (nothing changed by the swap: call it again). The ID map is deleted after the swap commits.
-- Raises 42501 for a table the caller does not own, 55000 before the backfill is done, while an
-- index it needs is missing or invalid, or when the schema changed since the start; 23000 for a
-- twin that is not the new id of its parent (_snowflake_cutover_check_twins); 0A000 for an
-- object over the key it cannot carry; 25001 inside a transaction block.
-- _snowflake_cutover_prepare(tbl regclass) -> boolean: the checks before a cut-over: the
-- caller, the phase, the plan, the indexes. False when it is cut over already.
CREATE OR REPLACE FUNCTION _snowflake_cutover_prepare(tbl regclass) RETURNS boolean
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    m record;
    missing text;
    refused text;
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    m := @extschema@._snowflake_migration_row(tbl);
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
    WHERE g.kind IN ('index', 'index_only')
      AND NOT coalesce((SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass(g.object)), false);
    -- Objects created since the start that the cut-over could not carry.
    SELECT string_agg(format('%s: %s', d.object, d.action), E'\n' ORDER BY d.object) INTO refused
    FROM @extschema@._snowflake_migration_dependents_of(tbl) d WHERE d.refused;
    IF refused IS NOT NULL THEN
        RAISE EXCEPTION 'objects that use the key of % or its references cannot be carried through the cut-over', mig
            USING ERRCODE = 'feature_not_supported', DETAIL = refused,
            HINT = 'Drop them, call it again, and create them after the cut-over; or abort the migration.';
    END IF;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'indexes the cut-over of % needs are missing or invalid', mig
            USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = missing,
            HINT = format('Run them outside a transaction block (drop an invalid one first): SELECT statement FROM snowflake_migration_plan(%L) WHERE phase = ''index'' AND status <> ''done'' \gexec', mig);
    END IF;
    RETURN true;
END
$fn$;

-- _snowflake_cutover_check_twins(tbl regclass): proves, for every referencing column, that each
-- row's twin is the new id of the parent its uuid names (NULL where the uuid is NULL or names no
-- row), before the swap makes the twins the references. One scan of each referencing table,
-- under ACCESS SHARE; rows written meanwhile pass through the fill trigger, which computes the
-- twin from the uuid. A twin written past the trigger (session_replication_role = replica, a
-- disabled trigger) would move its row to another parent: raises 23000 naming the first rows
-- and the statement that computes them again. Nothing is changed.
CREATE OR REPLACE FUNCTION _snowflake_cutover_check_twins(tbl regclass) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    ctx record;
    c @extschema@._snowflake_migrated_column;
    n bigint;
    examples text;
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    SELECT * INTO ctx FROM @extschema@._snowflake_migration_context(tbl, true);
    -- A widened key's twins are proved equal to the old values by their validated CHECKs.
    FOREACH c IN ARRAY ctx.cols LOOP
        CONTINUE WHEN c.is_key OR @extschema@._snowflake_widens(tbl);
        EXECUTE format($q$SELECT count(*), string_agg(format('%%s = %%s: %%s = %%s, the new id of that parent is %%s', %1$L, coalesce(w.k::text, 'NULL'),
                                                      %2$L, coalesce(w.t::text, 'NULL'), coalesce(w.p::text, 'none')), E'\n') FILTER (WHERE w.i <= 5)
                          FROM (SELECT c.%1$I AS k, c.%2$I AS t, p.%3$I AS p, row_number() OVER () AS i
                                FROM %4$s c LEFT JOIN %5$s p ON p.%6$I OPERATOR(pg_catalog.=) c.%1$I%7$s
                                WHERE c.%2$I IS DISTINCT FROM p.%3$I) w$q$,
                       c.col, c.twin, ctx.new_col, c.qname, ctx.parent_q, ctx.key_col, @extschema@._snowflake_match(c, 'p', 'c'))
        INTO n, examples;
        IF n > 0 THEN
            RAISE EXCEPTION '% rows of % carry in % another id than the new id of the parent % names', n, c.qname, c.twin, c.col
                USING ERRCODE = 'integrity_constraint_violation',
                DETAIL = examples || CASE WHEN n > 5 THEN format(E'\n... and %s more', n - 5) ELSE '' END,
                HINT = format('The fill trigger computes the twin from the uuid at every write (unless bypassed, e.g. with session_replication_role = replica): %s; then call the cut-over again.',
                              format('UPDATE %1$s c SET %2$I = NULL WHERE c.%2$I IS DISTINCT FROM (SELECT p.%3$I FROM %4$s p WHERE p.%5$I = c.%6$I%7$s)',
                                     c.qname, c.twin, ctx.new_col, ctx.parent_q, ctx.key_col, c.col, @extschema@._snowflake_match(c, 'p', 'c')));
        END IF;
    END LOOP;
END
$fn$;

-- _snowflake_cutover_constrain_next(tbl regclass) -> boolean: the next foreign key on the bigint
-- columns (added NOT VALID, then validated: each its own transaction, writes go on), computed
-- now. False when all are there (the phase is then 'constrained').
CREATE OR REPLACE FUNCTION _snowflake_cutover_constrain_next(tbl regclass, lock_wait interval, give_up_after interval, since timestamptz)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    s record;
    attempt integer := 0;
    caller_lock_timeout text := current_setting('lock_timeout');
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    SELECT g.step, g.statement, g.target INTO s
    FROM @extschema@._snowflake_migration_steps(tbl, true) g
    JOIN snowflake_internal.snowflake_migration_step x ON x.relation = mig AND x.step = g.step
    WHERE g.phase = 'constrain' AND NOT x.finished ORDER BY g.step LIMIT 1;
    IF NOT FOUND THEN
        UPDATE snowflake_internal.snowflake_migration x SET phase = 'constrained' WHERE x.relation = mig;
        RETURN false;
    END IF;
    LOOP
        BEGIN
            -- ADD FOREIGN KEY takes SHARE ROW EXCLUSIVE on both tables, the referencing one
            -- first: taken here beforehand, referenced table first, as writers do (VALIDATE
            -- takes nothing that blocks writers).
            IF s.statement NOT LIKE '% VALIDATE CONSTRAINT %' THEN
                PERFORM @extschema@._snowflake_lock_all(ARRAY[mig, s.target], 'SHARE ROW EXCLUSIVE', lock_wait);
            END IF;
            PERFORM set_config('lock_timeout', @extschema@._snowflake_ms(lock_wait), true);
            EXECUTE s.statement;
            PERFORM set_config('lock_timeout', caller_lock_timeout, true);
            EXIT;
        EXCEPTION WHEN lock_not_available OR deadlock_detected THEN
            attempt := attempt + 1;
            PERFORM @extschema@._snowflake_give_way(mig, 'the cut-over (' || s.statement || ')', SQLERRM, attempt, lock_wait, give_up_after, since);
        END;
    END LOOP;
    UPDATE snowflake_internal.snowflake_migration_step x SET finished = true WHERE x.relation = mig AND x.step = s.step;
    RETURN true;
END
$fn$;

-- _snowflake_cutover_swap(tbl regclass, lock_wait, give_up_after, since): the swap, in the
-- caller's transaction: catalog changes only, computed now, under ACCESS EXCLUSIVE locks taken
-- referenced table first; each attempt in a subtransaction that gives way after lock_wait (see
-- _snowflake_give_way). Then invalidates every session's cached plans: creating and dropping an
-- operator (in pg_temp) makes every backend of the database reset its plan cache when it reads
-- the invalidation, as any change to pg_operator does, so PL/pgSQL statements written against
-- the uuid columns are planned again against the bigint ones at their next execution.
CREATE OR REPLACE FUNCTION _snowflake_cutover_swap(tbl regclass, lock_wait interval, give_up_after interval, since timestamptz)
RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    PERFORM @extschema@._snowflake_run_locked(tbl, 'cutover', lock_wait, give_up_after, since);
    UPDATE snowflake_internal.snowflake_migration_step x SET finished = true WHERE x.relation = mig;
    UPDATE snowflake_internal.snowflake_migration x SET phase = 'done', cut_over_at = now() WHERE x.relation = mig;
    BEGIN
        CREATE OPERATOR pg_temp.@#@#@ (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = pg_catalog.int8eq);
        DROP OPERATOR pg_temp.@#@#@ (bigint, bigint);
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE WARNING 'snowflake: %: could not invalidate the plans cached by other sessions (%)', mig, SQLERRM
            USING HINT = 'Sessions opened before the cut-over that run PL/pgSQL code over these tables must run DISCARD PLANS (or reconnect).';
    END;
END
$fn$;

-- _snowflake_give_way(mig, what, why, attempt, lock_wait, give_up_after, since): after an attempt
-- that timed out waiting for a lock or deadlocked (and was rolled back): raises 55P03 once
-- give_up_after has passed since the call began; otherwise sleeps a random time of up to
-- lock_wait * 2^attempt (at most 1 s) so that the writers it made wait get through first.
CREATE OR REPLACE FUNCTION _snowflake_give_way(mig text, what text, why text, attempt integer, lock_wait interval,
                                               give_up_after interval, since timestamptz) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF clock_timestamp() - since >= give_up_after THEN
        RAISE EXCEPTION 'snowflake: % could not take the locks of % within %', what, mig, give_up_after
            USING ERRCODE = 'lock_not_available',
            DETAIL = format('%s attempts, each waiting at most %s, gave way to other transactions; the last: %s', attempt, lock_wait, why),
            HINT = format('Nothing changed by %s. Call it again (it resumes), at a quieter time or with a larger give_up_after.', what);
    END IF;
    RAISE NOTICE 'snowflake: %: gave way to other transactions (%), attempt %', mig, why, attempt;
    PERFORM pg_sleep(least(1.0, extract(epoch FROM lock_wait)::float8 * power(2, least(attempt, 10))) * random());
END
$fn$;

-- _snowflake_locked_tables(tbl regclass, job text) -> text[]: the tables a job of
-- _snowflake_run_locked() locks (see _snowflake_locked_statements), computed before it takes
-- them: the referenced table first, then the referencing ones by name, as writers lock them.
-- Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_locked_tables(tbl regclass, job text) RETURNS text[]
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN job LIKE 'integer %' THEN ARRAY[@extschema@._snowflake_qname(tbl)]
                ELSE ARRAY(SELECT c.qname FROM unnest((@extschema@._snowflake_migration_context(tbl, job <> 'start')).cols) c
                           GROUP BY c.qname ORDER BY c.qname <> @extschema@._snowflake_qname(tbl), c.qname) END
$$;

-- _snowflake_locked_statements(tbl regclass, job text) -> text[]: what a job of
-- _snowflake_run_locked() runs, computed from the catalog now, under its locks: 'start' (the
-- twins, triggers and grants, then the probe of what the cut-over will do), 'cutover' (the swap),
-- 'abort' (every undo, IF EXISTS, last step first), 'integer cutover' and 'integer abort' (a
-- bigint key's default, src/sql/migration/integer.sql). The context is computed once and only
-- the phases the job runs: this runs while writers wait behind the locks, so its catalog
-- queries take generic plans (plan_cache_mode), planned once per session, not again at each
-- attempt. Locks nothing itself. Raises 22023 for another job.
CREATE OR REPLACE FUNCTION _snowflake_locked_statements(tbl regclass, job text) RETURNS text[]
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    ctx @extschema@._snowflake_migration_plan_context;
BEGIN
    IF job LIKE 'integer %' THEN
        RETURN ARRAY[format('SELECT @extschema@.%I(%L::regclass)',
                            CASE job WHEN 'integer cutover' THEN '_snowflake_integer_swap' ELSE '_snowflake_integer_restore' END, mig)];
    ELSIF job NOT IN ('start', 'cutover', 'abort') THEN
        RAISE EXCEPTION 'no such job: %', job USING ERRCODE = 'invalid_parameter_value';
    END IF;
    ctx := @extschema@._snowflake_migration_context(tbl, job <> 'start');
    RETURN CASE job
        WHEN 'start' THEN
            -- (the whole plan was computed by the start just before, raising its errors)
            ARRAY(SELECT g.statement FROM @extschema@._snowflake_migration_steps_start(ctx) g ORDER BY g.step)
            -- Column privileges of each migrated column reach its twin at once: a role that may
            -- SELECT * (every column granted) or INSERT still may while the twins exist.
            || ARRAY(SELECT g.statement FROM unnest(ctx.cols) c, @extschema@._snowflake_column_grants(c.rel, c.att, c.twin) g)
            || format('SELECT @extschema@._snowflake_migration_probe_or_refuse(%L::regclass)', mig)
        WHEN 'cutover' THEN
            ARRAY(SELECT g.statement FROM @extschema@._snowflake_migration_steps_cutover(ctx) g ORDER BY g.step)
            -- PostgreSQL 18's NOT NULL constraints keep their names (not in the plan: none before 18)
            || ARRAY(SELECT format('SELECT @extschema@._snowflake_not_null_carry(%L::regclass, %L, %L)', n.rel, n.col, n.conname)
                     FROM @extschema@._snowflake_not_null_names(ctx.cols) n)
        ELSE
            -- A partitioned table's index first: its partitions' indexes, once attached, go with it.
            ARRAY(SELECT g.undo FROM @extschema@._snowflake_migration_plan_steps(ctx) g WHERE g.undo IS NOT NULL
                  ORDER BY g.kind = 'index_only' DESC, g.step DESC)
    END;
END
$fn$;

-- _snowflake_not_null_names(cols) -> (rel, col, conname): the NOT NULL constraints of the
-- migrated columns cols (a migration's context) as they are now. PostgreSQL 18 records NOT NULL as a
-- constraint named after its table and column (<table>_<column>_not_null; none before 18). The
-- swap's SET NOT NULL names the twin's after the twin (users_id_snowflake_not_null);
-- _snowflake_not_null_carry gives it the old column's name once the old constraint is gone, as a
-- table created with the new columns has it. A partition's NOT NULL is inherited: it cannot be
-- renamed but takes its parent's new name with it (as a partition created with PARTITION OF has
-- it), so only the tables themselves are listed. Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_not_null_names(cols @extschema@._snowflake_migrated_column[])
RETURNS TABLE (rel regclass, col name, conname name)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT c.rel::regclass, c.col::name, con.conname
    FROM unnest(cols) c
    JOIN pg_constraint con ON con.conrelid = c.rel AND con.contype = 'n' AND con.conkey = ARRAY[c.att] AND con.coninhcount = 0
    ORDER BY c.qname, c.col
$$;

-- _snowflake_not_null_carry(rel regclass, col name, to_name name): the swap's last statements, one
-- per row of _snowflake_not_null_names computed before it: renames the NOT NULL constraint that
-- column col of rel has now (the twin's, under the old column's name) to to_name (its partitions'
-- with it), unless it is named so already or to_name is taken. Catalog change only.
CREATE OR REPLACE FUNCTION _snowflake_not_null_carry(rel regclass, col name, to_name name) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    cur name;
BEGIN
    SELECT con.conname INTO cur
    FROM pg_constraint con JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
    WHERE con.conrelid = rel AND con.contype = 'n' AND con.coninhcount = 0 AND a.attname = col AND NOT a.attisdropped;
    IF cur IS NULL OR cur = to_name OR EXISTS (SELECT 1 FROM pg_constraint x WHERE x.conrelid = rel AND x.conname = to_name) THEN
        RETURN;
    END IF;
    EXECUTE format('ALTER TABLE %s RENAME CONSTRAINT %I TO %I', @extschema@._snowflake_qname(rel), cur, to_name);
END
$fn$;

-- _snowflake_run_locked(tbl, job, lock_wait, give_up_after, since): the one way the migration
-- makes catalog changes while writers run. Takes the job's locks (_snowflake_locked_tables:
-- ACCESS EXCLUSIVE through _snowflake_lock_all, the referenced table first), then computes its
-- statements from the catalog (_snowflake_locked_statements) and runs them, in the caller's
-- transaction; each attempt is a subtransaction that gives way after lock_wait and is rolled
-- back and retried with back-off (_snowflake_give_way) until give_up_after, then 55P03 having
-- changed nothing. The abort's
-- statements run quietly (IF EXISTS notices); an error of a cut-over statement is raised again
-- with its SQLSTATE, naming the statement. The caller's lock_timeout is set back afterwards.
CREATE OR REPLACE FUNCTION _snowflake_run_locked(tbl regclass, job text, lock_wait interval, give_up_after interval, since timestamptz)
RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    what text := 'the ' || CASE WHEN job LIKE 'integer %' THEN substr(job, 9) ELSE job END;
    st text;
    attempt integer := 0;
    caller_lock_timeout text := current_setting('lock_timeout');
    caller_messages text := current_setting('client_min_messages');
    state text;
    msg text;
    detail text;
BEGIN
    what := replace(what, 'the cutover', 'the cut-over');
    LOOP
        BEGIN
            PERFORM @extschema@._snowflake_lock_all(@extschema@._snowflake_locked_tables(tbl, job), 'ACCESS EXCLUSIVE', lock_wait);
            PERFORM set_config('lock_timeout', @extschema@._snowflake_ms(lock_wait), true);
            FOREACH st IN ARRAY @extschema@._snowflake_locked_statements(tbl, job) LOOP
                IF job = 'abort' THEN
                    PERFORM set_config('client_min_messages', 'warning', true);
                END IF;
                BEGIN
                    EXECUTE st;
                EXCEPTION WHEN lock_not_available OR deadlock_detected THEN
                    RAISE;
                WHEN OTHERS THEN
                    IF job <> 'cutover' THEN RAISE; END IF;
                    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
                    RAISE EXCEPTION 'the cut-over of % failed: %', mig, msg
                        USING ERRCODE = state, DETAIL = concat_ws(E'\n', nullif(detail, ''), 'At: ' || st),
                              HINT = 'Nothing changed. Fix what the statement needs (a view or policy over the key that does not work with bigint must be changed), then call it again; or abort.';
                END;
            END LOOP;
            EXIT;
        EXCEPTION WHEN lock_not_available OR deadlock_detected THEN
            PERFORM set_config('client_min_messages', caller_messages, true);
            attempt := attempt + 1;
            PERFORM @extschema@._snowflake_give_way(mig, what, SQLERRM, attempt, lock_wait, give_up_after, since);
        END;
    END LOOP;
    PERFORM set_config('client_min_messages', caller_messages, true);
    PERFORM set_config('lock_timeout', caller_lock_timeout, true);
END
$fn$;

-- _snowflake_lock_all(tables text[], mode text, lock_wait interval): locks the tables (canonical
-- names, the referenced table first) in mode within the current transaction, the way that
-- stalls writers least. First without queueing: every millisecond for up to lock_wait, all of
-- them NOWAIT at once, which only succeeds at an instant when no transaction holds any of them
-- (writers never wait behind this). If that never happens, once in order, queueing: the first
-- table waits at most lock_wait; the others 20 ms, because a writer that locked a referencing
-- table first and waits for the referenced one would deadlock with this: it gives way at once.
-- Raises lock_not_available (55P03) when that fails too; the caller rolls back and retries.
CREATE OR REPLACE FUNCTION _snowflake_lock_all(tables text[], mode text, lock_wait interval) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    t text;
    deadline timestamptz := clock_timestamp() + lock_wait;
    list text := (SELECT string_agg(@extschema@._snowflake_qname(x::regclass), ', ' ORDER BY o) FROM unnest(tables) WITH ORDINALITY u(x, o));
BEGIN
    IF mode NOT IN ('ACCESS EXCLUSIVE', 'SHARE ROW EXCLUSIVE') THEN
        RAISE EXCEPTION 'lock mode % is not one the migration takes', mode USING ERRCODE = 'invalid_parameter_value';
    END IF;
    LOOP
        BEGIN
            EXECUTE format('LOCK TABLE %s IN %s MODE NOWAIT', list, mode);
            RETURN;
        EXCEPTION WHEN lock_not_available THEN
            EXIT WHEN clock_timestamp() >= deadline;
            PERFORM pg_sleep(0.001);
        END;
    END LOOP;
    PERFORM set_config('lock_timeout', @extschema@._snowflake_ms(lock_wait), true);
    FOREACH t IN ARRAY tables LOOP
        EXECUTE format('LOCK TABLE %s IN %s MODE', @extschema@._snowflake_qname(t::regclass), mode);
        PERFORM set_config('lock_timeout', @extschema@._snowflake_ms(least(lock_wait, interval '20 ms')), true);
    END LOOP;
END
$fn$;

-- _snowflake_ms(i interval) -> text: an interval as whole milliseconds, for lock_timeout.
CREATE OR REPLACE FUNCTION _snowflake_ms(i interval) RETURNS text
LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
    SELECT greatest(1, ceil(extract(epoch FROM i) * 1000))::bigint::text
$$;

-- _snowflake_cutover_finish(tbl regclass): after the swap has committed: validates the foreign keys
-- it added NOT VALID (_snowflake_cutover_validate), deletes the ID map (no
-- work for the swap's locks) and says what happened.
CREATE OR REPLACE FUNCTION _snowflake_cutover_finish(tbl regclass) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    m record;
    k record;
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    SELECT * INTO m FROM snowflake_internal.snowflake_migration x WHERE x.relation = mig;
    DELETE FROM snowflake_internal.snowflake_migration_map x WHERE x.relation = mig;
    PERFORM @extschema@._snowflake_cutover_validate(tbl);
    SELECT a.atttypid INTO k FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = m.key_column AND NOT a.attisdropped;
    IF @extschema@._snowflake_widens(tbl) THEN
        RAISE NOTICE 'snowflake: % cut over: % is a % primary key DEFAULT snowflake_next(), with its old values; old keys are below %', mig,
            quote_ident(m.key_column), format_type(k.atttypid, NULL), (SELECT i.boundary FROM snowflake_internal.snowflake_migration_integer i WHERE i.relation = mig)
            USING HINT = format('The referencing columns are %s too. The sequence, if any, is kept for snowflake_migration_abort(); drop it when nothing calls it.',
                                format_type(k.atttypid, NULL));
        RETURN;
    END IF;
    RAISE NOTICE 'snowflake: % cut over: % is the % primary key; the uuids stay in %', mig,
        quote_ident(m.key_column),
        (SELECT CASE WHEN a.atttypid = '@extschema@.snowflake'::regtype THEN 'snowflake' ELSE 'bigint' END
         FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = m.key_column),
        quote_ident(m.key_column || '_uuid');
END
$fn$;

-- _snowflake_cutover_validate(tbl regclass): validates the foreign keys referencing tbl that the
-- swap added NOT VALID (those referencing a partitioned table, whose key becomes unique only in
-- the swap; their rows were proved by _snowflake_cutover_check_twins): a scan of each referencing
-- table under SHARE UPDATE EXCLUSIVE, which writers do not wait for.
CREATE OR REPLACE FUNCTION _snowflake_cutover_validate(tbl regclass) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    fk record;
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    FOR fk IN SELECT con.conname, @extschema@._snowflake_qname(con.conrelid::regclass) AS q FROM pg_constraint con
              WHERE con.contype = 'f' AND con.confrelid = tbl AND con.conparentid = 0 AND NOT con.convalidated ORDER BY 2, 1
    LOOP
        EXECUTE format('ALTER TABLE %s VALIDATE CONSTRAINT %I', fk.q, fk.conname);
    END LOOP;
END
$fn$;

CREATE OR REPLACE PROCEDURE snowflake_migration_cutover(tbl regclass, lock_wait interval DEFAULT '100 ms',
                                                       give_up_after interval DEFAULT '10 min')
LANGUAGE plpgsql AS $fn$
-- No SET clause (it would forbid COMMIT): only schema-qualified calls of the extension's own
-- functions, which pin their search_path, and COMMITs between them.
DECLARE
    since timestamptz := pg_catalog.clock_timestamp();
    replica boolean;
BEGIN
    PERFORM @extschema@._snowflake_outside_block('snowflake_migration_cutover', tbl);
    COMMIT;
    -- Tables keyed by integers: src/sql/migration/integer.sql.
    IF @extschema@._snowflake_integer_migration(tbl) THEN
        PERFORM @extschema@._snowflake_integer_cutover(tbl, lock_wait, give_up_after, since);
        COMMIT;
        RETURN;
    END IF;
    IF NOT @extschema@._snowflake_cutover_prepare(tbl) THEN
        PERFORM @extschema@._snowflake_cutover_validate(tbl);  -- what an interrupted call left
        COMMIT;
        RETURN;
    END IF;
    COMMIT;
    LOOP
        EXIT WHEN NOT @extschema@._snowflake_cutover_constrain_next(tbl, lock_wait, give_up_after, since);
        COMMIT;
    END LOOP;
    COMMIT;
    PERFORM @extschema@._snowflake_cutover_check_twins(tbl);
    COMMIT;
    -- A subscriber's copy swaps where its subscription stops: at the first change in the
    -- publisher's new shape, every change before it applied (src/sql/migration/replica.sql).
    replica := @extschema@._snowflake_migration_replica(tbl, true);
    IF replica THEN
        PERFORM @extschema@._snowflake_replica_arm(tbl);
        COMMIT;
        WHILE NOT @extschema@._snowflake_replica_stopped(tbl, give_up_after, since) LOOP
            PERFORM pg_catalog.pg_sleep(0.01);
            COMMIT;
        END LOOP;
    END IF;
    PERFORM @extschema@._snowflake_cutover_swap(tbl, lock_wait, give_up_after, since);
    IF replica THEN
        PERFORM @extschema@._snowflake_replica_resume(tbl);
    END IF;
    COMMIT;
    PERFORM @extschema@._snowflake_cutover_finish(tbl);
    COMMIT;
END
$fn$;

COMMENT ON PROCEDURE snowflake_migration_cutover(regclass, interval, interval) IS 'migration phase 4: swap primary and foreign keys to the snowflake keys in one short transaction';
