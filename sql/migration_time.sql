-- Where backfilled IDs come from: v7, v1 and v6 uuids, a time column, an order; more than 4096 rows in one
-- millisecond; rows dated before 2024; every option error. Progress NOTICEs are shown here.
CREATE EXTENSION IF NOT EXISTS snowflake;
-- Errors show their SQLSTATE (echoed after them), not the PL/pgSQL line they come from.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';

-- Deterministic time-based uuids for a time and a seed.
CREATE FUNCTION v7(t timestamptz, seed int) RETURNS uuid LANGUAGE sql IMMUTABLE AS $$
    SELECT (lpad(to_hex((extract(epoch FROM t) * 1000)::bigint), 12, '0') || '7' || substr(md5(seed::text), 1, 3)
            || '8' || substr(md5(seed::text), 5, 15))::uuid $$;
CREATE FUNCTION v1(t timestamptz, seed int) RETURNS uuid LANGUAGE sql IMMUTABLE AS $$
    SELECT (substr(h, 8, 8) || substr(h, 4, 4) || '1' || substr(h, 1, 3) || '8' || substr(md5(seed::text), 1, 15))::uuid
    FROM (SELECT lpad(to_hex((extract(epoch FROM t) * 10000000)::bigint + 122192928000000000), 15, '0') AS h) s $$;
CREATE FUNCTION v6(t timestamptz, seed int) RETURNS uuid LANGUAGE sql IMMUTABLE AS $$
    SELECT (substr(h, 1, 12) || '6' || substr(h, 13, 3) || '8' || substr(md5(seed::text), 1, 15))::uuid
    FROM (SELECT lpad(to_hex((extract(epoch FROM t) * 10000000)::bigint + 122192928000000000), 15, '0') AS h) s $$;
SELECT v1('2022-02-22 19:22:22+00', 1) AS v1_rfc_example_prefix, v6('2022-02-22 19:22:22+00', 1) AS v6_rfc_example_prefix;

-- ---- Version 7 uuids, with a referencing table; progress reported per batch ----
CREATE TABLE orders (id uuid PRIMARY KEY, n int NOT NULL);
CREATE TABLE lines (order_id uuid NOT NULL REFERENCES orders ON DELETE CASCADE, qty int);
-- Inserted out of time order; 2 rows to a millisecond.
INSERT INTO orders SELECT v7(timestamptz '2024-03-01 00:00:00+00' + ((n * 7) % 2000) * interval '500 microseconds', n), n
FROM generate_series(1, 2000) n;
INSERT INTO lines SELECT id, n FROM orders;
SELECT snowflake_migration_start('orders');
CALL snowflake_migration_backfill('orders', uuid_time => true, batch_size => 800);
SELECT count(*) AS rows, count(DISTINCT id_snowflake) AS ids,
       bool_and(snowflake_timestamp(id_snowflake) = snowflake_uuid_time(id)) AS decode_to_uuid_ms,
       bool_and(snowflake_machine_id(id_snowflake) = 1023) AS reserved_machine
FROM orders;
-- Sorted as the v7 uuids are (by time, then by their random bits within the millisecond).
SELECT count(*) AS out_of_uuid_order FROM (SELECT id, lag(id) OVER (ORDER BY id_snowflake) AS prev FROM orders) s WHERE id < prev;
SELECT count(*) AS lines_wrong FROM lines l JOIN orders o ON o.id = l.order_id WHERE l.order_id_snowflake IS DISTINCT FROM o.id_snowflake;
SELECT snowflake_migration_abort('orders');
DROP TABLE lines, orders;

-- ---- Versions 1 and 6: 100 ns timestamps, ordered to the microsecond inside a millisecond ----
CREATE TABLE devices (id uuid PRIMARY KEY, t timestamptz);
INSERT INTO devices
SELECT CASE WHEN n % 2 = 0 THEN v1(t, n) ELSE v6(t, n) END, t
FROM (SELECT n, timestamptz '2024-08-15 10:00:00+00' + ((n * 13) % 40) * interval '300 microseconds' AS t FROM generate_series(1, 40) n) s;
SELECT snowflake_migration_start('devices');
SET client_min_messages = warning;
CALL snowflake_migration_backfill('devices', uuid_time => true);
RESET client_min_messages;
SELECT t, (snowflake_decode(id_snowflake)).* FROM devices ORDER BY id_snowflake LIMIT 8;
SELECT bool_and(snowflake_timestamp(id_snowflake) = date_trunc('milliseconds', t)) AS decode_to_time,
       count(*) FILTER (WHERE prev > t) AS out_of_time_order
FROM (SELECT id_snowflake, t, lag(t) OVER (ORDER BY id_snowflake) AS prev FROM devices) s;
SELECT snowflake_migration_abort('devices');
DROP TABLE devices;

-- ---- More than 4096 rows in one millisecond (a bulk insert with created_at = now()) ----
CREATE TABLE bulk (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), created_at timestamptz NOT NULL, n int);
INSERT INTO bulk (created_at, n) SELECT '2024-07-01 12:00:00.123456+00', n FROM generate_series(1, 5000) n;
INSERT INTO bulk (created_at, n) VALUES ('2024-07-01 12:00:00.122+00', 0), ('2024-07-01 12:00:00.124+00', 5001);
SELECT snowflake_migration_start('bulk');
-- One reserved machine id numbers 4096 rows a millisecond: refused before anything is written.
CALL snowflake_migration_backfill('bulk', time_column => 'created_at');
\echo :LAST_ERROR_SQLSTATE
SELECT source, map_rows FROM snowflake_internal.snowflake_migration WHERE relation = 'public.bulk';
-- Two reserved machine ids: the rows of that millisecond continue on the second, still in order.
SET client_min_messages = warning;
CALL snowflake_migration_backfill('bulk', time_column => 'created_at', backfill_machine_ids => '[1022,1023]');
RESET client_min_messages;
SELECT (snowflake_decode(id_snowflake)).ts, (snowflake_decode(id_snowflake)).machine_id, count(*) AS rows,
       min((snowflake_decode(id_snowflake)).sequence) AS first_seq, max((snowflake_decode(id_snowflake)).sequence) AS last_seq
FROM bulk GROUP BY 1, 2 ORDER BY 1, 2;
SELECT count(DISTINCT id_snowflake) AS distinct_ids FROM bulk;
-- Within the millisecond the ties are broken by the old key: IDs follow the uuids.
SELECT count(*) AS out_of_order FROM (SELECT id, lag(id) OVER (ORDER BY id_snowflake) AS prev FROM bulk WHERE n BETWEEN 1 AND 5000) s WHERE id < prev;
SELECT snowflake_migration_abort('bulk');
DROP TABLE bulk;

-- ---- Rows dated before 2024: refused, or packed at the epoch in time order ----
CREATE TABLE legacy (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), created_at timestamptz NOT NULL, name text);
INSERT INTO legacy (created_at, name) VALUES
    ('2019-05-05 05:05:05+00', 'a 2019'), ('2023-12-31 23:59:59.999+00', 'b last ms of 2023'),
    ('2023-06-01 00:00:00+00', 'c mid 2023'), ('2024-01-01 00:00:00+00', 'd epoch'),
    ('2024-01-01 00:00:00.000001+00', 'e epoch + 1 us'), ('2024-01-01 00:00:00.001+00', 'f epoch + 1 ms'),
    ('2025-02-03 04:05:06.789+00', 'g 2025');
SELECT snowflake_migration_start('legacy');
CALL snowflake_migration_backfill('legacy', time_column => 'created_at');
\echo :LAST_ERROR_SQLSTATE
CALL snowflake_migration_backfill('legacy', time_column => 'created_at', pre_epoch => 'pack');
-- Packed rows take the first slots of the epoch millisecond in time order; rows of that millisecond follow.
SELECT name, created_at, id_snowflake, (snowflake_decode(id_snowflake)).* FROM legacy ORDER BY id_snowflake;
-- A live row sorts above all of them.
INSERT INTO legacy (created_at, name) VALUES (now(), 'live');
SELECT name FROM legacy ORDER BY id_snowflake DESC LIMIT 1;
SELECT snowflake_migration_abort('legacy');
DROP TABLE legacy;

-- ---- Random v4 uuids, no time: an order the user chooses, from the epoch (after the packed rows of legacy,
-- whose IDs stay taken), below every live ID ----
CREATE TABLE tags (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), label text NOT NULL, rank int NOT NULL);
-- (v4 uuids made from md5 so that the output is the same at every run; ranks are 0..4999 shuffled.)
INSERT INTO tags (id, label, rank)
SELECT (substr(h, 1, 12) || '4' || substr(h, 14, 3) || '8' || substr(h, 18, 15))::uuid, 'tag ' || n, (n * 37) % 5000
FROM generate_series(1, 5000) n, LATERAL (SELECT md5(n::text) AS h) m;
SELECT snowflake_migration_start('tags');
INSERT INTO tags (label, rank) VALUES ('live', -1);
-- A v4 uuid has no time.
CALL snowflake_migration_backfill('tags', uuid_time => true);
\echo :LAST_ERROR_SQLSTATE
-- Interrupted: a trigger of the application fails on one row (rank 2500, the 2501st in the order).
CREATE FUNCTION fail_on_2500() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.rank = 2500 THEN RAISE EXCEPTION 'the application refuses row %', NEW.label; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER fail_on_2500 BEFORE UPDATE ON tags FOR EACH ROW EXECUTE FUNCTION fail_on_2500();
SET client_min_messages = warning;
CALL snowflake_migration_backfill('tags', order_by => 'rank DESC', batch_size => 1000);
\echo :LAST_ERROR_SQLSTATE
-- Two batches committed, the third rolled back; the options are fixed.
SELECT status FROM snowflake_migration_plan('tags') WHERE statement LIKE 'UPDATE public.tags p%';
SELECT count(id_snowflake) AS with_id FROM tags;
CALL snowflake_migration_backfill('tags', order_by => 'rank');
\echo :LAST_ERROR_SQLSTATE
DROP TRIGGER fail_on_2500 ON tags;
-- Resumed: the same options, the remaining batches.
CALL snowflake_migration_backfill('tags');
RESET client_min_messages;
SELECT label, rank, id_snowflake, (snowflake_decode(id_snowflake)).* FROM tags
WHERE rank IN (4999, 4998, 2501, 2500, 904, 903, 902, 0) ORDER BY id_snowflake;
SELECT count(*) FILTER (WHERE prev < rank) AS out_of_chosen_order, count(DISTINCT id_snowflake) AS distinct_ids,
       max(id_snowflake) FILTER (WHERE label <> 'live') < min(id_snowflake) FILTER (WHERE label = 'live') AS below_live
FROM (SELECT label, rank, id_snowflake, lag(rank) OVER (ORDER BY id_snowflake) AS prev FROM tags) s;
SELECT snowflake_migration_abort('tags');
DROP FUNCTION fail_on_2500();

-- ---- Option errors (the migration of tags is started again for them) ----
SELECT snowflake_migration_start('tags');
CALL snowflake_migration_backfill('tags');
\echo :LAST_ERROR_SQLSTATE
CALL snowflake_migration_backfill('tags', uuid_time => true, order_by => 'rank');
\echo :LAST_ERROR_SQLSTATE
CALL snowflake_migration_backfill('tags', time_column => 'label');
\echo :LAST_ERROR_SQLSTATE
CALL snowflake_migration_backfill('tags', time_column => 'no_such_column');
\echo :LAST_ERROR_SQLSTATE
CALL snowflake_migration_backfill('tags', order_by => 'rank', backfill_machine_ids => '[40,50)');
\echo :LAST_ERROR_SQLSTATE
CALL snowflake_migration_backfill('tags', order_by => 'rank', backfill_machine_ids => '[1020,1024]');
\echo :LAST_ERROR_SQLSTATE
CALL snowflake_migration_backfill('tags', order_by => 'rank', backfill_machine_ids => 'empty');
\echo :LAST_ERROR_SQLSTATE
CALL snowflake_migration_backfill('tags', order_by => 'rank', pre_epoch => 'clamp');
\echo :LAST_ERROR_SQLSTATE
CALL snowflake_migration_backfill('tags', order_by => 'rank', batch_size => 0);
\echo :LAST_ERROR_SQLSTATE
CALL snowflake_migration_backfill('tags', order_by => 'no_such_column');
\echo :LAST_ERROR_SQLSTATE
SELECT source, map_rows FROM snowflake_internal.snowflake_migration WHERE relation = 'public.tags';
SELECT snowflake_migration_abort('tags');
DROP TABLE tags;

-- A time column with NULLs, and times a snowflake ID cannot hold.
CREATE TABLE odd (id uuid PRIMARY KEY, t timestamp);
INSERT INTO odd VALUES ('00000000-0000-4000-8000-000000000001', '2024-02-02 02:02:02'), ('00000000-0000-4000-8000-000000000002', NULL);
SELECT snowflake_migration_start('odd');
CALL snowflake_migration_backfill('odd', time_column => 't');
\echo :LAST_ERROR_SQLSTATE
UPDATE odd SET t = '2100-01-01' WHERE t IS NULL;
CALL snowflake_migration_backfill('odd', time_column => 't');
\echo :LAST_ERROR_SQLSTATE
UPDATE odd SET t = 'infinity' WHERE t = '2100-01-01';
CALL snowflake_migration_backfill('odd', time_column => 't');
\echo :LAST_ERROR_SQLSTATE
-- timestamp without time zone is read in the session's TimeZone.
UPDATE odd SET t = '2024-02-02 02:02:03' WHERE t = 'infinity';
SET timezone = 'Europe/Paris';
SET client_min_messages = warning;
CALL snowflake_migration_backfill('odd', time_column => 't');
RESET client_min_messages;
SET timezone = 'UTC';
SELECT t, snowflake_timestamp(id_snowflake) FROM odd ORDER BY id_snowflake;
SELECT snowflake_migration_abort('odd');
DROP TABLE odd;
DROP FUNCTION v7(timestamptz, int), v1(timestamptz, int), v6(timestamptz, int);
