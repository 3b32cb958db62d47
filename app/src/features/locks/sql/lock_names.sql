-- lock_names: the names of locked objects that live in a database other than the monitor's,
-- read over a short-lived connection to that database (pg_class and pg_describe_object see only
-- the database they run in). Runs only when a waiter's lock is in such a database and its name
-- is not known yet; the lock graph's cost budget pays for it.
-- parameters: $1 = relation OIDs; $2, $3, $4 = class OIDs, object OIDs and sub-ids of objects
-- (same length)
-- views: pg_class, pg_namespace
-- functions: pg_describe_object
-- minimum server version: 9.6
-- privilege: CONNECT on that database
select
    'relation'::text as kind,
    0::int8 as classid,
    r.oid as objid,
    0::int4 as objsubid,
    (
        select format('%I.%I', n.nspname, c.relname)
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.oid = r.oid::oid
    ) as name
from unnest($1::int8[]) r(oid)
union all
select
    'object'::text,
    o.classid,
    o.objid,
    o.objsubid,
    pg_describe_object(o.classid::oid, o.objid::oid, o.objsubid)
from unnest($2::int8[], $3::int8[], $4::int4[]) o(classid, objid, objsubid)
