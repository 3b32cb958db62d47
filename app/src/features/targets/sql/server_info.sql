-- server_info: version, primary/standby, start time and what the monitor login may see.
-- functions: current_setting(), pg_is_in_recovery(), pg_postmaster_start_time(), pg_has_role()
-- minimum server version: 10 (pg_monitor)
-- privilege: none; shared_preload_libraries is NULL unless the login can read all settings
-- identifiers for hints are quoted by the server (quote_ident), never in Rust
select
    current_setting('server_version') as version,
    current_setting('server_version_num')::int4 as version_num,
    pg_is_in_recovery() as in_recovery,
    pg_postmaster_start_time() as started_at,
    current_user::text as login,
    quote_ident(current_user) as login_ident,
    current_database()::text as database,
    quote_ident(current_database()) as database_ident,
    current_setting('max_connections')::int4 as max_connections,
    pg_has_role(current_user, 'pg_monitor', 'member') as has_pg_monitor,
    current_setting('is_superuser') = 'on' as is_superuser,
    -- read only when allowed (pg_read_all_settings, in pg_monitor); no scan of pg_settings
    case when pg_has_role(current_user, 'pg_read_all_settings', 'member')
        then current_setting('shared_preload_libraries') end as shared_preload_libraries,
    current_setting('track_io_timing') = 'on' as track_io_timing,
    current_setting('logging_collector') = 'on' as logging_collector,
    -- looked up in pg_proc: to_regprocedure raises an error without USAGE on the schema
    coalesce((select has_function_privilege(p.oid, 'EXECUTE')
                     and has_schema_privilege(n.oid, 'USAGE')
              from pg_proc p join pg_namespace n on n.oid = p.pronamespace
              where n.nspname = 'pgpanel' and p.proname = 'read_log'
                and p.proargtypes = '25 20 20'::oidvector), false) as log_reader
