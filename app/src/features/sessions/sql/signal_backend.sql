-- signal_backend: cancels or terminates a session only if it is still the one the DBA chose:
-- same pid and backend_start (a pid can be reused), a client backend, not pgpanel's own. The
-- check and the signal are one statement, so nothing can slip in between.
-- parameters: $1 = pid, $2 = backend_start, $3 = terminate (else cancel), $4 = how long terminate
-- waits for the backend to be gone (ms), $5 = pgpanel's logins on this target (a session is
-- pgpanel's own only on one of them: any role may name itself pgpanel)
-- functions: pg_cancel_backend, pg_terminate_backend(pid, timeout)
-- minimum server version: 14 (pg_terminate_backend with a timeout)
-- privilege: pg_signal_backend (superuser sessions: superuser only)
select
    case when $3::bool
        then pg_terminate_backend(a.pid, $4::int8)
        else pg_cancel_backend(a.pid)
    end as signalled
from pg_stat_activity a
where a.pid = $1
    and a.backend_start = $2
    and a.backend_type = 'client backend'
    and a.pid <> pg_backend_pid()
    and not (coalesce(a.application_name, '') like 'pgpanel%' and a.usename = any($5::text[]))
