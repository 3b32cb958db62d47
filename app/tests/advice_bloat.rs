//! Bloat against planted tables and indexes on a throwaway cluster, measured by a monitor login
//! with pg_monitor only, and checked against ground truth: `pgstattuple` run by a superuser for
//! tables (dead + free beyond the fillfactor reserve, within ±10 points) and the space a REINDEX
//! actually gives back for btrees (within ±15 points). Also: the remedy follows what dominates
//! (VACUUM for dead rows, a rewrite for free space), autovacuum falling behind, TOAST and dropped
//! columns, a table locked during the analysis (skipped with a note, the rest measured), a
//! database without the extension (the cheap indicator and what to run), and every fix's
//! statements run to make the findings go away.

use sqlx::{Executor, PgConnection};

use app::features::advice::analysis::{Outcome, Previous, analyse};
use app::features::advice::model::{BloatRow, Finding, Kind, Method, Severity};
use app::features::targets::monitor::Target;
use harness::{ClusterOptions, TempCluster};

use crate::common::{monitored, superuser};

const S: &str = r#""Bloat ü""#;

const PLANT: &str = r#"
create extension pgstattuple;
create schema "Bloat ü";
set search_path = "Bloat ü";
-- Fresh: loaded and vacuumed, nothing to give back.
create table fresh (id int, pad text) with (autovacuum_enabled = false);
insert into fresh select g, repeat('x', 120) from generate_series(1, 60000) g;
create index fresh_id on fresh (id);
-- Half the rows deleted and never vacuumed: dead tuples dominate.
create table "Dead Rows" (id int, pad text) with (autovacuum_enabled = false);
insert into "Dead Rows" select g, repeat('x', 120) from generate_series(1, 30000) g;
-- Seven rows in ten deleted, then vacuumed: free space dominates (only a rewrite returns it).
create table holes (id int, pad text) with (autovacuum_enabled = false, fillfactor = 90);
insert into holes select g, repeat('x', 120) from generate_series(1, 30000) g;
-- A btree that lost three entries in five (spread over every page), vacuumed.
create table churn (id int) with (autovacuum_enabled = false);
create index churn_id on churn (id);
insert into churn select g from generate_series(1, 300000) g;
-- Out-of-line values (TOAST), half of them deleted and vacuumed.
create table toasty (id int, doc text) with (autovacuum_enabled = false);
alter table toasty alter column doc set storage external;
insert into toasty select g, repeat(md5(g::text), 200) from generate_series(1, 600) g;
-- A dropped column whose data old rows still carry.
create table dropcol (id int, junk char(200)) with (autovacuum_enabled = false);
insert into dropcol select g, 'j' from generate_series(1, 10000) g;
alter table dropcol drop column junk;
"#;

const DAMAGE: &str = r#"
set search_path = "Bloat ü";
analyze "Dead Rows";
delete from "Dead Rows" where id % 2 = 0;
delete from holes where id % 10 < 7;
delete from churn where id % 5 < 3;
delete from toasty where id % 2 = 0;
select pg_stat_force_next_flush();
select 1;
vacuum (analyze) fresh;
vacuum (analyze) holes;
vacuum (analyze) churn;
vacuum (analyze) toasty;
vacuum (analyze) dropcol;
"#;

async fn run(target: &Target, database: &str, previous: &Previous) -> Outcome {
    let now = app::clock::to_millis(time::OffsetDateTime::now_utc());
    analyse(target, database, previous, true, now, &[])
        .await
        .expect("analysis")
}

fn row<'a>(o: &'a Outcome, name: &str) -> &'a BloatRow {
    o.bloat
        .rows
        .iter()
        .find(|r| r.index.as_deref().unwrap_or(&r.table) == name && r.schema == "Bloat ü")
        .unwrap_or_else(|| panic!("no bloat row for {name}: {:#?}", o.bloat.rows))
}

fn finding<'a>(o: &'a Outcome, kind: Kind, name: &str) -> Option<&'a Finding> {
    o.analysis
        .findings
        .iter()
        .find(|f| f.kind == kind && f.index.as_deref().or(f.table.as_deref()) == Some(name))
}

/// pgstattuple's dead + free beyond the fillfactor reserve, as a share of the table.
async fn truth_table(su: &mut PgConnection, name: &str, fillfactor: i64) -> f64 {
    let (len, dead, free): (i64, i64, i64) = sqlx::query_as(&format!(
        "select table_len, dead_tuple_len, free_space from public.pgstattuple('{S}.{name}')"
    ))
    .fetch_one(su)
    .await
    .expect("pgstattuple");
    let reserve = len * (100 - fillfactor) / 100;
    (dead + (free - reserve).max(0)) as f64 / len as f64
}

/// The share of the index a REINDEX gives back (its size before and after).
async fn truth_index(su: &mut PgConnection, name: &str) -> f64 {
    let size = format!("select pg_relation_size('{S}.{name}')");
    let before: i64 = sqlx::query_scalar(&size).fetch_one(&mut *su).await.unwrap();
    su.execute(&*format!("reindex index {S}.{name}"))
        .await
        .unwrap();
    let after: i64 = sqlx::query_scalar(&size).fetch_one(&mut *su).await.unwrap();
    1.0 - after as f64 / before as f64
}

#[tokio::test]
async fn bloat_is_measured_without_superuser_and_matches_ground_truth() {
    let c = TempCluster::start_async(ClusterOptions::default())
        .await
        .expect("cluster");
    let mut su = superuser(&c, "postgres").await;
    su.execute("create database shop").await.expect("db");
    let mut shop = superuser(&c, "shop").await;
    shop.execute(PLANT).await.expect("plant");
    // One statement at a time: VACUUM cannot run in a multi-statement string.
    for statement in DAMAGE.split(";\n").map(str::trim).filter(|s| !s.is_empty()) {
        shop.execute(statement).await.expect(statement);
    }
    // The statistics (dead tuples) reach the shared counters now, not within the next second.
    shop.execute("select pg_stat_force_next_flush()")
        .await
        .unwrap();
    shop.execute("select 1").await.unwrap();
    let registry = monitored(&c, "Bloat Mon", "shop", None).await;
    let target = registry.get("main").expect("target");

    // A table locked by another session is skipped with a note; the rest is measured.
    let mut locker = superuser(&c, "shop").await;
    locker
        .execute(r#"begin; lock table "Bloat ü".dropcol in access exclusive mode"#)
        .await
        .expect("lock");
    let first = run(target, "shop", &Previous::default()).await;
    locker.execute("rollback").await.expect("unlock");
    assert!(
        first.analysis.errors.is_empty(),
        "{:?}",
        first.analysis.errors
    );
    assert_eq!(first.bloat.method_note, None);
    let locked = row(&first, "dropcol");
    assert!(
        locked
            .note
            .as_deref()
            .unwrap_or("")
            .contains("another session holds a lock"),
        "{locked:#?}"
    );
    assert_ne!(locked.method, Method::Approx);

    // Tables: pgstattuple_approx by the pg_monitor login, within ±10 points of pgstattuple.
    for (name, ff, quoted) in [
        ("fresh", 100, "fresh"),
        ("Dead Rows", 100, "\"Dead Rows\""),
        ("holes", 90, "holes"),
    ] {
        let r = row(&first, name);
        assert_eq!(r.method, Method::Approx, "{r:#?}");
        let truth = truth_table(&mut shop, quoted, ff).await;
        let ours = r.bloat_ratio.unwrap();
        eprintln!("table {name}: approx {ours:.3}, pgstattuple {truth:.3}");
        assert!(
            (ours - truth).abs() <= 0.10,
            "{name}: ours {ours:.3}, pgstattuple {truth:.3}"
        );
    }
    assert!(row(&first, "fresh").bloat_ratio.unwrap() < 0.05);
    assert!(row(&first, "Dead Rows").bloat_ratio.unwrap() > 0.4);
    let holes = row(&first, "holes");
    assert!(
        holes.free_bytes.unwrap() > holes.dead_bytes.unwrap(),
        "{holes:#?}"
    );
    // TOAST is measured apart; dropped columns are flagged.
    let toasty = row(&first, "toasty");
    assert!(
        toasty.toast_bytes > 1 << 20 && toasty.toast_bloat_bytes.unwrap() > 0,
        "{toasty:#?}"
    );
    assert!(locked.dropped_columns);

    // Remedies: VACUUM where dead rows dominate (autovacuum is off there: also "falling
    // behind"), a rewrite with a confirmation where free space does.
    let dead = finding(&first, Kind::TableBloat, "Dead Rows").expect("dead rows finding");
    assert_eq!(
        dead.statements,
        [format!(r#"VACUUM (ANALYZE) {S}."Dead Rows";"#)]
    );
    assert_eq!(dead.confirm, None);
    let behind = finding(&first, Kind::AutovacuumBehind, "Dead Rows").expect("behind");
    assert_eq!(behind.severity, Severity::Warning);
    assert!(behind.summary.contains("autovacuum is off"), "{behind:#?}");
    assert!(
        behind
            .ddl
            .as_deref()
            .unwrap()
            .contains("RESET (autovacuum_enabled)")
    );
    let rewrite = finding(&first, Kind::TableBloat, "holes").expect("holes finding");
    assert_eq!(
        rewrite.statements,
        [format!("VACUUM (FULL, ANALYZE) {S}.holes;")]
    );
    assert_eq!(rewrite.confirm.as_deref(), Some(&*format!("{S}.holes")));
    assert!(
        rewrite
            .lock
            .as_deref()
            .unwrap()
            .contains("ACCESS EXCLUSIVE")
    );
    assert!(finding(&first, Kind::TableBloat, "fresh").is_none());

    // Ids are stable: the same problems keep their ids in the next analysis.
    let previous = Previous {
        snapshot: first.snapshot.clone(),
        bloat: first.bloat.clone(),
        ..Previous::default()
    };
    let again = run(target, "shop", &previous).await;
    for (kind, name) in [
        (Kind::TableBloat, "Dead Rows"),
        (Kind::TableBloat, "holes"),
        (Kind::IndexBloat, "churn_id"),
    ] {
        assert_eq!(
            finding(&again, kind, name).map(|f| &f.id),
            finding(&first, kind, name).map(|f| &f.id)
        );
    }

    // Btrees: the pgstatindex formula, within ±15 points of what a REINDEX gives back.
    let churn = row(&first, "churn_id").clone();
    let fresh_ix = row(&first, "fresh_id").clone();
    assert_eq!(churn.method, Method::Exact);
    let ix = finding(&first, Kind::IndexBloat, "churn_id").expect("index finding");
    assert_eq!(
        ix.statements,
        [format!("REINDEX INDEX CONCURRENTLY {S}.churn_id;")]
    );
    assert!(finding(&first, Kind::IndexBloat, "fresh_id").is_none());
    for r in [&churn, &fresh_ix] {
        let name = r.index.as_deref().unwrap();
        let truth = truth_index(&mut shop, name).await;
        let ours = r.bloat_ratio.unwrap();
        eprintln!("index {name}: pgstatindex formula {ours:.3}, after REINDEX {truth:.3}");
        assert!(
            (ours - truth).abs() <= 0.15,
            "{name}: ours {ours:.3}, after REINDEX {truth:.3}"
        );
    }

    // Every fix runs as written and its finding goes (the superuser stands in for the action
    // login; the REINDEX above already rebuilt the index).
    for f in [dead, rewrite] {
        for s in &f.statements {
            shop.execute(s.as_str())
                .await
                .unwrap_or_else(|e| panic!("{s}: {e}"));
        }
    }
    let second = run(target, "shop", &previous).await;
    // VACUUM turned the dead rows into free space: the same finding now wants a rewrite.
    let vacuumed = finding(&second, Kind::TableBloat, "Dead Rows").expect("free space stays");
    assert_eq!(vacuumed.id, dead.id);
    assert_eq!(
        vacuumed.statements,
        [format!(r#"VACUUM (FULL, ANALYZE) {S}."Dead Rows";"#)]
    );
    assert_eq!(row(&second, "Dead Rows").dead_bytes, Some(0));
    for (kind, name) in [
        (Kind::TableBloat, "holes"),
        (Kind::IndexBloat, "churn_id"),
        (Kind::AutovacuumBehind, "Dead Rows"),
    ] {
        assert!(
            finding(&second, kind, name).is_none(),
            "{kind:?} {name} left: {:#?}",
            finding(&second, kind, name)
        );
    }
    assert_eq!(row(&second, "dropcol").method, Method::Approx);

    // Without the extension (a database where nobody created it): dead tuples from the
    // statistics only, indexes unmeasured, and the statement to run named.
    su.execute("create database bare").await.unwrap();
    let mut bare_db = superuser(&c, "bare").await;
    for s in [
        "create table plain (id int) with (autovacuum_enabled = false)",
        "insert into plain select generate_series(1, 200000)",
        "select pg_stat_force_next_flush()",
        "select 1",
        "create index plain_id on plain (id)",
        "analyze plain",
        "delete from plain where id % 2 = 0",
        "select pg_stat_force_next_flush()",
        "select 1",
    ] {
        bare_db.execute(s).await.unwrap();
    }
    let bare = run(target, "bare", &Previous::default()).await;
    let note = bare.bloat.method_note.clone().expect("what to run");
    assert!(
        note.contains("CREATE EXTENSION IF NOT EXISTS pgstattuple"),
        "{note}"
    );
    let plain = bare
        .bloat
        .rows
        .iter()
        .find(|r| r.table == "plain" && r.index.is_none())
        .unwrap();
    assert_eq!(plain.method, Method::Estimate);
    assert!(
        plain.free_bytes.is_none() && plain.bloat_ratio.unwrap() > 0.3,
        "{plain:#?}"
    );
    let plain_ix = bare
        .bloat
        .rows
        .iter()
        .find(|r| r.index.as_deref() == Some("plain_id"))
        .unwrap();
    assert_eq!(plain_ix.method, Method::Unmeasured);
    assert!(plain_ix.bloat_bytes.is_none());
    // The dead-tuple indicator alone still says VACUUM, never a rewrite.
    let f = bare
        .analysis
        .findings
        .iter()
        .find(|f| f.kind == Kind::TableBloat)
        .expect("dead tuples alone are a finding");
    assert_eq!(f.statements, ["VACUUM (ANALYZE) public.plain;"]);
}
