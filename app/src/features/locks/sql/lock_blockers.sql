-- lock_blockers: the sessions each waiting session waits for.
-- parameters: $1 = the pids whose wait_event_type is 'Lock' in the latest activity sample;
-- pg_blocking_pids() is called for those only (it briefly takes the lock manager's partition
-- locks), never for every backend, and pg_locks is not read here: with 20,000 locks held this
-- read costs microseconds where pg_locks costs ~9 ms.
-- query_id (the pg_stat_statements entry the waiting statement counts under) lets pgpanel add the
-- sampled wait to that statement: pg_stat_statements counts lock waits as execution time.
-- functions: pg_blocking_pids, pg_stat_get_activity(pid) (one row each)
-- minimum server version: 14 (query_id; NULL unless compute_query_id is on or pg_stat_statements
-- is loaded)
-- privilege: none (query_id of other roles' sessions needs pg_read_all_stats, in pg_monitor)
select
    w.pid::int4 as pid,
    coalesce(pg_blocking_pids(w.pid), '{}')::int4[] as blockers,
    (select a.query_id from pg_stat_get_activity(w.pid) a)::int8 as query_id
from unnest($1::int4[]) w(pid)
