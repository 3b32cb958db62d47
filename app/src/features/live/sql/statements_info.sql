-- statements_info: when pg_stat_statements was last reset and how many entries it has evicted,
-- so pgpanel can tell a reset or an eviction from a real drop in the counters.
-- views: pg_stat_statements_info
-- minimum server version: 14 (pg_stat_statements 1.9)
-- privilege: none
select
    i.dealloc::int8 as dealloc,
    i.stats_reset as stats_reset
from pg_stat_statements_info i
