-- names: database and role names by OID, for the sessions read by activity.sql (every slow cycle).
-- views: pg_database, pg_roles
-- minimum server version: 10
-- privilege: none
select 'database'::text as kind, d.oid::int8 as oid, d.datname::text as name from pg_database d
union all
select 'role'::text as kind, r.oid::int8 as oid, r.rolname::text as name from pg_roles r
