-- Live panels: one roll-up per target and minute (the averages of that minute's samples, as JSON),
-- pg_stat_statements deltas per entry and minute, the entries' normalised texts (read once from
-- the target), and resets/evictions of pg_stat_statements so the Queries page can show them.
create table metric_minutes (
    target_id text    not null,
    minute_ms integer not null,
    data      text    not null,
    primary key (target_id, minute_ms)
);

create table statement_minutes (
    target_id         text    not null,
    minute_ms         integer not null,
    queryid           integer not null,
    dbid              integer not null,
    userid            integer not null,
    toplevel          integer not null,
    calls             integer not null,
    exec_ms           real    not null,
    plan_ms           real    not null,
    row_count         integer not null,
    shared_blks_hit   integer not null,
    shared_blks_read  integer not null,
    temp_blks_read    integer not null,
    temp_blks_written integer not null,
    primary key (target_id, minute_ms, queryid, dbid, userid, toplevel)
);
create index statement_minutes_by_query on statement_minutes (target_id, queryid, minute_ms);

create table statement_texts (
    target_id     text    not null,
    queryid       integer not null,
    dbid          integer not null,
    userid        integer not null,
    toplevel      integer not null,
    database_name text    not null,
    user_name     text    not null,
    query         text    not null,
    first_seen_ms integer not null,
    primary key (target_id, queryid, dbid, userid, toplevel)
);

create table statement_events (
    target_id text    not null,
    at_ms     integer not null,
    reset     integer not null,
    evicted   integer not null
);
create index statement_events_by_time on statement_events (target_id, at_ms);
