-- installed_extensions: the extensions pgpanel can use that are created in the monitor database,
-- with their versions. A catalog read (microseconds): the monitor runs it every
-- `facts_interval` and reads the extension directory (list_extensions.sql, ~3 ms on a server
-- with contrib) only when these changed, after a restart, or every 10 minutes.
-- views: pg_extension
-- minimum server version: 10
-- privilege: none
select
    e.extname::text as name,
    e.extversion::text as version
from pg_extension e
where e.extname in ('pg_stat_statements', 'pgstattuple', 'hypopg')
order by e.extname
