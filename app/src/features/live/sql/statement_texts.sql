-- statement_texts: the normalised text of the given new entries, with database and role names.
-- Runs only when entries appear that pgpanel has not seen before (texts are cached in the store):
-- pg_stat_statements(true) reads the whole query-text file, so never on every cycle.
-- views: pg_stat_statements(showtext => true), pg_database, pg_roles
-- minimum server version: 14
-- privilege: pg_read_all_stats (in pg_monitor); other roles' texts read '<insufficient privilege>'
select
    s.queryid::int8 as queryid,
    s.dbid::int8 as dbid,
    s.userid::int8 as userid,
    s.toplevel as toplevel,
    coalesce(d.datname::text, s.dbid::text) as database_name,
    coalesce(r.rolname::text, s.userid::text) as user_name,
    coalesce(s.query, '') as query
from pg_stat_statements(true) s
left join pg_database d on d.oid = s.dbid
left join pg_roles r on r.oid = s.userid
where s.queryid = any($1)
