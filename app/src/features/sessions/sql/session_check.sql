-- session_check: the session a DBA asked to cancel or terminate, as the action login sees it,
-- read before anything is signalled (pgpanel refuses its own sessions, non-client backends and,
-- without a typed confirmation, superuser sessions).
-- parameters: $1 = pid
-- views: pg_stat_activity, pg_roles
-- minimum server version: 10 (backend_type)
-- privilege: pg_read_all_stats (in pg_monitor) to see other roles' sessions in full: without it
-- their backend_start and backend_type read as null, and pgpanel says which grant is missing
select
    a.pid::int4 as pid,
    a.backend_start as backend_start,
    coalesce(a.backend_type, '')::text as backend_type,
    coalesce(a.application_name, '')::text as application_name,
    a.usename::text as usename,
    a.datname::text as datname,
    a.state::text as state,
    coalesce(r.rolsuper, false) as superuser,
    a.pid = pg_backend_pid() as is_self,
    pg_has_role('pg_read_all_stats', 'USAGE') as reads_all_stats,
    quote_ident(current_user) as login_ident
from pg_stat_activity a
left join pg_roles r on r.oid = a.usesysid
where a.pid = $1
