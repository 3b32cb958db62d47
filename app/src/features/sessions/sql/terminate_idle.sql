-- terminate_idle: ends the client sessions that are idle in transaction now and whose
-- transaction has been open for at least $1 minutes (xact_start: what holds locks and the xmin
-- horizon; state_change would only say how long since its last statement), checked and signalled
-- in one statement (a session running a statement again is not idle and is left alone). pgpanel's own sessions and superusers' sessions are never ended in bulk. With $2
-- and $3 (the (pid, backend_start) pairs a DBA saw), only those sessions.
-- parameters: $1 = minutes, $2 = pids or null, $3 = backend_starts (same order) or null,
-- $4 = pgpanel's logins on this target (a session is pgpanel's own only on one of them with
-- pgpanel's application_name: any role may name itself pgpanel)
-- views: pg_stat_activity, pg_roles
-- minimum server version: 10
-- privilege: pg_signal_backend (and pg_read_all_stats to see other roles' sessions)
select a.pid::int4 as pid, pg_terminate_backend(a.pid) as signalled
from pg_stat_activity a
left join pg_roles r on r.oid = a.usesysid
where a.state in ('idle in transaction', 'idle in transaction (aborted)')
  and a.xact_start <= clock_timestamp() - make_interval(mins => $1)
  and a.backend_type = 'client backend'
  and a.pid <> pg_backend_pid()
  and not (coalesce(a.application_name, '') like 'pgpanel%' and a.usename = any($4::text[]))
  and not coalesce(r.rolsuper, false)
  and ($2::int4[] is null
       or (a.pid, a.backend_start) in (select * from unnest($2::int4[], $3::timestamptz[])))
