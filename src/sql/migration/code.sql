-- The migration toolkit: PL/pgSQL trigger functions read for the key's values written into uuid
-- columns of other tables (PostgreSQL records no dependency on a function's body, and PL/pgSQL
-- is only checked when it runs; docs/migration.md, "Code over the key").

-- _snowflake_code_scrub(src text) -> text: src without comments, every string literal and
-- dollar-quoted string made empty (''), and everything outside double-quoted identifiers in
-- lower case: what is left are the statements' words, as PostgreSQL reads them. Raises nothing.
CREATE OR REPLACE FUNCTION _snowflake_code_scrub(src text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    c text[] := regexp_split_to_array(src, '');
    n integer := cardinality(c);
    i integer := 1;
    j integer;
    tag text;
    esc boolean;
    out text[] := '{}';
BEGIN
    WHILE i <= n LOOP
        IF c[i] = '-' AND c[i + 1] = '-' THEN
            WHILE i <= n AND c[i] <> E'\n' LOOP i := i + 1; END LOOP;
            CONTINUE;
        ELSIF c[i] = '/' AND c[i + 1] = '*' THEN
            j := strpos(array_to_string(c[i + 2:n], ''), '*/');
            i := CASE WHEN j = 0 THEN n + 1 ELSE i + j + 3 END;
            out := out || ' '::text;
            CONTINUE;
        ELSIF c[i] IN ('''', '"') THEN
            -- E'...' strings escape with backslashes; the others double the quote
            esc := c[i] = '''' AND lower(coalesce(c[i - 1], '')) = 'e' AND coalesce(c[i - 2], ' ') !~ '[A-Za-z0-9_$]';
            j := i + 1;
            WHILE j <= n AND NOT (c[j] = c[i] AND coalesce(c[j + 1], '') <> c[i]) LOOP
                j := j + CASE WHEN c[j] = c[i] OR (esc AND c[j] = '\') THEN 2 ELSE 1 END;
            END LOOP;
            out := out || CASE WHEN c[i] = '"' THEN array_to_string(c[i:j], '') ELSE '''''' END;
            i := j + 1;
            CONTINUE;
        ELSIF c[i] = '$' THEN
            tag := substring(array_to_string(c[i:i + 64], '') FROM '^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$');
            IF tag IS NOT NULL THEN
                j := strpos(array_to_string(c[i + length(tag):n], ''), tag);
                i := CASE WHEN j = 0 THEN n + 1 ELSE i + j + 2 * length(tag) - 1 END;
                out := out || ''''''::text;
                CONTINUE;
            END IF;
        END IF;
        out := out || lower(c[i]);
        i := i + 1;
    END LOOP;
    RETURN array_to_string(out, '');
END
$fn$;

-- _snowflake_code_list(s text) -> text[]: the items of the list s starts with (what follows
-- "VALUES (", "(" of a column list, "SELECT" or "SET"), split at its top-level commas and ended by
-- the top-level ")" or ";" or a keyword that ends a select list. Raises nothing.
CREATE OR REPLACE FUNCTION _snowflake_code_list(s text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    c text[] := regexp_split_to_array(s, '');
    depth integer := 0;
    item text := '';
    items text[] := '{}';
BEGIN
    FOR i IN 1 .. cardinality(c) LOOP
        EXIT WHEN depth = 0 AND (c[i] IN (')', ';') OR (c[i] ~ '\s' AND array_to_string(c[i:i + 12], '')
                  ~ '^\s(from|where|returning|on|union|except|intersect|group|order|limit|into)\M'));
        IF depth = 0 AND c[i] = ',' THEN
            items := items || btrim(item); item := ''; CONTINUE;
        END IF;
        depth := depth + CASE c[i] WHEN '(' THEN 1 WHEN ')' THEN -1 ELSE 0 END;
        item := item || c[i];
    END LOOP;
    RETURN items || btrim(item);
END
$fn$;

-- _snowflake_code_writes(src text) -> table (target text, col text, expr text): the columns the
-- INSERT and UPDATE statements of a scrubbed PL/pgSQL body write, each with the expression
-- written into it: INSERT INTO t (c, ...) VALUES (e, ...) (its first row), INSERT INTO t (c, ...)
-- SELECT e, ..., either without the column list (col NULL; the position in ord), UPDATE t SET
-- c = e, ... (not (a, b) = (...)). target is the table's name as written. Raises nothing.
CREATE OR REPLACE FUNCTION _snowflake_code_writes(src text)
RETURNS TABLE (target text, col text, ord integer, expr text)
LANGUAGE plpgsql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    name_re constant text := '((?:"(?:[^"]|"")+"|[a-z_][a-z0-9_$]*)(?:\s*\.\s*(?:"(?:[^"]|"")+"|[a-z_][a-z0-9_$]*))?)';
    m text[];
    cols text[];
    rest text;
    vals text[];
    it text;
BEGIN
    FOR m IN SELECT x FROM regexp_matches(src, '\minsert\s+into\s+' || name_re || '(?:\s+as\s+[a-z_][a-z0-9_]*)?\s*(\([^)]*\))?\s*(values|select)\s*([^;]*)', 'g') x LOOP
        target := m[1];
        cols := CASE WHEN m[2] IS NOT NULL THEN @extschema@._snowflake_code_list(substr(m[2], 2)) END;
        rest := CASE WHEN m[3] = 'select' THEN m[4] ELSE substring(m[4] FROM '^\s*\((.*)$') END;
        CONTINUE WHEN rest IS NULL;
        vals := @extschema@._snowflake_code_list(rest);
        FOR i IN 1 .. cardinality(vals) LOOP
            col := cols[i]; ord := i; expr := vals[i];
            RETURN NEXT;
        END LOOP;
    END LOOP;
    FOR m IN SELECT x FROM regexp_matches(src, '\mupdate\s+(?:only\s+)?' || name_re || '(?:\s+(?:as\s+)?[a-z_][a-z0-9_]*)?\s+set\s+([^;]*)', 'g') x LOOP
        target := m[1];
        FOREACH it IN ARRAY @extschema@._snowflake_code_list(m[2]) LOOP
            CONTINUE WHEN it !~ '^("(?:[^"]|"")+"|[a-z_][a-z0-9_$]*)\s*='; -- (a, b) = (...) is not read
            col := substring(it FROM '^("(?:[^"]|"")+"|[a-z_][a-z0-9_$]*)');
            ord := NULL; expr := substr(it, strpos(it, '=') + 1);
            RETURN NEXT;
        END LOOP;
    END LOOP;
END
$fn$;

-- _snowflake_code_relation(name text, path text[]) -> regclass: a table's name as a scrubbed body
-- writes it (plain names in lower case, "quoted" ones as they are, optionally schema-qualified)
-- resolved as PostgreSQL would resolve it on path (schema names; "$user" is the current user);
-- NULL when no table of that name is there. Raises nothing.
CREATE OR REPLACE FUNCTION _snowflake_code_relation(name text, path text[]) RETURNS regclass
LANGUAGE sql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
    WITH parts AS (SELECT array_agg(CASE WHEN p[1] LIKE '"%' THEN replace(substr(p[1], 2, length(p[1]) - 2), '""', '"') ELSE p[1] END
                                    ORDER BY o) AS p
                   FROM regexp_matches(name, '"(?:[^"]|"")+"|[^."\s]+', 'g') WITH ORDINALITY m(p, o))
    SELECT c.oid::regclass
    FROM parts,
         unnest(CASE WHEN cardinality(parts.p) = 2 THEN ARRAY[parts.p[1]] ELSE path END) WITH ORDINALITY s(nsp, o),
         pg_namespace n, pg_class c
    WHERE n.nspname = CASE WHEN s.nsp = '$user' THEN current_user::text ELSE s.nsp END
      AND c.relnamespace = n.oid AND c.relname = parts.p[cardinality(parts.p)] AND c.relkind IN ('r', 'p', 'f', 'v')
    ORDER BY s.o LIMIT 1
$$;

-- _snowflake_code_uuid_writes(fn oid, rels oid[], atts int2[]) -> text: for a PL/pgSQL function
-- that is a trigger of one of the tables rels, the places where its INSERT and UPDATE statements
-- write an expression that mentions NEW.<col> or OLD.<col> (col a migrated column of the trigger's
-- table: rels and atts pair them) into a uuid column (or a domain over uuid) of a table that the
-- migration does not change, e.g. "NEW.id into audit.log.row_id (uuid)": after the cut-over such a
-- write fails with 42804. Table names resolve on the function's own search_path setting, else on
-- "$user", public. What it does not see: values passed through variables, dynamic SQL (EXECUTE),
-- INSERT ... DEFAULT VALUES and later rows of a VALUES list, other functions the trigger calls.
-- NULL when nothing is found. Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_code_uuid_writes(fn oid, rels oid[], atts int2[]) RETURNS text
LANGUAGE plpgsql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    refs text;
    path text[];
    w record;
    hits text[] := '{}';
BEGIN
    SELECT string_agg(DISTINCT CASE WHEN quote_ident(att.attname) = att.attname THEN format('%s|"%s"', n, n) ELSE n END, '|') INTO refs
    FROM unnest(rels, atts) u(r, a)
    JOIN pg_trigger t ON t.tgrelid = u.r AND t.tgfoid = fn
    JOIN pg_attribute att ON att.attrelid = u.r AND att.attnum = u.a
    CROSS JOIN LATERAL regexp_replace(quote_ident(att.attname), '([.$^*+?()\[\]{}|\\])', '\\\1', 'g') n;
    IF refs IS NULL OR (SELECT l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang WHERE p.oid = fn) <> 'plpgsql' THEN
        RETURN NULL;
    END IF;
    SELECT coalesce((SELECT array_agg(btrim(s, ' "') ORDER BY o)
                     FROM unnest(p.proconfig) cfg, regexp_split_to_table(substr(cfg, 13), ',') WITH ORDINALITY x(s, o)
                     WHERE cfg LIKE 'search\_path=%'), ARRAY['$user', 'public']) INTO path
    FROM pg_proc p WHERE p.oid = fn;
    FOR w IN
        SELECT x.*, substring(x.expr FROM '\m((?:new|old)\s*\.\s*(?:' || refs || '))(?![a-z0-9_$])') AS used,
               @extschema@._snowflake_code_relation(x.target, path) AS rel
        FROM pg_proc p, @extschema@._snowflake_code_writes(@extschema@._snowflake_code_scrub(p.prosrc)) x
        WHERE p.oid = fn
    LOOP
        CONTINUE WHEN w.used IS NULL OR w.rel IS NULL;
        hits := hits || (
            SELECT format('%s into %s.%I (uuid)', upper(split_part(w.used, '.', 1)) || '.' || btrim(split_part(w.used, '.', 2)),
                          @extschema@._snowflake_qname(w.rel), a.attname)
            FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
            WHERE a.attrelid = w.rel AND a.attnum > 0 AND NOT a.attisdropped
              AND 'uuid'::regtype IN (t.oid, t.typbasetype)
              AND NOT (a.attrelid, a.attnum) IN (SELECT u.r, u.a FROM unnest(rels, atts) u(r, a))
              AND CASE WHEN w.col IS NULL
                       THEN a.attnum = (SELECT b.attnum FROM pg_attribute b WHERE b.attrelid = w.rel AND b.attnum > 0 AND NOT b.attisdropped
                                        ORDER BY b.attnum OFFSET w.ord - 1 LIMIT 1)
                       ELSE a.attname = CASE WHEN w.col LIKE '"%' THEN replace(substr(w.col, 2, length(w.col) - 2), '""', '"') ELSE w.col END END);
    END LOOP;
    RETURN nullif(array_to_string(ARRAY(SELECT DISTINCT h FROM unnest(hits) h WHERE h IS NOT NULL ORDER BY 1), '; '), '');
END
$fn$;
