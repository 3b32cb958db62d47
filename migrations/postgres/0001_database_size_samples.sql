-- Database sizes measured on each target every few minutes: the Overview shows the latest sample
-- (also right after a restart of pgpanel), later issues chart growth from the history.
create table database_size_samples (
    target_id      text   not null,
    measured_at_ms bigint not null,
    database_name  text   not null,
    size_bytes     bigint,
    primary key (target_id, measured_at_ms, database_name)
);
