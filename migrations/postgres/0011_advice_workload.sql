-- What the missing-index section of the latest advice analysis looked at (JSON): the window of
-- pg_stat_statements deltas, the statements considered and skipped, whether hypopg validated.
alter table advice_analyses add column workload text not null default '{}';
