-- The pgpanel instances that use this store (several may share a PostgreSQL store): who each is,
-- since when, which targets it samples, and its latest heartbeat. Times come from the store's own
-- clock, so no instance's clock decides whether another is alive. A row is deleted a day after
-- its instance stopped or was last heard of.
create table instances (
    id text primary key,
    version text not null,
    host text not null,
    listen text not null,
    started_at_ms integer not null,
    heartbeat_at_ms integer not null,
    stopped_at_ms integer,
    -- The ids of the targets it samples, as a JSON array.
    targets text not null default '[]'
);

-- The instance that runs a job: a job still 'running' is orphaned only when its instance is
-- stopped or lost, not whenever some instance starts. (A SQLite store has one instance; its job
-- ids are counted in memory from the highest one.)
alter table action_jobs add column instance_id text;
