-- Live panels: one roll-up per target and minute (the averages of that minute's samples, as JSON),
-- pg_stat_statements deltas per entry and minute, the entries' normalised texts (read once from
-- the target), and resets/evictions of pg_stat_statements so the Queries page can show them.
create table metric_minutes (
    target_id text    not null,
    minute_ms bigint not null,
    data      text    not null,
    primary key (target_id, minute_ms)
);

create table statement_minutes (
    target_id         text    not null,
    minute_ms         bigint not null,
    queryid           bigint not null,
    dbid              bigint not null,
    userid            bigint not null,
    toplevel          bigint not null,
    calls             bigint not null,
    exec_ms           double precision not null,
    plan_ms           double precision not null,
    row_count         bigint not null,
    shared_blks_hit   bigint not null,
    shared_blks_read  bigint not null,
    temp_blks_read    bigint not null,
    temp_blks_written bigint not null,
    primary key (target_id, minute_ms, queryid, dbid, userid, toplevel)
);
create index statement_minutes_by_query on statement_minutes (target_id, queryid, minute_ms);

create table statement_texts (
    target_id     text    not null,
    queryid       bigint not null,
    dbid          bigint not null,
    userid        bigint not null,
    toplevel      bigint not null,
    database_name text    not null,
    user_name     text    not null,
    query         text    not null,
    first_seen_ms bigint not null,
    primary key (target_id, queryid, dbid, userid, toplevel)
);

create table statement_events (
    target_id text    not null,
    at_ms     bigint not null,
    reset     bigint not null,
    evicted   bigint not null
);
create index statement_events_by_time on statement_events (target_id, at_ms);
