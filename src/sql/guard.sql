-- The collision guard: refusing replicated rows made under this server's own machine id (docs/many-nodes.md, section "The collision guard").

-- snowflake_guard_replicated() RETURNS trigger, used as
--   CREATE TRIGGER snowflake_guard BEFORE INSERT OR UPDATE ON t
--       FOR EACH ROW EXECUTE FUNCTION snowflake_guard_replicated(['column', ...]);
--   ALTER TABLE t ENABLE REPLICA TRIGGER snowflake_guard;
-- As a REPLICA trigger it fires only where session_replication_role = replica, i.e. for rows that
-- logical replication applies (initial copy included), never for this server's own writes. It
-- refuses a row whose ID (column "id", or the columns named as trigger arguments) carries this
-- server's own machine id: only another server with the same machine id can have made it, and
-- that server's IDs can equal this server's. Updates are checked only when the key changes, so
-- an update made elsewhere to a row this server made (two-way replication) passes. On a table keyed
-- by integers whose migration is cut over, keys below its boundary are old keys and pass: asked of
-- _snowflake_integer_boundary() in its own schema, only for a row that would otherwise be refused.
-- Errors: SF010 on such a row; 42703 for a named column the table lacks (an argument longer than a
-- column name echoed up to 63 bytes) and 42804 for one that is neither bigint nor snowflake (nor a
-- domain over either), at the first row it fires on; 39P01 if not attached as a BEFORE ROW trigger
-- for INSERT or UPDATE. Locks nothing. In C (src/pg/guard.cpp): it reads only the key columns of
-- each row. No SET search_path: it looks nothing up on the path (the type snowflake is the one in
-- its own schema, by that schema's OID), and a SET clause would cost every row a settings save and
-- restore.
CREATE OR REPLACE FUNCTION snowflake_guard_replicated() RETURNS trigger
    AS 'MODULE_PATHNAME', 'snowflake_guard_replicated'
    LANGUAGE C;

-- snowflake_shared_machine_ids(node_names text[], machine_ids integer[])
--   RETURNS TABLE (machine_id integer, nodes text[])
-- The machine ids that more than one of the listed nodes uses, each with those nodes (in the
-- order given), by machine id. The caller collects each node's current_setting('snowflake.machine_id')
-- (psql, dblink, a config-management inventory); the function only compares. A NULL or -1 (unset)
-- id is left out: such a node issues no IDs. Errors: 22023 if the arrays differ in length or a
-- node is named twice (it would be reported as sharing an id with itself); 22004 for a NULL node
-- name; 22003 for an id outside -1..1023. Locks nothing.
CREATE OR REPLACE FUNCTION snowflake_shared_machine_ids(node_names text[], machine_ids integer[])
    RETURNS TABLE (machine_id integer, nodes text[])
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    bad integer;
    twice text;
BEGIN
    IF cardinality(node_names) <> cardinality(machine_ids) THEN
        RAISE EXCEPTION 'node_names has % elements but machine_ids has %', cardinality(node_names), cardinality(machine_ids)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF array_position(node_names, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'node_names has a NULL at position %', array_position(node_names, NULL)
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Name every node; a node without a machine id is given NULL or -1 in machine_ids.';
    END IF;
    SELECT n INTO twice FROM unnest(node_names) AS n GROUP BY n HAVING count(*) > 1 ORDER BY n LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'node "%" is named more than once', twice
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Name each node once, with the machine id it uses.';
    END IF;
    SELECT m INTO bad FROM unnest(machine_ids) AS m WHERE m < -1 OR m > 1023 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'machine_id % is out of range for a snowflake ID', bad
            USING ERRCODE = 'numeric_value_out_of_range';
    END IF;
    RETURN QUERY
        SELECT n.m, array_agg(n.name ORDER BY n.ord)
        FROM unnest(node_names, machine_ids) WITH ORDINALITY AS n(name, m, ord)
        WHERE n.m >= 0
        GROUP BY n.m
        HAVING count(*) > 1
        ORDER BY n.m;
END
$$;

COMMENT ON FUNCTION snowflake_guard_replicated() IS 'replica trigger: refuses replicated rows whose snowflake ID carries this server''s own machine id (SQLSTATE SF010)';
COMMENT ON FUNCTION snowflake_shared_machine_ids(text[], integer[]) IS 'the machine ids used by more than one of the listed nodes';
