-- lock_blockers: the sessions each waiting session waits for.
-- parameters: $1 = the pids whose wait_event_type is 'Lock' in the latest activity sample;
-- pg_blocking_pids() is called for those only (it briefly takes the lock manager's partition
-- locks), never for every backend, and pg_locks is not read here: with 20,000 locks held this
-- read costs microseconds where pg_locks costs ~9 ms. Each waiter's statement (its query_id) comes
-- with the activity read: reading it here took a second snapshot of every backend (0.24 ms
-- against 0.006 ms without, with 300 backends).
-- functions: pg_blocking_pids
-- minimum server version: 9.6
-- privilege: none
select
    w.pid::int4 as pid,
    coalesce(pg_blocking_pids(w.pid), '{}')::int4[] as blockers
from unnest($1::int4[]) w(pid)
