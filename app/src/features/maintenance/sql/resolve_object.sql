-- resolve_object: the table or index a DBA named (schema and name as typed, matched exactly,
-- never parsed), in the database the action login is connected to. pgpanel builds the
-- statement from `quoted`, which PostgreSQL quotes; an unknown name gives no row (404).
-- parameters: $1 = schema name, $2 = relation name, $3 = relkinds allowed ('r','m','p' for
--   tables; 'i','I' for indexes)
-- catalogs: pg_class, pg_namespace, pg_index, pg_roles, pg_database
-- minimum server version: 10 (pg_is_in_recovery, relkind 'p')
-- privilege: none (catalogs are readable by every role)
select
    c.oid::int8 as oid,
    c.relkind::text as relkind,
    format('%I.%I', n.nspname, c.relname) as quoted,
    -- for an index: its table, which VACUUM's and REINDEX's locks also touch
    i.indrelid::int8 as table_oid,
    -- the sizes every page shows (pg_table_size, and with indexes), measured now
    pg_table_size(c.oid)::int8 as table_bytes,
    pg_total_relation_size(c.oid)::int8 as total_bytes,
    -- the server's clock, like the vacuum and analyze times the estimates are dated by
    (extract(epoch from clock_timestamp()) * 1000)::int8 as measured_ms,
    pg_is_in_recovery() as in_recovery,
    -- VACUUM and ANALYZE skip (with only a warning) what the login may not maintain: the owner,
    -- the database owner (not for shared catalogs), a superuser, or MAINTAIN (17+)
    coalesce((select rolsuper from pg_roles where rolname = current_user), false)
      or pg_has_role(current_user, c.relowner, 'USAGE')
      or (not c.relisshared and c.relkind <> 'i' and pg_has_role(current_user,
            (select datdba from pg_database where datname = current_database()), 'USAGE'))
      or (current_setting('server_version_num')::int >= 170000
          and has_table_privilege(c.oid, 'MAINTAIN')) as may_maintain
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
left join pg_index i on i.indexrelid = c.oid
where n.nspname = $1
  and c.relname = $2
  and c.relkind::text = any($3::text[])
