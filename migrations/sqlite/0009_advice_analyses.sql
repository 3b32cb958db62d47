-- The latest advice analysis per target and database: its findings and section errors (JSON),
-- and the index scan snapshot that carries the unused-index window to the next analysis (JSON).
create table advice_analyses (
    target_id   text    not null,
    database    text    not null,
    analysed_ms integer  not null,
    duration_ms integer  not null,
    findings    text    not null,
    errors      text    not null,
    snapshot    text    not null,
    primary key (target_id, database)
);
