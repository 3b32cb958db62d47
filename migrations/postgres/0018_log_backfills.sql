-- Each target's latest log backfill (POST /api/logs/backfill), shared by every instance: its
-- status as JSON (what the Logs page shows), the instance that runs it and whether it still
-- runs. Starting a backfill takes this row, so two instances never backfill one target at once;
-- a row left running by an instance that stopped or is lost (no heartbeat for 15 s, by the
-- store's clock) may be taken again, and until then every instance shows it as interrupted.
create table log_backfills (
    target_id text primary key,
    instance_id text not null,
    running bigint not null,
    body text not null
);
