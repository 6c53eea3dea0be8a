-- The migration toolkit's record of the IDs every backfill of this database has numbered, so that
-- backfilled IDs never repeat across tables (new in 1.2: created by a fresh install and by the update).

-- One row per backfill: the rectangle of ID space its map used, milliseconds (since the epoch)
-- by slots (machine id * 4096 + sequence within a millisecond). Two rectangles never overlap (the
-- exclusion constraint proves it), so no two backfills give out the same ID, whatever their
-- tables' times. A backfill chooses free slots among the rectangles that overlap its
-- milliseconds, and places rows without a time after those that came before
-- (docs/migration.md, section "Which ID each old row gets"). Kept after the cut-over and after an
-- abort: IDs that were handed out stay taken. Everyone reads them (to avoid them); a role adds
-- rows only for tables it owns.
CREATE TABLE snowflake_internal.snowflake_migration_lane (
    relation text NOT NULL,
    ms       int8range NOT NULL,
    slots    int8range NOT NULL,
    made_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT snowflake_migration_lane_disjoint EXCLUDE USING gist (ms WITH &&, slots WITH &&)
);
SELECT pg_catalog.pg_extension_config_dump('snowflake_internal.snowflake_migration_lane', '');
ALTER TABLE snowflake_internal.snowflake_migration_lane ENABLE ROW LEVEL SECURITY;
CREATE POLICY everyone_reads ON snowflake_internal.snowflake_migration_lane FOR SELECT USING (true);
CREATE POLICY owner_adds ON snowflake_internal.snowflake_migration_lane FOR INSERT WITH CHECK (@extschema@._snowflake_owns(relation));
GRANT SELECT, INSERT ON snowflake_internal.snowflake_migration_lane TO PUBLIC;

-- Maps built under 1.1 (a backfill under way during the update) keep their IDs taken.
INSERT INTO snowflake_internal.snowflake_migration_lane (relation, ms, slots)
SELECT m.relation, int8range(min(m.new_id >> 22), max(m.new_id >> 22), '[]'),
       int8range(min(m.new_id & 4194303), max(m.new_id & 4194303), '[]')
FROM snowflake_internal.snowflake_migration_map m GROUP BY m.relation
ON CONFLICT DO NOTHING;
