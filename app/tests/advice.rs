//! The advice analysis against planted scenarios on a throwaway cluster, read by a monitor login
//! with pg_monitor only (plus SELECT on one schema's sequences): every index finding and its
//! traps (primary key, unique and exclusion constraints, partial, descending, other collation or
//! operator class, expression and INCLUDE look-alikes, a foreign key that needs its index, a
//! build still in progress), foreign keys with and without an index, transaction id age against
//! a table's own freeze limit, sequences near their end (also through a narrower column), odd
//! identifiers quoted in every DDL — and each DDL proven by running it.

use std::time::Duration;

use sqlx::{Connection, Executor, PgConnection};

use app::features::advice::analysis::Previous;
use app::features::advice::model::{Analysis, Finding, IndexSnapshot, Kind, Severity};
use harness::{ClusterOptions, TempCluster};

use crate::common::{eventually, monitored, superuser};

const S: &str = r#""Odd ""Schema"" ü""#;
const DAY_MS: i64 = 86_400_000;

const PLANT: &str = r#"
create schema "Odd ""Schema"" ü";
set search_path = "Odd ""Schema"" ü";
create table "Orders" (
    id bigint primary key,
    customer_id int not null,
    status text not null,
    created_at timestamptz not null default now(),
    code text,
    note text
);
insert into "Orders" (id, customer_id, status, code, note)
select g, g % 100, case when g % 3 = 0 then 'open' else 'done' end, 'c' || g, 'same note'
from generate_series(1, 2000) g;
-- An exact duplicate (kept: the older one) and look-alikes that are not duplicates.
create index orders_customer on "Orders" (customer_id);
create index "Orders Customer Copy" on "Orders" (customer_id);
create index orders_customer_desc on "Orders" (customer_id desc);
create index orders_customer_open on "Orders" (customer_id) where status = 'open';
create index orders_customer_incl on "Orders" (customer_id) include (status);
create index orders_code_c on "Orders" (code collate "C");
create index orders_code_pattern on "Orders" (code text_pattern_ops);
create index orders_lower_code on "Orders" (lower(code));
-- A plain copy of the unique constraint's index (keep the constraint) and of the primary key.
alter table "Orders" add constraint orders_code_key unique (code);
create index orders_code on "Orders" (code);
create index orders_id_again on "Orders" (id);
-- Redundant: (status) starts (status, created_at); a unique (status, id) is never "redundant".
create index orders_status on "Orders" (status);
create index orders_status_created on "Orders" (status, created_at);
-- A foreign key without an index, one with a two-column index in the other order, one with only
-- a partial index (does not count).
create table "Order Lines" (
    order_id bigint references "Orders" (id),
    line int,
    customer_id int,
    parent_order bigint,
    parent_line int
);
insert into "Order Lines" select g, 1, g % 100 from generate_series(1, 500) g;
alter table "Order Lines" add primary key (line, order_id);
create table lines_ref (
    line_a int,
    order_a bigint,
    foreign key (order_a, line_a) references "Order Lines" (order_id, line)
);
create index lines_ref_pair on lines_ref (line_a, order_a);
create table partial_ref (order_id bigint references "Orders" (id), flag bool);
create index partial_ref_order on partial_ref (order_id) where flag;
-- An exclusion constraint (its index is neither unique nor ever "unused").
create table bookings (room int, exclude using btree (room with =));
-- Sequences: one near its end, a serial widened to bigint whose sequence stayed integer, and an
-- integer column fed by a bigint sequence.
create sequence near_end as integer;
select setval('near_end', 2000000000);
create table widened (id serial primary key);
alter table widened alter column id type bigint;
select setval('widened_id_seq', 1900000000);
create sequence big_seq;
create table narrow (id int default nextval('big_seq'));
select setval('big_seq', 2100000000);
create sequence plenty;
select setval('plenty', 5);
-- A table with a small freeze limit of its own, for the transaction id age.
create table "Old" (id int) with (autovacuum_enabled = false, autovacuum_freeze_max_age = 100000);
insert into "Old" values (1);
"#;

/// An analysis continuing from `snapshot` (no stored bloat rows), measuring.
async fn analyse(
    target: &app::features::targets::monitor::Target,
    database: &str,
    snapshot: &IndexSnapshot,
    now_ms: i64,
) -> Result<(Analysis, IndexSnapshot), app::error::AppError> {
    let previous = Previous {
        snapshot: snapshot.clone(),
        ..Previous::default()
    };
    let done =
        app::features::advice::analysis::analyse(target, database, &previous, true, now_ms, &[])
            .await?;
    Ok((done.analysis, done.snapshot))
}

fn by(a: &Analysis, kind: Kind) -> Vec<&Finding> {
    a.findings.iter().filter(|f| f.kind == kind).collect()
}

fn names(fs: &[&Finding]) -> Vec<String> {
    let mut v: Vec<String> = fs
        .iter()
        .map(|f| {
            f.index
                .clone()
                .or_else(|| f.table.clone())
                .unwrap_or_default()
        })
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn planted_findings_and_their_traps() {
    let c = TempCluster::start_async(ClusterOptions::default())
        .await
        .expect("cluster");
    let mut su = superuser(&c, "postgres").await;
    su.execute("create database shop").await.expect("db");
    let mut shop = superuser(&c, "shop").await;
    shop.execute(PLANT).await.expect("plant");
    // A failed unique build leaves an invalid index (duplicate notes).
    let failed = shop
        .execute(r#"create unique index concurrently orders_note_uq on "Odd ""Schema"" ü"."Orders" (note)"#)
        .await;
    assert!(failed.is_err(), "the unique build must fail on duplicates");
    // Burn transaction ids past half of "Old"'s own freeze limit (100,000).
    shop.execute(
        "do $$ begin for i in 1..60000 loop perform txid_current(); commit; end loop; end $$",
    )
    .await
    .expect("burn xids");

    let registry = monitored(&c, "Advice Mon", "shop", None).await;
    let target = registry.get("main").expect("target");
    // Grant SELECT on the schema's sequences after the login exists.
    shop.execute(
        r#"grant select on sequence "Odd ""Schema"" ü".near_end, "Odd ""Schema"" ü".widened_id_seq, "Odd ""Schema"" ü".big_seq, "Odd ""Schema"" ü".plenty to "Advice Mon""#,
    )
    .await
    .expect("grant");
    shop.execute(r#"create sequence "Odd ""Schema"" ü".secret_seq; select setval('"Odd ""Schema"" ü".secret_seq', 7)"#)
        .await
        .expect("secret seq");

    // A build waiting for an old transaction is invalid too, but in progress: not a finding.
    let mut holder = superuser(&c, "shop").await;
    holder
        .execute("begin; select txid_current()")
        .await
        .expect("hold");
    let url = c.url("shop");
    let build = tokio::spawn(async move {
        let mut b = PgConnection::connect(&url).await.expect("connect");
        b.execute(r#"create index concurrently orders_building on "Odd ""Schema"" ü"."Orders" (created_at)"#)
            .await
    });
    let mut probe = superuser(&c, "shop").await;
    for _ in 0..200 {
        let n: i64 = sqlx::query_scalar("select count(*) from pg_stat_progress_create_index")
            .fetch_one(&mut probe)
            .await
            .expect("progress");
        if n > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let now = 1_800_000_000_000;
    let (first, snapshot) = analyse(target, "shop", &IndexSnapshot::default(), now)
        .await
        .expect("analysis");
    holder.execute("commit").await.expect("commit");
    build.await.expect("join").expect("the build finishes");

    // Duplicates: the copies, never the PK, the constraint or a look-alike.
    let dups = by(&first, Kind::DuplicateIndex);
    assert_eq!(
        names(&dups),
        ["Orders Customer Copy", "orders_code", "orders_id_again"],
        "{dups:#?}"
    );
    let copy = dups
        .iter()
        .find(|f| f.index.as_deref() == Some("Orders Customer Copy"))
        .unwrap();
    assert_eq!(copy.schema.as_deref(), Some("Odd \"Schema\" ü"));
    let ddl = copy.ddl.as_deref().unwrap();
    assert!(
        ddl.starts_with(&format!(
            "DROP INDEX CONCURRENTLY {S}.\"Orders Customer Copy\";"
        )),
        "{ddl}"
    );
    assert!(
        ddl.contains("-- to undo: CREATE INDEX CONCURRENTLY"),
        "{ddl}"
    );
    assert!(copy.gain_bytes.unwrap() > 0);

    // Redundant: (status) under (status, created_at); the duplicate copy is not listed twice.
    let red = by(&first, Kind::RedundantIndex);
    assert_eq!(names(&red), ["orders_status"], "{red:#?}");

    // Invalid: the failed unique build, with the query that finds its duplicate keys; the
    // build in progress is not listed.
    let inv = by(&first, Kind::InvalidIndex);
    assert_eq!(names(&inv), ["orders_note_uq"], "{inv:#?}");
    assert_eq!(inv[0].severity, Severity::Critical);
    let ddl = inv[0].ddl.as_deref().unwrap();
    assert!(ddl.contains("GROUP BY note HAVING count(*) > 1"), "{ddl}");
    assert!(
        ddl.contains("CREATE UNIQUE INDEX CONCURRENTLY orders_note_uq ON"),
        "{ddl}"
    );

    // Foreign keys: the unindexed one and the one with only a partial index.
    let fk = by(&first, Kind::FkWithoutIndex);
    assert_eq!(names(&fk), ["Order Lines", "partial_ref"], "{fk:#?}");
    assert!(
        fk.iter().any(|f| f.ddl.as_deref()
            == Some(&*format!(
                "CREATE INDEX CONCURRENTLY ON {S}.\"Order Lines\" (order_id);"
            ))),
        "{fk:#?}"
    );

    // No window yet: nothing is "unused" on the first look at a never-reset database.
    assert!(by(&first, Kind::UnusedIndex).is_empty());

    // Sequences: near the end, the widened serial's integer sequence, the narrow column; the
    // unreadable one is named with the grant that fixes it.
    let seq = by(&first, Kind::SequenceExhaustion);
    assert_eq!(seq.len(), 3, "{seq:#?}");
    let near = seq
        .iter()
        .find(|f| f.summary.contains("near_end"))
        .expect("near_end");
    assert_eq!(near.severity, Severity::Critical);
    assert_eq!(
        near.ddl.as_deref(),
        Some(&*format!("ALTER SEQUENCE {S}.near_end AS bigint;"))
    );
    let narrow = seq
        .iter()
        .find(|f| f.table.as_deref() == Some("narrow"))
        .expect("narrow");
    assert!(
        narrow.ddl.as_deref().unwrap().contains(&format!(
            "ALTER TABLE {S}.narrow ALTER COLUMN id TYPE bigint;"
        )),
        "{narrow:#?}"
    );
    let widened = seq
        .iter()
        .find(|f| f.table.as_deref() == Some("widened"))
        .expect("widened");
    assert!(
        widened
            .summary
            .contains("the sequence (integer) ends before its column (bigint)"),
        "{widened:#?}"
    );
    let unreadable = first
        .errors
        .iter()
        .find(|e| e.section == "sequences")
        .expect("unreadable sequences named");
    assert!(
        unreadable.message.contains("secret_seq")
            && unreadable.message.contains("GRANT SELECT ON ALL SEQUENCES"),
        "{unreadable:?}"
    );

    // Transaction id age: "Old" is past half its own limit; the database is far from its own.
    let xid = by(&first, Kind::XidWraparound);
    assert_eq!(names(&xid), ["Old"], "{xid:#?}");
    assert_eq!(
        xid[0].ddl.as_deref(),
        Some(&*format!("VACUUM (FREEZE) {S}.\"Old\";"))
    );
    assert!(
        first.errors.iter().all(|e| e.section == "sequences"),
        "{:?}",
        first.errors
    );

    // A week later with the same scan counts: unused, but never the PK, constraint or
    // exclusion indexes, and the index supporting a foreign key only as a note.
    let (later, _) = analyse(target, "shop", &snapshot, now + 8 * DAY_MS)
        .await
        .expect("analysis");
    let unused = by(&later, Kind::UnusedIndex);
    let unused_names = names(&unused);
    for never in [
        "Orders_pkey",
        "orders_code_key",
        "bookings_room_excl",
        "Order Lines_pkey",
        "orders_pkey",
    ] {
        assert!(
            !unused_names.iter().any(|n| n == never),
            "{never} in {unused_names:?}"
        );
    }
    assert!(
        unused_names.contains(&"orders_customer_desc".to_owned()),
        "{unused_names:?}"
    );
    let pair = unused
        .iter()
        .find(|f| f.index.as_deref() == Some("lines_ref_pair"))
        .expect("the FK-supporting index is listed");
    assert_eq!(pair.severity, Severity::Info);
    assert!(
        pair.ddl.is_none()
            && pair
                .note
                .as_deref()
                .unwrap()
                .contains("supports the foreign key")
    );
    let desc = unused
        .iter()
        .find(|f| f.index.as_deref() == Some("orders_customer_desc"))
        .unwrap();
    assert_eq!(desc.severity, Severity::Warning);
    assert!(desc.summary.contains("8 days"), "{}", desc.summary);
    // Stable ids: the same finding has the same id in both analyses.
    let copy_later = by(&later, Kind::DuplicateIndex)
        .into_iter()
        .find(|f| f.index.as_deref() == Some("Orders Customer Copy"))
        .unwrap();
    assert_eq!(copy_later.id, copy.id);

    // Every DDL offered is its statements plus comments, and runs as written (the superuser
    // stands in for the action login).
    let mut fixes: Vec<&Finding> = later
        .findings
        .iter()
        .filter(|f| f.kind != Kind::UnusedIndex && f.ddl.is_some())
        .collect();
    fixes.sort_by_key(|f| f.ddl.clone());
    for f in fixes {
        let ddl = f.ddl.as_deref().unwrap();
        let code: Vec<&str> = ddl
            .lines()
            .filter(|l| !l.trim_start().starts_with("--"))
            .collect();
        assert_eq!(code.join("\n"), f.statements.join("\n"), "{f:#?}");
        assert!(f.oid.is_some() && f.object.is_some(), "{f:#?}");
        for statement in &f.statements {
            if statement.starts_with("CREATE UNIQUE INDEX CONCURRENTLY orders_note_uq") {
                continue; // still has duplicate keys: the finding says to remove them first
            }
            let mut run = superuser(&c, "shop").await;
            run.execute(statement.as_str())
                .await
                .unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
    }
    let (after, _) = analyse(target, "shop", &IndexSnapshot::default(), now + 9 * DAY_MS)
        .await
        .expect("analysis");
    for kind in [
        Kind::DuplicateIndex,
        Kind::FkWithoutIndex,
        Kind::XidWraparound,
    ] {
        assert!(
            by(&after, kind).is_empty(),
            "{kind:?} left: {:#?}",
            by(&after, kind)
        );
    }
}

#[tokio::test]
async fn an_unknown_database_and_a_target_down_are_clear_errors() {
    let mut c = TempCluster::start_async(ClusterOptions::default())
        .await
        .expect("cluster");
    let mut su = superuser(&c, "postgres").await;
    su.execute("create database shop").await.expect("db");
    let registry = monitored(&c, "Advice Mon", "shop", None).await;
    let target = registry.get("main").expect("target");
    let err = analyse(target, "no such db", &IndexSnapshot::default(), 0)
        .await
        .expect_err("unknown database");
    assert!(err.to_string().contains("no database"), "{err}");
    c.stop();
    let err = analyse(target, "shop", &IndexSnapshot::default(), 0)
        .await
        .expect_err("target down");
    assert!(!err.to_string().is_empty());
    // Started in the background, the failure is kept to be shown with the stored findings.
    let dir = tempfile::tempdir().expect("dir");
    let store = app::store::Store::open(&format!("sqlite://{}", dir.path().join("s.db").display()))
        .await
        .expect("store");
    let state = std::sync::Arc::new(app::features::advice::State::default());
    assert!(state.start(target.clone(), "shop".into(), store.clone()));
    eventually(Duration::from_secs(30), || {
        (!state.is_running("main", "shop")).then_some(())
    })
    .await;
    let (_, message) = state.last_failure("main", "shop").expect("failure kept");
    assert!(message.contains("could not connect"), "{message}");
    assert!(store.latest_advice("main", "shop").await.unwrap().is_none());
}

#[tokio::test]
async fn the_schedule_picks_databases_never_analysed_or_analysed_too_long_ago() {
    use app::features::advice::{next_due, run};
    use app::store::Store;
    let c = TempCluster::start_async(ClusterOptions::default())
        .await
        .expect("cluster");
    let mut su = superuser(&c, "postgres").await;
    su.execute("create database shop").await.expect("db");
    let registry = monitored(&c, "Advice Mon", "shop", None).await;
    let target = registry.get("main").expect("target").clone();
    eventually(Duration::from_secs(20), || target.overview().databases).await;
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(&format!("sqlite://{}", dir.path().join("s.db").display()))
        .await
        .expect("store");
    let hour = 3_600_000;
    let now = || app::clock::to_millis(time::OffsetDateTime::now_utc());
    // Nothing analysed: every database is due, one at a time.
    let mut seen = Vec::new();
    while let Some((t, db)) = next_due(&registry, &store, now(), hour).await {
        assert_eq!(t.spec.id, "main");
        assert!(!seen.contains(&db), "{db} picked twice");
        run(&t, &db, &store).await.expect("analysed");
        let (stored, _) = store.latest_advice("main", &db).await.unwrap().unwrap();
        assert!(stored.analysed_at.is_some());
        seen.push(db);
    }
    seen.sort();
    assert_eq!(seen, ["postgres", "shop"]);
    // An hour later all are due again.
    assert!(
        next_due(&registry, &store, now() + hour, hour)
            .await
            .is_some()
    );

    // A second request while one runs joins it; the result replaces the stored one.
    let before = store
        .latest_advice("main", "shop")
        .await
        .unwrap()
        .unwrap()
        .0;
    let state = std::sync::Arc::new(app::features::advice::State::default());
    assert!(state.start(target.clone(), "shop".into(), store.clone()));
    assert!(!state.start(target.clone(), "shop".into(), store.clone()));
    assert!(state.is_running("main", "shop"));
    eventually(Duration::from_secs(20), || {
        (!state.is_running("main", "shop")).then_some(())
    })
    .await;
    let after = store
        .latest_advice("main", "shop")
        .await
        .unwrap()
        .unwrap()
        .0;
    assert!(after.analysed_at > before.analysed_at);
}
