-- reader: pgpanel's server log reader, installed once by a superuser (`pgpanel setup-sql` prints
-- it with the grants). SECURITY DEFINER: it reads byte ranges, as bytea (no encoding check), of
-- one file in log_directory and nothing else — the name must be a bare file name (no `/`, no
-- leading dot) — and returns NULL for a file that is gone. Never grant pg_read_file,
-- pg_read_binary_file or pg_read_server_files instead: they read any table's raw data files.
CREATE SCHEMA IF NOT EXISTS pgpanel;
REVOKE ALL ON SCHEMA pgpanel FROM PUBLIC;
CREATE OR REPLACE FUNCTION pgpanel.read_log(file_name text, start_at bigint, max_bytes bigint)
RETURNS bytea LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $pgpanel$
BEGIN
  IF file_name IS NULL OR file_name !~ '^[A-Za-z0-9_][A-Za-z0-9._-]*$' THEN
    RAISE EXCEPTION 'invalid log file name' USING ERRCODE = '22023';
  END IF;
  IF start_at IS NULL OR start_at < 0 OR max_bytes IS NULL OR max_bytes < 0
     OR max_bytes > 16777216 THEN
    RAISE EXCEPTION 'invalid byte range' USING ERRCODE = '22023';
  END IF;
  RETURN pg_read_binary_file(current_setting('log_directory') || '/' || file_name,
                             start_at, max_bytes, true);
END
$pgpanel$;
REVOKE ALL ON FUNCTION pgpanel.read_log(text, bigint, bigint) FROM PUBLIC;
