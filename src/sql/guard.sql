-- The collision guard: refusing replicated rows made under this server's own machine id (README, "Running many nodes").

-- snowflake_guard_replicated() RETURNS trigger, used as
--   CREATE TRIGGER snowflake_guard BEFORE INSERT OR UPDATE ON t
--       FOR EACH ROW EXECUTE FUNCTION snowflake_guard_replicated(['column', ...]);
--   ALTER TABLE t ENABLE REPLICA TRIGGER snowflake_guard;
-- As a REPLICA trigger it fires only where session_replication_role = replica, i.e. for rows that
-- logical replication applies (initial copy included), never for this server's own writes. It
-- refuses a row whose ID (column "id", or the columns named as trigger arguments) carries this
-- server's own machine id: only another server with the same machine id can have made it, and
-- that server's IDs can equal this server's. Updates are checked only when the key changes, so
-- an update made elsewhere to a row this server made (two-way replication) passes.
-- Errors: SF010 on such a row; 42703 for a named column the table lacks; 39P01 if not attached
-- as a BEFORE ROW trigger for INSERT or UPDATE. Locks nothing. Plain arithmetic and pg_catalog
-- only: replication workers run with an empty search_path.
CREATE OR REPLACE FUNCTION snowflake_guard_replicated() RETURNS trigger
    LANGUAGE plpgsql
AS $$
DECLARE
    own_text text := current_setting('snowflake.machine_id', true);
    own integer;
    new_row jsonb;
    old_row jsonb;
    col text;
    id bigint;
BEGIN
    IF TG_LEVEL <> 'ROW' OR TG_WHEN <> 'BEFORE' OR TG_OP NOT IN ('INSERT', 'UPDATE') THEN
        RAISE EXCEPTION 'snowflake_guard_replicated() must be a BEFORE INSERT OR UPDATE ... FOR EACH ROW trigger'
            USING ERRCODE = 'trigger_protocol_violated';
    END IF;
    -- Unset (-1), or not preloaded: this server issues no IDs, so none can collide with its own.
    IF own_text IS NULL OR own_text !~ '^[0-9]{1,4}$' THEN
        RETURN NEW;
    END IF;
    own := own_text::integer;
    new_row := to_jsonb(NEW);
    IF TG_OP = 'UPDATE' THEN
        old_row := to_jsonb(OLD);
    END IF;
    FOR i IN 0 .. greatest(TG_NARGS, 1) - 1 LOOP
        col := CASE WHEN TG_NARGS = 0 THEN 'id' ELSE TG_ARGV[i] END;
        IF NOT new_row ? col THEN
            RAISE EXCEPTION 'column "%" of table "%" does not exist', col, TG_TABLE_NAME
                USING ERRCODE = 'undefined_column',
                      HINT = 'Name the ID columns as arguments of snowflake_guard_replicated().';
        END IF;
        id := (new_row ->> col)::bigint;
        CONTINUE WHEN id IS NULL OR id < 0;
        CONTINUE WHEN TG_OP = 'UPDATE' AND (old_row ->> col)::bigint IS NOT DISTINCT FROM id;
        IF ((id >> 12) & 1023) = own THEN
            RAISE EXCEPTION 'replicated row of table "%" has snowflake ID % with this server''s own machine id %',
                    TG_TABLE_NAME, id, own
                USING ERRCODE = 'SF010',
                      DETAIL = format('Column "%s" holds an ID made by another server that also uses machine id %s; its IDs and this server''s can be equal.', col, own),
                      HINT = 'Give every server whose IDs meet a different snowflake.machine_id; then check the rows the other server already made.',
                      SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME, COLUMN = col;
        END IF;
    END LOOP;
    RETURN NEW;
END
$$;

-- snowflake_shared_machine_ids(node_names text[], machine_ids integer[])
--   RETURNS TABLE (machine_id integer, nodes text[])
-- The machine ids that more than one of the listed nodes uses, each with those nodes (in the
-- order given), by machine id. The caller collects each node's current_setting('snowflake.machine_id')
-- (psql, dblink, a config-management inventory); the function only compares. A NULL or -1 (unset)
-- id is left out: such a node issues no IDs. Errors: 22023 if the arrays differ in length;
-- 22003 for an id outside -1..1023. Locks nothing.
CREATE OR REPLACE FUNCTION snowflake_shared_machine_ids(node_names text[], machine_ids integer[])
    RETURNS TABLE (machine_id integer, nodes text[])
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
DECLARE
    bad integer;
BEGIN
    IF cardinality(node_names) <> cardinality(machine_ids) THEN
        RAISE EXCEPTION 'node_names has % elements but machine_ids has %', cardinality(node_names), cardinality(machine_ids)
            USING ERRCODE = 'invalid_parameter_value';
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
