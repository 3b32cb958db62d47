-- relations: the tables the most expensive statements name, placed as this login's search_path
-- places them (PostgreSQL parses and quotes each name), with their columns, how the rows are
-- written (inserts and updates that are not HOT add an entry to every index) and since when
-- the statistics count.
-- parameters: $1 = schema names as the statements give them ('' for none), $2 = table names,
--   both text[] of the same length
-- catalogs: pg_class, pg_namespace, pg_attribute, pg_stat_user_tables, pg_stat_database
-- functions: to_regclass, quote_ident, format, pg_postmaster_start_time
-- minimum server version: 14
-- privilege: none (names and statistics are visible to every login)
select
    u.ord::int4 as ord,
    c.oid::int8 as table_oid,
    n.nspname::text as schema_name,
    c.relname::text as table_name,
    format('%I.%I', n.nspname, c.relname) as table_quoted,
    c.relkind::text as relkind,
    array(select a.attname::text from pg_attribute a
           where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
           order by a.attnum) as column_names,
    array(select a.attnum from pg_attribute a
           where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
           order by a.attnum) as column_numbers,
    greatest(coalesce(s.n_live_tup, 0), c.reltuples::int8)::int8 as live_rows,
    coalesce(s.n_tup_ins, 0)::int8 as inserted,
    coalesce(s.n_tup_upd, 0)::int8 as updated,
    coalesce(s.n_tup_hot_upd, 0)::int8 as hot_updated,
    extract(epoch from now() - coalesce(d.stats_reset, pg_postmaster_start_time()))::float8
        as stats_seconds,
    c.relpages::int8 * current_setting('block_size')::int8 as bytes
from unnest($1::text[], $2::text[]) with ordinality as u(schema_name, rel_name, ord)
cross join lateral (
    select case when u.schema_name = '' then to_regclass(quote_ident(u.rel_name))
                else to_regclass(format('%I.%I', u.schema_name, u.rel_name)) end as oid
) r
join pg_class c on c.oid = r.oid and c.relkind in ('r', 'p', 'm')
join pg_namespace n on n.oid = c.relnamespace
left join pg_stat_user_tables s on s.relid = c.oid
left join pg_stat_database d on d.datname = current_database()
order by u.ord
