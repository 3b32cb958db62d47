-- lock_waits: the lock each waiting session asks for, with the object's name when it lives in
-- the database pgpanel is connected to (or is shared); for other databases (`elsewhere`)
-- lock_names.sql reads the names there.
-- Reads pg_locks, whose cost grows with every lock held on the server (~13 ms with 20,000), so
-- the sampler reads it only when a waiter appears that it cannot describe otherwise, at most
-- once per `monitor.locks_detail_interval_s`, and only while the lock graph's cost budget
-- allows (budget.rs). Only ungranted rows leave the server, and granted tuple locks: a session
-- waiting for the transaction that holds a row (wait event transactionid) holds the tuple lock of
-- that row meanwhile, which names the table and the row.
-- views: pg_locks, pg_database, pg_class, pg_namespace
-- minimum server version: 14 (waitstart)
-- privilege: none (pg_locks is readable by everyone)
select
    l.pid::int4 as pid,
    l.locktype::text as locktype,
    l.mode::text as mode,
    l.granted as granted,
    l.database::int8 as database_oid,
    d.datname::text as database_name,
    l.relation::int8 as relation_oid,
    case when l.database in (0, here.oid) then (
        select format('%I.%I', n.nspname, c.relname)
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.oid = l.relation
    ) end as relation_name,
    l.page::int4 as page,
    l.tuple::int4 as tuple,
    l.virtualxid::text as virtualxid,
    l.transactionid::text as transactionid,
    l.classid::int8 as classid,
    l.objid::int8 as objid,
    l.objsubid::int4 as objsubid,
    case when l.locktype = 'object' and l.database in (0, here.oid)
        then pg_describe_object(l.classid, l.objid, l.objsubid::int4)
    end as object_name,
    l.waitstart as waitstart,
    l.database is not null and l.database not in (0, here.oid) as elsewhere
from pg_locks l
cross join (select oid from pg_database where datname = current_database()) here
left join pg_database d on d.oid = l.database
where l.pid is not null and (not l.granted or l.locktype = 'tuple')
