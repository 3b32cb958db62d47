-- More of what pg_stat_statements counts, per entry and minute: the sum of squared execution
-- times (a window's standard deviation), I/O read and write time, WAL bytes, and the time its
-- sessions were seen waiting on a lock (sampled by the lock graph). Older minutes have zeros.
alter table statement_minutes add column exec_sumsq double precision not null default 0;
alter table statement_minutes add column io_read_ms double precision not null default 0;
alter table statement_minutes add column io_write_ms double precision not null default 0;
alter table statement_minutes add column wal_bytes bigint not null default 0;
alter table statement_minutes add column lock_wait_ms double precision not null default 0;
