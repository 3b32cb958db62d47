-- How each target's log is read, as its reader last found it (see the PostgreSQL migration): a
-- SQLite store has one instance, which reads every log itself, so this table stays empty; it
-- keeps the two schemas alike.
create table log_sources (
    target_id text primary key,
    at_ms integer not null,
    body text not null
);

-- When an open lock episode was last seen going on (see the PostgreSQL migration).
alter table lock_episodes add column seen_ms integer;
