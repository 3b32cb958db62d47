-- database_exists: whether a database of this name exists and accepts connections (checked before
-- pgpanel caches anything under a database name a user sent, or connects to it).
-- parameters: $1 = database name
-- views: pg_database
-- minimum server version: 10
-- privilege: none beyond connecting (pg_database is readable by every role)
select exists (
    select 1 from pg_database
    where datname = $1 and datallowconn and not datistemplate
)
