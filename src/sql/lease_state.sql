-- Machine-id leases, kept on a coordination database (docs/many-nodes.md, section "Machine ids from leases"). New in 1.1.
--
-- From 1.2 part of extension snowflake_coordination (CREATE EXTENSION snowflake_coordination on the
-- coordination database only), no longer of snowflake. IF NOT EXISTS: tables taken over from
-- snowflake (coordination/adopt.sql) are already this extension's and stay as they are.
--
-- Times of two kinds, never mixed:
-- * *_ms: milliseconds since 2024-01-01 UTC, the scale of the IDs themselves. A holder never issues
--   an ID of its machine id with a millisecond past lease_end_ms, and it issues only IDs with a
--   millisecond after previous_end_ms. Both are compared with the millisecond inside an ID, so they
--   keep the IDs of successive holders apart whatever either server's clock says. The node proposes
--   them from its own clock: it is the clock its IDs carry.
-- * timestamptz: this database's own clock (clock_timestamp()), only to decide when a holder that
--   stopped renewing is gone (liveness), never for uniqueness.

-- One row per machine id ever leased. Rows are never deleted: a row's lease_end_ms is the bound
-- the next holder must start after.
CREATE TABLE IF NOT EXISTS snowflake_lease (
    machine_id        integer PRIMARY KEY CHECK (machine_id BETWEEN 0 AND 1023),
    holder            uuid NOT NULL,         -- the node identity kept in the node's data directory
    incarnation       uuid NOT NULL,         -- one run of the node's server (new at each start)
    holder_role       name NOT NULL,         -- the role that claimed it: only it may renew or release
    system_identifier text,                  -- the node's pg_control system identifier (information)
    host              text,                  -- the node's host name (information)
    duration_ms       integer NOT NULL CHECK (duration_ms > 0),  -- how far ahead the node renews
    started_at        timestamptz NOT NULL,  -- this holder's claim
    renewed_at        timestamptz NOT NULL,  -- its last claim or renewal
    released_at       timestamptz,           -- a clean stop; the id is free again
    lease_end_ms      bigint NOT NULL,       -- no ID of machine_id past this millisecond from this holder
    previous_end_ms   bigint NOT NULL,       -- the lease end of the previous holders (-1: none)
    CHECK (lease_end_ms >= previous_end_ms)
);

-- At most one row: when the id of a holder that stopped renewing may go to another node. Empty
-- means 10 minutes (no row from the script, so that a dump's row restores without a conflict):
--   INSERT INTO snowflake_lease_settings VALUES (true, '1 hour')
--       ON CONFLICT (one) DO UPDATE SET reclaim_after = excluded.reclaim_after;
CREATE TABLE IF NOT EXISTS snowflake_lease_settings (
    one           boolean PRIMARY KEY DEFAULT true CHECK (one),
    reclaim_after interval NOT NULL CHECK (reclaim_after >= interval '0')
);

-- The ids each node role may lease: a role claims and renews only ids inside its own ranges (a
-- range withdrawn makes its holder's next renewal answer 'lost'). Under 1.1 an empty table let
-- every role granted the functions lease any id; from 1.2 a role without a row leases nothing.
CREATE TABLE IF NOT EXISTS snowflake_lease_grant (
    holder_role name NOT NULL,
    machine_ids int4range NOT NULL CHECK (NOT isempty(machine_ids) AND machine_ids <@ int4range(0, 1023, '[]')),
    PRIMARY KEY (holder_role, machine_ids)
);

-- Leases, grants and the reclaim setting are the coordination database's state: a dump carries them.
SELECT pg_catalog.pg_extension_config_dump('snowflake_lease', '');
SELECT pg_catalog.pg_extension_config_dump('snowflake_lease_settings', '');
SELECT pg_catalog.pg_extension_config_dump('snowflake_lease_grant', '');

REVOKE ALL ON snowflake_lease, snowflake_lease_settings, snowflake_lease_grant FROM PUBLIC;
