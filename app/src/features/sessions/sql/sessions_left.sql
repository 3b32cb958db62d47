-- sessions_left: which of the sessions pgpanel just sent terminate are still there (it waits a
-- few seconds for them to go).
-- parameters: $1 = pids
-- views: pg_stat_activity
-- minimum server version: 10
-- privilege: none
select pid::int4 from pg_stat_activity where pid = any($1::int4[])
