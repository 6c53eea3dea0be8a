-- Time ranges through a snowflake key: an index range scan on the primary key; partitions by month.
CREATE EXTENSION IF NOT EXISTS snowflake;
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';

-- A month's bounds: the lowest ID of its first millisecond, and of the next month's.
SELECT m AS month, snowflake_compose(m) AS from_id, snowflake_compose(m + interval '1 month') AS to_id
FROM generate_series(timestamptz '2025-01-01 00:00:00+00', '2025-03-01', '1 month') m;

CREATE TABLE events (id bigint NOT NULL DEFAULT snowflake_next(), kind text) PARTITION BY RANGE (id);
CREATE TABLE events_2025_01 PARTITION OF events FOR VALUES FROM (snowflake_compose('2025-01-01 00:00:00+00')) TO (snowflake_compose('2025-02-01 00:00:00+00'));
CREATE TABLE events_2025_02 PARTITION OF events FOR VALUES FROM (snowflake_compose('2025-02-01 00:00:00+00')) TO (snowflake_compose('2025-03-01 00:00:00+00'));
CREATE TABLE events_2025_03 PARTITION OF events FOR VALUES FROM (snowflake_compose('2025-03-01 00:00:00+00')) TO (snowflake_compose('2025-04-01 00:00:00+00'));
CREATE TABLE events_default PARTITION OF events DEFAULT;   -- live IDs of today land here
ALTER TABLE events ADD PRIMARY KEY (id);
-- Rows at the edges of the months, every machine id and sequence.
INSERT INTO events (id, kind)
SELECT snowflake_compose(t, m, s), to_char(t, 'YYYY-MM-DD HH24:MI:SS.MS')
FROM unnest(ARRAY[timestamptz '2025-01-01 00:00:00+00', '2025-01-31 23:59:59.999+00', '2025-02-01 00:00:00+00',
                  '2025-02-28 23:59:59.999+00', '2025-03-01 00:00:00+00', '2025-03-31 23:59:59.999+00']) t,
     (VALUES (0, 0), (1023, 4095)) ms(m, s);
INSERT INTO events (kind) VALUES ('now');
SELECT tableoid::regclass AS partition, kind, count(*) FROM events GROUP BY 1, 2 ORDER BY 1, 2;
-- A month's query reads one partition; a day's is a range of its primary-key index.
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM events
WHERE id >= snowflake_compose('2025-02-01 00:00:00+00') AND id < snowflake_compose('2025-03-01 00:00:00+00');
EXPLAIN (COSTS OFF) SELECT * FROM events
WHERE id >= snowflake_compose('2025-02-10 00:00:00+00') AND id < snowflake_compose('2025-02-11 00:00:00+00');
-- With a time computed at run time (now()), pruning happens when the query runs.
EXPLAIN (COSTS OFF) SELECT * FROM events WHERE id >= snowflake_compose(now() - interval '1 hour');
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT count(*) AS last_hour FROM events WHERE id >= snowflake_compose(now() - interval '1 hour');
DROP TABLE events;

-- Time zones: a timestamptz is an instant, but a literal without an offset is read in the
-- session's TimeZone, so the same text gives another ID in another zone (docs/applications.md, "Time zones").
SET timezone = 'America/New_York';
SELECT snowflake_compose('2025-03-01') = snowflake_compose('2025-03-01 05:00:00+00') AS literal_read_in_new_york,
       snowflake_compose('2025-03-01 00:00:00+00') = snowflake_compose('2025-03-01'::timestamp AT TIME ZONE 'UTC') AS offset_or_at_time_zone,
       snowflake_compose(now() - interval '1 day') = snowflake_compose(now() - interval '1 day') AS instants;
SET timezone = 'Asia/Kolkata';
SELECT snowflake_compose('2025-03-01') = snowflake_compose('2025-02-28 18:30:00+00') AS literal_read_in_kolkata,
       (snowflake_decode(snowflake_compose('2025-03-01 00:00:00+00'))).ts AS decoded_shown_in_session_zone;
SET timezone = 'UTC';
