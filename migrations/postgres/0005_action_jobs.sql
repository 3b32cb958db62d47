-- Maintenance jobs (VACUUM, ANALYZE, REINDEX) run through pgpanel: one row per job, written when
-- it starts and when it ends. A job still 'running' when pgpanel starts again is marked failed
-- (pgpanel stopped while it ran), so no phantom job is ever shown as running.
create table action_jobs (
    id          bigint  primary key,
    target_id   text    not null,
    action      text    not null,
    database    text    not null,
    object      text    not null,
    sql         text    not null,
    state       text    not null,
    username    text    not null,
    started_ms  bigint  not null,
    ended_ms    bigint,
    pid         bigint,
    sqlstate    text,
    error       text,
    result      text
);
create index action_jobs_by_target on action_jobs (target_id, started_ms);
