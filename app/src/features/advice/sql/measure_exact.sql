-- measure_exact: one table's dead tuples and free space, exactly: pgstattuple reads every page of
-- the relation (a cost a DBA asks for, never scheduled). The schema placeholder is replaced by the
-- extension's schema as PostgreSQL quotes it.
-- parameters: $1 = the table's (or its TOAST table's) OID
-- functions: pgstattuple (extension pgstattuple; EXECUTE granted to pg_stat_scan_tables)
-- minimum server version: 14
-- privilege: pg_monitor (through pg_stat_scan_tables); no SELECT on the table
select table_len::int8 as bytes,
       dead_tuple_len::int8 as dead_bytes,
       free_space::int8 as free_bytes,
       100::float8 as scanned_percent
from @extension_schema@.pgstattuple($1::oid::regclass)
