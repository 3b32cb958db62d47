-- statements: the cumulative counters of every pg_stat_statements entry, WITHOUT query texts
-- (pg_stat_statements(false) never reads the query-text file); deltas are taken in pgpanel.
-- views: pg_stat_statements(showtext => false)
-- minimum server version: 14 (toplevel; total_exec_time and total_plan_time since 13)
-- privilege: pg_read_all_stats (in pg_monitor) to see other roles' entries; rows are never
-- reset or removed by pgpanel
select
    s.queryid::int8 as queryid,
    s.dbid::int8 as dbid,
    s.userid::int8 as userid,
    s.toplevel as toplevel,
    s.calls::int8 as calls,
    s.total_exec_time::float8 as exec_ms,
    s.total_plan_time::float8 as plan_ms,
    s.rows::int8 as rows,
    s.shared_blks_hit::int8 as shared_blks_hit,
    s.shared_blks_read::int8 as shared_blks_read,
    s.temp_blks_read::int8 as temp_blks_read,
    s.temp_blks_written::int8 as temp_blks_written
from pg_stat_statements(false) s
where s.queryid is not null
