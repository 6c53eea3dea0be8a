-- The collision guard and the machine-id comparison, on one server (machine id 42 from tests/regress.conf).
-- Rows "arriving by replication" are simulated with session_replication_role = replica, which is
-- what the logical replication apply worker sets; tests/integration/fan_in.sh uses real subscriptions.
CREATE EXTENSION IF NOT EXISTS snowflake;
-- Messages without PL/pgSQL context lines (they name line numbers); the SQLSTATE echoed after each error.
\set SHOW_CONTEXT never

CREATE TABLE guarded (id bigint PRIMARY KEY DEFAULT snowflake_next(), other_id bigint, note text);
CREATE TRIGGER snowflake_guard BEFORE INSERT OR UPDATE ON guarded
    FOR EACH ROW EXECUTE FUNCTION snowflake_guard_replicated();
ALTER TABLE guarded ENABLE REPLICA TRIGGER snowflake_guard;

-- This server's own writes are never checked: an ENABLE REPLICA trigger does not fire for them.
INSERT INTO guarded (note) VALUES ('made here');
INSERT INTO guarded (id, note) VALUES (snowflake_compose('2024-06-01+00', 42, 7), 'own id, written here');

SET session_replication_role = replica;
-- Replicated rows made by other machine ids pass; so do NULL and negative (non-snowflake) keys.
INSERT INTO guarded (id, note) VALUES (snowflake_compose('2024-06-01+00', 41, 0), 'from machine 41'),
                                      (snowflake_compose('2024-06-01+00', 43, 4095), 'from machine 43'),
                                      (-5, 'negative');
-- A replicated row with this server's own machine id is refused with SF010, at either end of the time range.
INSERT INTO guarded (id, note) VALUES (snowflake_compose('2024-06-01+00', 42, 0), 'impostor');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO guarded (id, note) VALUES (snowflake_compose('2093-09-06 15:47:35.551+00', 42, 4095), 'impostor');
\echo :LAST_ERROR_SQLSTATE
-- ... also when it is one row among several: the statement, hence the replicated transaction, fails whole.
INSERT INTO guarded (id, note) VALUES (snowflake_compose('2024-06-01+00', 44, 0), 'fine'),
                                      (snowflake_compose('2024-06-01+00', 42, 1), 'impostor');
\echo :LAST_ERROR_SQLSTATE
-- An update made elsewhere to a row this server made (its key unchanged) passes.
UPDATE guarded SET note = 'edited elsewhere' WHERE id = snowflake_compose('2024-06-01+00', 42, 7);
-- An update that moves a key onto this server's machine id is refused.
UPDATE guarded SET id = snowflake_compose('2024-06-02+00', 42, 0) WHERE note = 'from machine 41';
\echo :LAST_ERROR_SQLSTATE
RESET session_replication_role;
SELECT snowflake_machine_id(id) AS machine_id, note FROM guarded WHERE id >= 0 ORDER BY id;

-- Other columns can be guarded by naming them.
CREATE TRIGGER snowflake_guard_other BEFORE INSERT ON guarded
    FOR EACH ROW EXECUTE FUNCTION snowflake_guard_replicated('id', 'other_id');
ALTER TABLE guarded ENABLE REPLICA TRIGGER snowflake_guard_other;
CREATE TRIGGER snowflake_guard_typo BEFORE INSERT ON guarded
    FOR EACH ROW EXECUTE FUNCTION snowflake_guard_replicated('idd');
ALTER TABLE guarded ENABLE REPLICA TRIGGER snowflake_guard_typo;
SET session_replication_role = replica;
INSERT INTO guarded (id, other_id) VALUES (snowflake_compose('2024-06-01+00', 1, 0), snowflake_compose('2024-06-01+00', 42, 0));
\echo :LAST_ERROR_SQLSTATE
-- A misspelt column is an error, not a silent pass.
INSERT INTO guarded (id, other_id) VALUES (snowflake_compose('2024-06-01+00', 1, 0), NULL);
\echo :LAST_ERROR_SQLSTATE
RESET session_replication_role;
DROP TRIGGER snowflake_guard_typo ON guarded;

-- Attached the wrong way, it says so instead of guarding nothing.
CREATE TRIGGER snowflake_guard_after AFTER INSERT ON guarded
    FOR EACH ROW EXECUTE FUNCTION snowflake_guard_replicated();
ALTER TABLE guarded ENABLE ALWAYS TRIGGER snowflake_guard_after;
INSERT INTO guarded (note) VALUES ('after trigger');
\echo :LAST_ERROR_SQLSTATE
DROP TABLE guarded;

-- Attached to a column that is no bigint, or to a table without the column, it fails at the first
-- row it fires on, wherever the row comes from (here a local insert: the triggers are ALWAYS), with
-- a hint; never row by row with a conversion error.
CREATE DOMAIN snowflake_key AS bigint;
CREATE TABLE wrong_types (id uuid, t text, n numeric, i integer, d snowflake_key, b bigint);
CREATE TRIGGER guard_uuid BEFORE INSERT ON wrong_types FOR EACH ROW EXECUTE FUNCTION snowflake_guard_replicated();
ALTER TABLE wrong_types ENABLE ALWAYS TRIGGER guard_uuid;
INSERT INTO wrong_types (b) VALUES (1);
\echo :LAST_ERROR_SQLSTATE
DROP TRIGGER guard_uuid ON wrong_types;
CREATE TRIGGER guard_text BEFORE INSERT ON wrong_types FOR EACH ROW EXECUTE FUNCTION snowflake_guard_replicated('b', 't');
ALTER TABLE wrong_types ENABLE ALWAYS TRIGGER guard_text;
INSERT INTO wrong_types (b) VALUES (1);
\echo :LAST_ERROR_SQLSTATE
DROP TRIGGER guard_text ON wrong_types;
CREATE TRIGGER guard_numeric BEFORE UPDATE ON wrong_types FOR EACH ROW EXECUTE FUNCTION snowflake_guard_replicated('n');
ALTER TABLE wrong_types ENABLE ALWAYS TRIGGER guard_numeric;
INSERT INTO wrong_types (b) VALUES (1);
UPDATE wrong_types SET b = 2;
\echo :LAST_ERROR_SQLSTATE
DROP TRIGGER guard_numeric ON wrong_types;
CREATE TRIGGER guard_int BEFORE INSERT ON wrong_types FOR EACH ROW EXECUTE FUNCTION snowflake_guard_replicated('i');
ALTER TABLE wrong_types ENABLE ALWAYS TRIGGER guard_int;
INSERT INTO wrong_types (b) VALUES (1);
\echo :LAST_ERROR_SQLSTATE
DROP TRIGGER guard_int ON wrong_types;
-- A domain over bigint is a bigint; a table without "id" and no arguments names what is missing.
CREATE TRIGGER guard_domain BEFORE INSERT ON wrong_types FOR EACH ROW EXECUTE FUNCTION snowflake_guard_replicated('d', 'b');
ALTER TABLE wrong_types ENABLE ALWAYS TRIGGER guard_domain;
INSERT INTO wrong_types (d, b) VALUES (snowflake_compose('2024-06-01+00', 41, 0), snowflake_compose('2024-06-01+00', 40, 0));
INSERT INTO wrong_types (d) VALUES (snowflake_compose('2024-06-01+00', 42, 0));
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE no_id (key bigint);
CREATE TRIGGER guard_no_id BEFORE INSERT ON no_id FOR EACH ROW EXECUTE FUNCTION snowflake_guard_replicated();
ALTER TABLE no_id ENABLE ALWAYS TRIGGER guard_no_id;
INSERT INTO no_id VALUES (1);
\echo :LAST_ERROR_SQLSTATE
-- Called other than as a trigger.
SELECT snowflake_guard_replicated();
\echo :LAST_ERROR_SQLSTATE
DROP TABLE wrong_types, no_id;
DROP DOMAIN snowflake_key;

-- snowflake_shared_machine_ids: which machine ids more than one listed node uses.
SELECT * FROM snowflake_shared_machine_ids(ARRAY['a', 'b', 'c', 'd', 'e', 'f'], ARRAY[1, 2, 1, -1, -1, 1]);
SELECT * FROM snowflake_shared_machine_ids(ARRAY['a', 'b', 'c'], ARRAY[0, NULL, 1023]);
SELECT count(*) FROM snowflake_shared_machine_ids(ARRAY[]::text[], ARRAY[]::integer[]);
SELECT * FROM snowflake_shared_machine_ids(ARRAY['a', 'b'], ARRAY[1]);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM snowflake_shared_machine_ids(ARRAY['a', 'b'], ARRAY[1, 1024]);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM snowflake_shared_machine_ids(ARRAY['a', 'b'], ARRAY[-2, 1]);
\echo :LAST_ERROR_SQLSTATE
-- A node named twice would be reported as sharing an id with itself: refused.
SELECT * FROM snowflake_shared_machine_ids(ARRAY['a', 'b', 'a'], ARRAY[1, 2, 1]);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM snowflake_shared_machine_ids(ARRAY['a', 'b', 'a'], ARRAY[1, 2, 3]);
\echo :LAST_ERROR_SQLSTATE
-- A node without a name (twice, it used to be reported as node "<NULL>"): refused.
SELECT * FROM snowflake_shared_machine_ids(ARRAY['a', NULL, NULL], ARRAY[1, 2, 2]);
\echo :LAST_ERROR_SQLSTATE
