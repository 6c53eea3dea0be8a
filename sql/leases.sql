-- Machine-id leases, the coordination database's side: claim, renew, conflict, expiry, take-over,
-- release, and what a node's role can and cannot do. This server plays the coordination database;
-- nodes are roles calling the functions (SET SESSION AUTHORIZATION sets session_user, which is
-- what the functions check). Lease ends are plain numbers (ms since 2024-01-01 on the IDs' scale).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS snowflake;
CREATE EXTENSION IF NOT EXISTS snowflake_coordination;   -- the lease objects, on the coordination database only
\set SHOW_CONTEXT never
SET timezone = 'UTC';
-- The node role of docs/many-nodes.md: nothing but EXECUTE on the three functions and SELECT on the view.
CREATE ROLE regress_sf_node_a LOGIN;
CREATE ROLE regress_sf_node_b LOGIN;
CREATE ROLE regress_sf_outsider LOGIN;
GRANT EXECUTE ON FUNCTION snowflake_lease_claim(uuid, uuid, integer, integer, bigint, integer, text, text),
                          snowflake_lease_renew(integer, uuid, uuid, bigint),
                          snowflake_lease_release(integer, uuid, uuid, bigint)
      TO regress_sf_node_a, regress_sf_node_b;
GRANT SELECT ON snowflake_leases TO regress_sf_node_a, regress_sf_node_b;
-- ... and the ids each may lease (from 1.2, none without a row here).
INSERT INTO snowflake_lease_grant VALUES ('regress_sf_node_a', '[0,1023]'), ('regress_sf_node_b', '[0,1023]');
RESET client_min_messages;

-- Holders: a = node A, b = node B, c = a second node that logs in with node B's role.
\set a '''aaaaaaaa-0000-0000-0000-000000000001'''
\set a1 '''aaaaaaaa-0000-0000-0000-0000000000a1'''
\set a2 '''aaaaaaaa-0000-0000-0000-0000000000a2'''
\set b '''bbbbbbbb-0000-0000-0000-000000000001'''
\set b1 '''bbbbbbbb-0000-0000-0000-0000000000b1'''
\set c '''cccccccc-0000-0000-0000-000000000001'''
\set c1 '''cccccccc-0000-0000-0000-0000000000c1'''

-- Claims: distinct ids from a two-id range, then nothing left.
SET SESSION AUTHORIZATION regress_sf_node_a;
SELECT status, machine_id, lease_end_ms, previous_end_ms
FROM snowflake_lease_claim(:a, :a1, 100, 101, 1000000, 30000, 'host-a', '7000000000000000001');
SET SESSION AUTHORIZATION regress_sf_node_b;
SELECT status, machine_id, lease_end_ms, previous_end_ms
FROM snowflake_lease_claim(:b, :b1, 100, 101, 2000000, 30000, 'host-b', '7000000000000000002');
SELECT status, machine_id FROM snowflake_lease_claim(:c, :c1, 100, 101, 2000000, 30000, 'host-c', NULL);
-- The view, as a node sees it.
SELECT machine_id, holder_role, host, lease_end, previous_end, state FROM snowflake_leases ORDER BY machine_id;

-- Renewal moves the end forward, never back.
SET SESSION AUTHORIZATION regress_sf_node_a;
SELECT status, lease_end_ms FROM snowflake_lease_renew(100, :a, :a1, 1030000);
SELECT status, lease_end_ms FROM snowflake_lease_renew(100, :a, :a1, 1010000);

-- The same run claiming again (its worker restarted) keeps its id and its start.
SELECT status, machine_id, lease_end_ms, previous_end_ms FROM snowflake_lease_claim(:a, :a1, 100, 101, 1040000, 30000);
-- Another run of node A while the first still renews (a copy of its data directory, or a
-- restart within the old run's lease): busy, not a second holder of id 100.
SELECT status, machine_id, renewed_at IS NOT NULL AS says_when FROM snowflake_lease_claim(:a, :a2, 100, 101, 1050000, 30000);

-- A node cannot touch another's lease, even knowing its holder and run (they are in the view).
SET SESSION AUTHORIZATION regress_sf_node_b;
SELECT status FROM snowflake_lease_renew(100, :a, :a1, 9000000);
SELECT snowflake_lease_release(100, :a, :a1, 0);
SELECT snowflake_lease_release(100, :a);
-- ... nor claim its id by presenting its holder identity: the role is part of the identity.
SELECT status, machine_id FROM snowflake_lease_claim(:a, :a1, 100, 100, 9000000, 30000);
-- ... nor reach the tables, nor run the functions without the grant.
UPDATE snowflake_lease SET lease_end_ms = 0;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM snowflake_lease;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO snowflake_lease_settings VALUES (true, '0');
\echo :LAST_ERROR_SQLSTATE
SET SESSION AUTHORIZATION regress_sf_outsider;
SELECT status FROM snowflake_lease_claim(:c, :c1, 0, 1023, 1000, 1000);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM snowflake_leases;
\echo :LAST_ERROR_SQLSTATE
RESET SESSION AUTHORIZATION;
SELECT machine_id, holder_role, lease_end_ms, previous_end_ms, released_at IS NULL AS held
FROM snowflake_lease ORDER BY machine_id;

-- A hostile node with its own functions and operators first on its search_path: the pinned
-- search_path ignores them. Resolved, its clock_timestamp() would make every lease look expired
-- and its = would make every holder and role match.
CREATE SCHEMA regress_sf_hostile AUTHORIZATION regress_sf_node_b;
SET SESSION AUTHORIZATION regress_sf_node_b;
CREATE FUNCTION regress_sf_hostile.clock_timestamp() RETURNS timestamptz LANGUAGE sql AS $$ SELECT timestamptz '2200-01-01' $$;
CREATE FUNCTION regress_sf_hostile.always(uuid, uuid) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;
CREATE FUNCTION regress_sf_hostile.always(name, name) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;
CREATE OPERATOR regress_sf_hostile.= (FUNCTION = regress_sf_hostile.always, LEFTARG = uuid, RIGHTARG = uuid);
CREATE OPERATOR regress_sf_hostile.= (FUNCTION = regress_sf_hostile.always, LEFTARG = name, RIGHTARG = name);
SET search_path = regress_sf_hostile, public, pg_catalog;
SELECT status, machine_id FROM public.snowflake_lease_claim(:c, :c1, 100, 101, 2000000, 30000);
SELECT status FROM public.snowflake_lease_renew(100, :a, :a1, 9000000);
SELECT public.snowflake_lease_release(100, :a);
SELECT status, lease_end_ms FROM public.snowflake_lease_renew(101, :b, :b1, 2000001);
RESET search_path;
RESET SESSION AUTHORIZATION;
DROP SCHEMA regress_sf_hostile CASCADE;

-- Expiry: node A stops renewing (its last renewal an hour ago on this database's clock). Within
-- reclaim_after its id stays its own; past it, another node takes it over and starts after A's end.
UPDATE snowflake_lease SET renewed_at = renewed_at - interval '1 hour' WHERE machine_id = 100;
INSERT INTO snowflake_lease_settings VALUES (true, '2 hours');
SET SESSION AUTHORIZATION regress_sf_node_b;
SELECT status, machine_id FROM snowflake_lease_claim(:c, :c1, 100, 101, 2000000, 30000);
SELECT machine_id, state FROM snowflake_leases ORDER BY machine_id;
RESET SESSION AUTHORIZATION;
UPDATE snowflake_lease_settings SET reclaim_after = '30 minutes';
SET SESSION AUTHORIZATION regress_sf_node_b;
SELECT machine_id, state FROM snowflake_leases ORDER BY machine_id;
-- Take-over by node C, whose clock is behind A's: its end proposal (500000) is below A's end, so
-- the lease end stays A's end; C issues IDs of 100 only in (1040000, 1040000], i.e. none, until
-- a renewal past its clock extends it.
SELECT status, machine_id, lease_end_ms, previous_end_ms FROM snowflake_lease_claim(:c, :c1, 100, 101, 500000, 30000, 'host-c');
SELECT status, lease_end_ms FROM snowflake_lease_renew(100, :c, :c1, 1100000);
SELECT machine_id, holder_role, host, previous_end, state FROM snowflake_leases ORDER BY machine_id;
-- Node A comes back: its renewal is refused (it stops, and never issues past 1040000), and its
-- own id is gone, so it gets none (the range is used up).
SET SESSION AUTHORIZATION regress_sf_node_a;
SELECT status, lease_end_ms FROM snowflake_lease_renew(100, :a, :a1, 1200000);
SELECT status, machine_id FROM snowflake_lease_claim(:a, :a2, 100, 101, 1200000, 30000);

-- Release: a clean stop lowers the end to the last millisecond used, never below the previous
-- holder's end; the id is free, and the releasing node gets it back first.
SET SESSION AUTHORIZATION regress_sf_node_b;
SELECT snowflake_lease_release(100, :c, :c1, 1000);
SELECT snowflake_lease_release(100, :c, :c1, 1000);
SELECT machine_id, lease_end, previous_end, state FROM snowflake_leases WHERE machine_id = 100;
SELECT status, machine_id, lease_end_ms, previous_end_ms FROM snowflake_lease_claim(:c, :c1, 100, 101, 1150000, 30000);
-- Released ids go to other nodes too: the id whose lease ended longest ago first.
SELECT snowflake_lease_release(101, :b, :b1, 2000000);
SELECT snowflake_lease_release(100, :c);
SET SESSION AUTHORIZATION regress_sf_node_a;
SELECT status, machine_id, lease_end_ms, previous_end_ms FROM snowflake_lease_claim(:a, :a2, 100, 101, 1200000, 30000);

-- A claim inside a SERIALIZABLE transaction, and invalid arguments.
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT status, machine_id, previous_end_ms FROM snowflake_lease_claim(:a, :a2, 100, 101, 1300000, 30000);
COMMIT;
SELECT snowflake_lease_claim(:a, :a2, 101, 100, 1300000, 30000);
\echo :LAST_ERROR_SQLSTATE
SELECT snowflake_lease_claim(:a, :a2, 1000, 1024, 1300000, 30000);
\echo :LAST_ERROR_SQLSTATE
SELECT snowflake_lease_claim(:a, NULL, 100, 101, 1300000, 30000);
\echo :LAST_ERROR_SQLSTATE
SELECT snowflake_lease_renew(100, :a, :a2, -1);
\echo :LAST_ERROR_SQLSTATE

-- Per-role ranges: a role leases only inside its own.
RESET SESSION AUTHORIZATION;
DELETE FROM snowflake_lease;
DELETE FROM snowflake_lease_grant;
INSERT INTO snowflake_lease_grant VALUES ('regress_sf_node_a', '[100,101]'), ('regress_sf_node_b', '[102,102]');
SET SESSION AUTHORIZATION regress_sf_node_b;
SELECT status, machine_id FROM snowflake_lease_claim(:b, :b1, 100, 103, 1000, 30000);
SELECT status, machine_id FROM snowflake_lease_claim(:c, :c1, 100, 103, 1000, 30000);
SET SESSION AUTHORIZATION regress_sf_node_a;
SELECT status, machine_id FROM snowflake_lease_claim(:a, :a1, 100, 103, 1000, 30000);
-- ... and may not grant itself more.
INSERT INTO snowflake_lease_grant VALUES ('regress_sf_node_a', '[0,1023]');
\echo :LAST_ERROR_SQLSTATE
-- A range withdrawn: the holder's next renewal answers lost, and its id is not its own any more.
RESET SESSION AUTHORIZATION;
DELETE FROM snowflake_lease_grant WHERE holder_role = 'regress_sf_node_a';
SET SESSION AUTHORIZATION regress_sf_node_a;
SELECT status FROM snowflake_lease_renew(100, :a, :a1, 2000);
SELECT status, machine_id FROM snowflake_lease_claim(:a, :a1, 100, 103, 2000, 30000);
SET SESSION AUTHORIZATION regress_sf_node_b;
SELECT status FROM snowflake_lease_renew(102, :b, :b1, 2000);

RESET SESSION AUTHORIZATION;
DELETE FROM snowflake_lease;
DELETE FROM snowflake_lease_settings;
DELETE FROM snowflake_lease_grant;
SET client_min_messages = warning;
REVOKE ALL ON FUNCTION snowflake_lease_claim(uuid, uuid, integer, integer, bigint, integer, text, text),
                       snowflake_lease_renew(integer, uuid, uuid, bigint),
                       snowflake_lease_release(integer, uuid, uuid, bigint)
       FROM regress_sf_node_a, regress_sf_node_b;
REVOKE ALL ON snowflake_leases FROM regress_sf_node_a, regress_sf_node_b;
DROP ROLE regress_sf_node_a, regress_sf_node_b, regress_sf_outsider;
