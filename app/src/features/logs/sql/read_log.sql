-- read_log: up to $3 bytes of log file $1 from byte $2, as bytea (no encoding check), through
-- the SECURITY DEFINER function `pgpanel setup-sql` installs (it accepts a bare file name in
-- log_directory only and returns NULL for a file that is gone).
-- functions: pgpanel.read_log(text, bigint, bigint)
-- minimum server version: 10
-- privilege: EXECUTE on pgpanel.read_log (granted by `pgpanel setup-sql`)
select pgpanel.read_log($1, $2, $3) as chunk
