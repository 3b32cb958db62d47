-- server_info: version, primary/standby, start time and what the monitor login may see.
-- views: pg_settings, pg_roles; functions: pg_is_in_recovery(), pg_postmaster_start_time(), pg_has_role()
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
    coalesce((select r.rolsuper from pg_roles r where r.rolname = current_user), false) as is_superuser,
    (select s.setting from pg_settings s where s.name = 'shared_preload_libraries') as shared_preload_libraries,
    current_setting('track_io_timing') = 'on' as track_io_timing
