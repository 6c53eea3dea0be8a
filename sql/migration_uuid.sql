-- snowflake_uuid_time(): the creation time inside version 7, 1 and 6 uuids; labels of the migration functions.
CREATE EXTENSION IF NOT EXISTS snowflake;
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';

-- Version 7: 48-bit Unix milliseconds. 0x018fcbb6ba15 = 1717109701141 ms = 2024-05-30 22:55:01.141 UTC.
SELECT snowflake_uuid_time('018fcbb6-ba15-7abc-8def-0123456789ab');
-- The extremes: 0 and 2^48 - 1 ms (year 10889), exactly.
SELECT snowflake_uuid_time('00000000-0000-7000-8000-000000000000') AS unix_epoch,
       snowflake_uuid_time('ffffffff-ffff-7fff-bfff-ffffffffffff') AS last_v7_ms;
-- The extremes of v1: 0 and 2^60 - 1 ticks of 100 ns (year 5236), exactly.
SELECT snowflake_uuid_time('00000000-0000-1000-8000-000000000000') AS gregorian_epoch,
       snowflake_uuid_time('ffffffff-ffff-1fff-bfff-ffffffffffff') AS last_v1_tick;
-- The RFC 9562 example of a version 7 uuid: 2022-02-22 19:22:22 UTC (0x017F22E279B0).
SELECT snowflake_uuid_time('017f22e2-79b0-7cc3-98c4-dc0c0c07398f');
-- Version 1 and version 6 of the same instant (RFC 9562 examples: 2022-02-22 19:22:22 UTC, 100 ns
-- counts truncated to the microsecond): the fields are in a different order.
SELECT snowflake_uuid_time('c232ab00-9414-11ec-b3c8-9f6bdeced846') AS v1,
       snowflake_uuid_time('1ec9414c-232a-6b00-b3c8-9f6bdeced846') AS v6;
-- Sub-millisecond precision of v1: 0x1ec9414c232ab01 = one 100 ns tick later, same microsecond;
-- ten ticks later, the next microsecond.
SELECT snowflake_uuid_time('c232ab01-9414-11ec-b3c8-9f6bdeced846') AS plus_100ns,
       snowflake_uuid_time('c232ab0a-9414-11ec-b3c8-9f6bdeced846') AS plus_1us;
-- A v7 made from a known time by hand gives that time back, to the millisecond, over many years.
SELECT count(*) AS uuids,
       bool_and(snowflake_uuid_time((lpad(to_hex((extract(epoch FROM t) * 1000)::bigint), 12, '0') || '7' || substr(md5(t::text), 1, 3)
                                     || '8' || substr(md5(t::text), 5, 15))::uuid) = date_trunc('milliseconds', t)) AS all_equal
FROM generate_series(timestamptz '1971-01-01 00:00:00.123+00', '2090-01-01', '123 days 4.567 seconds') t;
-- No time: version 4 (random), nil, max, version 3/5 (hashes), and a non-RFC variant.
SELECT snowflake_uuid_time('2b0e5a2e-7a4f-4b2e-9c3d-5e6f7a8b9c0d') AS v4,
       snowflake_uuid_time('00000000-0000-0000-0000-000000000000') AS nil,
       snowflake_uuid_time('ffffffff-ffff-ffff-ffff-ffffffffffff') AS max,
       snowflake_uuid_time('6fa459ea-ee8a-3ca4-894e-db77e160355e') AS v3,
       snowflake_uuid_time('886313e1-3b8a-5372-9b90-0c9aee199e5d') AS v5,
       snowflake_uuid_time('018fcbb6-ba15-7abc-cdef-0123456789ab') AS v7_wrong_variant,
       snowflake_uuid_time(NULL) AS null_in;
SELECT count(*) FILTER (WHERE snowflake_uuid_time(gen_random_uuid()) IS NOT NULL) AS random_uuids_with_a_time
FROM generate_series(1, 1000);

-- Labels: the uuid reader can be folded and run in parallel; the plan only reads; the phases write.
SELECT p.oid::regprocedure AS function, p.prokind, p.provolatile, p.proparallel, p.proisstrict
FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'snowflake'
WHERE p.proname ~ '^_snowflake|_migration_|_uuid_time$'
ORDER BY p.proname, p.oid::regprocedure::text;
-- The state tables are dumped with the data (a dump taken mid-migration resumes after restore).
SELECT c.relname FROM pg_extension e, unnest(e.extconfig) t(oid) JOIN pg_class c ON c.oid = t.oid
WHERE e.extname = 'snowflake' ORDER BY 1;
