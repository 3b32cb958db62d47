-- lock_conflicts: the sessions holding or awaiting a lock on these relations in a mode that
-- conflicts with the one the job takes (the job, with its short lock_timeout, would fail rather
-- than queue behind them).
-- parameters: $1 = relation oids, $2 = conflicting lock modes (e.g. 'RowExclusiveLock')
-- views: pg_locks, pg_stat_activity
-- minimum server version: 10
-- privilege: pg_read_all_stats (in pg_monitor) to see other roles' sessions in full
select
    l.pid::int4 as pid,
    l.mode::text as mode,
    l.granted as granted,
    a.usename::text as usename,
    a.application_name::text as application_name,
    a.state::text as state,
    (extract(epoch from (clock_timestamp() - a.xact_start)) * 1000)::int8 as xact_age_ms,
    left(a.query, 300) as query
from pg_locks l
left join pg_stat_activity a on a.pid = l.pid
where l.locktype = 'relation'
  and l.database = (select oid from pg_database where datname = current_database())
  and l.relation = any($1::int8[]::oid[])
  and l.mode = any($2::text[])
  and l.pid is distinct from pg_backend_pid()
order by l.granted desc, a.xact_start nulls last, l.pid
limit 50
