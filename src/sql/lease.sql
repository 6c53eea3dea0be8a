-- Machine-id leases on a coordination database: claim, renew, release, and a view of every lease.
-- The tables and the two kinds of time are described in lease_state.sql. A node's background
-- worker calls these functions over libpq (src/pg/lease/); no preloading is needed here. From 1.2 in
-- extension snowflake_coordination (which needs no library: nothing here is C); the update of
-- snowflake from 1.1 runs them once more over 1.1's objects, which it then drops or keeps
-- (update/1.1--1.2-leases.sql).
--
-- Security: a node logs in with a role of its own that may only EXECUTE these functions (and read
-- the view); it has no privilege on the tables. The functions run as the extension's owner
-- (SECURITY DEFINER), pin search_path, and identify the caller by session_user, which SET ROLE
-- does not change: a node can claim a free id and renew or release only leases its role holds.
-- Each is one statement, so one transaction; they lock the rows they change (FOR UPDATE, and the
-- primary key for a first claim), so two claims cannot both take one id at any isolation level:
-- under REPEATABLE READ or SERIALIZABLE the loser gets a serialization failure and retries.
--
-- What a node's role cannot do to other nodes (1.2):
-- * Lease ids it was not granted: a role leases only ids of its rows in snowflake_lease_grant
--   (no row: 42501). One role cannot take every id, out of the box.
-- * Reach far ahead: a proposed end may be at most the lease duration (at most 1 hour) plus
--   kSkew = 60 s past this database's own clock, on the IDs' scale (22023 otherwise). A released
--   lease's end is the bound its next holder starts after, so an end in 2093 would have kept the
--   id from everyone until then.
-- * Make others wait: every lock wait is bounded by lock_timeout = 1 s (a SET clause), and a
--   first claim skips an id another transaction is claiming (a transaction-scoped advisory lock
--   taken with try), so a transaction held open around a claim delays nobody; a claim or renewal
--   that meets a lock held past 1 s fails (55P03) and the node asks again.
-- * Hand a running holder's id to another node early: only the run itself (naming its
--   incarnation) may lower its lease end when it releases; a release without the incarnation
--   frees the id but keeps its end, so the next holder starts after everything the old run may
--   still issue.

-- _snowflake_lease_check_end(proposed_end_ms bigint, duration_ms integer): raises 22023 unless
-- 0 <= proposed_end_ms <= this database's clock (on the IDs' scale) + duration_ms + 60 s. The 60 s
-- allow for a node's clock ahead of this one's; a node further ahead is refused rather than given
-- an end that reaches further than its lease. Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_lease_check_end(proposed_end_ms bigint, duration_ms integer) RETURNS void
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- Milliseconds since 2024-01-01 UTC on this database's clock.
    now_ms bigint := floor(extract(epoch FROM clock_timestamp() - timestamptz '2024-01-01 00:00:00+00') * 1000)::bigint;
BEGIN
    IF proposed_end_ms IS NULL OR proposed_end_ms < 0 OR proposed_end_ms > 2199023255551 THEN
        RAISE EXCEPTION 'invalid lease end % ms', proposed_end_ms USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF proposed_end_ms > now_ms + duration_ms + 60000 THEN
        RAISE EXCEPTION 'proposed lease end % ms is % ms past the coordination database''s clock', proposed_end_ms,
                        proposed_end_ms - now_ms
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('A lease reaches at most its duration (%s ms) plus 60000 ms for clock skew past the coordination database''s clock (%s ms since 2024-01-01 UTC).',
                                  duration_ms, now_ms),
                  HINT = 'Check the clocks of the node and of the coordination database (NTP).';
    END IF;
END;
$$;
REVOKE ALL ON FUNCTION _snowflake_lease_check_end(bigint, integer) FROM PUBLIC;

-- snowflake_lease_claim(holder uuid, incarnation uuid, first_id integer, last_id integer,
--     proposed_end_ms bigint, duration_ms integer, host text, system_identifier text,
--     OUT status text, OUT machine_id integer, OUT lease_end_ms bigint, OUT previous_end_ms bigint,
--     OUT renewed_at timestamptz) RETURNS record
-- Gives the caller, in order of preference: its own id back (same holder and role); an id never
-- leased; the free id (released, or not renewed for snowflake_lease_settings.reclaim_after) whose
-- lease ended longest ago. status 'granted': the caller may issue IDs of machine_id with a
-- millisecond in (previous_end_ms, lease_end_ms]. 'busy': its own id is held by another run of the
-- same holder that renewed within its duration (a copy of its data directory, or a restart faster
-- than the old run's lease): machine_id and renewed_at say which; ask again after duration_ms.
-- 'exhausted': no free id in the range (or, with rows in snowflake_lease_grant, none of the
-- caller's ranges). Locks the rows it changes, waiting at most 1 s for a lock.
-- Errors: 22023 for invalid arguments or an end too far ahead; 42501 when not granted EXECUTE or
-- when the role has no row in snowflake_lease_grant; 55P03 when a lock stays taken past 1 s.
CREATE OR REPLACE FUNCTION snowflake_lease_claim(holder uuid, incarnation uuid, first_id integer, last_id integer,
                                                 proposed_end_ms bigint, duration_ms integer,
                                                 host text DEFAULT NULL, system_identifier text DEFAULT NULL,
                                                 OUT status text, OUT machine_id integer, OUT lease_end_ms bigint,
                                                 OUT previous_end_ms bigint, OUT renewed_at timestamptz)
    RETURNS record
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET lock_timeout = '1s'
AS $$
DECLARE
    caller name := session_user;
    now_ts timestamptz := clock_timestamp();
    reclaim interval;
    l @extschema@.snowflake_lease;
    m integer;
BEGIN
    IF holder IS NULL OR incarnation IS NULL OR first_id IS NULL OR last_id IS NULL OR proposed_end_ms IS NULL
       OR duration_ms IS NULL THEN
        RAISE EXCEPTION 'snowflake_lease_claim: only host and system_identifier may be NULL'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF first_id < 0 OR last_id > 1023 OR first_id > last_id THEN
        RAISE EXCEPTION 'invalid machine id range %-%', first_id, last_id
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Machine ids are 0-1023, the first no greater than the last.';
    END IF;
    IF duration_ms <= 0 OR duration_ms > 3600000 THEN
        RAISE EXCEPTION 'invalid lease duration % ms', duration_ms
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A lease lasts 1 ms to 1 hour (snowflake.lease_duration_ms).';
    END IF;
    PERFORM @extschema@._snowflake_lease_check_end(proposed_end_ms, duration_ms);
    IF NOT EXISTS (SELECT FROM @extschema@.snowflake_lease_grant r WHERE r.holder_role = caller) THEN
        RAISE EXCEPTION 'role % may lease no machine id', caller
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'A role leases only the machine ids of its rows in snowflake_lease_grant.',
                  HINT = format('As the owner of the coordination database: INSERT INTO snowflake_lease_grant VALUES (%L, ''[100,199]'');', caller);
    END IF;
    SELECT s.reclaim_after INTO reclaim FROM @extschema@.snowflake_lease_settings s;
    reclaim := coalesce(reclaim, interval '10 minutes');

    BEGIN
        -- 1. Its own id back.
        SELECT * INTO l FROM @extschema@.snowflake_lease x
        WHERE x.holder = snowflake_lease_claim.holder AND x.holder_role = caller
          AND x.machine_id BETWEEN first_id AND last_id
          AND EXISTS (SELECT FROM @extschema@.snowflake_lease_grant r
                      WHERE r.holder_role = caller AND r.machine_ids @> x.machine_id)
        ORDER BY x.renewed_at DESC LIMIT 1
        FOR UPDATE;
        IF FOUND THEN
            IF l.incarnation IS DISTINCT FROM snowflake_lease_claim.incarnation AND l.released_at IS NULL
               AND l.renewed_at > now_ts - make_interval(secs => l.duration_ms / 1000.0) THEN
                status := 'busy'; machine_id := l.machine_id; renewed_at := l.renewed_at;
                RETURN;
            END IF;
            -- The same run asking again (its worker restarted) keeps its start; another run starts
            -- after everything the old one may have issued.
            UPDATE @extschema@.snowflake_lease x
            SET incarnation = snowflake_lease_claim.incarnation,
                previous_end_ms = CASE WHEN x.incarnation = snowflake_lease_claim.incarnation
                                       THEN x.previous_end_ms ELSE x.lease_end_ms END,
                lease_end_ms = greatest(x.lease_end_ms, proposed_end_ms),
                started_at = CASE WHEN x.incarnation = snowflake_lease_claim.incarnation THEN x.started_at ELSE now_ts END,
                renewed_at = now_ts, released_at = NULL, duration_ms = snowflake_lease_claim.duration_ms,
                host = snowflake_lease_claim.host, system_identifier = snowflake_lease_claim.system_identifier
            WHERE x.machine_id = l.machine_id
            RETURNING 'granted', x.machine_id, x.lease_end_ms, x.previous_end_ms, x.renewed_at
            INTO status, machine_id, lease_end_ms, previous_end_ms, renewed_at;
            RETURN;
        END IF;

        -- 2. An id never leased: the primary key decides between concurrent claims. An id that
        -- another transaction is claiming right now (its advisory lock is taken) is skipped, not
        -- waited for: that transaction may stay open as long as its session likes.
        FOR m IN SELECT g FROM generate_series(first_id, last_id) g
                 WHERE NOT EXISTS (SELECT FROM @extschema@.snowflake_lease x WHERE x.machine_id = g)
                   AND EXISTS (SELECT FROM @extschema@.snowflake_lease_grant r
                               WHERE r.holder_role = caller AND r.machine_ids @> g)
                 ORDER BY g LOOP
            CONTINUE WHEN NOT pg_try_advisory_xact_lock(1397118540, m);   -- 'SFLL': snowflake leases
            INSERT INTO @extschema@.snowflake_lease AS x
                (machine_id, holder, incarnation, holder_role, system_identifier, host, duration_ms,
                 started_at, renewed_at, released_at, lease_end_ms, previous_end_ms)
            VALUES (m, snowflake_lease_claim.holder, snowflake_lease_claim.incarnation, caller,
                    snowflake_lease_claim.system_identifier, snowflake_lease_claim.host, snowflake_lease_claim.duration_ms,
                    now_ts, now_ts, NULL, proposed_end_ms, -1)
            ON CONFLICT ON CONSTRAINT snowflake_lease_pkey DO NOTHING
            RETURNING 'granted', x.machine_id, x.lease_end_ms, x.previous_end_ms, x.renewed_at
            INTO status, machine_id, lease_end_ms, previous_end_ms, renewed_at;
            IF FOUND THEN
                RETURN;
            END IF;
        END LOOP;

        -- 3. A free id, the one whose lease ended longest ago (the new holder waits least for its
        -- clock to pass it). The lock re-reads the row, and the UPDATE checks again that it is free.
        LOOP
            SELECT * INTO l FROM @extschema@.snowflake_lease x
            WHERE x.machine_id BETWEEN first_id AND last_id
              AND (x.released_at IS NOT NULL OR x.renewed_at < now_ts - reclaim)
              AND EXISTS (SELECT FROM @extschema@.snowflake_lease_grant r
                          WHERE r.holder_role = caller AND r.machine_ids @> x.machine_id)
            ORDER BY x.lease_end_ms, x.machine_id LIMIT 1
            FOR UPDATE SKIP LOCKED;
            EXIT WHEN NOT FOUND;
            UPDATE @extschema@.snowflake_lease x
            SET holder = snowflake_lease_claim.holder, incarnation = snowflake_lease_claim.incarnation,
                holder_role = caller, system_identifier = snowflake_lease_claim.system_identifier,
                host = snowflake_lease_claim.host, duration_ms = snowflake_lease_claim.duration_ms,
                started_at = now_ts, renewed_at = now_ts, released_at = NULL,
                previous_end_ms = x.lease_end_ms, lease_end_ms = greatest(x.lease_end_ms, proposed_end_ms)
            WHERE x.machine_id = l.machine_id AND (x.released_at IS NOT NULL OR x.renewed_at < now_ts - reclaim)
            RETURNING 'granted', x.machine_id, x.lease_end_ms, x.previous_end_ms, x.renewed_at
            INTO status, machine_id, lease_end_ms, previous_end_ms, renewed_at;
            IF FOUND THEN
                RETURN;
            END IF;
        END LOOP;
    EXCEPTION WHEN lock_not_available THEN
        RAISE EXCEPTION 'a lease of role % is locked by another transaction on the coordination database', caller
            USING ERRCODE = 'lock_not_available',
                  DETAIL = 'Another session of the same role holds a transaction open around a call of snowflake_lease_claim, _renew or _release.',
                  HINT = 'Ask again; pg_stat_activity on the coordination database shows the session ("idle in transaction").';
    END;
    status := 'exhausted';
END;
$$;

-- snowflake_lease_renew(machine_id integer, holder uuid, incarnation uuid, proposed_end_ms bigint,
--     OUT status text, OUT lease_end_ms bigint, OUT renewed_at timestamptz) RETURNS record
-- 'renewed': the lease end is now the greater of the old one and proposed_end_ms (it never moves
-- back: the next holder starts after the highest end this holder was ever given). 'lost': the
-- lease is not this run's any more (taken over or released, or, with rows in
-- snowflake_lease_grant, no range of the caller's holds the id any more); the caller issues
-- nothing past the end it last had. Locks the lease's row, waiting at most 1 s. Errors: 22023 for
-- invalid arguments or an end past this database's clock + the lease's duration + 60 s; 55P03.
CREATE OR REPLACE FUNCTION snowflake_lease_renew(machine_id integer, holder uuid, incarnation uuid, proposed_end_ms bigint,
                                                 OUT status text, OUT lease_end_ms bigint, OUT renewed_at timestamptz)
    RETURNS record
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET lock_timeout = '1s'
AS $$
DECLARE
    duration integer;
BEGIN
    IF proposed_end_ms IS NULL OR proposed_end_ms < 0 OR proposed_end_ms > 2199023255551 THEN
        RAISE EXCEPTION 'invalid lease end % ms', proposed_end_ms USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- The end is bounded by the duration the run claimed with (one renewal cannot stretch it).
    SELECT x.duration_ms INTO duration FROM @extschema@.snowflake_lease x
    WHERE x.machine_id = snowflake_lease_renew.machine_id AND x.holder = snowflake_lease_renew.holder
      AND x.incarnation = snowflake_lease_renew.incarnation AND x.holder_role = session_user;
    IF FOUND THEN
        PERFORM @extschema@._snowflake_lease_check_end(proposed_end_ms, duration);
    END IF;
    UPDATE @extschema@.snowflake_lease x
    SET lease_end_ms = greatest(x.lease_end_ms, proposed_end_ms), renewed_at = clock_timestamp()
    WHERE x.machine_id = snowflake_lease_renew.machine_id AND x.holder = snowflake_lease_renew.holder
      AND x.incarnation = snowflake_lease_renew.incarnation AND x.holder_role = session_user
      AND x.released_at IS NULL
      AND EXISTS (SELECT FROM @extschema@.snowflake_lease_grant r
                  WHERE r.holder_role = session_user AND r.machine_ids @> x.machine_id)
    RETURNING 'renewed', x.lease_end_ms, x.renewed_at INTO status, lease_end_ms, renewed_at;
    IF NOT FOUND THEN
        status := 'lost';
    END IF;
EXCEPTION WHEN lock_not_available THEN
    RAISE EXCEPTION 'the lease of machine id % is locked by another transaction on the coordination database', machine_id
        USING ERRCODE = 'lock_not_available',
              DETAIL = 'Another session holds a transaction open around a call that changes this lease.',
              HINT = 'Ask again; pg_stat_activity on the coordination database shows the session ("idle in transaction").';
END;
$$;

-- snowflake_lease_release(machine_id integer, holder uuid, incarnation uuid DEFAULT NULL,
--     final_end_ms bigint DEFAULT NULL) RETURNS boolean
-- Frees a lease the caller's role holds (of one run, or of any run when incarnation is NULL: a
-- node taken out of service). final_end_ms, from a node stopping cleanly and naming its run's
-- incarnation, lowers the lease end to the last millisecond it used, so whoever takes the id next
-- (itself after a restart) need not wait for the rest of the lease; without the incarnation it is
-- ignored (the run may still be issuing: the next holder starts after its end). true if a lease
-- was released. Locks the lease's row, waiting at most 1 s (55P03).
CREATE OR REPLACE FUNCTION snowflake_lease_release(machine_id integer, holder uuid, incarnation uuid DEFAULT NULL,
                                                   final_end_ms bigint DEFAULT NULL)
    RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET lock_timeout = '1s'
AS $$
BEGIN
    UPDATE @extschema@.snowflake_lease x
    SET released_at = clock_timestamp(),
        -- Only the run itself knows what it issued: without its incarnation the end stays.
        lease_end_ms = CASE WHEN final_end_ms IS NULL OR snowflake_lease_release.incarnation IS NULL THEN x.lease_end_ms
                            ELSE greatest(x.previous_end_ms, least(x.lease_end_ms, final_end_ms)) END
    WHERE x.machine_id = snowflake_lease_release.machine_id AND x.holder = snowflake_lease_release.holder
      AND (snowflake_lease_release.incarnation IS NULL OR x.incarnation = snowflake_lease_release.incarnation)
      AND x.holder_role = session_user AND x.released_at IS NULL;
    RETURN FOUND;
EXCEPTION WHEN lock_not_available THEN
    RAISE EXCEPTION 'the lease of machine id % is locked by another transaction on the coordination database', machine_id
        USING ERRCODE = 'lock_not_available',
              DETAIL = 'Another session holds a transaction open around a call that changes this lease.',
              HINT = 'Ask again; pg_stat_activity on the coordination database shows the session ("idle in transaction").';
END;
$$;

-- Every lease, for people: times of the coordination database's clock, and the lease ends as
-- the millisecond inside an ID (previous_end NULL: the first holder), as snowflake_timestamp()
-- gives it, computed here so that this extension needs nothing of snowflake's.
CREATE OR REPLACE VIEW snowflake_leases AS
SELECT l.machine_id, l.holder, l.holder_role, l.host, l.system_identifier, l.started_at,
       timestamptz '2024-01-01 00:00:00+00' + l.lease_end_ms * interval '1 millisecond' AS lease_end, l.renewed_at,
       CASE WHEN l.previous_end_ms >= 0 THEN timestamptz '2024-01-01 00:00:00+00' + l.previous_end_ms * interval '1 millisecond' END AS previous_end,
       l.released_at,
       CASE WHEN l.released_at IS NOT NULL THEN 'released'
            WHEN l.renewed_at < clock_timestamp() - coalesce((SELECT s.reclaim_after FROM @extschema@.snowflake_lease_settings s),
                                                              interval '10 minutes') THEN 'expired'
            ELSE 'held' END AS state
FROM @extschema@.snowflake_lease l;

REVOKE ALL ON FUNCTION snowflake_lease_claim(uuid, uuid, integer, integer, bigint, integer, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION snowflake_lease_renew(integer, uuid, uuid, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION snowflake_lease_release(integer, uuid, uuid, bigint) FROM PUBLIC;
REVOKE ALL ON snowflake_leases FROM PUBLIC;

COMMENT ON FUNCTION snowflake_lease_claim(uuid, uuid, integer, integer, bigint, integer, text, text) IS 'coordination database: lease a machine id to the calling node (its own back, else a free one)';
COMMENT ON FUNCTION snowflake_lease_renew(integer, uuid, uuid, bigint) IS 'coordination database: extend the calling node''s lease, unless it was taken over';
COMMENT ON FUNCTION snowflake_lease_release(integer, uuid, uuid, bigint) IS 'coordination database: free a lease the calling role holds';
COMMENT ON VIEW snowflake_leases IS 'coordination database: every machine-id lease, its holder and its times';
