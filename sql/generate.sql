-- snowflake_next(): properties of fresh IDs that hold whatever the time (machine id 42 from tests/regress.conf).
CREATE EXTENSION IF NOT EXISTS snowflake;
SET datestyle = 'ISO, YMD';
SHOW snowflake.machine_id;

-- Fresh IDs carry this server's machine id and the current time, truncated to the millisecond.
SELECT snowflake_machine_id(id) AS machine_id,
       snowflake_timestamp(id) > now() - interval '1 ms' AS not_before_transaction,
       snowflake_timestamp(id) <= clock_timestamp() AS not_ahead_of_clock
FROM (SELECT snowflake_next() AS id) s;

-- Strictly increasing in the order issued, within one statement, across many milliseconds; more IDs
-- than one millisecond holds, so the wait for the next millisecond is taken when the machine is fast.
SELECT count(*) AS ids, count(DISTINCT id) AS distinct_ids,
       bool_and(id > previous) FILTER (WHERE previous IS NOT NULL) AS increasing,
       max((snowflake_decode(id)).sequence) <= 4095 AS sequences_in_range
FROM (SELECT id, lag(id) OVER (ORDER BY n) AS previous
      FROM (SELECT n, snowflake_next() AS id FROM generate_series(1, 20000) n) g) s;

-- Across statements too.
CREATE TEMP TABLE first_id AS SELECT snowflake_next() AS id;
SELECT snowflake_next() > id AS later_statement_higher FROM first_id;

-- As a column default.
CREATE TABLE posts (id bigint PRIMARY KEY DEFAULT snowflake_next(), body text);
CREATE TEMP TABLE before_insert AS SELECT clock_timestamp() AS t;
INSERT INTO posts (body) SELECT 'post ' || n FROM generate_series(1, 5000) n;
SELECT count(*) AS rows, count(DISTINCT id) AS ids, min(snowflake_machine_id(id)) AS machine_min,
       max(snowflake_machine_id(id)) AS machine_max
FROM posts;
SELECT (d).machine_id, (d).ts > now() - interval '1 minute' AS recent
FROM (SELECT snowflake_decode(id) AS d FROM posts ORDER BY id LIMIT 1) s;

-- Time ranges through the key: the lowest ID of a millisecond bounds every later ID.
SELECT count(*) AS made_since_before_insert FROM posts, before_insert WHERE id >= snowflake_compose(t);
SELECT count(*) AS from_the_future FROM posts WHERE id >= snowflake_compose(clock_timestamp() + interval '1 second');
DROP TABLE posts;

-- The generator's own account: no ID past the durable mark, which is at most one lease (1 s) ahead.
SELECT machine_id, ids_issued >= 25003 AS counted_every_id, last_ts <= durable_mark AS below_mark,
       durable_mark - last_ts <= interval '1 second' AS within_a_lease, mark_writes > 0 AS mark_written,
       rollback_errors, stall_errors, mark_write_errors
FROM snowflake_status();
