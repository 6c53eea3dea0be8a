-- The collision guard as released in 1.0 (PL/pgSQL, to_jsonb of the whole row), kept only as bench/guard.sh's reference.
SET search_path = pg_catalog, pg_temp;
CREATE OR REPLACE FUNCTION bench_guard_plpgsql() RETURNS trigger
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
