-- The schema of the extension's own state (new in 1.2): the migration toolkit's tables live here, not in the schema applications use.
--
-- Schema-diff tools (Alembic autogenerate, drizzle-kit, Prisma, ...) compare the application's
-- schema (usually public) with the application's models and plan to drop what the models do not
-- have: tables in the extension's schema were such targets (docs/applications.md). A schema of the extension's own, with a fixed name, is outside what such
-- tools read by default. It is a member of the extension (dropped with it), owned by the role that
-- ran CREATE EXTENSION (a superuser), and nobody else may create in it: every role may use it
-- (USAGE), and row-level security on its tables decides what each role sees. preflight.sql refuses
-- a schema of this name that is not the extension's (42710); schema_check.sql refuses one that
-- others may create in. The functions name its tables schema-qualified, never through search_path.
-- The update from 1.1 creates it first and moves 1.1's tables into it (src/sql/update), rows,
-- grants, policies and their pg_dump registration with them.
CREATE SCHEMA snowflake_internal;
COMMENT ON SCHEMA snowflake_internal IS 'state of the snowflake extension (migration toolkit); not for applications';
REVOKE ALL ON SCHEMA snowflake_internal FROM PUBLIC;
GRANT USAGE ON SCHEMA snowflake_internal TO PUBLIC;
