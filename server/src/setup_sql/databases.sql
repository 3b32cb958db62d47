-- setup_databases: the databases `pgpanel setup-sql` prepares (templates and databases that
-- refuse connections are left out).
-- parameters: none
-- catalogs: pg_database
-- minimum server version: 10
-- privilege: none
select datname::text from pg_database
where datallowconn and not datistemplate
order by datname
