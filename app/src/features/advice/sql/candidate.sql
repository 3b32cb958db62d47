-- candidate: a suggested btree index on a table's columns, written by PostgreSQL from the
-- catalog: the statement hypopg builds a hypothetical index from, the DDL a DBA applies
-- (CONCURRENTLY: writes go on while it builds) and the column names quoted.
-- parameters: $1 = the table's OID, $2 = the key columns' attnums in order (int2[])
-- catalogs: pg_class, pg_namespace, pg_attribute
-- functions: format, quote_ident
-- minimum server version: 14
-- privilege: none
select
    format('CREATE INDEX ON %I.%I USING btree (%s)', n.nspname, c.relname,
           string_agg(quote_ident(a.attname), ', ' order by u.ord)) as hypothetical,
    format('CREATE INDEX CONCURRENTLY ON %I.%I (%s);', n.nspname, c.relname,
           string_agg(quote_ident(a.attname), ', ' order by u.ord)) as ddl,
    array_agg(a.attname::text order by u.ord) as column_names,
    array_agg(quote_ident(a.attname) order by u.ord) as columns_quoted
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
cross join unnest($2::int2[]) with ordinality as u(attnum, ord)
join pg_attribute a on a.attrelid = c.oid and a.attnum = u.attnum and not a.attisdropped
where c.oid = $1::oid
group by n.nspname, c.relname
having count(*) = cardinality($2::int2[])
