-- indexes: every index on the database's own tables with what the index findings compare: access
-- method, key and INCLUDE columns, operator classes, collations, sort options, expressions and
-- predicate (as PostgreSQL prints them), what the index backs (a primary key, unique or exclusion
-- constraint; foreign keys referencing it; replica identity; a partitioned parent), whether a
-- build is running now, its scans since the statistics were reset and its size from the catalog
-- (relpages: no file is opened) and fillfactor (for the btree bloat formula).
-- parameters: none
-- catalogs: pg_index, pg_class, pg_namespace, pg_am, pg_constraint, pg_inherits,
--   pg_stat_all_indexes, pg_stat_progress_create_index
-- functions: pg_get_expr, pg_get_indexdef, format, quote_ident, pg_options_to_table
-- minimum server version: 14 (indnullsnotdistinct, from 15, and last_idx_scan, from 16, are read
--   through to_jsonb so that one statement serves every major)
-- privilege: none for the catalogs; pg_monitor (pg_read_all_stats) to see builds of other roles
select
    i.indexrelid::int8 as index_oid,
    i.indrelid::int8 as table_oid,
    n.nspname::text as schema_name,
    t.relname::text as table_name,
    c.relname::text as index_name,
    format('%I.%I', n.nspname, c.relname) as index_quoted,
    format('%I.%I', n.nspname, t.relname) as table_quoted,
    am.amname::text as method,
    i.indnkeyatts::int4 as key_count,
    string_to_array(i.indkey::text, ' ')::int2[] as columns,
    array(select pg_get_indexdef(i.indexrelid, k, true)
            from generate_series(1, i.indnkeyatts) k order by k) as key_exprs,
    coalesce(string_to_array(nullif(i.indclass::text, ''), ' ')::int8[], '{}') as opclasses,
    coalesce(string_to_array(nullif(i.indcollation::text, ''), ' ')::int8[], '{}') as collations,
    coalesce(string_to_array(nullif(i.indoption::text, ''), ' ')::int2[], '{}') as options,
    coalesce(pg_get_expr(i.indexprs, i.indrelid), '') as expressions,
    coalesce(pg_get_expr(i.indpred, i.indrelid), '') as predicate,
    coalesce((to_jsonb(i) ->> 'indnullsnotdistinct')::bool, false) as nulls_not_distinct,
    i.indisunique as is_unique,
    i.indisprimary as is_primary,
    i.indisexclusion as is_exclusion,
    i.indisvalid as is_valid,
    i.indisready as is_ready,
    i.indisreplident as is_replica_identity,
    c.relkind = 'I' as is_partitioned,
    exists (select 1 from pg_inherits h where h.inhrelid = i.indexrelid) as is_partition_member,
    backing.conname as constraint_name,
    quote_ident(backing.conname) as constraint_quoted,
    fk_ref.conindid is not null as referenced_by_fk,
    building.index_relid is not null as being_built,
    coalesce(s.idx_scan, 0)::int8 as scans,
    (extract(epoch from (to_jsonb(s) ->> 'last_idx_scan')::timestamptz) * 1000)::int8
        as last_scan_ms,
    c.relpages::int8 * current_setting('block_size')::int8 as bytes,
    coalesce((select o.option_value::int4 from pg_options_to_table(c.reloptions) o
               where o.option_name = 'fillfactor'), 90) as fillfactor,
    pg_get_indexdef(i.indexrelid) as definition
from pg_index i
join pg_class c on c.oid = i.indexrelid
join pg_class t on t.oid = i.indrelid
join pg_namespace n on n.oid = t.relnamespace
join pg_am am on am.oid = c.relam
left join pg_stat_all_indexes s on s.indexrelid = i.indexrelid
-- pg_constraint has no index on conindid, and the progress view is a function: one pass over
-- each, joined, instead of a lookup per index.
left join (select distinct conindid from pg_constraint where contype = 'f') fk_ref
    on fk_ref.conindid = i.indexrelid
left join (select distinct index_relid from pg_stat_progress_create_index) building
    on building.index_relid = i.indexrelid
left join (
    select conindid, conrelid, min(conname)::text as conname
    from pg_constraint
    where contype in ('p', 'u', 'x')
    group by conindid, conrelid
) backing on backing.conindid = i.indexrelid and backing.conrelid = i.indrelid
where n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname !~ '^pg_toast'
  and t.relpersistence <> 't'
order by n.nspname, t.relname, c.relname
