-- The column type snowflake: bigint's bits, order, hashing and wire format, with a JSON form that is a string.

-- Why a type and not a domain: PostgreSQL's JSON code (json_categorize_type, for to_json,
-- row_to_json, json_agg, json_build_object and jsonb alike) looks through domains to their base
-- type, so a domain over bigint is still a JSON number; a base type of an extension with no cast
-- to json is written through its output function as a JSON string. No cast to json is defined on
-- purpose: one would be called for every value instead of the output function, and a cast that
-- returned a number would bring the hazard back.
--
-- Every function below is one of bigint's own (LANGUAGE internal, the same C function under
-- another SQL signature): values are stored, compared, hashed, sent and received exactly as
-- bigint, so bigint and snowflake convert WITHOUT FUNCTION (binary coercible, no rewrite on
-- ALTER COLUMN ... TYPE), binary COPY and send/recv are bigint's, and a negative value is
-- accepted as bigint accepts it (decoding one is the error 22023). Nothing here locks or raises
-- beyond bigint's own errors (22P02, 22003).
--
-- The one exception is the output function, snowflake_out in snowflake.so (it calls int8out):
-- the JSON code calls a non-built-in type's output function through OidOutputFunctionCall, which
-- looks the function up again for every value, and for a LANGUAGE internal function whose OID is
-- not built in that lookup is a linear search of the built-in functions by name (fmgr_lookupByName):
-- json_agg(id) measured 6x bigint's time that way, and the same as bigint's with a C function,
-- which fmgr finds through its hash table of C functions. Everywhere else (COPY, result rows,
-- record_out) the output function is looked up once per query.

CREATE TYPE snowflake;

CREATE FUNCTION snowflake_in(cstring) RETURNS snowflake
    AS 'int8in' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION snowflake_out(snowflake) RETURNS cstring
    AS 'MODULE_PATHNAME', 'snowflake_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION snowflake_recv(internal) RETURNS snowflake
    AS 'int8recv' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION snowflake_send(snowflake) RETURNS bytea
    AS 'int8send' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;

-- Category N (numeric) like bigint, so that UNION/CASE/COALESCE of snowflake and bigint resolve
-- to bigint; not preferred, so it never wins a tie over a built-in type.
CREATE TYPE snowflake (
    INPUT = snowflake_in, OUTPUT = snowflake_out, RECEIVE = snowflake_recv, SEND = snowflake_send,
    INTERNALLENGTH = 8, PASSEDBYVALUE, ALIGNMENT = double, STORAGE = plain,
    CATEGORY = 'N', PREFERRED = false
);

-- Casts. snowflake -> bigint is implicit, so every function and operator of bigint accepts a
-- snowflake (snowflake_decode(id), id + 1, a foreign key from a snowflake column to a bigint
-- key); its result is bigint. bigint -> snowflake is an assignment cast (DEFAULT
-- snowflake_next(), INSERT and UPDATE of bigint values, partition bounds) but not implicit:
-- implicit both ways would make every mixed operator call ambiguous. integer and smallint
-- convert implicitly (they fit, and it is not a cycle: snowflake never becomes an integer
-- implicitly), so that COALESCE(id, 0), CASE ... ELSE 0 and INSERT ... VALUES (5) keep the type.
CREATE CAST (snowflake AS bigint) WITHOUT FUNCTION AS IMPLICIT;
CREATE CAST (bigint AS snowflake) WITHOUT FUNCTION AS ASSIGNMENT;
CREATE FUNCTION snowflake(integer) RETURNS snowflake
    AS 'int48' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION snowflake(smallint) RETURNS snowflake
    AS 'int28' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE CAST (integer AS snowflake) WITH FUNCTION snowflake(integer) AS IMPLICIT;
CREATE CAST (smallint AS snowflake) WITH FUNCTION snowflake(smallint) AS IMPLICIT;

-- Comparison operators of snowflake with snowflake, bigint, integer and smallint on either side.
-- Each pair has its own operators (bigint's functions under our signatures) in one B-tree and
-- one hash family, so that "id = $1" with a bigint, integer or smallint parameter, or a literal,
-- is one exact operator that an index on a snowflake column can use. Without the integer and
-- smallint pairs, "id = 5" would be ambiguous between snowflake = bigint and bigint = integer
-- (both one exact argument away).

CREATE FUNCTION snowflake_eq(snowflake, snowflake) RETURNS boolean
    AS 'int8eq' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_ne(snowflake, snowflake) RETURNS boolean
    AS 'int8ne' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_lt(snowflake, snowflake) RETURNS boolean
    AS 'int8lt' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_le(snowflake, snowflake) RETURNS boolean
    AS 'int8le' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_gt(snowflake, snowflake) RETURNS boolean
    AS 'int8gt' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_ge(snowflake, snowflake) RETURNS boolean
    AS 'int8ge' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_cmp(snowflake, snowflake) RETURNS integer
    AS 'btint8cmp' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE OPERATOR = (LEFTARG = snowflake, RIGHTARG = snowflake, FUNCTION = snowflake_eq, COMMUTATOR = =, NEGATOR = <>,
    RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
CREATE OPERATOR <> (LEFTARG = snowflake, RIGHTARG = snowflake, FUNCTION = snowflake_ne, COMMUTATOR = <>, NEGATOR = =,
    RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR < (LEFTARG = snowflake, RIGHTARG = snowflake, FUNCTION = snowflake_lt, COMMUTATOR = >, NEGATOR = >=,
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR <= (LEFTARG = snowflake, RIGHTARG = snowflake, FUNCTION = snowflake_le, COMMUTATOR = >=, NEGATOR = >,
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR > (LEFTARG = snowflake, RIGHTARG = snowflake, FUNCTION = snowflake_gt, COMMUTATOR = <, NEGATOR = <=,
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR >= (LEFTARG = snowflake, RIGHTARG = snowflake, FUNCTION = snowflake_ge, COMMUTATOR = <=, NEGATOR = <,
    RESTRICT = scalargesel, JOIN = scalargejoinsel);

CREATE FUNCTION snowflake_eq(snowflake, bigint) RETURNS boolean
    AS 'int8eq' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_ne(snowflake, bigint) RETURNS boolean
    AS 'int8ne' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_lt(snowflake, bigint) RETURNS boolean
    AS 'int8lt' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_le(snowflake, bigint) RETURNS boolean
    AS 'int8le' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_gt(snowflake, bigint) RETURNS boolean
    AS 'int8gt' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_ge(snowflake, bigint) RETURNS boolean
    AS 'int8ge' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_cmp(snowflake, bigint) RETURNS integer
    AS 'btint8cmp' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE OPERATOR = (LEFTARG = snowflake, RIGHTARG = bigint, FUNCTION = snowflake_eq, COMMUTATOR = =, NEGATOR = <>,
    RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
CREATE OPERATOR <> (LEFTARG = snowflake, RIGHTARG = bigint, FUNCTION = snowflake_ne, COMMUTATOR = <>, NEGATOR = =,
    RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR < (LEFTARG = snowflake, RIGHTARG = bigint, FUNCTION = snowflake_lt, COMMUTATOR = >, NEGATOR = >=,
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR <= (LEFTARG = snowflake, RIGHTARG = bigint, FUNCTION = snowflake_le, COMMUTATOR = >=, NEGATOR = >,
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR > (LEFTARG = snowflake, RIGHTARG = bigint, FUNCTION = snowflake_gt, COMMUTATOR = <, NEGATOR = <=,
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR >= (LEFTARG = snowflake, RIGHTARG = bigint, FUNCTION = snowflake_ge, COMMUTATOR = <=, NEGATOR = <,
    RESTRICT = scalargesel, JOIN = scalargejoinsel);

CREATE FUNCTION snowflake_eq(bigint, snowflake) RETURNS boolean
    AS 'int8eq' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_ne(bigint, snowflake) RETURNS boolean
    AS 'int8ne' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_lt(bigint, snowflake) RETURNS boolean
    AS 'int8lt' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_le(bigint, snowflake) RETURNS boolean
    AS 'int8le' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_gt(bigint, snowflake) RETURNS boolean
    AS 'int8gt' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_ge(bigint, snowflake) RETURNS boolean
    AS 'int8ge' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_cmp(bigint, snowflake) RETURNS integer
    AS 'btint8cmp' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE OPERATOR = (LEFTARG = bigint, RIGHTARG = snowflake, FUNCTION = snowflake_eq, COMMUTATOR = =, NEGATOR = <>,
    RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
CREATE OPERATOR <> (LEFTARG = bigint, RIGHTARG = snowflake, FUNCTION = snowflake_ne, COMMUTATOR = <>, NEGATOR = =,
    RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR < (LEFTARG = bigint, RIGHTARG = snowflake, FUNCTION = snowflake_lt, COMMUTATOR = >, NEGATOR = >=,
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR <= (LEFTARG = bigint, RIGHTARG = snowflake, FUNCTION = snowflake_le, COMMUTATOR = >=, NEGATOR = >,
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR > (LEFTARG = bigint, RIGHTARG = snowflake, FUNCTION = snowflake_gt, COMMUTATOR = <, NEGATOR = <=,
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR >= (LEFTARG = bigint, RIGHTARG = snowflake, FUNCTION = snowflake_ge, COMMUTATOR = <=, NEGATOR = <,
    RESTRICT = scalargesel, JOIN = scalargejoinsel);

CREATE FUNCTION snowflake_eq(snowflake, integer) RETURNS boolean
    AS 'int84eq' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_ne(snowflake, integer) RETURNS boolean
    AS 'int84ne' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_lt(snowflake, integer) RETURNS boolean
    AS 'int84lt' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_le(snowflake, integer) RETURNS boolean
    AS 'int84le' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_gt(snowflake, integer) RETURNS boolean
    AS 'int84gt' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_ge(snowflake, integer) RETURNS boolean
    AS 'int84ge' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_cmp(snowflake, integer) RETURNS integer
    AS 'btint84cmp' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE OPERATOR = (LEFTARG = snowflake, RIGHTARG = integer, FUNCTION = snowflake_eq, COMMUTATOR = =, NEGATOR = <>,
    RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
CREATE OPERATOR <> (LEFTARG = snowflake, RIGHTARG = integer, FUNCTION = snowflake_ne, COMMUTATOR = <>, NEGATOR = =,
    RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR < (LEFTARG = snowflake, RIGHTARG = integer, FUNCTION = snowflake_lt, COMMUTATOR = >, NEGATOR = >=,
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR <= (LEFTARG = snowflake, RIGHTARG = integer, FUNCTION = snowflake_le, COMMUTATOR = >=, NEGATOR = >,
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR > (LEFTARG = snowflake, RIGHTARG = integer, FUNCTION = snowflake_gt, COMMUTATOR = <, NEGATOR = <=,
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR >= (LEFTARG = snowflake, RIGHTARG = integer, FUNCTION = snowflake_ge, COMMUTATOR = <=, NEGATOR = <,
    RESTRICT = scalargesel, JOIN = scalargejoinsel);

CREATE FUNCTION snowflake_eq(integer, snowflake) RETURNS boolean
    AS 'int48eq' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_ne(integer, snowflake) RETURNS boolean
    AS 'int48ne' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_lt(integer, snowflake) RETURNS boolean
    AS 'int48lt' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_le(integer, snowflake) RETURNS boolean
    AS 'int48le' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_gt(integer, snowflake) RETURNS boolean
    AS 'int48gt' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_ge(integer, snowflake) RETURNS boolean
    AS 'int48ge' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_cmp(integer, snowflake) RETURNS integer
    AS 'btint48cmp' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE OPERATOR = (LEFTARG = integer, RIGHTARG = snowflake, FUNCTION = snowflake_eq, COMMUTATOR = =, NEGATOR = <>,
    RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
CREATE OPERATOR <> (LEFTARG = integer, RIGHTARG = snowflake, FUNCTION = snowflake_ne, COMMUTATOR = <>, NEGATOR = =,
    RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR < (LEFTARG = integer, RIGHTARG = snowflake, FUNCTION = snowflake_lt, COMMUTATOR = >, NEGATOR = >=,
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR <= (LEFTARG = integer, RIGHTARG = snowflake, FUNCTION = snowflake_le, COMMUTATOR = >=, NEGATOR = >,
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR > (LEFTARG = integer, RIGHTARG = snowflake, FUNCTION = snowflake_gt, COMMUTATOR = <, NEGATOR = <=,
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR >= (LEFTARG = integer, RIGHTARG = snowflake, FUNCTION = snowflake_ge, COMMUTATOR = <=, NEGATOR = <,
    RESTRICT = scalargesel, JOIN = scalargejoinsel);

CREATE FUNCTION snowflake_eq(snowflake, smallint) RETURNS boolean
    AS 'int82eq' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_ne(snowflake, smallint) RETURNS boolean
    AS 'int82ne' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_lt(snowflake, smallint) RETURNS boolean
    AS 'int82lt' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_le(snowflake, smallint) RETURNS boolean
    AS 'int82le' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_gt(snowflake, smallint) RETURNS boolean
    AS 'int82gt' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_ge(snowflake, smallint) RETURNS boolean
    AS 'int82ge' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_cmp(snowflake, smallint) RETURNS integer
    AS 'btint82cmp' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE OPERATOR = (LEFTARG = snowflake, RIGHTARG = smallint, FUNCTION = snowflake_eq, COMMUTATOR = =, NEGATOR = <>,
    RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
CREATE OPERATOR <> (LEFTARG = snowflake, RIGHTARG = smallint, FUNCTION = snowflake_ne, COMMUTATOR = <>, NEGATOR = =,
    RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR < (LEFTARG = snowflake, RIGHTARG = smallint, FUNCTION = snowflake_lt, COMMUTATOR = >, NEGATOR = >=,
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR <= (LEFTARG = snowflake, RIGHTARG = smallint, FUNCTION = snowflake_le, COMMUTATOR = >=, NEGATOR = >,
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR > (LEFTARG = snowflake, RIGHTARG = smallint, FUNCTION = snowflake_gt, COMMUTATOR = <, NEGATOR = <=,
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR >= (LEFTARG = snowflake, RIGHTARG = smallint, FUNCTION = snowflake_ge, COMMUTATOR = <=, NEGATOR = <,
    RESTRICT = scalargesel, JOIN = scalargejoinsel);

CREATE FUNCTION snowflake_eq(smallint, snowflake) RETURNS boolean
    AS 'int28eq' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_ne(smallint, snowflake) RETURNS boolean
    AS 'int28ne' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_lt(smallint, snowflake) RETURNS boolean
    AS 'int28lt' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_le(smallint, snowflake) RETURNS boolean
    AS 'int28le' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_gt(smallint, snowflake) RETURNS boolean
    AS 'int28gt' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_ge(smallint, snowflake) RETURNS boolean
    AS 'int28ge' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION snowflake_cmp(smallint, snowflake) RETURNS integer
    AS 'btint28cmp' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE OPERATOR = (LEFTARG = smallint, RIGHTARG = snowflake, FUNCTION = snowflake_eq, COMMUTATOR = =, NEGATOR = <>,
    RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
CREATE OPERATOR <> (LEFTARG = smallint, RIGHTARG = snowflake, FUNCTION = snowflake_ne, COMMUTATOR = <>, NEGATOR = =,
    RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR < (LEFTARG = smallint, RIGHTARG = snowflake, FUNCTION = snowflake_lt, COMMUTATOR = >, NEGATOR = >=,
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR <= (LEFTARG = smallint, RIGHTARG = snowflake, FUNCTION = snowflake_le, COMMUTATOR = >=, NEGATOR = >,
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR > (LEFTARG = smallint, RIGHTARG = snowflake, FUNCTION = snowflake_gt, COMMUTATOR = <, NEGATOR = <=,
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR >= (LEFTARG = smallint, RIGHTARG = snowflake, FUNCTION = snowflake_ge, COMMUTATOR = <=, NEGATOR = <,
    RESTRICT = scalargesel, JOIN = scalargejoinsel);

CREATE FUNCTION snowflake_hash(snowflake) RETURNS integer
    AS 'hashint8' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION snowflake_hash_extended(snowflake, bigint) RETURNS bigint
    AS 'hashint8extended' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;

-- The B-tree family: the default operator class of snowflake (sort support and deduplication
-- as bigint's), the cross-type pairs above, and PostgreSQL's own operators among bigint, integer
-- and smallint, so that the family is complete (amvalidate) and the planner can derive
-- "a = c" from "a = b AND b = c" across the four types. A foreign key from a bigint column to a
-- snowflake key needs "snowflake = bigint" and "bigint = bigint" in the key's family; a foreign
-- key from a snowflake column to a bigint key uses the implicit cast to bigint.
CREATE OPERATOR FAMILY snowflake_ops USING btree;
CREATE OPERATOR CLASS snowflake_ops DEFAULT FOR TYPE snowflake USING btree FAMILY snowflake_ops AS
    OPERATOR 1 < , OPERATOR 2 <= , OPERATOR 3 = , OPERATOR 4 >= , OPERATOR 5 > ,
    FUNCTION 1 snowflake_cmp(snowflake, snowflake),
    FUNCTION 2 (snowflake, snowflake) pg_catalog.btint8sortsupport(internal),
    FUNCTION 4 (snowflake, snowflake) pg_catalog.btequalimage(oid);
ALTER OPERATOR FAMILY snowflake_ops USING btree ADD
    OPERATOR 1 < (snowflake, bigint), OPERATOR 2 <= (snowflake, bigint), OPERATOR 3 = (snowflake, bigint),
    OPERATOR 4 >= (snowflake, bigint), OPERATOR 5 > (snowflake, bigint), FUNCTION 1 snowflake_cmp(snowflake, bigint);
ALTER OPERATOR FAMILY snowflake_ops USING btree ADD
    OPERATOR 1 < (bigint, snowflake), OPERATOR 2 <= (bigint, snowflake), OPERATOR 3 = (bigint, snowflake),
    OPERATOR 4 >= (bigint, snowflake), OPERATOR 5 > (bigint, snowflake), FUNCTION 1 snowflake_cmp(bigint, snowflake);
ALTER OPERATOR FAMILY snowflake_ops USING btree ADD
    OPERATOR 1 < (snowflake, integer), OPERATOR 2 <= (snowflake, integer), OPERATOR 3 = (snowflake, integer),
    OPERATOR 4 >= (snowflake, integer), OPERATOR 5 > (snowflake, integer), FUNCTION 1 snowflake_cmp(snowflake, integer);
ALTER OPERATOR FAMILY snowflake_ops USING btree ADD
    OPERATOR 1 < (integer, snowflake), OPERATOR 2 <= (integer, snowflake), OPERATOR 3 = (integer, snowflake),
    OPERATOR 4 >= (integer, snowflake), OPERATOR 5 > (integer, snowflake), FUNCTION 1 snowflake_cmp(integer, snowflake);
ALTER OPERATOR FAMILY snowflake_ops USING btree ADD
    OPERATOR 1 < (snowflake, smallint), OPERATOR 2 <= (snowflake, smallint), OPERATOR 3 = (snowflake, smallint),
    OPERATOR 4 >= (snowflake, smallint), OPERATOR 5 > (snowflake, smallint), FUNCTION 1 snowflake_cmp(snowflake, smallint);
ALTER OPERATOR FAMILY snowflake_ops USING btree ADD
    OPERATOR 1 < (smallint, snowflake), OPERATOR 2 <= (smallint, snowflake), OPERATOR 3 = (smallint, snowflake),
    OPERATOR 4 >= (smallint, snowflake), OPERATOR 5 > (smallint, snowflake), FUNCTION 1 snowflake_cmp(smallint, snowflake);
ALTER OPERATOR FAMILY snowflake_ops USING btree ADD
    OPERATOR 1 pg_catalog.< (bigint, bigint), OPERATOR 2 pg_catalog.<= (bigint, bigint), OPERATOR 3 pg_catalog.= (bigint, bigint),
    OPERATOR 4 pg_catalog.>= (bigint, bigint), OPERATOR 5 pg_catalog.> (bigint, bigint), FUNCTION 1 pg_catalog.btint8cmp(bigint, bigint);
ALTER OPERATOR FAMILY snowflake_ops USING btree ADD
    OPERATOR 1 pg_catalog.< (bigint, integer), OPERATOR 2 pg_catalog.<= (bigint, integer), OPERATOR 3 pg_catalog.= (bigint, integer),
    OPERATOR 4 pg_catalog.>= (bigint, integer), OPERATOR 5 pg_catalog.> (bigint, integer), FUNCTION 1 pg_catalog.btint84cmp(bigint, integer);
ALTER OPERATOR FAMILY snowflake_ops USING btree ADD
    OPERATOR 1 pg_catalog.< (bigint, smallint), OPERATOR 2 pg_catalog.<= (bigint, smallint), OPERATOR 3 pg_catalog.= (bigint, smallint),
    OPERATOR 4 pg_catalog.>= (bigint, smallint), OPERATOR 5 pg_catalog.> (bigint, smallint), FUNCTION 1 pg_catalog.btint82cmp(bigint, smallint);
ALTER OPERATOR FAMILY snowflake_ops USING btree ADD
    OPERATOR 1 pg_catalog.< (integer, bigint), OPERATOR 2 pg_catalog.<= (integer, bigint), OPERATOR 3 pg_catalog.= (integer, bigint),
    OPERATOR 4 pg_catalog.>= (integer, bigint), OPERATOR 5 pg_catalog.> (integer, bigint), FUNCTION 1 pg_catalog.btint48cmp(integer, bigint);
ALTER OPERATOR FAMILY snowflake_ops USING btree ADD
    OPERATOR 1 pg_catalog.< (integer, integer), OPERATOR 2 pg_catalog.<= (integer, integer), OPERATOR 3 pg_catalog.= (integer, integer),
    OPERATOR 4 pg_catalog.>= (integer, integer), OPERATOR 5 pg_catalog.> (integer, integer), FUNCTION 1 pg_catalog.btint4cmp(integer, integer);
ALTER OPERATOR FAMILY snowflake_ops USING btree ADD
    OPERATOR 1 pg_catalog.< (integer, smallint), OPERATOR 2 pg_catalog.<= (integer, smallint), OPERATOR 3 pg_catalog.= (integer, smallint),
    OPERATOR 4 pg_catalog.>= (integer, smallint), OPERATOR 5 pg_catalog.> (integer, smallint), FUNCTION 1 pg_catalog.btint42cmp(integer, smallint);
ALTER OPERATOR FAMILY snowflake_ops USING btree ADD
    OPERATOR 1 pg_catalog.< (smallint, bigint), OPERATOR 2 pg_catalog.<= (smallint, bigint), OPERATOR 3 pg_catalog.= (smallint, bigint),
    OPERATOR 4 pg_catalog.>= (smallint, bigint), OPERATOR 5 pg_catalog.> (smallint, bigint), FUNCTION 1 pg_catalog.btint28cmp(smallint, bigint);
ALTER OPERATOR FAMILY snowflake_ops USING btree ADD
    OPERATOR 1 pg_catalog.< (smallint, integer), OPERATOR 2 pg_catalog.<= (smallint, integer), OPERATOR 3 pg_catalog.= (smallint, integer),
    OPERATOR 4 pg_catalog.>= (smallint, integer), OPERATOR 5 pg_catalog.> (smallint, integer), FUNCTION 1 pg_catalog.btint24cmp(smallint, integer);
ALTER OPERATOR FAMILY snowflake_ops USING btree ADD
    OPERATOR 1 pg_catalog.< (smallint, smallint), OPERATOR 2 pg_catalog.<= (smallint, smallint), OPERATOR 3 pg_catalog.= (smallint, smallint),
    OPERATOR 4 pg_catalog.>= (smallint, smallint), OPERATOR 5 pg_catalog.> (smallint, smallint), FUNCTION 1 pg_catalog.btint2cmp(smallint, smallint);

-- The hash family: bigint's hash, which gives an integer or smallint the same hash as the same
-- bigint value (that is how PostgreSQL's own integer_ops hash family works), so hash joins and
-- hash partitions mix the types.
CREATE OPERATOR FAMILY snowflake_ops USING hash;
CREATE OPERATOR CLASS snowflake_ops DEFAULT FOR TYPE snowflake USING hash FAMILY snowflake_ops AS
    OPERATOR 1 = ,
    FUNCTION 1 snowflake_hash(snowflake),
    FUNCTION 2 snowflake_hash_extended(snowflake, bigint);
ALTER OPERATOR FAMILY snowflake_ops USING hash ADD
    OPERATOR 1 = (snowflake, bigint), OPERATOR 1 = (bigint, snowflake),
    OPERATOR 1 = (snowflake, integer), OPERATOR 1 = (integer, snowflake),
    OPERATOR 1 = (snowflake, smallint), OPERATOR 1 = (smallint, snowflake),
    OPERATOR 1 pg_catalog.= (bigint, bigint), OPERATOR 1 pg_catalog.= (integer, integer),
    OPERATOR 1 pg_catalog.= (smallint, smallint),
    OPERATOR 1 pg_catalog.= (bigint, integer), OPERATOR 1 pg_catalog.= (integer, bigint),
    OPERATOR 1 pg_catalog.= (bigint, smallint), OPERATOR 1 pg_catalog.= (smallint, bigint),
    OPERATOR 1 pg_catalog.= (integer, smallint), OPERATOR 1 pg_catalog.= (smallint, integer),
    FUNCTION 1 pg_catalog.hashint8(bigint), FUNCTION 2 pg_catalog.hashint8extended(bigint, bigint),
    FUNCTION 1 pg_catalog.hashint4(integer), FUNCTION 2 pg_catalog.hashint4extended(integer, bigint),
    FUNCTION 1 pg_catalog.hashint2(smallint), FUNCTION 2 pg_catalog.hashint2extended(smallint, bigint);

-- min() and max() that keep the type (through the implicit cast they would return bigint, a JSON
-- number again). SORTOP lets the planner answer them from an index.
CREATE FUNCTION snowflake_larger(snowflake, snowflake) RETURNS snowflake
    AS 'int8larger' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION snowflake_smaller(snowflake, snowflake) RETURNS snowflake
    AS 'int8smaller' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE max(snowflake) (SFUNC = snowflake_larger, STYPE = snowflake, COMBINEFUNC = snowflake_larger,
                                 SORTOP = >, PARALLEL = SAFE);
CREATE AGGREGATE min(snowflake) (SFUNC = snowflake_smaller, STYPE = snowflake, COMBINEFUNC = snowflake_smaller,
                                 SORTOP = <, PARALLEL = SAFE);

COMMENT ON TYPE snowflake IS 'a snowflake ID: stored, sorted and hashed as bigint; a string in JSON';
