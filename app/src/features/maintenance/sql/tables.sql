-- maintenance_tables: per table of the connected database, what a DBA checks before and after
-- VACUUM / ANALYZE. Read on demand for the Maintenance page (kept 30 s), never on a timer. The
-- pg_stat_get_* functions are what pg_stat_all_tables reads, without its per-index aggregate.
-- Sizes are estimated from pg_class.relpages (as of each relation's last VACUUM, ANALYZE or
-- CREATE INDEX): the table as pg_table_size counts it (heap and TOAST with its index; the small
-- free-space and visibility maps left out) and with its indexes, as pg_total_relation_size.
-- Reading the real sizes opens every relation, which in a fresh backend costs about 80 us per
-- table (165 ms for 2,000 tables, against 20 ms for this read); the VACUUM dialog and every job
-- measure the table they act on exactly, and the page shows that measurement while it is newer.
-- parameters: none
-- catalogs: pg_class, pg_namespace, pg_index; functions pg_stat_get_*
-- minimum server version: 10
-- privilege: none (every role may call these; sizes need no privilege on the table)
select
    c.oid::int8 as oid,
    n.nspname::text as schema,
    c.relname::text as name,
    c.relkind::text as kind,
    ((c.relpages::int8 + coalesce(t.relpages, 0)
      + coalesce((select sum(ti.relpages) from pg_index tx
                  join pg_class ti on ti.oid = tx.indexrelid
                  where tx.indrelid = c.reltoastrelid), 0))
     * current_setting('block_size')::int8)::int8 as est_table_bytes,
    ((c.relpages::int8 + coalesce(t.relpages, 0)
      + coalesce((select sum(ti.relpages) from pg_index tx
                  join pg_class ti on ti.oid = tx.indexrelid
                  where tx.indrelid = c.reltoastrelid), 0)
      + coalesce((select sum(ic.relpages) from pg_index x
                  join pg_class ic on ic.oid = x.indexrelid
                  where x.indrelid = c.oid), 0))
     * current_setting('block_size')::int8)::int8 as est_total_bytes,
    pg_stat_get_live_tuples(c.oid)::int8 as live,
    pg_stat_get_dead_tuples(c.oid)::int8 as dead,
    pg_stat_get_mod_since_analyze(c.oid)::int8 as mods_since_analyze,
    (extract(epoch from pg_stat_get_last_vacuum_time(c.oid)) * 1000)::int8 as last_vacuum_ms,
    (extract(epoch from pg_stat_get_last_autovacuum_time(c.oid)) * 1000)::int8
        as last_autovacuum_ms,
    (extract(epoch from pg_stat_get_last_analyze_time(c.oid)) * 1000)::int8 as last_analyze_ms,
    (extract(epoch from pg_stat_get_last_autoanalyze_time(c.oid)) * 1000)::int8
        as last_autoanalyze_ms,
    -- partitioned tables have no relfrozenxid of their own
    case when c.relfrozenxid <> '0'::xid then age(c.relfrozenxid)::int8 end as xid_age
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
left join pg_class t on t.oid = c.reltoastrelid
where c.relkind in ('r', 'm', 'p')
  and n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname !~ '^pg_toast'
order by est_total_bytes desc
limit 10000
