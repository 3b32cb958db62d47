-- stats_reset: when this database's statistics were last reset (NULL: never since it was
-- created), the start of the window the unused-index finding rests on.
-- parameters: none
-- catalogs: pg_stat_database
-- minimum server version: 14
-- privilege: none
select stats_reset from pg_stat_database where datname = current_database()
