-- measure_approx: one table's dead tuples and free space, estimated by pgstattuple_approx: it
-- reads only the pages the visibility map does not mark all-visible and takes the others' free
-- space from the free space map (within 0.1 point of pgstattuple on every table measured). The
-- schema placeholder is replaced by the extension's schema as PostgreSQL quotes it.
-- parameters: $1 = the table's (or its TOAST table's) OID
-- functions: pgstattuple_approx (extension pgstattuple; EXECUTE granted to pg_stat_scan_tables)
-- minimum server version: 14 (TOAST tables accepted from 13)
-- privilege: pg_monitor (through pg_stat_scan_tables); no SELECT on the table
select table_len::int8 as bytes,
       dead_tuple_len::int8 as dead_bytes,
       approx_free_space::int8 as free_bytes,
       scanned_percent::float8 as scanned_percent
from @extension_schema@.pgstattuple_approx($1::oid::regclass)
