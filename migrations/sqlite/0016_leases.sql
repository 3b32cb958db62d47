-- Leases and relayed frames (see the PostgreSQL migration): a SQLite store has one instance,
-- which samples every target, so these tables stay empty; they keep the two schemas alike.
create table target_leases (
    target_id text primary key,
    instance_id text not null,
    expires_at_ms integer not null,
    watched_until_ms integer not null default 0,
    statements_until_ms integer not null default 0
);

create table live_frames (
    target_id text not null,
    topic text not null,
    at_ms integer not null,
    body text not null,
    primary key (target_id, topic)
);

alter table action_jobs add column cancel_requested_ms integer;
