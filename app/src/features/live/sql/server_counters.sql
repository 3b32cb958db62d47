-- server_counters: checkpoints, WAL volume and the oldest database's xid age, for the 10 s sample.
-- views: pg_stat_bgwriter (checkpoint counters up to PG16), pg_stat_wal (PG14+), pg_database
-- minimum server version: 14 (pg_stat_wal); read on 14 to 16 (17 moved the checkpoint counters
-- to pg_stat_checkpointer: server_counters_17.sql)
-- privilege: none
select
    b.checkpoints_timed::int8 as checkpoints_timed,
    b.checkpoints_req::int8 as checkpoints_req,
    b.buffers_checkpoint::int8 as buffers_checkpoint,
    b.buffers_backend::int8 as buffers_backend,
    b.stats_reset as bgwriter_reset,
    w.wal_bytes::int8 as wal_bytes,
    w.stats_reset as wal_reset,
    (select max(age(d.datfrozenxid))::int8 from pg_database d where d.datallowconn) as max_xid_age,
    (select d.datname::text from pg_database d where d.datallowconn
        order by age(d.datfrozenxid) desc limit 1) as oldest_xid_database
from pg_stat_bgwriter b, pg_stat_wal w
