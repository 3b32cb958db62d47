-- cancel_job: cancels the statement of a maintenance job pgpanel started (its backend's pid,
-- recorded when the job connected).
-- parameters: $1 = the job's pid
-- functions: pg_cancel_backend
-- minimum server version: 10
-- privilege: the job's own login (the action login) may cancel its own sessions
select pg_cancel_backend($1)
