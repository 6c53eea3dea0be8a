-- The end of the update from 1.0 to 1.1, after the state and the definitions: the records of
-- migrations 1.0 finished, set aside by 1.0--1.1.sql, go into 1.1's tables.
INSERT INTO @extschema@.snowflake_migration SELECT * FROM pg_temp.snowflake_10_migration;
INSERT INTO @extschema@.snowflake_migration_step (relation, step, phase, kind, target, object, finished, done, total)
    SELECT * FROM pg_temp.snowflake_10_step;
DROP TABLE pg_temp.snowflake_10_migration, pg_temp.snowflake_10_step;
