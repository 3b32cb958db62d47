-- maintenance_tables: per table of the connected database, what a DBA checks before and after
-- VACUUM / ANALYZE. Read on demand for the Maintenance page (cached 30 s), never on a timer.
-- parameters: none
-- views: pg_stat_all_tables, pg_class
-- minimum server version: 10 (n_mod_since_analyze is 9.4)
-- privilege: none (pg_stat_all_tables and pg_class are readable by every role; sizes of
--   tables the login cannot read still come from pg_total_relation_size)
select
    s.relid::int8 as oid,
    s.schemaname::text as schema,
    s.relname::text as name,
    c.relkind::text as kind,
    pg_total_relation_size(s.relid)::int8 as total_bytes,
    s.n_live_tup::int8 as live,
    s.n_dead_tup::int8 as dead,
    s.n_mod_since_analyze::int8 as mods_since_analyze,
    (extract(epoch from s.last_vacuum) * 1000)::int8 as last_vacuum_ms,
    (extract(epoch from s.last_autovacuum) * 1000)::int8 as last_autovacuum_ms,
    (extract(epoch from s.last_analyze) * 1000)::int8 as last_analyze_ms,
    (extract(epoch from s.last_autoanalyze) * 1000)::int8 as last_autoanalyze_ms,
    -- partitioned tables have no relfrozenxid of their own
    case when c.relfrozenxid <> '0'::xid then age(c.relfrozenxid)::int8 end as xid_age
from pg_stat_all_tables s
join pg_class c on c.oid = s.relid
where s.schemaname not in ('pg_catalog', 'information_schema')
  and s.schemaname !~ '^pg_toast'
order by pg_total_relation_size(s.relid) desc
limit 10000
