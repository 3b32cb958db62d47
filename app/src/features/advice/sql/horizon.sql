-- horizon: what holds the xmin horizon back on the server, oldest first: sessions with an old
-- snapshot or transaction, prepared transactions and replication slots.
-- parameters: none
-- catalogs: pg_stat_activity, pg_prepared_xacts, pg_replication_slots
-- functions: age
-- minimum server version: 14
-- privilege: pg_monitor (pg_read_all_stats) to see other roles' sessions
select kind, name, age::int8 from (
    select 'session' as kind,
           format('pid %s (%s, %s)', pid, coalesce(usename::text, '?'), coalesce(application_name, '')) as name,
           greatest(age(backend_xmin), coalesce(age(backend_xid), 0)) as age
    from pg_stat_activity
    where backend_xmin is not null or backend_xid is not null
    union all
    select 'prepared transaction', gid, age(transaction)
    from pg_prepared_xacts
    union all
    select 'replication slot', slot_name::text,
           greatest(coalesce(age(xmin), 0), coalesce(age(catalog_xmin), 0))
    from pg_replication_slots
    where xmin is not null or catalog_xmin is not null
) h
where age > 0
order by age desc
limit 5
