-- server_counters_17: server_counters.sql for PostgreSQL 17 and later, where the checkpoint
-- counters moved from pg_stat_bgwriter to pg_stat_checkpointer and the writes backends do
-- themselves (buffers_backend) are only in pg_stat_io (relation writes by every process that is
-- neither the checkpointer nor the background writer).
-- views: pg_stat_checkpointer (PG17+), pg_stat_io (PG16+), pg_stat_wal, pg_database
-- minimum server version: 17 (pg_stat_checkpointer); read on 17 and 18
-- privilege: none
select
    c.num_timed::int8 as checkpoints_timed,
    c.num_requested::int8 as checkpoints_req,
    c.buffers_written::int8 as buffers_checkpoint,
    (select coalesce(sum(i.writes), 0)::int8 from pg_stat_io i
        where i.object = 'relation'
          and i.backend_type not in ('checkpointer', 'background writer')) as buffers_backend,
    c.stats_reset as bgwriter_reset,
    w.wal_bytes::int8 as wal_bytes,
    w.stats_reset as wal_reset,
    (select max(age(d.datfrozenxid))::int8 from pg_database d where d.datallowconn) as max_xid_age,
    (select d.datname::text from pg_database d where d.datallowconn
        order by age(d.datfrozenxid) desc limit 1) as oldest_xid_database
from pg_stat_checkpointer c, pg_stat_wal w
