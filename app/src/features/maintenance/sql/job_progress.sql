-- job_progress: what pgpanel's running maintenance jobs are doing, by their backends' pids.
-- VACUUM FULL reports in pg_stat_progress_cluster; REINDEX in pg_stat_progress_create_index.
-- parameters: $1 = pids of running jobs
-- views: pg_stat_progress_vacuum, pg_stat_progress_analyze, pg_stat_progress_create_index,
--   pg_stat_progress_cluster
-- minimum server version: 13 (analyze progress; create_index and cluster are 12)
-- privilege: pg_read_all_stats (in pg_monitor) for other roles' backends
select pid::int4 as pid, 'VACUUM'::text as command, phase::text as phase,
       case phase when 'vacuuming heap' then heap_blks_vacuumed
                  when 'scanning heap' then heap_blks_scanned end::int8 as blocks_done,
       case when phase in ('scanning heap', 'vacuuming heap') then heap_blks_total end::int8
         as blocks_total
from pg_stat_progress_vacuum where pid = any($1::int4[])
union all
select pid::int4, 'ANALYZE', phase::text,
       case when phase = 'acquiring sample rows' then sample_blks_scanned end::int8,
       case when phase = 'acquiring sample rows' then sample_blks_total end::int8
from pg_stat_progress_analyze where pid = any($1::int4[])
union all
select pid::int4, command::text, phase::text,
       case when blocks_total > 0 then blocks_done end::int8,
       nullif(blocks_total, 0)::int8
from pg_stat_progress_create_index where pid = any($1::int4[])
union all
select pid::int4, command::text, phase::text,
       case when heap_blks_total > 0 then heap_blks_scanned end::int8,
       nullif(heap_blks_total, 0)::int8
from pg_stat_progress_cluster where pid = any($1::int4[])
