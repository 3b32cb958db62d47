-- measure_index: one btree index's pages and leaf density by pgstatindex, which reads every page
-- of the index; reclaimable = pages − (leaf_pages × avg_leaf_density / fillfactor +
-- internal_pages + 1), within ±3.4 points of a rebuild after VACUUM (deduplicated indexes
-- included). The schema placeholder is replaced by the extension's schema as PostgreSQL quotes it.
-- parameters: $1 = the index's OID
-- functions: pgstatindex (extension pgstattuple; EXECUTE granted to pg_stat_scan_tables)
-- minimum server version: 14
-- privilege: pg_monitor (through pg_stat_scan_tables); no SELECT on the table
select index_size::int8 as bytes,
       internal_pages::int8 as internal_pages,
       leaf_pages::int8 as leaf_pages,
       coalesce(nullif(avg_leaf_density, 'NaN'::float8), 0)::float8 as avg_leaf_density
from @extension_schema@.pgstatindex($1::oid::regclass)
