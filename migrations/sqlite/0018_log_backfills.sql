-- Each target's latest log backfill, the instance that runs it and whether it still runs (see
-- the PostgreSQL migration).
create table log_backfills (
    target_id text primary key,
    instance_id text not null,
    running integer not null,
    body text not null
);
