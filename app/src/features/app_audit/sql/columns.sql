-- The columns of one configured audit table, quoted by PostgreSQL, with what browsing needs:
-- whether an index starts with the column (keyset paging on the time column) and whether this
-- login may read the table. No row when to_regclass finds no such table.
SELECT c.oid::regclass::text AS rel,
       a.attname::text AS name,
       quote_ident(a.attname) AS ident,
       format_type(a.atttypid, a.atttypmod) AS type,
       EXISTS (SELECT FROM pg_index i
               WHERE i.indrelid = c.oid AND i.indkey[0] = a.attnum AND i.indisvalid) AS leads_index,
       EXISTS (SELECT FROM pg_index i
               WHERE i.indrelid = c.oid AND i.indisprimary AND i.indnatts = 1
                 AND i.indkey[0] = a.attnum) AS primary_key,
       has_table_privilege(c.oid, 'SELECT') AS readable,
       quote_ident(current_user) AS login
FROM pg_class c
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.oid = to_regclass($1)
ORDER BY a.attnum
