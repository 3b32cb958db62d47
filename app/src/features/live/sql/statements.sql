-- statements: the cumulative counters of the pg_stat_statements entries that changed, WITHOUT
-- query texts (pg_stat_statements(false) never reads the query-text file); deltas are taken in
-- pgpanel.
-- parameters: $1 = the total execution times of the entries as pgpanel last read them, or NULL
-- for every entry. Every call adds its (positive) execution time, so an entry whose total is
-- still in $1 has not run since and is not sent; one equal by chance to another entry's old
-- total is only late (its counters are cumulative, and every 30th read is a full one).
-- Sent unnamed, so each read is planned with its array as a constant, which PostgreSQL (14+)
-- turns into a hash table once per read; the CASE keeps the planner from estimating each of
-- the 5,000 elements' selectivity (1.4 ms of planning). One hash probe per entry and no
-- arithmetic: with 4,900 entries and few of them busy (PG 15, paired, 200 rounds) 7.76 ms a
-- read against 8.24 ms for a fingerprint of key and calls, and 5.8 ms (other machine, where
-- the fingerprint took 4.6) for a hash anti join on unnest($1).
-- min / max are over the entry's life (pg_stat_statements keeps no window); exec_sumsq (the sum
-- of the squared execution times, rebuilt from stddev and mean) is cumulative, so its deltas give
-- the standard deviation over any window. I/O times need track_io_timing (0 without it).
-- views: pg_stat_statements(showtext => false)
-- minimum server version: 14 (toplevel); up to 16: PostgreSQL 17 renamed blk_read_time and
-- blk_write_time (statements_17.sql)
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
    s.temp_blks_written::int8 as temp_blks_written,
    s.min_exec_time::float8 as min_ms,
    s.max_exec_time::float8 as max_ms,
    (s.calls * (s.stddev_exec_time ^ 2 + s.mean_exec_time ^ 2))::float8 as exec_sumsq,
    s.blk_read_time::float8 as io_read_ms,
    s.blk_write_time::float8 as io_write_ms,
    s.wal_bytes::int8 as wal_bytes
from pg_stat_statements(false) s
where s.queryid is not null
    and case when s.total_exec_time = any($1::float8[]) then false else true end
