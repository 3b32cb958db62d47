-- sequences: every sequence of the database's own schemas with how far it has gone towards its
-- end, and the columns it feeds (owned, identity, or named in a column default) with their
-- type's maximum: a sequence ends at the smaller of its own and its column's maximum.
-- last_value is NULL when the login may not read the sequence (no SELECT or USAGE on it:
-- `readable` says which) and when the sequence was never used.
-- parameters: none
-- catalogs: pg_sequence, pg_sequences, pg_class, pg_namespace, pg_depend, pg_attrdef,
--   pg_attribute, pg_type
-- functions: format, format_type, has_sequence_privilege
-- minimum server version: 14
-- privilege: SELECT or USAGE on each sequence for its last value
select
    s.seqrelid::int8 as sequence_oid,
    n.nspname::text as schema_name,
    c.relname::text as sequence_name,
    format('%I.%I', n.nspname, c.relname) as sequence_quoted,
    format_type(s.seqtypid, null) as sequence_type,
    s.seqmax::int8 as sequence_max,
    s.seqmin::int8 as sequence_min,
    s.seqincrement::int8 as increment,
    s.seqcycle as cycles,
    ps.last_value::int8 as last_value,
    has_sequence_privilege(s.seqrelid, 'SELECT, USAGE') as readable,
    col.table_quoted,
    col.table_name,
    col.column_name,
    col.column_quoted,
    col.column_type,
    col.is_identity
from pg_sequence s
join pg_class c on c.oid = s.seqrelid
join pg_namespace n on n.oid = c.relnamespace
left join pg_sequences ps on ps.schemaname = n.nspname and ps.sequencename = c.relname
left join lateral (
    select format('%I.%I', tn.nspname, t.relname) as table_quoted,
           t.relname::text as table_name,
           a.attname::text as column_name,
           format('%I', a.attname) as column_quoted,
           format_type(a.atttypid, a.atttypmod) as column_type,
           a.attidentity <> '' as is_identity
    from pg_depend d
    join pg_class t on t.oid = d.refobjid and d.refclassid = 'pg_class'::regclass
    join pg_namespace tn on tn.oid = t.relnamespace
    join pg_attribute a on a.attrelid = t.oid and a.attnum = d.refobjsubid
    where d.classid = 'pg_class'::regclass and d.objid = s.seqrelid
      and d.deptype in ('a', 'i') and d.refobjsubid > 0
    union all
    select format('%I.%I', tn.nspname, t.relname), t.relname::text, a.attname::text,
           format('%I', a.attname), format_type(a.atttypid, a.atttypmod), false
    from pg_depend d
    join pg_attrdef ad on ad.oid = d.objid and d.classid = 'pg_attrdef'::regclass
    join pg_class t on t.oid = ad.adrelid
    join pg_namespace tn on tn.oid = t.relnamespace
    join pg_attribute a on a.attrelid = ad.adrelid and a.attnum = ad.adnum
    where d.refclassid = 'pg_class'::regclass and d.refobjid = s.seqrelid
      and d.deptype = 'n'
    limit 1
) col on true
where n.nspname not in ('pg_catalog', 'information_schema')
order by n.nspname, c.relname
