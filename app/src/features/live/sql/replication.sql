-- replication: every standby streaming from this server and every replication slot, with lag in
-- bytes (from WAL positions) and in time (the standby's reported replay lag). Standbys are named
-- by their WAL sender's pid: pg_stat_get_wal_senders() is what pg_stat_replication reads, without
-- the view's join to pg_stat_get_activity(NULL), a second snapshot of every backend (0.45 ms with
-- 300 backends; the standby's application_name is on the Activity page under that pid).
-- views: pg_replication_slots; functions: pg_stat_get_wal_senders(), pg_current_wal_lsn()
-- minimum server version: 10
-- privilege: pg_monitor (pg_read_all_stats) to see the WAL positions of other roles' senders
select
    'standby'::text as kind,
    ('wal sender ' || r.pid)::text as name,
    coalesce(r.state, '')::text as state,
    case when pg_is_in_recovery() then null
        else pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn)::int8 end as lag_bytes,
    (extract(epoch from r.replay_lag) * 1000)::float8 as lag_ms,
    true as active
from pg_stat_get_wal_senders() r
union all
select
    'slot'::text as kind,
    s.slot_name::text as name,
    s.slot_type::text as state,
    case when pg_is_in_recovery() then null
        else pg_wal_lsn_diff(pg_current_wal_lsn(), coalesce(s.confirmed_flush_lsn, s.restart_lsn))::int8
    end as lag_bytes,
    null::float8 as lag_ms,
    s.active as active
from pg_replication_slots s
