-- An application's audit table in the layout many schemas use (and the issue names), filled by
-- a trigger function that any table can use: who changed which row, the old and the new row.
-- Without an index on the time column (a test adds it where it wants one).
create table audit_log (
    id         bigserial primary key,
    table_name text not null,
    operation  char(1) not null,
    old_values jsonb,
    new_values jsonb,
    user_id    text not null default coalesce(nullif(current_setting('app.user', true), ''), session_user),
    changed_at timestamptz not null default clock_timestamp(),
    session_id text not null default pg_backend_pid()::text
);
create function audit_row() returns trigger language plpgsql as $$
begin
    insert into audit_log (table_name, operation, old_values, new_values)
    values (tg_table_name, left(tg_op, 1),
            case when tg_op <> 'INSERT' then to_jsonb(old) end,
            case when tg_op <> 'DELETE' then to_jsonb(new) end);
    return null;
end $$;
