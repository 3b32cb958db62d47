-- lock_holders: the sessions holding a lock on a relation named by schema and name (or, for an
-- index, on its table), found without taking any lock: when reading the relation hit
-- lock_timeout, pgpanel says who holds it instead of "target unavailable".
-- parameters: $1 = schema name, $2 = relation name
-- views: pg_locks, pg_stat_activity; catalogs: pg_class, pg_namespace, pg_index
-- minimum server version: 10
-- privilege: pg_read_all_stats (in pg_monitor) to see other roles' sessions in full (without
-- it their user and state read as null; the pid and mode are still shown)
with named as (
    select c.oid
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = $1 and c.relname = $2
), rels as (
    select oid from named
    union
    select i.indrelid from pg_index i join named on named.oid = i.indexrelid
)
select
    l.pid::int4 as pid,
    l.mode::text as mode,
    a.usename::text as usename,
    a.state::text as state
from pg_locks l
left join pg_stat_activity a on a.pid = l.pid
where l.locktype = 'relation'
  and l.granted
  and l.database = (select oid from pg_database where datname = current_database())
  and l.relation in (select oid from rels)
  and l.pid is distinct from pg_backend_pid()
order by (l.mode = 'AccessExclusiveLock') desc, a.xact_start nulls last, l.pid
limit 5
