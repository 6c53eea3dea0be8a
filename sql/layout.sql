-- Decode and compose: fixed IDs to fixed values, round trips, boundaries, every error, volatility labels.
CREATE EXTENSION IF NOT EXISTS snowflake;
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
-- Reports an error's SQLSTATE and message instead of stopping, so codes are checked too.
CREATE FUNCTION error_of(query text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE query;
  RETURN 'no error';
EXCEPTION WHEN others THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- The layout's example: 1 ms, machine 1, sequence 1.
SELECT snowflake_compose('2024-01-01 00:00:00.001+00', 1, 1);
SELECT * FROM snowflake_decode(4198401);
SELECT (snowflake_decode(4198401)).ts, (snowflake_decode(4198401)).machine_id;
SELECT snowflake_timestamp(4198401), snowflake_machine_id(4198401);

-- Boundaries: the epoch, the last millisecond of the 41 bits, the largest machine and sequence.
SELECT snowflake_compose('2024-01-01 00:00:00+00');
SELECT * FROM snowflake_decode(0);
SELECT snowflake_compose('2093-09-06 15:47:35.551+00', 1023, 4095) = 9223372036854775807 AS is_max;
SELECT * FROM snowflake_decode(9223372036854775807);
SELECT * FROM snowflake_decode(4095), snowflake_decode(4096) AS next_machine, snowflake_decode(4194304) AS next_ms;

-- Defaults give the lowest ID of the millisecond; time is truncated, never rounded; zones do not matter.
SELECT snowflake_compose('2024-06-15 12:34:56.789+00') = snowflake_compose('2024-06-15 12:34:56.789+00', 0, 0);
SELECT snowflake_compose('2024-01-01 00:00:00.0019+00') AS one_ms;
SELECT snowflake_compose('2024-01-01 01:00:00+01') AS epoch_in_another_zone;
SELECT snowflake_compose('2024-06-15 12:34:56.789999+00', 5) - snowflake_compose('2024-06-15 12:34:56.789+00', 5) AS same_ms;

-- Round trips over IDs spread across the whole range.
SELECT count(*) AS ids, bool_and(snowflake_compose(d.ts, d.machine_id, d.sequence) = id) AS all_round_trip
FROM (SELECT (i * 9007199254740) AS id FROM generate_series(0, 1000) i) ids, snowflake_decode(id) d;
SELECT bool_and(snowflake_decode(snowflake_compose(t, m, s)) = (date_trunc('milliseconds', t), m, s)::record)
  AS all_round_trip
FROM generate_series(timestamptz '2024-01-01 00:00:00.123456+00', '2090-01-01', '97 days 3 hours 7.891 seconds') t,
     (VALUES (0, 0), (1, 4095), (1023, 1), (512, 2048)) ms(m, s);

-- Order of IDs is order of time first.
SELECT snowflake_compose('2024-01-01 00:00:00.001+00', 0, 0) > snowflake_compose('2024-01-01+00', 1023, 4095) AS time_first;

-- NULL in, NULL out.
SELECT snowflake_compose(NULL) IS NULL AS c, snowflake_timestamp(NULL) IS NULL AS t, snowflake_machine_id(NULL) IS NULL AS m;
SELECT * FROM snowflake_decode(NULL);

-- Errors, with the message a user sees, then every SQLSTATE.
SELECT * FROM snowflake_decode(-1);
SELECT snowflake_compose('2023-12-31 23:59:59.999+00');
SELECT snowflake_compose(now(), 1024);
SELECT snowflake_compose(now(), 0, 4096);
SELECT error_of(q) FROM (VALUES
  ('SELECT snowflake_decode(-1)'),
  ('SELECT snowflake_decode(-9223372036854775808)'),
  ('SELECT snowflake_timestamp(-1)'),
  ('SELECT snowflake_machine_id(-1)'),
  ($$SELECT snowflake_compose('2023-12-31 23:59:59.999+00')$$),
  ($$SELECT snowflake_compose('2093-09-06 15:47:35.552+00')$$),
  ($$SELECT snowflake_compose('infinity')$$),
  ($$SELECT snowflake_compose('-infinity')$$),
  ($$SELECT snowflake_compose(now(), -1)$$),
  ($$SELECT snowflake_compose(now(), 1024)$$),
  ($$SELECT snowflake_compose(now(), 0, -1)$$),
  ($$SELECT snowflake_compose(now(), 0, 4096)$$)) q(q);

-- Labels the planner relies on: decode and compose can be folded, indexed and run in parallel; next is volatile.
SELECT p.oid::regprocedure AS function, provolatile, proparallel, proisstrict
FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'snowflake'
WHERE p.proname !~ '^_snowflake|_migration_|_uuid_time$'  -- those are checked in migration.sql
  AND p.prolang <> (SELECT oid FROM pg_language WHERE lanname = 'internal') AND p.prokind <> 'a'  -- type.sql checks the type's
ORDER BY p.proname, p.oid::regprocedure::text;
