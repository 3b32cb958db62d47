-- wraparound: the oldest tables of this database by transaction id and multixact age (TOAST
-- included), with the freeze limits that apply to each (the table's own reloption, else the
-- server setting) and the failsafe ages, and the database's own ages.
-- parameters: $1 = how many tables at most
-- catalogs: pg_class, pg_namespace, pg_database; settings autovacuum_freeze_max_age,
--   autovacuum_multixact_freeze_max_age, vacuum_failsafe_age, vacuum_multixact_failsafe_age
-- functions: age, mxid_age, format
-- minimum server version: 14
-- privilege: none
with ages as (
    select
        c.oid,
        n.nspname::text as schema_name,
        c.relname::text as table_name,
        format('%I.%I', n.nspname, c.relname) as table_quoted,
        greatest(age(c.relfrozenxid), coalesce(age(tc.relfrozenxid), 0))::int8 as xid_age,
        greatest(mxid_age(c.relminmxid), coalesce(mxid_age(tc.relminmxid), 0))::int8 as mxid_age,
        coalesce((select option_value::int8 from pg_options_to_table(c.reloptions)
                   where option_name = 'autovacuum_freeze_max_age'),
                 current_setting('autovacuum_freeze_max_age')::int8) as freeze_max_age,
        coalesce((select option_value::int8 from pg_options_to_table(c.reloptions)
                   where option_name = 'autovacuum_multixact_freeze_max_age'),
                 current_setting('autovacuum_multixact_freeze_max_age')::int8) as mxid_freeze_max_age,
        c.relpages::int8 * current_setting('block_size')::int8 as bytes
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    left join pg_class tc on tc.oid = c.reltoastrelid
    where c.relkind in ('r', 'm')
      and c.relpersistence <> 't'
)
select u.*, current_setting('vacuum_failsafe_age')::int8 as failsafe_age,
       current_setting('vacuum_multixact_failsafe_age')::int8 as mxid_failsafe_age
from (
    select 'table' as scope, oid::int8 as table_oid, schema_name, table_name, table_quoted, xid_age, mxid_age,
           freeze_max_age, mxid_freeze_max_age, bytes
    from (select * from ages order by xid_age desc limit $1) x
    union
    select 'table', oid::int8, schema_name, table_name, table_quoted, xid_age, mxid_age,
           freeze_max_age, mxid_freeze_max_age, bytes
    from (select * from ages order by mxid_age desc limit $1) m
    union all
    select 'database', null, null, null, null, age(d.datfrozenxid)::int8, mxid_age(d.datminmxid)::int8,
           current_setting('autovacuum_freeze_max_age')::int8,
           current_setting('autovacuum_multixact_freeze_max_age')::int8,
           null
    from pg_database d
    where d.datname = current_database()
) u
