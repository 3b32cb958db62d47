-- cancel_job: cancels the statement of a maintenance job pgpanel started (its backend's pid,
-- recorded when the job connected), only while that backend is still the action login's own:
-- a pid read from the store by another instance may have ended and been reused.
-- parameters: $1 = the job's pid
-- views: pg_stat_activity
-- functions: pg_cancel_backend
-- minimum server version: 10
-- privilege: the job's own login (the action login) may cancel its own sessions
select pg_cancel_backend(a.pid)
from pg_stat_activity a
where a.pid = $1 and a.usename = current_user
