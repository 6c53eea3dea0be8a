-- Hostile node roles on a coordination database: an end in 2093, every id, a release that lowers
-- another run's end. Two node roles (A, B); C is a second node logging in with A's role. Lease
-- ends are relative to this database's clock (now_ms: milliseconds since 2024-01-01 UTC).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS snowflake;
CREATE EXTENSION IF NOT EXISTS snowflake_coordination;   -- the lease objects, on the coordination database only
\set SHOW_CONTEXT never
\set VERBOSITY terse
CREATE ROLE regress_sfl_a LOGIN;
CREATE ROLE regress_sfl_b LOGIN;
GRANT EXECUTE ON FUNCTION snowflake_lease_claim(uuid, uuid, integer, integer, bigint, integer, text, text),
                          snowflake_lease_renew(integer, uuid, uuid, bigint),
                          snowflake_lease_release(integer, uuid, uuid, bigint)
      TO regress_sfl_a, regress_sfl_b;
GRANT SELECT ON snowflake_leases TO regress_sfl_a, regress_sfl_b;
RESET client_min_messages;
SELECT floor(extract(epoch FROM clock_timestamp() - timestamptz '2024-01-01 00:00:00+00') * 1000)::bigint AS now_ms \gset
\set a '''aaaaaaaa-0000-0000-0000-000000000001'''
\set a1 '''aaaaaaaa-0000-0000-0000-0000000000a1'''
\set b '''bbbbbbbb-0000-0000-0000-000000000001'''
\set b1 '''bbbbbbbb-0000-0000-0000-0000000000b1'''
\set c '''cccccccc-0000-0000-0000-000000000001'''
\set c1 '''cccccccc-0000-0000-0000-0000000000c1'''

-- Every id: out of the box (snowflake_lease_grant empty) a role leases nothing, whatever it asks for.
SET SESSION AUTHORIZATION regress_sfl_b;
DO $$
DECLARE
    granted int := 0;
    refused int := 0;
    i int;
BEGIN
    FOR i IN 0..1023 LOOP
        BEGIN
            IF (SELECT status FROM snowflake_lease_claim(('bbbbbbbb-0000-0000-0000-' || lpad(i::text, 12, '0'))::uuid,
                                                         gen_random_uuid(), i, i, 1000, 30000)) = 'granted' THEN
                granted := granted + 1;
            END IF;
        EXCEPTION WHEN insufficient_privilege THEN
            refused := refused + 1;
        END;
    END LOOP;
    RAISE WARNING 'role B: % ids granted, % claims refused', granted, refused;
END $$;
SELECT status FROM snowflake_lease_claim(:b, :b1, 0, 1023, 1000, 30000);
RESET SESSION AUTHORIZATION;
SELECT count(*) AS leases_of_b FROM snowflake_lease;
INSERT INTO snowflake_lease_grant VALUES ('regress_sfl_a', '[10,19]');

-- An end in 2093 (the last millisecond of the IDs), or just past the duration plus 60 s: refused,
-- on a claim and on a renewal. Nothing is leased by the refused calls.
SET SESSION AUTHORIZATION regress_sfl_a;
\set VERBOSITY sqlstate
SELECT status FROM snowflake_lease_claim(:a, :a1, 10, 19, 2199023255551, 30000);
SELECT status FROM snowflake_lease_claim(:a, :a1, 10, 19, :now_ms + 30000 + 65000, 30000);
SELECT status FROM snowflake_lease_claim(:a, :a1, 10, 19, :now_ms, 2000000000);
SELECT status, machine_id, lease_end_ms = :now_ms + 30000 AS end_as_asked
FROM snowflake_lease_claim(:a, :a1, 10, 19, :now_ms + 30000, 30000);
SELECT status FROM snowflake_lease_renew(10, :a, :a1, 2199023255551);
SELECT status FROM snowflake_lease_renew(10, :a, :a1, :now_ms + 30000 + 65000);
\set VERBOSITY terse
SELECT status, lease_end_ms = :now_ms + 40000 AS renewed_to FROM snowflake_lease_renew(10, :a, :a1, :now_ms + 40000);
RESET SESSION AUTHORIZATION;
SELECT machine_id, lease_end_ms <= :now_ms + 100000 AS end_within_reach FROM snowflake_lease ORDER BY machine_id;

-- A's role leases only its own ten (10 is held: 9 more), however many runs ask.
SET SESSION AUTHORIZATION regress_sfl_a;
SELECT count(*) FILTER (WHERE c.status = 'granted') AS granted, min(c.machine_id), max(c.machine_id)
FROM generate_series(1, 12) g,
     LATERAL snowflake_lease_claim(('aaaaaaaa-1111-0000-0000-' || lpad(g::text, 12, '0'))::uuid, gen_random_uuid(),
                                   0, 1023, 1000, 30000) c;
RESET SESSION AUTHORIZATION;
SELECT count(*) AS leases, count(*) FILTER (WHERE holder_role = 'regress_sfl_b') AS of_b FROM snowflake_lease;
DELETE FROM snowflake_lease WHERE machine_id <> 10;

-- A release without the run's incarnation (node C, which shares A's role and knows A's holder
-- identity) frees the id but keeps its end, even asking for 0: whoever takes the id next issues
-- only after everything A's run may still issue. With the incarnation, the run lowers its own end.
SET SESSION AUTHORIZATION regress_sfl_a;
SELECT snowflake_lease_release(10, :a, NULL, 0) AS released;
RESET SESSION AUTHORIZATION;
SELECT lease_end_ms = :now_ms + 40000 AS end_kept, released_at IS NOT NULL AS released FROM snowflake_lease WHERE machine_id = 10;
SET SESSION AUTHORIZATION regress_sfl_a;
SELECT status, machine_id, previous_end_ms = :now_ms + 40000 AS starts_after_old_end
FROM snowflake_lease_claim(:c, :c1, 10, 10, :now_ms + 30000, 30000);
SELECT snowflake_lease_release(10, :c, :c1, :now_ms + 35000) AS released;
RESET SESSION AUTHORIZATION;
SELECT lease_end_ms = :now_ms + 40000 AS lowered_only_to_previous_end FROM snowflake_lease WHERE machine_id = 10;

RESET SESSION AUTHORIZATION;
DELETE FROM snowflake_lease;
DELETE FROM snowflake_lease_grant;
SET client_min_messages = warning;
REVOKE ALL ON FUNCTION snowflake_lease_claim(uuid, uuid, integer, integer, bigint, integer, text, text),
                       snowflake_lease_renew(integer, uuid, uuid, bigint),
                       snowflake_lease_release(integer, uuid, uuid, bigint)
       FROM regress_sfl_a, regress_sfl_b;
REVOKE ALL ON snowflake_leases FROM regress_sfl_a, regress_sfl_b;
DROP ROLE regress_sfl_a, regress_sfl_b;
