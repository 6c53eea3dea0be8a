-- What updating from 1.1 to 1.2 must do before the replayable definitions of src/sql run over
-- 1.1's objects (see the Makefile's "SQL scripts"): drop what 1.2 no longer has or defines with
-- another signature or result, and convert 1.1's state to 1.2's. Nothing yet.

-- The description of the migrated columns is one composite value now, not parallel arrays.
DROP FUNCTION _snowflake_migration_context(regclass, boolean);

-- The abort gives way to writers like the start and the cut-over: lock_wait, give_up_after.
DROP FUNCTION snowflake_migration_abort(regclass);
