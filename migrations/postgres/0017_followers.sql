-- How each target's server log is read, as the instance that reads it (the holder of the
-- target's lease) last found it: the Logs page's source status (mode, format, files and how far
-- they are read, the problem and its fix) as JSON. The other instances show this row, so the
-- Logs page tells the same on every instance. Written when the status changes and at least
-- every 30 s while the log grows. Unlogged: worth nothing after a crash of the store.
create unlogged table log_sources (
    target_id text primary key,
    at_ms bigint not null,
    body text not null
);

-- When an open lock episode was last seen going on (the sample time of its latest write; it is
-- written at least every 10 s while it lasts). The next sampler of the target (another instance
-- after a fail-over, or this one after a restart) goes on with an episode seen within 30 s if
-- sessions still wait, and ends an older one when it was last seen, so no episode is split at a
-- fail-over or left open for good.
alter table lock_episodes add column seen_ms bigint;
