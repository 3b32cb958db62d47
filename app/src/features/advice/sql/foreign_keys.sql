-- foreign_keys: every foreign key of the database's own tables (the top constraint of a
-- partitioned table, not its per-partition copies) with its referencing columns, names quoted
-- by the server, and the churn of the referenced table (deletes and updates there make
-- PostgreSQL look up the referencing rows).
-- parameters: none
-- catalogs: pg_constraint, pg_class, pg_namespace, pg_attribute, pg_stat_all_tables
-- functions: format
-- minimum server version: 14
-- privilege: none (catalogs); pg_stat_all_tables is readable by every login
select
    con.oid::int8 as constraint_oid,
    con.conname::text as constraint_name,
    con.conrelid::int8 as table_oid,
    n.nspname::text as schema_name,
    t.relname::text as table_name,
    format('%I.%I', n.nspname, t.relname) as table_quoted,
    t.relkind = 'p' as is_partitioned,
    con.conkey::int2[] as columns,
    array(select format('%I', a.attname)
            from unnest(con.conkey) with ordinality k(attnum, ord)
            join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.attnum
           order by k.ord) as columns_quoted,
    array(select a.attname::text
            from unnest(con.conkey) with ordinality k(attnum, ord)
            join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.attnum
           order by k.ord) as column_names,
    format('%I.%I', rn.nspname, r.relname) as referenced_quoted,
    coalesce(rs.n_tup_del + rs.n_tup_upd, 0)::int8 as referenced_churn,
    t.relpages::int8 * current_setting('block_size')::int8 as table_bytes
from pg_constraint con
join pg_class t on t.oid = con.conrelid
join pg_namespace n on n.oid = t.relnamespace
join pg_class r on r.oid = con.confrelid
join pg_namespace rn on rn.oid = r.relnamespace
left join pg_stat_all_tables rs on rs.relid = con.confrelid
where con.contype = 'f'
  and con.conparentid = 0
  and n.nspname not in ('pg_catalog', 'information_schema')
order by n.nspname, t.relname, con.conname
