-- extensions: what the advice methods can use in this database — pgstattuple (its schema quoted
-- by PostgreSQL, and whether this login may execute it: pg_monitor includes
-- pg_stat_scan_tables, which has EXECUTE) and pg_repack (for the online rewrite of a bloated
-- table) and hypopg (hypothetical indexes for validating a missing index: its schema quoted by
-- PostgreSQL).
-- parameters: none
-- catalogs: pg_extension, pg_namespace
-- functions: quote_ident, has_function_privilege
-- minimum server version: 14
-- privilege: none
select
    (select quote_ident(n.nspname)
       from pg_extension e join pg_namespace n on n.oid = e.extnamespace
      where e.extname = 'pgstattuple') as pgstattuple_schema,
    coalesce((select has_function_privilege(
                  quote_ident(n.nspname) || '.pgstattuple_approx(regclass)', 'execute')
                and has_function_privilege(
                  quote_ident(n.nspname) || '.pgstatindex(regclass)', 'execute')
       from pg_extension e join pg_namespace n on n.oid = e.extnamespace
      where e.extname = 'pgstattuple'), false) as pgstattuple_usable,
    exists (select 1 from pg_extension where extname = 'pg_repack') as has_pg_repack,
    (select quote_ident(n.nspname)
       from pg_extension e join pg_namespace n on n.oid = e.extnamespace
      where e.extname = 'hypopg') as hypopg_schema
