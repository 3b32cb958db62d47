-- The bloat rows of the latest advice analysis per database (JSON): every table and btree index
-- with its measured bloat, updated in place by an exact measurement a DBA asks for.
alter table advice_analyses add column bloat text not null default '{}';
