-- object_name: the relation's name now, quoted by PostgreSQL, read on the job's own connection
-- just before the statement runs (a rename since the request would make the name point
-- elsewhere: the job then refuses).
-- parameters: $1 = relation oid
-- catalogs: pg_class, pg_namespace
-- minimum server version: 10
-- privilege: none
select format('%I.%I', n.nspname, c.relname) as quoted, pg_backend_pid() as pid
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
where c.oid = $1::int8::oid
