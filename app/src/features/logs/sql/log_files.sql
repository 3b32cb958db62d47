-- log_files: the files in log_directory, oldest first.
-- functions: pg_ls_logdir()
-- minimum server version: 10
-- privilege: pg_monitor; raises "could not open directory" when log_directory does not exist
-- (the logging collector never ran)
select name, size::int8 as size, modification
from pg_ls_logdir()
order by modification, name
