-- The migration toolkit, phases 2-3: the ID map, then the existing rows and their references, in batches.

-- _snowflake_spans(ms bigint[]) -> int8range[]: milliseconds as spans, a new span wherever
-- two used milliseconds are more than a day apart (the rectangles of snowflake_migration_lane).
CREATE OR REPLACE FUNCTION _snowflake_spans(ms bigint[]) RETURNS int8range[]
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(array_agg(c.r ORDER BY c.r), '{}')
    FROM (SELECT int8range(min(b.ms), max(b.ms), '[]') AS r
          FROM (SELECT a.ms, sum(a.brk) OVER (ORDER BY a.ms) AS span
                FROM (SELECT u.ms, CASE WHEN u.ms - lag(u.ms) OVER (ORDER BY u.ms) > 86400000 THEN 1 ELSE 0 END AS brk
                      FROM (SELECT DISTINCT x AS ms FROM unnest(ms) x) u) a) b
          GROUP BY b.span) c
$$;

-- _snowflake_backfill_lane(mig, machine_ids, npacked) -> (lo, cap, p0): where the map of mig
-- puts its IDs so that they overlap no other backfill's (snowflake_migration_lane): its rows
-- use slots lo .. lo + cap - 1 of each millisecond, within the reserved machine ids, free of every
-- other backfill's in the milliseconds this one uses; its npacked rows without a usable time
-- start at millisecond p0, where the other backfills' rows without a time end (they continue
-- where the others left off). Reads pg_temp._snowflake_src (the rows to number). Raises 54000
-- when every slot is taken. Locks nothing (the lane rows the map adds are proved disjoint by
-- their constraint).
CREATE OR REPLACE FUNCTION _snowflake_backfill_lane(mig text, machine_ids int4range, npacked bigint,
                                                    OUT lo bigint, OUT cap bigint, OUT p0 bigint)
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    win int8range := int8range(lower(machine_ids)::bigint * 4096, upper(machine_ids)::bigint * 4096);
    need bigint;
    spans int8range[];
    p bigint;
    gap record;
BEGIN
    SELECT coalesce(max(g.cnt), 0), @extschema@._snowflake_spans(array_agg(g.ms)) INTO need, spans
    FROM (SELECT @extschema@.snowflake_compose(s.t, 0, 0) >> 22 AS ms, count(*) AS cnt
          FROM pg_temp._snowflake_src s WHERE s.t >= '2024-01-01 00:00:00+00' GROUP BY 1) g;
    -- Rows without a time go after the chain of other backfills' IDs that starts at the epoch.
    p0 := 0;
    LOOP
        SELECT max(upper(l.ms)) INTO p FROM snowflake_internal.snowflake_migration_lane l
        WHERE l.slots && win AND lower(l.ms) <= p0 AND upper(l.ms) > p0;
        EXIT WHEN p IS NULL;
        p0 := p;
    END LOOP;
    IF npacked > 0 THEN
        spans := spans || int8range(p0, p0 + npacked - 1, '[]');
    END IF;
    -- The free stretches of slots in those milliseconds: the first wide enough for the most
    -- crowded millisecond, else the widest (the caller then says how many rows do not fit).
    WITH busy AS (SELECT greatest(lower(l.slots), lower(win)) AS b_lo, least(upper(l.slots), upper(win)) AS b_hi
                  FROM snowflake_internal.snowflake_migration_lane l WHERE l.ms && ANY (spans) AND l.slots && win),
    starts AS (SELECT lower(win) AS s UNION SELECT b.b_hi FROM busy b),
    gaps AS (SELECT st.s AS g_lo, coalesce((SELECT min(b.b_lo) FROM busy b WHERE b.b_lo >= st.s), upper(win)) AS g_hi
             FROM starts st
             WHERE st.s < upper(win) AND NOT EXISTS (SELECT 1 FROM busy b WHERE b.b_lo <= st.s AND b.b_hi > st.s))
    SELECT g.g_lo, g.g_hi - g.g_lo AS width INTO gap FROM gaps g WHERE g.g_hi > g.g_lo
    ORDER BY g.g_hi - g.g_lo >= need DESC, CASE WHEN g.g_hi - g.g_lo >= need THEN g.g_lo ELSE g.g_lo - g.g_hi END
    LIMIT 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the machine ids % reserved for the backfill of % are taken in its milliseconds by other backfills', machine_ids, mig
            USING ERRCODE = 'program_limit_exceeded',
            DETAIL = (SELECT 'Taken by the backfills of: ' || string_agg(DISTINCT l.relation, ', ')
                      FROM snowflake_internal.snowflake_migration_lane l WHERE l.ms && ANY (spans) AND l.slots && win),
            HINT = 'Call it again with other backfill_machine_ids that no server issues IDs with, e.g. backfill_machine_ids => ''[1022,1022]''.';
    END IF;
    lo := gap.g_lo; cap := gap.width;
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
    m snowflake_internal.snowflake_migration;
    npacked bigint;
    l record;
    n bigint;
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    SELECT * INTO m FROM snowflake_internal.snowflake_migration x WHERE x.relation = mig;
    PERFORM @extschema@._snowflake_map_reserved_check(m);
    npacked := @extschema@._snowflake_map_sources(tbl, m);
    SELECT * INTO l FROM @extschema@._snowflake_backfill_lane(mig, m.machine_ids, npacked);
    PERFORM @extschema@._snowflake_map_room_check(m, l.lo, l.cap, l.p0, npacked);
    n := @extschema@._snowflake_map_fill(m, l.lo, l.cap, l.p0, npacked);
    DROP TABLE _snowflake_src;
    PERFORM @extschema@._snowflake_map_take_lane(mig);
    -- Only its owner may analyze the map (a table owner migrating her own table would get a warning).
    IF pg_has_role((SELECT c.relowner FROM pg_class c WHERE c.oid = 'snowflake_internal.snowflake_migration_map'::regclass), 'USAGE') THEN
        ANALYZE snowflake_internal.snowflake_migration_map;
    END IF;
    RETURN n;
END
$fn$;

-- _snowflake_map_reserved_check(m): raises 55000 when live IDs of m's table already use a
-- machine id reserved for its backfill (m.machine_ids). One scan of the table.
CREATE OR REPLACE FUNCTION _snowflake_map_reserved_check(m snowflake_internal.snowflake_migration) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM %s WHERE %I IS NOT NULL AND @extschema@.snowflake_machine_id(%I) <@ $1',
                   m.relation, m.new_column, m.new_column) INTO n USING m.machine_ids;
    IF n > 0 THEN
        RAISE EXCEPTION '% rows of % already have IDs made with a machine id in %, the range reserved for the backfill', n, m.relation, m.machine_ids
            USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'Some server issues IDs with a reserved machine id; call it again with backfill_machine_ids no server uses.';
    END IF;
END
$fn$;

-- _snowflake_map_sources(tbl, m) -> bigint: the rows of tbl to number (those without a twin),
-- each with its old key and, per m's source, its time or its rank in the order chosen, into
-- pg_temp._snowflake_src (dropped at commit); returns how many are packed (every row of an order,
-- the rows dated before 2024 otherwise). Raises 22004 for a row without a time, 22008 for a time
-- a snowflake ID cannot hold (before 2024 only with pre_epoch 'refuse'). One scan of the table.
CREATE OR REPLACE FUNCTION _snowflake_map_sources(tbl regclass, m snowflake_internal.snowflake_migration) RETURNS bigint
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    npacked bigint;
BEGIN
    CREATE TEMP TABLE _snowflake_src (key uuid, t timestamptz, k bigint) ON COMMIT DROP;
    IF m.source = 'order' THEN
        -- The order, parsed again into quoted columns and keywords: no stored text reaches SQL.
        EXECUTE format('INSERT INTO pg_temp._snowflake_src SELECT %1$I, NULL, row_number() OVER (ORDER BY %3$s, %1$I) - 1 FROM %4$s WHERE %2$I IS NULL',
                       m.key_column, m.new_column, @extschema@._snowflake_order_by(tbl, m.source_value), m.relation);
        GET DIAGNOSTICS npacked = ROW_COUNT;
        RETURN npacked;
    END IF;
    EXECUTE format('INSERT INTO pg_temp._snowflake_src SELECT %1$I, %3$s, NULL FROM %4$s WHERE %2$I IS NULL',
                   m.key_column, m.new_column,
                   CASE m.source WHEN 'uuid' THEN format('@extschema@.snowflake_uuid_time(%I)', m.key_column)
                                 ELSE format('%I::timestamptz', m.source_value) END,
                   m.relation);
    RETURN @extschema@._snowflake_map_times_check(m);
END
$fn$;

-- _snowflake_map_times_check(m) -> bigint: the rows of pg_temp._snowflake_src dated before 2024
-- (packed when m.pre_epoch is 'pack'). Raises 22004 for a row without a time, 22008 for a time
-- after 2093-09-06 15:47:35.551 UTC, or before 2024 with pre_epoch 'refuse'.
CREATE OR REPLACE FUNCTION _snowflake_map_times_check(m snowflake_internal.snowflake_migration) RETURNS bigint
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    st record;
BEGIN
    SELECT count(*) FILTER (WHERE s.t IS NULL) AS no_time, min(s.key::text) FILTER (WHERE s.t IS NULL) AS no_time_key,
           count(*) FILTER (WHERE s.t < '2024-01-01 00:00:00+00') AS early, min(s.t) AS earliest,
           count(*) FILTER (WHERE date_trunc('milliseconds', s.t) > '2093-09-06 15:47:35.551+00') AS late, max(s.t) AS latest
    INTO st FROM _snowflake_src s;
    IF st.no_time > 0 AND m.source = 'uuid' THEN
        RAISE EXCEPTION '% rows of % have a uuid without a time (for example %)', st.no_time, m.relation, st.no_time_key
            USING ERRCODE = 'null_value_not_allowed',
            DETAIL = 'Only version 1, 6 and 7 uuids carry their creation time; version 4 is random.',
            HINT = 'Call it again with a time column (time_column => ...) or an order you choose (order_by => ...).';
    ELSIF st.no_time > 0 THEN
        RAISE EXCEPTION '% rows of % have no time in column % (for example %)', st.no_time, m.relation, m.source_value, st.no_time_key
            USING ERRCODE = 'null_value_not_allowed',
            HINT = 'Fill the column in for those rows, or call it again with an order you choose (order_by => ...).';
    END IF;
    IF st.late > 0 THEN
        RAISE EXCEPTION '% rows of % are dated after 2093-09-06 15:47:35.551 UTC (the latest at %), which a snowflake ID cannot hold',
            st.late, m.relation, st.latest USING ERRCODE = 'datetime_field_overflow';
    END IF;
    IF st.early > 0 AND m.pre_epoch = 'refuse' THEN
        RAISE EXCEPTION '% rows of % are dated before 2024-01-01 00:00:00 UTC (the earliest at %), which a snowflake ID cannot hold',
            st.early, m.relation, st.earliest USING ERRCODE = 'datetime_field_overflow',
            HINT = 'Call it again with pre_epoch => ''pack'' to give them IDs in the first milliseconds of 2024, in time order, below every later row.';
    END IF;
    RETURN st.early;
END
$fn$;

-- _snowflake_map_room_check(m, lo, cap, p0, npacked): raises 54000 unless the rows of
-- pg_temp._snowflake_src fit the slots of the backfill's lane (_snowflake_backfill_lane): the
-- packed rows below every live ID (all younger than the migration), and no millisecond with more
-- rows than its free slots, naming the first such and how many machine ids would do.
CREATE OR REPLACE FUNCTION _snowflake_map_room_check(m snowflake_internal.snowflake_migration, lo bigint, cap bigint, p0 bigint, npacked bigint)
RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    ov record;
BEGIN
    IF npacked > 0 AND p0 + (npacked - 1) / cap >= @extschema@.snowflake_compose(m.started_at, 0, 0) >> 22 THEN
        RAISE EXCEPTION '% rows of % cannot be packed below the IDs made since %', npacked, m.relation, m.started_at
            USING ERRCODE = 'program_limit_exceeded', HINT = 'Reserve more machine ids for the backfill.';
    END IF;
    SELECT g.ms, g.cnt + o.occ AS cnt, count(*) OVER () AS crowded INTO ov
    FROM (SELECT @extschema@.snowflake_compose(s.t, 0, 0) >> 22 AS ms, count(*) AS cnt
          FROM _snowflake_src s WHERE s.t >= '2024-01-01 00:00:00+00' GROUP BY 1) g,
         LATERAL (SELECT CASE WHEN g.ms < p0 THEN 0 ELSE greatest(0, least(cap, npacked - (g.ms - p0) * cap)) END AS occ) o
    WHERE g.cnt + o.occ > cap
    ORDER BY g.ms LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION '% rows of % fall in the millisecond %, more than the machine ids % reserved for the backfill can number',
            ov.cnt, m.relation, (@extschema@.snowflake_decode(ov.ms << 22)).ts, m.machine_ids
            USING ERRCODE = 'program_limit_exceeded',
            DETAIL = format('%s milliseconds are that crowded; each reserved machine id numbers 4096 rows per millisecond, and %s of those slots are free of the IDs other backfills numbered (snowflake_migration_lane).', ov.crowded, cap),
            HINT = CASE WHEN cap >= 4096 * (upper(m.machine_ids) - lower(m.machine_ids)) THEN
                       format('Call it again with %s machine ids reserved, e.g. backfill_machine_ids => ''[%s,%s]''.',
                              (ov.cnt + 4095) / 4096, greatest(0, upper(m.machine_ids) - (ov.cnt + 4095) / 4096), upper(m.machine_ids) - 1)
                   ELSE format('Other backfills took slots of these milliseconds: call it again with %s machine ids they did not use (and no server issues IDs with), e.g. backfill_machine_ids => ''[%s,%s]''.',
                              (ov.cnt + 4095) / 4096, greatest(0, lower(m.machine_ids) - (ov.cnt + 4095) / 4096), lower(m.machine_ids) - 1) END;
    END IF;
END
$fn$;

-- _snowflake_map_fill(m, lo, cap, p0, npacked) -> bigint: the map of m's table from the rows of
-- pg_temp._snowflake_src, numbered in ID order (see _snowflake_migration_build_map); returns how
-- many rows it has. Locks nothing itself.
CREATE OR REPLACE FUNCTION _snowflake_map_fill(m snowflake_internal.snowflake_migration, lo bigint, cap bigint, p0 bigint, npacked bigint)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    n bigint;
BEGIN
    INSERT INTO snowflake_internal.snowflake_migration_map (relation, n, key, new_id)
    SELECT m.relation, row_number() OVER (ORDER BY z.new_id), z.key, z.new_id
    FROM (
        SELECT p.key, (p0 + p.k / cap) * 4194304 + lo + p.k % cap AS new_id
        FROM (SELECT s.key, CASE WHEN m.source = 'order' THEN s.k
                                 ELSE row_number() OVER (ORDER BY s.t, s.key) - 1 END AS k
              FROM _snowflake_src s WHERE m.source = 'order' OR s.t < '2024-01-01 00:00:00+00') p
        UNION ALL
        SELECT y.key, y.ms * 4194304 + lo + y.r + CASE WHEN y.ms < p0 THEN 0 ELSE greatest(0, least(cap, npacked - (y.ms - p0) * cap)) END
        FROM (SELECT x.key, x.ms, row_number() OVER (PARTITION BY x.ms ORDER BY x.t, x.key) - 1 AS r
              FROM (SELECT s.key, s.t, @extschema@.snowflake_compose(s.t, 0, 0) >> 22 AS ms
                    FROM _snowflake_src s WHERE s.t >= '2024-01-01 00:00:00+00') x) y
    ) z;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$fn$;

-- _snowflake_map_take_lane(mig): records the milliseconds and slots the map of mig gives out in
-- snowflake_migration_lane, taken for good. Its exclusion constraint proves that no other
-- backfill took any of them; one that chose at the same time and committed first wins: 40001.
CREATE OR REPLACE FUNCTION _snowflake_map_take_lane(mig text) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    INSERT INTO snowflake_internal.snowflake_migration_lane (relation, ms, slots)
    SELECT mig, sp.r, int8range(min(x.new_id & 4194303), max(x.new_id & 4194303), '[]')
    FROM unnest(@extschema@._snowflake_spans(ARRAY(SELECT y.new_id >> 22 FROM snowflake_internal.snowflake_migration_map y WHERE y.relation = mig))) sp(r)
    JOIN snowflake_internal.snowflake_migration_map x ON x.relation = mig AND (x.new_id >> 22) <@ sp.r
    GROUP BY sp.r;
EXCEPTION WHEN exclusion_violation THEN
    RAISE EXCEPTION 'another backfill numbered IDs in the same milliseconds and slots as % at the same time', mig
        USING ERRCODE = 'serialization_failure', HINT = format('Nothing was written. CALL snowflake_migration_backfill(%L) again.', mig);
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
    m snowflake_internal.snowflake_migration;
    live text;
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    IF batch_size IS NULL OR batch_size < 1 THEN
        RAISE EXCEPTION 'batch_size must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    m := @extschema@._snowflake_migration_row(tbl);
    IF m.phase <> 'started' THEN
        RAISE NOTICE 'snowflake: the backfill of % is done (phase %)', mig, m.phase;
        RETURN false;
    END IF;
    PERFORM @extschema@._snowflake_migration_verify(tbl);
    -- A subscriber's copy numbers nothing and writes no row (so no code of the table runs: no
    -- writer check): src/sql/migration/replica.sql.
    IF @extschema@._snowflake_migration_replica(tbl, true) THEN
        IF m.map_rows IS NULL THEN
            PERFORM @extschema@._snowflake_replica_backfill_prepare(tbl);
        END IF;
        RETURN true;
    END IF;
    PERFORM @extschema@._snowflake_migration_writer_check(tbl);
    -- A widened integer key copies its old values: no map, no options (src/sql/migration/integer.sql).
    IF @extschema@._snowflake_widens(tbl) THEN
        IF num_nonnulls(time_column, uuid_time, order_by, backfill_machine_ids, pre_epoch) > 0 THEN
            RAISE EXCEPTION 'the backfill of % copies the old integer keys: it takes no options', mig
                USING ERRCODE = 'invalid_parameter_value', HINT = format('CALL snowflake_migration_backfill(%L).', mig);
        END IF;
        RETURN true;
    END IF;
    m := @extschema@._snowflake_backfill_options(tbl, m, time_column, uuid_time, order_by, backfill_machine_ids, pre_epoch);
    -- Checked at every call: the server may have been restarted with another machine id.
    live := current_setting('snowflake.machine_id', true);
    IF live IS NOT NULL AND live::int >= 0 AND live::int <@ m.machine_ids THEN
        RAISE EXCEPTION 'backfill_machine_ids % contain snowflake.machine_id %, the machine id of live IDs', m.machine_ids, live
            USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Reserve for the backfill machine ids that no server issues IDs with.';
    END IF;
    IF m.map_rows IS NULL THEN
        PERFORM @extschema@._snowflake_backfill_number_rows(tbl, m);
    END IF;
    RETURN true;
END
$fn$;

-- _snowflake_backfill_options(tbl, m, time_column, ...) -> m with the backfill's options: on the
-- first call (no map yet) the options given, checked (exactly one of time_column, uuid_time =>
-- true and order_by, parsed into a whitelist; machine ids within [0,1023], default [1023,1023];
-- pre_epoch 'refuse', the default, or 'pack'); later, m as it is, once the options given are
-- proved the same. Raises 22023 for bad options, 42703/42804 for a time column tbl lacks or of
-- another type, 55000 for options other than the first call's. Writes nothing.
CREATE OR REPLACE FUNCTION _snowflake_backfill_options(tbl regclass, m snowflake_internal.snowflake_migration, time_column name,
                                                       uuid_time boolean, order_by text, backfill_machine_ids int4range, pre_epoch text)
RETURNS snowflake_internal.snowflake_migration
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    src text;
BEGIN
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
            RAISE EXCEPTION 'the backfill of % was started with other options', m.relation
                USING ERRCODE = 'object_not_in_prerequisite_state',
                DETAIL = format('source %s %s, backfill_machine_ids %s, pre_epoch %s', m.source, coalesce(m.source_value, ''), m.machine_ids, m.pre_epoch),
                HINT = format('Resume with CALL snowflake_migration_backfill(%L), or abort the migration to change them.', m.relation);
        END IF;
        RETURN m;
    END IF;
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
    IF src = 'column' THEN
        PERFORM @extschema@._snowflake_time_column_check(tbl, time_column);
    END IF;
    m.source := src;
    m.source_value := coalesce(time_column::text, order_by);
    RETURN m;
END
$fn$;

-- _snowflake_time_column_check(tbl, time_column): raises 42703 unless tbl has a column
-- time_column, 42804 unless it is a timestamptz, timestamp or date.
CREATE OR REPLACE FUNCTION _snowflake_time_column_check(tbl regclass, time_column name) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = time_column AND a.attnum > 0 AND NOT a.attisdropped) THEN
        RAISE EXCEPTION 'column % of % does not exist', time_column, @extschema@._snowflake_qname(tbl) USING ERRCODE = 'undefined_column';
    END IF;
    IF (SELECT a.atttypid FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = time_column)
       NOT IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype) THEN
        RAISE EXCEPTION 'column % of % is of type %, not a timestamp', time_column, @extschema@._snowflake_qname(tbl),
            (SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = time_column)
            USING ERRCODE = 'datatype_mismatch';
    END IF;
END
$fn$;

-- _snowflake_backfill_number_rows(tbl, m): the first call's options (m) recorded, then the map
-- built (_snowflake_migration_build_map, whose errors it raises) and its size recorded as the
-- total of the batches of tbl. Writes the migration's state.
CREATE OR REPLACE FUNCTION _snowflake_backfill_number_rows(tbl regclass, m snowflake_internal.snowflake_migration) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    n bigint;
BEGIN
    UPDATE snowflake_internal.snowflake_migration x
    SET source = m.source, source_value = m.source_value, machine_ids = m.machine_ids, pre_epoch = m.pre_epoch
    WHERE x.relation = m.relation;
    n := @extschema@._snowflake_migration_build_map(tbl);
    UPDATE snowflake_internal.snowflake_migration x SET map_rows = n WHERE x.relation = m.relation;
    UPDATE snowflake_internal.snowflake_migration_step x SET total = n WHERE x.relation = m.relation AND x.kind = 'parent_batches';
    RAISE NOTICE 'snowflake: %: % rows to backfill, IDs from %', m.relation, n,
        CASE m.source WHEN 'uuid' THEN 'the uuids' WHEN 'column' THEN 'column ' || quote_ident(m.source_value) ELSE 'the order ' || m.source_value END;
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
    per_batch bigint;
    upto bigint;
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    -- The next unfinished step: its statement computed now from the catalog, its progress recorded.
    SELECT g.step, g.kind, g.target, g.object, g.statement, x.done, x.total, x.batch INTO s
    FROM @extschema@._snowflake_migration_steps(tbl, true) g
    JOIN snowflake_internal.snowflake_migration_step x ON x.relation = mig AND x.step = g.step
    WHERE g.phase = 'backfill' AND NOT x.finished ORDER BY g.step LIMIT 1;
    IF NOT FOUND THEN
        UPDATE snowflake_internal.snowflake_migration x SET phase = 'backfilled' WHERE x.relation = mig;
        RAISE NOTICE 'snowflake: %: backfill done', mig
            USING HINT = format('Next, outside a transaction block: SELECT statement FROM snowflake_migration_plan(%L) WHERE phase = ''index'' \gexec, then CALL snowflake_migration_cutover(%L).', mig, mig);
        RETURN false;
    END IF;
    IF s.kind = 'child_batches' AND s.total IS NULL THEN
        s.total := pg_relation_size(s.target::regclass) / current_setting('block_size')::bigint;
        UPDATE snowflake_internal.snowflake_migration_step x SET total = s.total WHERE x.relation = mig AND x.step = s.step;
    END IF;
    IF s.kind <> 'ddl' AND s.done >= s.total THEN
        UPDATE snowflake_internal.snowflake_migration_step x SET finished = true WHERE x.relation = mig AND x.step = s.step;
        RETURN true;
    END IF;
    per_batch := coalesce(s.batch, @extschema@._snowflake_backfill_batch(s.kind, s.target, s.total, batch_size));
    upto := least(s.done + per_batch, s.total);
    n := @extschema@._snowflake_backfill_run(mig, s.kind, s.statement, s.done, upto, s.total);
    IF s.kind = 'ddl' THEN
        UPDATE snowflake_internal.snowflake_migration_step x SET finished = true WHERE x.relation = mig AND x.step = s.step;
        RETURN true;
    END IF;
    UPDATE snowflake_internal.snowflake_migration_step x SET done = upto, finished = upto >= s.total, batch = per_batch
    WHERE x.relation = mig AND x.step = s.step;
    IF s.kind = 'parent_batches' THEN
        RAISE NOTICE 'snowflake: %: % of % rows backfilled', s.target, upto, s.total;
    ELSE
        RAISE NOTICE 'snowflake: %.%: % of % blocks done (% rows filled)', s.target, quote_ident(s.object), upto, s.total, n;
    END IF;
    RETURN true;
END
$fn$;

-- _snowflake_backfill_batch(kind, target, total, batch_size) -> bigint: the size of a step's
-- batches, fixed at its first batch (the step records it): batch_size rows for the parent's
-- batches; for a child table's, which go by blocks (kind 'child_batches', total blocks), the
-- blocks that hold about batch_size rows, estimated from the rows in its first blocks (a
-- deterministic estimate, kept for the rest of the step). Reads at most 16 blocks of target.
CREATE OR REPLACE FUNCTION _snowflake_backfill_batch(kind text, target text, total bigint, batch_size integer) RETURNS bigint
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    sample bigint;
BEGIN
    IF kind IS DISTINCT FROM 'child_batches' THEN
        RETURN batch_size;
    END IF;
    EXECUTE format('SELECT count(*) FROM %s WHERE ctid < $1', target) INTO sample
        USING format('(%s,0)', least(16, total))::tid;
    RETURN greatest(1, batch_size / greatest(1, ceil(sample::numeric / greatest(1, least(16, total))))::bigint);
END
$fn$;

-- _snowflake_backfill_run(mig, kind, statement, done, upto, total) -> bigint: one unit of a
-- backfill step of mig run, the rows it wrote returned: a DDL statement (under lock_timeout
-- 200ms: ADD CONSTRAINT takes ACCESS EXCLUSIVE, and gives way rather than queue writers), or the
-- batch after done up to upto of a parent's rows (by map number) or of a child table's blocks
-- (by ctid; the last batch open-ended). A deadlock, serialization failure or lock timeout is
-- retried up to 5 times with back-off, then raised with the statement and how to resume.
CREATE OR REPLACE FUNCTION _snowflake_backfill_run(mig text, kind text, statement text, done bigint, upto bigint, total bigint)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    n bigint;
    tries int;
BEGIN
    tries := 0;
    LOOP
        BEGIN
            IF kind = 'ddl' THEN
                -- ADD CONSTRAINT takes ACCESS EXCLUSIVE: give way rather than queue writers.
                PERFORM set_config('lock_timeout', '200ms', true);
                EXECUTE statement;
            ELSIF kind = 'parent_batches' THEN
                EXECUTE statement USING mig, done + 1, upto + 1;
            ELSE
                EXECUTE statement USING format('(%s,0)', done)::tid,
                    CASE WHEN upto >= total THEN '(4294967295,0)'::tid ELSE format('(%s,0)', upto)::tid END;
            END IF;
            GET DIAGNOSTICS n = ROW_COUNT;
            EXIT;
        EXCEPTION WHEN deadlock_detected OR serialization_failure OR lock_not_available THEN
            tries := tries + 1;
            IF tries >= 5 THEN
                RAISE EXCEPTION '%', SQLERRM USING ERRCODE = SQLSTATE,
                    DETAIL = format('The step was tried %s times: %s', tries, statement),
                    HINT = format('Nothing of this step was written. CALL snowflake_migration_backfill(%L) again resumes it.', mig);
            END IF;
            RAISE NOTICE 'snowflake: %: retrying after %', mig, SQLERRM;
            PERFORM pg_sleep(0.05 * power(2, tries) * random());
        END;
    END LOOP;
    RETURN n;
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
    -- Fails at once inside a transaction block, before any work.
    PERFORM @extschema@._snowflake_outside_block('snowflake_migration_backfill', tbl);
    COMMIT;
    -- Tables keyed by integers: src/sql/migration/integer.sql.
    IF @extschema@._snowflake_integer_migration(tbl) THEN
        PERFORM @extschema@._snowflake_integer_backfill(tbl);
        COMMIT;
        RETURN;
    END IF;
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

COMMENT ON PROCEDURE snowflake_migration_backfill(regclass, name, boolean, text, int4range, text, integer) IS 'migration phases 2-3: give existing rows and referencing rows their snowflake keys, in batches';
