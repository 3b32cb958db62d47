-- activity: the backends that changed since the previous sample, as the 1 s live sample reads
-- them, and the pids of all backends (on pgpanel's own row only) when their number changed.
-- parameters: $1 = the previous sample's sampled_at minus a margin, or NULL for every backend;
-- $2 = how many backends the previous sample held, or NULL. The pid list is sent only when the
-- count differs: counting through pg_stat_get_db_numbackends (a loop over the backends already
-- read, per database) is cheaper than listing them (300 backends, PG 15, paired: 0.84 against
-- 0.93 ms a read; 0.80 without any list). With the same count, pgpanel keeps the previous
-- sample's backends and checks that every backend sent is one of them (one that exited while
-- another started makes it read everything);
-- $3 = the pids whose row in the previous sample was not idle (active, in a transaction, or
-- without a state: background processes, rows hidden by missing privilege): sent whatever their
-- times say.
-- A backend idle in the previous sample has changed only if it started a statement since
-- (query_start; every statement, SET application_name and BEGIN included, stamps it) or is new
-- (backend_start); one that was busy is in $3. The rest keep their previous rows in pgpanel.
-- Which backends to send is decided on the per-backend accessors (pg_stat_get_backend_*, a
-- lookup in the snapshot the first call takes), and only those rows are built: building a row
-- for every backend (pg_stat_get_activity(NULL)) resolves each TCP client's address
-- (getnameinfo), which made the read half again as dear (bench target, 309 backends over TCP,
-- PG 15, 150 rounds: 0.44 against 0.62 ms a read; 0.16 for the snapshot alone). A row whose
-- times cannot be read (hidden by missing privilege) is sent.
-- functions: pg_stat_get_backend_idset() and its accessors; pg_stat_get_activity(pid), what the
-- pg_stat_activity view reads, one backend at a time and without its joins to pg_database and
-- pg_authid (names come from names.sql, read every slow cycle). The pid is never NULL here
-- (that would list every backend): coalesce makes a vanished one match none.
-- minimum server version: 10 (backend_type)
-- privilege: any login; without pg_read_all_stats (in pg_monitor) other users' rows show
-- query = '<insufficient privilege>' and NULL state, wait and client columns
select
    now() as sampled_at,
    a.pid::int4 as pid,
    a.backend_start as backend_start,
    coalesce(a.backend_type, '')::text as backend_type,
    a.datid::int8 as datid,
    a.usesysid::int8 as usesysid,
    coalesce(a.application_name, '')::text as application_name,
    host(a.client_addr) as client_addr,
    a.client_port::int4 as client_port,
    a.state::text as state,
    a.wait_event_type::text as wait_event_type,
    a.wait_event::text as wait_event,
    a.xact_start as xact_start,
    a.query_start as query_start,
    a.state_change as state_change,
    a.backend_xid::text as backend_xid,
    coalesce(a.query, '')::text as query,
    -- A lock waiter's pg_stat_statements entry (the lock graph adds the sampled wait to it):
    -- read from the row itself, so no other read has to take a second snapshot of every
    -- backend. The column exists from 14 on; through jsonb, older servers give NULL.
    case when a.wait_event_type = 'Lock' then (to_jsonb(a) ->> 'query_id')::int8 end as query_id,
    a.pid = pg_backend_pid() as is_self,
    case when a.pid = pg_backend_pid()
        and $2::int4 is distinct from (select sum(pg_stat_get_db_numbackends(d.oid))::int4
            from pg_database d) + pg_stat_get_db_numbackends(0)
    then
        (select array_agg(pg_stat_get_backend_pid(b)) from pg_stat_get_backend_idset() b)
    end as alive
from pg_stat_get_backend_idset() i
cross join lateral pg_stat_get_activity(coalesce(pg_stat_get_backend_pid(i), 0)) a
where $1::timestamptz is null
    or pg_stat_get_backend_pid(i) = any($3::int4[])
    or pg_stat_get_backend_activity_start(i) >= $1
    -- new since, or its times hidden (missing privilege): one accessor call for both
    or coalesce(pg_stat_get_backend_start(i) >= $1, true)
