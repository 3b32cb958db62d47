-- activity: every backend of every database, as the 1 s live sample reads it.
-- views: pg_stat_activity (one snapshot of the backend status array per call)
-- minimum server version: 10 (backend_type)
-- privilege: any login; without pg_read_all_stats (in pg_monitor) other users' rows show
-- query = '<insufficient privilege>' and NULL state, wait and client columns
select
    now() as sampled_at,
    a.pid::int4 as pid,
    a.backend_start as backend_start,
    coalesce(a.backend_type, '')::text as backend_type,
    a.datname::text as datname,
    a.usename::text as usename,
    coalesce(a.application_name, '')::text as application_name,
    host(a.client_addr) as client_addr,
    a.client_port::int4 as client_port,
    a.state::text as state,
    a.wait_event_type::text as wait_event_type,
    a.wait_event::text as wait_event,
    a.xact_start as xact_start,
    a.query_start as query_start,
    a.state_change as state_change,
    coalesce(a.query, '')::text as query,
    a.pid = pg_backend_pid() as is_self
from pg_stat_activity a
