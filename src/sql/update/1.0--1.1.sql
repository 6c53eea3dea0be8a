-- What updating from 1.0 to 1.1 must do before the definitions of src/sql are replayed over the
-- 1.0 objects (every function there is CREATE OR REPLACE): drop what 1.1 no longer has or
-- defines with another signature, and convert 1.0's state (migration_state.sql) to 1.1's.

-- snowflake_status() gained OUT columns (machine_id_source, lease_*): a new row type, which
-- CREATE OR REPLACE cannot give an existing function.
DROP FUNCTION snowflake_status();
