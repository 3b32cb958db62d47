-- database_stats: cluster-wide counters summed over every database, for the 1 s rates.
-- views: pg_stat_database (shared-memory counters; no per-table work)
-- minimum server version: 12 (checksum columns are not used; the rest exists since 9.x)
-- privilege: none
select
    coalesce(sum(d.xact_commit), 0)::int8 as xact_commit,
    coalesce(sum(d.xact_rollback), 0)::int8 as xact_rollback,
    coalesce(sum(d.blks_read), 0)::int8 as blks_read,
    coalesce(sum(d.blks_hit), 0)::int8 as blks_hit,
    coalesce(sum(d.tup_returned), 0)::int8 as tup_returned,
    coalesce(sum(d.tup_fetched), 0)::int8 as tup_fetched,
    coalesce(sum(d.tup_inserted), 0)::int8 as tup_inserted,
    coalesce(sum(d.tup_updated), 0)::int8 as tup_updated,
    coalesce(sum(d.tup_deleted), 0)::int8 as tup_deleted,
    coalesce(sum(d.temp_bytes), 0)::int8 as temp_bytes,
    coalesce(sum(d.deadlocks), 0)::int8 as deadlocks,
    coalesce(sum(d.conflicts), 0)::int8 as conflicts,
    max(d.stats_reset) as stats_reset,
    pg_postmaster_start_time() as server_started
from pg_stat_database d
