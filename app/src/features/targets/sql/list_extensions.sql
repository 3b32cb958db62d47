-- list_extensions: the extensions pgpanel can use, whether the server has them and whether they are
-- created in the monitor database.
-- views: pg_available_extensions (reads the extension directory: not for the live timer)
-- minimum server version: 10
-- privilege: none
select
    e.name::text as name,
    e.default_version::text as default_version,
    e.installed_version::text as installed_version
from pg_available_extensions e
where e.name in ('pg_stat_statements', 'pgstattuple', 'hypopg')
order by e.name
