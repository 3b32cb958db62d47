-- log_settings: how the server writes its log, whether pgpanel's log reader is installed and
-- usable, and the settings that decide what the Logs page can show.
-- functions: current_setting(), has_function_privilege(), has_schema_privilege()
-- minimum server version: 10
-- privilege: pg_monitor (log_directory and shared_preload_libraries are NULL without
-- pg_read_all_settings); the reader is looked up in pg_proc, which never fails (to_regprocedure
-- raises an error when the login lacks USAGE on the schema)
with reader as (
    select p.oid from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'pgpanel' and p.proname = 'read_log'
      and p.proargtypes = '25 20 20'::oidvector
),
-- One pass over pg_settings (each pass lists every setting: three took 3.8 ms on the bench's
-- target, one takes a third of it).
listed as (
    select
        max(setting) filter (where name = 'log_directory') as directory,
        max(setting) filter (where name = 'shared_preload_libraries') as preload,
        split_part(min(name) filter (
            where name like any (array['rds.%', 'cloudsql.%', 'azure.%', 'alloydb.%'])), '.', 1)
            as managed_by
    from pg_settings
    where name in ('log_directory', 'shared_preload_libraries')
        or name like any (array['rds.%', 'cloudsql.%', 'azure.%', 'alloydb.%'])
)
select
    current_setting('logging_collector') = 'on' as collector,
    current_setting('log_destination') as destination,
    (select directory from listed) as directory,
    current_setting('log_line_prefix') as prefix,
    current_setting('log_timezone') as timezone,
    extract(epoch from (now() at time zone current_setting('log_timezone'))
        - (now() at time zone 'UTC'))::int4 as zone_offset_s,
    current_setting('lc_messages') as lc_messages,
    current_setting('log_min_duration_statement') as log_min_duration_statement,
    current_setting('log_lock_waits') = 'on' as log_lock_waits,
    current_setting('log_connections') = 'on' as log_connections,
    current_setting('log_checkpoints') = 'on' as log_checkpoints,
    current_setting('log_autovacuum_min_duration') as log_autovacuum_min_duration,
    current_setting('log_temp_files') as log_temp_files,
    (select preload from listed) as preload,
    exists (select from reader) as has_reader,
    coalesce((select has_function_privilege(oid, 'EXECUTE')
                     and has_schema_privilege('pgpanel', 'USAGE') from reader), false) as can_read,
    (select managed_by from listed) as managed_by,
    current_database() as database
