-- database_sizes: every non-template database with its size on disk.
-- views: pg_database; functions: pg_database_size() (walks the database directory: every few minutes
-- at most, never per page view)
-- minimum server version: 10
-- privilege: CONNECT on the database or membership of pg_read_all_stats (in pg_monitor); without
-- either the size is NULL instead of an error
select
    d.datname::text as name,
    case
        when has_database_privilege(d.oid, 'CONNECT') or pg_has_role('pg_read_all_stats', 'member')
            then pg_database_size(d.oid)
    end as size_bytes
from pg_database d
where not d.datistemplate
order by d.datname
