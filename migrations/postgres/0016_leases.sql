-- Which instance samples each target when several share this store: a lease renewed every 2 s
-- for 8 s, stamped with the store's clock; another instance takes a lease only once it has
-- expired. watched_until_ms and statements_until_ms say until when a page of the target (a
-- Queries page) is open on some instance: the holder's sampler then keeps its fast cadence.
create table target_leases (
    target_id text primary key,
    instance_id text not null,
    expires_at_ms bigint not null,
    watched_until_ms bigint not null default 0,
    statements_until_ms bigint not null default 0
);

-- The latest frame of each topic of each target, written by the instance that samples it; the
-- others read a row when notified on channel pgpanel_frames (payload: target id, tab, topic).
-- Unlogged: it is rewritten every few seconds and worth nothing after a crash of the store.
create unlogged table live_frames (
    target_id text not null,
    topic text not null,
    at_ms bigint not null,
    body text not null,
    primary key (target_id, topic)
);

-- A job cancelled from another instance than the one running it: that instance reads this when
-- the job's statement ends with query_canceled, and records the job cancelled, not failed.
alter table action_jobs add column cancel_requested_ms bigint;
