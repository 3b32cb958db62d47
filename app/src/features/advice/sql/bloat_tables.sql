-- bloat_tables: every table and materialized view of the database (partitions included; not
-- partitioned parents, which hold no rows, nor other sessions' temporary tables) with what the
-- bloat methods need: heap size, pages and all-visible pages (pgstattuple_approx reads the pages
-- that are not all-visible), fillfactor, TOAST table and size, live and dead tuples from the
-- statistics, whether it has dropped columns, when it was last vacuumed, whether a VACUUM runs on
-- it now, and its autovacuum trigger (the table's own settings, else the server's). Sizes come
-- from the catalog (relpages, as of the last VACUUM or ANALYZE; a table never analysed has
-- reltuples −1): pg_relation_size would take a lock on every table and wait behind any DDL.
-- parameters: none
-- catalogs: pg_class, pg_namespace, pg_attribute, pg_stat_user_tables, pg_stat_progress_vacuum;
--   settings autovacuum, autovacuum_vacuum_threshold, autovacuum_vacuum_scale_factor
-- functions: pg_options_to_table, format, current_setting
-- minimum server version: 14
-- privilege: none
with dropped as (
    select attrelid from pg_attribute where attisdropped group by attrelid
), vacuuming as (
    select distinct relid from pg_stat_progress_vacuum
)
select
    c.oid::int8 as table_oid,
    n.nspname::text as schema_name,
    c.relname::text as table_name,
    format('%I.%I', n.nspname, c.relname) as table_quoted,
    c.relpages::int8 * current_setting('block_size')::int8 as bytes,
    c.relpages::int8 as pages,
    c.relallvisible::int8 as all_visible_pages,
    coalesce(o.fillfactor, 100) as fillfactor,
    nullif(c.reltoastrelid, 0)::int8 as toast_oid,
    coalesce(tc.relpages, 0)::int8 * current_setting('block_size')::int8 as toast_bytes,
    coalesce(s.n_live_tup, 0)::int8 as live_tuples,
    coalesce(s.n_dead_tup, 0)::int8 as dead_tuples,
    greatest(c.reltuples, 0)::float8 as reltuples,
    c.reltuples < 0 as never_analysed,
    d.attrelid is not null as dropped_columns,
    (extract(epoch from greatest(s.last_vacuum, s.last_autovacuum)) * 1000)::int8
        as last_vacuum_ms,
    v.relid is not null as vacuum_running,
    coalesce(o.autovacuum_enabled, current_setting('autovacuum')::bool) as autovacuum_enabled,
    coalesce(o.vacuum_threshold, current_setting('autovacuum_vacuum_threshold')::int8)
        as vacuum_threshold,
    coalesce(o.vacuum_scale_factor, current_setting('autovacuum_vacuum_scale_factor')::float8)
        as vacuum_scale_factor
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
left join pg_class tc on tc.oid = c.reltoastrelid
left join pg_stat_user_tables s on s.relid = c.oid
left join dropped d on d.attrelid = c.oid
left join vacuuming v on v.relid = c.oid
left join lateral (
    select
        max(option_value) filter (where option_name = 'fillfactor')::int4 as fillfactor,
        max(option_value) filter (where option_name = 'autovacuum_enabled')::bool
            as autovacuum_enabled,
        max(option_value) filter (where option_name = 'autovacuum_vacuum_threshold')::int8
            as vacuum_threshold,
        max(option_value) filter (where option_name = 'autovacuum_vacuum_scale_factor')::float8
            as vacuum_scale_factor
    from pg_options_to_table(c.reloptions)
) o on true
where c.relkind in ('r', 'm')
  and c.relpersistence <> 't'
  and n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname !~ '^pg_toast'
order by n.nspname, c.relname
