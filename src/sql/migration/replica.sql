-- The migration toolkit on a logical-replication subscriber: its copy of a table takes the same
-- columns and keys as the publisher's, with the IDs the publisher gives (docs/migration.md#logical-replication).

-- _snowflake_replica_subscriptions(tbl regclass) -> setof oid: the subscriptions of this database
-- that feed tbl or one of its partitions (pg_subscription_rel: a publication that does not
-- publish through the partition root feeds the partitions), each once. Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_replica_subscriptions(tbl regclass) RETURNS SETOF oid
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT DISTINCT r.srsubid FROM pg_subscription_rel r
    WHERE r.srrelid = tbl OR r.srrelid IN (SELECT t.relid FROM pg_partition_tree(tbl) t)
$$;

-- _snowflake_migration_replica(tbl regclass, started boolean) -> boolean: whether the migration of
-- tbl is a subscriber's: the twins get no default and no fill trigger (the publisher sends every
-- twin; the apply worker runs no ordinary trigger), the backfill numbers nothing, and the key gets
-- DEFAULT snowflake_next() only at the cut-over. Before the start: a subscription of this
-- database feeds tbl or a partition of it (_snowflake_replica_subscriptions). Once started: the
-- start made the twin of the key without a default (so the answer cannot change under a
-- migration), unless it widens an integer key. Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_migration_replica(tbl regclass, started boolean) RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    -- A widened integer key's twin has no default either (src/sql/migration/integer.sql).
    IF @extschema@._snowflake_widens(tbl) THEN
        RETURN false;
    ELSIF started THEN
        RETURN EXISTS (SELECT 1 FROM snowflake_internal.snowflake_migration m
                       JOIN pg_attribute a ON a.attrelid = tbl AND a.attname = m.new_column AND NOT a.attisdropped
                       WHERE m.relation = @extschema@._snowflake_qname(tbl) AND m.phase <> 'done' AND NOT a.atthasdef);
    END IF;
    RETURN EXISTS (SELECT 1 FROM @extschema@._snowflake_replica_subscriptions(tbl));
END
$fn$;

-- _snowflake_replica_backfill_prepare(tbl regclass): the backfill of a subscriber's copy, which
-- must never number a row itself: every row must already carry the twins the publisher's
-- backfill gave it (replicated). Raises 55000 with the count of rows still without them (the
-- publisher's backfill has not run, or this subscriber has not applied it yet); otherwise marks
-- the batches as done, so that the backfill only adds and validates its CHECK constraints.
-- Reads each table once (ACCESS SHARE); writes no row of them.
CREATE OR REPLACE FUNCTION _snowflake_replica_backfill_prepare(tbl regclass) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    c @extschema@._snowflake_migrated_column;
    n bigint;
    missing text[] := '{}';
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    FOREACH c IN ARRAY (SELECT x.cols FROM @extschema@._snowflake_migration_context(tbl, true) x) LOOP
        EXECUTE format('SELECT count(*) FROM %s WHERE NOT (%s%I IS NOT NULL)', c.qname, coalesce(c.unchecked || ' OR ', ''), c.twin) INTO n;
        IF n > 0 THEN
            missing := missing || format('%s rows of %s without %s', n, c.qname, quote_ident(c.twin));
        END IF;
    END LOOP;
    IF cardinality(missing) > 0 THEN
        RAISE EXCEPTION '% is a subscriber''s copy, and rows of it have not received their snowflake IDs from the publisher', mig
            USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = array_to_string(missing, E'\n'),
            HINT = 'A subscriber never numbers rows itself. Run the backfill on the publisher, wait until this subscription has applied the publisher''s position after it (docs/migration.md#logical-replication), then call it again.';
    END IF;
    UPDATE snowflake_internal.snowflake_migration x SET map_rows = 0 WHERE x.relation = mig;
    UPDATE snowflake_internal.snowflake_migration_step x SET total = 0
    WHERE x.relation = mig AND x.kind IN ('parent_batches', 'child_batches');
    RAISE NOTICE 'snowflake: %: a subscriber''s copy: every row carries the IDs the publisher gave it; adding the constraints', mig;
END
$fn$;

-- _snowflake_replica_subscription(tbl regclass) -> oid: the subscription of this database that
-- feeds tbl or its partitions (NULL if none does any more). Raises 0A000 when
-- several do (their publishers would cut over at different points), 42501 when the caller may not
-- alter it (the cut-over stops and restarts it). Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_replica_subscription(tbl regclass) RETURNS oid
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    subs oid[];
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    subs := ARRAY(SELECT @extschema@._snowflake_replica_subscriptions(tbl));
    IF cardinality(subs) > 1 THEN
        RAISE EXCEPTION '% is fed by % subscriptions', @extschema@._snowflake_qname(tbl), cardinality(subs)
            USING ERRCODE = 'feature_not_supported',
            HINT = 'A subscriber''s copy is cut over where its one subscription stops; several publishers would cut over at different points.';
    END IF;
    IF subs[1] IS NOT NULL AND NOT (SELECT pg_has_role(s.subowner, 'USAGE') FROM pg_subscription s WHERE s.oid = subs[1]) THEN
        RAISE EXCEPTION 'must be owner of subscription % to cut over its copy of %', (SELECT s.subname FROM pg_subscription s WHERE s.oid = subs[1]),
            @extschema@._snowflake_qname(tbl) USING ERRCODE = 'insufficient_privilege',
            HINT = 'The cut-over of a subscriber''s copy stops the subscription at the publisher''s cut-over and starts it again: call it as the owner of both.';
    END IF;
    RETURN subs[1];
END
$fn$;

-- _snowflake_replica_arm(tbl regclass): before the swap of a subscriber's copy: its subscription
-- is set to stop at its first error (disable_on_error), which the first change in the
-- publisher's new shape then is; the previous setting is kept for _snowflake_replica_resume() in
-- the session. Takes the subscription's lock briefly (ALTER SUBSCRIPTION).
CREATE OR REPLACE FUNCTION _snowflake_replica_arm(tbl regclass) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    sub record;
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    SELECT s.subname, s.subenabled, s.subdisableonerr INTO sub
    FROM pg_subscription s WHERE s.oid = @extschema@._snowflake_replica_subscription(tbl);
    IF NOT FOUND THEN
        RETURN;
    END IF;
    PERFORM set_config('snowflake_migration.disable_on_error', sub.subdisableonerr::text, false);
    IF NOT sub.subdisableonerr THEN
        EXECUTE format('ALTER SUBSCRIPTION %I SET (disable_on_error = true)', sub.subname);
    END IF;
    RAISE NOTICE 'snowflake: %: waiting for subscription % to stop at the first change in the publisher''s new shape', @extschema@._snowflake_qname(tbl), quote_ident(sub.subname)
        USING HINT = format('Cut over on the publisher now. If the publisher writes nothing to these tables after it: once this subscription has applied the publisher''s position after its cut-over, ALTER SUBSCRIPTION %I DISABLE.', sub.subname);
END
$fn$;

-- _snowflake_replica_stopped(tbl regclass, give_up_after, since) -> boolean: whether the
-- subscription of a subscriber's copy is disabled and its apply worker gone, so that the swap
-- meets no change in either shape. Raises 55P03 once give_up_after has passed since the cut-over
-- began (nothing swapped). Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_replica_stopped(tbl regclass, give_up_after interval, since timestamptz) RETURNS boolean
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    sub oid := @extschema@._snowflake_replica_subscription(tbl);
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    IF sub IS NULL OR NOT EXISTS (
           SELECT 1 FROM pg_subscription s WHERE s.oid = sub AND s.subenabled
           UNION ALL SELECT 1 FROM pg_stat_subscription w WHERE w.subid = sub AND w.pid IS NOT NULL) THEN
        RETURN true;
    END IF;
    IF clock_timestamp() - since >= give_up_after THEN
        RAISE EXCEPTION 'snowflake: subscription % did not stop within %', (SELECT s.subname FROM pg_subscription s WHERE s.oid = sub), give_up_after
            USING ERRCODE = 'lock_not_available',
            HINT = format('Nothing swapped. Cut over on the publisher, then call it again (it resumes); if the publisher writes nothing to %s, disable the subscription once it has applied the publisher''s position after its cut-over.', @extschema@._snowflake_qname(tbl));
    END IF;
    RETURN false;
END
$fn$;

-- _snowflake_replica_resume(tbl regclass): in the transaction of the swap of a subscriber's copy
-- (so that both commit or neither): its subscription is enabled again, with the disable_on_error
-- it had; its apply worker starts when this commits. Locks the subscription (ALTER SUBSCRIPTION).
CREATE OR REPLACE FUNCTION _snowflake_replica_resume(tbl regclass) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    name text := (SELECT s.subname FROM pg_subscription s WHERE s.oid = @extschema@._snowflake_replica_subscription(tbl));
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    IF name IS NOT NULL THEN
        EXECUTE format('ALTER SUBSCRIPTION %I ENABLE', name);
        EXECUTE format('ALTER SUBSCRIPTION %I SET (disable_on_error = %s)', name,
                       CASE WHEN current_setting('snowflake_migration.disable_on_error', true) = 'true' THEN 'true' ELSE 'false' END);
        RAISE NOTICE 'snowflake: %: subscription % enabled again', @extschema@._snowflake_qname(tbl), quote_ident(name);
    END IF;
END
$fn$;
