-- The demo's shop database, created by the shop_app login.
create table accounts (
    id         int primary key,
    owner      text not null,
    balance    numeric(12, 2) not null default 0,
    updated_at timestamptz not null default now()
);
insert into accounts (id, owner, balance)
select g, 'customer ' || g, 1000 from generate_series(1, 10000) g;

create table tellers (
    id      int primary key,
    balance numeric(14, 2) not null default 0
);
insert into tellers (id) select g from generate_series(1, 100) g;

create table history (
    id         bigserial primary key,
    account_id int not null,
    teller_id  int not null,
    delta      numeric(12, 2) not null,
    at         timestamptz not null default now()
);

create table orders (
    id          bigserial primary key,
    customer_id int not null,
    status      text not null,
    note        text,
    total       numeric(12, 2) not null,
    created_at  timestamptz not null default now()
);
insert into orders (customer_id, status, note, total)
select 1 + (g * 7919) % 10000, (array['new', 'paid', 'shipped'])[1 + g % 3], 'order ' || g,
       (g % 500)::numeric(12, 2)
from generate_series(1, 50000) g;
create index orders_customer_idx on orders (customer_id);
-- The same index twice: an index recommendation will find it.
create index orders_customer_id_idx on orders (customer_id);
-- Never used by any query of the workload.
create index orders_note_idx on orders (note);
-- (status) is the start of (status, created_at): redundant.
create index orders_status_idx on orders (status);
create index orders_status_created_idx on orders (status, created_at);

-- A foreign key without an index: each delete of an order scans order_items.
create table order_items (
    order_id bigint not null references orders (id),
    sku      text not null,
    qty      int not null
);
insert into order_items select 1 + g % 50000, 'A-100', 1 from generate_series(1, 20000) g;

-- An integer sequence near its end.
create sequence invoice_no as integer;
select setval('invoice_no', 2000000000);

create table inventory (
    sku text primary key,
    qty int not null
);
insert into inventory values ('A-100', 100000), ('B-200', 100000), ('C-300', 100000);

-- Updated and deleted constantly with autovacuum off: dead tuples pile up.
create table events (
    id        bigserial primary key,
    kind      text not null,
    payload   text not null,
    processed boolean not null default false
) with (autovacuum_enabled = false);
insert into events (kind, payload)
select 'seed', repeat('x', 120) from generate_series(1, 200000);

-- Most rows deleted, then vacuumed (in demo/mod.rs): the free space stays in the file and in its
-- index, which only a rewrite and a rebuild give back.
create table order_archive (
    id          bigint not null,
    note        text not null,
    archived_at timestamptz not null default now()
) with (autovacuum_enabled = false);
create index order_archive_id_idx on order_archive (id);
insert into order_archive (id, note)
select g, repeat('archived order ', 8) from generate_series(1, 120000) g;
delete from order_archive where id % 10 < 7;

-- Half deleted in bulk once (in demo/mod.rs, after the statistics reset), never vacuumed
-- (autovacuum off) and never read since, so nothing prunes it: its dead tuples stay.
create table abandoned_carts (
    id         bigint not null,
    customer_id int not null,
    items      text not null
) with (autovacuum_enabled = false);
insert into abandoned_carts
select g, 1 + g % 10000, repeat('sku,', 20) from generate_series(1, 100000) g;
analyze abandoned_carts;

-- Searched by tenant and queue together (shop-web): only (tenant_id) is indexed, so the
-- statement wants the two-column index (tenant_id, queue).
create table support_tickets (
    id        bigserial primary key,
    tenant_id int not null,
    queue     int not null,
    subject   text not null,
    opened_at timestamptz not null default now()
);
insert into support_tickets (tenant_id, queue, subject)
select g % 100, (g / 100) % 100, 'ticket ' || g from generate_series(1, 200000) g;
create index support_tickets_tenant_idx on support_tickets (tenant_id);

-- Joined from an order (shop-web) on a column nothing indexes: the join wants (order_id).
create table shipments (
    order_id   bigint not null,
    carrier    text not null,
    shipped_at timestamptz not null default now()
);
insert into shipments (order_id, carrier)
select 1 + g % 50000, (array['dhl', 'ups', 'post'])[1 + g % 3] from generate_series(1, 150000) g;

-- Mixed case and a space: every page must quote and show it right.
create table "Customer Notes" (
    id     int primary key,
    "Note" text not null
);
insert into "Customer Notes" values (1, 'likes <b>bold</b> claims'), (2, 'Grüße aus Köln');

-- The application's own audit trail, filled by triggers (the Audit area's application tables):
-- who changed which row of orders and "Customer Notes", the old and the new row.
create table audit_log (
    id         bigserial primary key,
    table_name text not null,
    operation  char(1) not null check (operation in ('I', 'U', 'D')),
    old_values jsonb,
    new_values jsonb,
    user_id    text not null
               default coalesce(nullif(current_setting('app.user', true), ''), session_user),
    changed_at timestamptz not null default clock_timestamp(),
    session_id text not null default pg_backend_pid()::text
);
create index audit_log_changed_at_id_idx on audit_log (changed_at desc, id desc);
create function audit_row() returns trigger language plpgsql as $$
begin
    insert into audit_log (table_name, operation, old_values, new_values)
    values (tg_table_name, left(tg_op, 1),
            case when tg_op <> 'INSERT' then to_jsonb(old) end,
            case when tg_op <> 'DELETE' then to_jsonb(new) end);
    return null;
end $$;
create trigger orders_audit after insert or update or delete on orders
    for each row execute function audit_row();
create trigger customer_notes_audit after insert or update or delete on "Customer Notes"
    for each row execute function audit_row();
-- A first history: a note written with markup, corrected by someone else, then removed.
select set_config('app.user', 'support: Zoë', false);
insert into "Customer Notes" values (3, 'call back <script>alert(1)</script>');
select set_config('app.user', 'support: Ilja', false);
update "Customer Notes" set "Note" = 'called back, all good ✓' where id = 3;
delete from "Customer Notes" where id = 3;
select set_config('app.user', '', false);

analyze accounts, tellers, history, orders, order_items, inventory, events, support_tickets,
        shipments, "Customer Notes";
