-- Accounts, sessions, login attempts (throttling) and the append-only audit trail.
-- Times are integer milliseconds since the Unix epoch, as everywhere in the store.

create table users (
    id                     integer primary key autoincrement,
    username               text    not null unique,
    password_hash          text    not null,
    role                   text    not null check (role in ('admin', 'dba', 'analyst')),
    disabled_at_ms         integer,
    created_at_ms          integer not null,
    updated_at_ms          integer not null,
    password_changed_at_ms integer not null,
    last_login_at_ms       integer
);

-- Only the SHA-256 of a session token is stored: a copy of this table signs nobody in.
create table sessions (
    token_hash    text    primary key,
    user_id       integer not null references users (id) on delete cascade,
    created_at_ms integer not null,
    last_seen_ms  integer not null,
    client_addr   text    not null,
    user_agent    text    not null
);
create index sessions_user on sessions (user_id);

-- One row per credential check; throttling counts failures since the last success or clear.
create table login_attempts (
    id          integer primary key autoincrement,
    at_ms       integer not null,
    username    text    not null,
    client_addr text    not null,
    outcome     text    not null check (outcome in ('failure', 'success', 'cleared'))
);
create index login_attempts_user on login_attempts (username, at_ms);
create index login_attempts_addr on login_attempts (client_addr, at_ms);

create table audit_events (
    id          integer primary key autoincrement,
    at_ms       integer not null,
    actor       text,
    actor_role  text,
    client_addr text,
    action      text    not null,
    target      text,
    object      text,
    parameters  text,
    outcome     text    not null,
    error       text
);
create index audit_events_at on audit_events (at_ms);

-- Append-only: no statement may change a recorded event. Deleting is left to the retention job.
create trigger audit_events_append_only before update on audit_events
begin
    select raise(abort, 'audit events are append-only');
end;
