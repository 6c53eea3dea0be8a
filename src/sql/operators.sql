-- Arithmetic on the type snowflake with exact operators (new in 1.2; plain CREATE: kept as they are by later updates).
--
-- Through the implicit cast to bigint, id + 1 and max(id) >> 22 ran bigint's operators; an
-- operator planted with the exact types (snowflake, integer) in any schema on the caller's path
-- was a better match (docs/security.md). These are bigint's own C functions under the
-- snowflake signatures (LANGUAGE internal: no SQL, no lookup by name), so results are bigint's,
-- a bigint, with its overflow error (22003). Every pair of snowflake with snowflake, bigint,
-- integer and smallint has its operator, on both sides: with only some, a literal or an unknown
-- parameter ("id + $1" from a driver) would be ambiguous between them.


-- +
CREATE FUNCTION snowflake_add(snowflake, snowflake) RETURNS bigint
    AS 'int8pl' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR + (LEFTARG = snowflake, RIGHTARG = snowflake, FUNCTION = snowflake_add, COMMUTATOR = +);
CREATE FUNCTION snowflake_add(snowflake, bigint) RETURNS bigint
    AS 'int8pl' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR + (LEFTARG = snowflake, RIGHTARG = bigint, FUNCTION = snowflake_add, COMMUTATOR = +);
CREATE FUNCTION snowflake_add(bigint, snowflake) RETURNS bigint
    AS 'int8pl' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR + (LEFTARG = bigint, RIGHTARG = snowflake, FUNCTION = snowflake_add, COMMUTATOR = +);
CREATE FUNCTION snowflake_add(snowflake, integer) RETURNS bigint
    AS 'int84pl' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR + (LEFTARG = snowflake, RIGHTARG = integer, FUNCTION = snowflake_add, COMMUTATOR = +);
CREATE FUNCTION snowflake_add(integer, snowflake) RETURNS bigint
    AS 'int48pl' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR + (LEFTARG = integer, RIGHTARG = snowflake, FUNCTION = snowflake_add, COMMUTATOR = +);
CREATE FUNCTION snowflake_add(snowflake, smallint) RETURNS bigint
    AS 'int82pl' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR + (LEFTARG = snowflake, RIGHTARG = smallint, FUNCTION = snowflake_add, COMMUTATOR = +);
CREATE FUNCTION snowflake_add(smallint, snowflake) RETURNS bigint
    AS 'int28pl' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR + (LEFTARG = smallint, RIGHTARG = snowflake, FUNCTION = snowflake_add, COMMUTATOR = +);

-- -
CREATE FUNCTION snowflake_sub(snowflake, snowflake) RETURNS bigint
    AS 'int8mi' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR - (LEFTARG = snowflake, RIGHTARG = snowflake, FUNCTION = snowflake_sub);
CREATE FUNCTION snowflake_sub(snowflake, bigint) RETURNS bigint
    AS 'int8mi' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR - (LEFTARG = snowflake, RIGHTARG = bigint, FUNCTION = snowflake_sub);
CREATE FUNCTION snowflake_sub(bigint, snowflake) RETURNS bigint
    AS 'int8mi' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR - (LEFTARG = bigint, RIGHTARG = snowflake, FUNCTION = snowflake_sub);
CREATE FUNCTION snowflake_sub(snowflake, integer) RETURNS bigint
    AS 'int84mi' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR - (LEFTARG = snowflake, RIGHTARG = integer, FUNCTION = snowflake_sub);
CREATE FUNCTION snowflake_sub(integer, snowflake) RETURNS bigint
    AS 'int48mi' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR - (LEFTARG = integer, RIGHTARG = snowflake, FUNCTION = snowflake_sub);
CREATE FUNCTION snowflake_sub(snowflake, smallint) RETURNS bigint
    AS 'int82mi' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR - (LEFTARG = snowflake, RIGHTARG = smallint, FUNCTION = snowflake_sub);
CREATE FUNCTION snowflake_sub(smallint, snowflake) RETURNS bigint
    AS 'int28mi' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR - (LEFTARG = smallint, RIGHTARG = snowflake, FUNCTION = snowflake_sub);

-- *
CREATE FUNCTION snowflake_mul(snowflake, snowflake) RETURNS bigint
    AS 'int8mul' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR * (LEFTARG = snowflake, RIGHTARG = snowflake, FUNCTION = snowflake_mul, COMMUTATOR = *);
CREATE FUNCTION snowflake_mul(snowflake, bigint) RETURNS bigint
    AS 'int8mul' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR * (LEFTARG = snowflake, RIGHTARG = bigint, FUNCTION = snowflake_mul, COMMUTATOR = *);
CREATE FUNCTION snowflake_mul(bigint, snowflake) RETURNS bigint
    AS 'int8mul' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR * (LEFTARG = bigint, RIGHTARG = snowflake, FUNCTION = snowflake_mul, COMMUTATOR = *);
CREATE FUNCTION snowflake_mul(snowflake, integer) RETURNS bigint
    AS 'int84mul' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR * (LEFTARG = snowflake, RIGHTARG = integer, FUNCTION = snowflake_mul, COMMUTATOR = *);
CREATE FUNCTION snowflake_mul(integer, snowflake) RETURNS bigint
    AS 'int48mul' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR * (LEFTARG = integer, RIGHTARG = snowflake, FUNCTION = snowflake_mul, COMMUTATOR = *);
CREATE FUNCTION snowflake_mul(snowflake, smallint) RETURNS bigint
    AS 'int82mul' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR * (LEFTARG = snowflake, RIGHTARG = smallint, FUNCTION = snowflake_mul, COMMUTATOR = *);
CREATE FUNCTION snowflake_mul(smallint, snowflake) RETURNS bigint
    AS 'int28mul' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR * (LEFTARG = smallint, RIGHTARG = snowflake, FUNCTION = snowflake_mul, COMMUTATOR = *);

-- /
CREATE FUNCTION snowflake_div(snowflake, snowflake) RETURNS bigint
    AS 'int8div' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR / (LEFTARG = snowflake, RIGHTARG = snowflake, FUNCTION = snowflake_div);
CREATE FUNCTION snowflake_div(snowflake, bigint) RETURNS bigint
    AS 'int8div' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR / (LEFTARG = snowflake, RIGHTARG = bigint, FUNCTION = snowflake_div);
CREATE FUNCTION snowflake_div(bigint, snowflake) RETURNS bigint
    AS 'int8div' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR / (LEFTARG = bigint, RIGHTARG = snowflake, FUNCTION = snowflake_div);
CREATE FUNCTION snowflake_div(snowflake, integer) RETURNS bigint
    AS 'int84div' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR / (LEFTARG = snowflake, RIGHTARG = integer, FUNCTION = snowflake_div);
CREATE FUNCTION snowflake_div(integer, snowflake) RETURNS bigint
    AS 'int48div' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR / (LEFTARG = integer, RIGHTARG = snowflake, FUNCTION = snowflake_div);
CREATE FUNCTION snowflake_div(snowflake, smallint) RETURNS bigint
    AS 'int82div' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR / (LEFTARG = snowflake, RIGHTARG = smallint, FUNCTION = snowflake_div);
CREATE FUNCTION snowflake_div(smallint, snowflake) RETURNS bigint
    AS 'int28div' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR / (LEFTARG = smallint, RIGHTARG = snowflake, FUNCTION = snowflake_div);

-- Shifts (the count is an integer, as for bigint) and the sign.
CREATE FUNCTION snowflake_shr(snowflake, integer) RETURNS bigint
    AS 'int8shr' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR >> (LEFTARG = snowflake, RIGHTARG = integer, FUNCTION = snowflake_shr);
CREATE FUNCTION snowflake_shl(snowflake, integer) RETURNS bigint
    AS 'int8shl' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR << (LEFTARG = snowflake, RIGHTARG = integer, FUNCTION = snowflake_shl);
CREATE FUNCTION snowflake_neg(snowflake) RETURNS bigint
    AS 'int8um' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR - (RIGHTARG = snowflake, FUNCTION = snowflake_neg);
