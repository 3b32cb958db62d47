-- Lock episodes: from the first session waiting on a lock to the last, per target, with the
-- peak, the longest wait, the root blockers seen (JSON) and the graph at its peak (JSON), so
-- "what blocked at 14:03" has an answer afterwards. Kept store.metrics_retention_days.
create table lock_episodes (
    target_id       text    not null,
    started_ms      integer  not null,
    ended_ms        integer,
    peak_waiting    integer  not null,
    peak_ms         integer  not null,
    longest_wait_ms integer,
    roots           text    not null,
    peak_graph      text,
    primary key (target_id, started_ms)
);
create index lock_episodes_by_end on lock_episodes (target_id, ended_ms);
