-- What the tailer never read of a file: it starts following a target at the end of its log, so
-- the bytes before `start_offset` are unread until a backfill reads them, from `backfilled`
-- (how far it has got) up to `start_offset`.
alter table log_cursors add column start_offset bigint not null default 0;
alter table log_cursors add column backfilled bigint not null default 0;
