-- After everything is created: what pg_dump counts as the extension's own privileges is what a fresh install gives, whatever objects were taken over.
--
-- PostgreSQL records the privileges an object has when it joins an extension, and every GRANT or
-- REVOKE run by the extension's script, as the extension's initial privileges (pg_init_privs);
-- pg_dump writes only the differences from them, since CREATE EXTENSION makes the rest. Lease
-- objects taken over from extension snowflake (adopt.sql) arrive with the grants an operator gave
-- node and service roles: recorded as initial, a dump would leave them out and a restore lose
-- them. So the initial privileges of every member are its owner's entries only, which is what the
-- script's own REVOKE ... FROM PUBLIC leaves on a fresh install (no change there); the roles'
-- grants stay on the objects, and pg_dump writes them.
WITH member AS (
    SELECT d.classid, d.objid,
           coalesce((SELECT c.relowner FROM pg_catalog.pg_class c
                     WHERE d.classid OPERATOR(pg_catalog.=) CAST('pg_catalog.pg_class' AS pg_catalog.regclass) AND c.oid OPERATOR(pg_catalog.=) d.objid),
                    (SELECT p.proowner FROM pg_catalog.pg_proc p
                     WHERE d.classid OPERATOR(pg_catalog.=) CAST('pg_catalog.pg_proc' AS pg_catalog.regclass) AND p.oid OPERATOR(pg_catalog.=) d.objid)) AS owner
    FROM pg_catalog.pg_depend d
    WHERE d.refclassid OPERATOR(pg_catalog.=) CAST('pg_catalog.pg_extension' AS pg_catalog.regclass) AND d.deptype OPERATOR(pg_catalog.=) 'e'
      AND d.refobjid OPERATOR(pg_catalog.=) (SELECT e.oid FROM pg_catalog.pg_extension e
                                             WHERE e.extname OPERATOR(pg_catalog.=) CAST('snowflake_coordination' AS pg_catalog.name)))
UPDATE pg_catalog.pg_init_privs i
SET initprivs = coalesce((SELECT pg_catalog.array_agg(a.item)
                          FROM pg_catalog.unnest(i.initprivs) a(item)
                          WHERE (SELECT x.grantee FROM pg_catalog.aclexplode(ARRAY[a.item]) x LIMIT 1) OPERATOR(pg_catalog.=) m.owner),
                         CAST('{}' AS pg_catalog.aclitem[]))
FROM member m
WHERE i.classoid OPERATOR(pg_catalog.=) m.classid AND i.objoid OPERATOR(pg_catalog.=) m.objid
  AND i.objsubid OPERATOR(pg_catalog.=) 0 AND i.privtype OPERATOR(pg_catalog.=) 'e' AND m.owner IS NOT NULL
  AND EXISTS (SELECT FROM pg_catalog.aclexplode(i.initprivs) x WHERE x.grantee OPERATOR(pg_catalog.<>) m.owner);
