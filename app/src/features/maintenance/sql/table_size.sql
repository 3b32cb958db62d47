-- table_size: a table's size, measured again after a maintenance job (the same definition as the
-- Maintenance list and the job's preview), with the server's clock.
-- parameters: $1 = the table's OID
-- functions: pg_table_size, pg_total_relation_size
-- minimum server version: 10
-- privilege: none
select pg_table_size($1::int8::oid)::int8, pg_total_relation_size($1::int8::oid)::int8,
    (extract(epoch from clock_timestamp()) * 1000)::int8
