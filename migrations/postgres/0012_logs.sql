-- The server log of each target, read by the logs tailer (app/src/features/logs).
-- Where reading has got to in each log file: the file's name, a hash of its first bytes (a file
-- truncated or reused under the same name no longer matches), the offset just past the last
-- complete record stored, and the size seen at the last poll. `generation` changes whenever the
-- file is found truncated or reused, so the entries' provenance (generation, offset) stays unique.
create table log_cursors (
    target_id     text    not null,
    file_name     text    not null,
    generation    bigint  not null,
    head_len      bigint  not null,
    head_hash     text    not null,
    offset_bytes  bigint  not null,
    size_seen     bigint  not null,
    skipping      bigint  not null default 0,
    updated_ms    bigint  not null,
    primary key (target_id, file_name)
);

-- Entries, classified (kind), with long texts cut (`cut` = 1) and pgaudit's fields as JSON.
create table log_entries (
    id            bigint generated always as identity primary key,
    target_id     text    not null,
    at_ms         bigint  not null,
    severity      text    not null,
    sqlstate      text,
    kind          text    not null,
    username      text,
    database_name text,
    application   text,
    client        text,
    pid           bigint,
    session_id    text,
    message       text    not null,
    detail        text,
    hint          text,
    context       text,
    statement     text,
    duration_ms   double precision,
    query_id      bigint,
    audit         text,
    pattern       text,
    cut           bigint  not null default 0,
    file_name     text    not null,
    generation    bigint  not null,
    file_offset   bigint  not null,
    unique (target_id, file_name, generation, file_offset)
);
create index log_entries_time on log_entries (target_id, at_ms, id);
create index log_entries_kind on log_entries (target_id, kind, at_ms);
create index log_entries_severity on log_entries (target_id, severity, at_ms);
create index log_entries_pid on log_entries (target_id, pid, at_ms);
create index log_entries_user on log_entries (target_id, username, at_ms);
create index log_entries_application on log_entries (target_id, application, at_ms);

-- Entries per minute by kind and severity, stored or not: the histogram, and what was only
-- counted (statements under the slow threshold, entries over the per-minute limit).
create table log_minutes (
    target_id   text    not null,
    minute_ms   bigint  not null,
    kind        text    not null,
    severity    text    not null,
    entries     bigint  not null,
    summarised  bigint  not null,
    primary key (target_id, minute_ms, kind, severity)
);
