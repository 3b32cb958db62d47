//! Missing indexes on a throwaway cluster, from statements as pg_stat_statements keeps them:
//! a two-column equality statement and a join that want an index, validated with hypopg on a
//! generic plan by an action login that may only SELECT; odd identifiers quoted in the DDL; a
//! statement an index already serves, a cheap one, a utility statement and one the parser
//! rejects skipped with the reason; a DELETE explained but never run; the HOT warning; the
//! recheck before applying; the DDL proven by running it; and what the section says without
//! an action login, without hypopg and when the login may not EXPLAIN. The statements' window
//! comes from pgpanel's own store.

use crate::common;

use sqlx::{Executor, PgConnection};

use app::features::advice::analysis::{Outcome, Previous, analyse};
use app::features::advice::missing::{Statement, workload};
use app::features::advice::model::{Finding, Kind, Severity};
use app::features::live::model::{StatementDelta, StatementKey, StatementText};
use app::features::targets::monitor::Target;
use app::store::Store;
use harness::{ClusterOptions, TempCluster};

use crate::common::{create_login, monitored, superuser};

const PLANT: &str = r#"
create extension if not exists hypopg;
-- 100 tenants × 100 statuses: wants (tenant_id, status); room on each page for HOT updates.
create table acc_events (id bigserial primary key, tenant_id int not null, status int not null,
                         payload text) with (fillfactor = 70);
insert into acc_events (tenant_id, status, payload)
select g % 100, (g / 100) % 100, 'payload ' || g from generate_series(1, 100000) g;
-- Orders by customer are indexed; their lines are not: the join wants order_lines (order_id).
create table orders (id bigint primary key, customer_id int not null, total numeric);
insert into orders select g, g % 5000, g from generate_series(1, 50000) g;
create index orders_customer on orders (customer_id);
create table order_lines (order_id bigint not null, line int not null, qty int);
insert into order_lines select g % 50000 + 1, g / 50000, 1 from generate_series(1, 200000) g;
create table "Odd ""Name"" ü" ("Mixed Col" int, v text);
insert into "Odd ""Name"" ü" select g % 1000, 'v' from generate_series(1, 50000) g;
-- The same with (tenant_id) indexed already: one hypothetical (queue) next to it makes a
-- BitmapAnd, two indexes; the pair is the one index to build.
create table tickets (id bigserial primary key, tenant_id int not null, queue int not null);
insert into tickets (tenant_id, queue) select g % 100, (g / 100) % 100 from generate_series(1, 200000) g;
create index tickets_tenant on tickets (tenant_id);
create table tiny (a int, b int);
insert into tiny values (1, 1);
analyze;
update acc_events set status = status where id <= 2000;
"#;

const PAIR: &str = "select count(*) from acc_events where tenant_id = $1 and status = $2";
const JOIN: &str = "select o.id, l.qty from orders o join order_lines l on l.order_id = o.id where o.customer_id = $1";
const ODD: &str = r#"select v from "Odd ""Name"" ü" where "Mixed Col" = $1"#;
const DELETE: &str = "delete from acc_events where tenant_id = $1 and status = $2";
const UPDATE: &str = "update acc_events set status = $1 where id = $2";
const BY_PK: &str = "select * from orders where id = $1";
const CHEAP: &str = "select * from tiny where a = $1";
const UTILITY: &str = "vacuum acc_events";
const TICKETS: &str = "select count(*) from tickets where tenant_id = $1 and queue = $2";
const CUT: &str = "select * from acc_events where tenant_id =";

fn statement(queryid: i64, query: &str, calls: i64, total_ms: f64) -> Statement {
    Statement {
        queryid,
        query: query.into(),
        calls,
        total_ms,
    }
}

fn window() -> Vec<Statement> {
    vec![
        statement(1, PAIR, 5_000, 9_000.0),
        statement(2, JOIN, 3_000, 8_000.0),
        statement(3, ODD, 2_000, 7_000.0),
        statement(4, DELETE, 10, 500.0),
        statement(5, UTILITY, 3, 400.0),
        statement(6, CUT, 1, 300.0),
        statement(7, BY_PK, 9_000, 200.0),
        statement(8, CHEAP, 9_000, 100.0),
        statement(9, UPDATE, 800, 50.0),
        statement(10, TICKETS, 4_000, 6_000.0),
    ]
}

async fn run(target: &Target, database: &str, previous: &Previous, full: bool) -> Outcome {
    let now = app::clock::to_millis(time::OffsetDateTime::now_utc());
    let statements = if full { window() } else { Vec::new() };
    analyse(target, database, previous, full, now, &statements)
        .await
        .expect("analysis")
}

fn missing(o: &Outcome) -> Vec<&Finding> {
    o.analysis
        .findings
        .iter()
        .filter(|f| f.kind == Kind::MissingIndex)
        .collect()
}

fn on<'a>(o: &'a Outcome, table: &str) -> &'a Finding {
    missing(o)
        .into_iter()
        .find(|f| f.table.as_deref() == Some(table))
        .unwrap_or_else(|| panic!("no suggestion on {table}: {:#?}", missing(o)))
}

async fn count(conn: &mut PgConnection) -> i64 {
    sqlx::query_scalar("select count(*) from acc_events")
        .fetch_one(conn)
        .await
        .unwrap()
}

async fn plant(c: &TempCluster, db: &str, hypopg: bool) -> PgConnection {
    let mut su = superuser(c, "postgres").await;
    su.execute(format!("create database {db}").as_str())
        .await
        .unwrap();
    let mut conn = superuser(c, db).await;
    let plant = if hypopg {
        PLANT.to_owned()
    } else {
        PLANT.replace("create extension if not exists hypopg;", "")
    };
    conn.execute(plant.as_str()).await.unwrap();
    conn.execute("select pg_stat_force_next_flush()")
        .await
        .unwrap();
    conn
}

#[tokio::test(flavor = "multi_thread")]
async fn suggestions_are_validated_with_hypopg_and_hold_until_applied() {
    let c = TempCluster::start_async(ClusterOptions::default())
        .await
        .expect("cluster");
    let mut su = plant(&c, "shop", true).await;
    // The action login may read the tables (to EXPLAIN them), not change them.
    let act = create_login(&c, "Advice Act", &[]).await.database("shop");
    su.execute(
        r#"grant select on all tables in schema public to "Advice Act";
           grant delete on acc_events to "Advice Act";"#,
    )
    .await
    .unwrap();
    let registry = monitored(&c, "Missing Mon", "shop", Some(common::login(act))).await;
    let target = registry.get("main").unwrap();
    let rows = count(&mut su).await;

    let first = run(target, "shop", &Previous::default(), true).await;
    let w = &first.analysis.workload;
    assert!(w.validated, "{w:?} {:?}", first.analysis.errors);
    assert_eq!(w.statements, 10);
    assert!(
        first
            .analysis
            .errors
            .iter()
            .all(|e| e.section != "missing indexes"),
        "{:?}",
        first.analysis.errors
    );
    let reason = |id: &str| {
        w.skipped
            .iter()
            .find(|s| s.queryid == id)
            .map(|s| s.reason.clone())
            .unwrap_or_default()
    };
    assert!(reason("5").contains("utility"), "{w:?}");
    assert!(reason("6").contains("parser rejects"), "{w:?}");
    assert!(reason("8").contains("cheap already"), "{w:?}");
    assert!(reason("7").contains("an existing index serves"), "{w:?}");

    // The two-column index, validated: at most half the best single column's cost.
    let pair = on(&first, "acc_events");
    let mut cols = pair.columns.clone();
    cols.sort();
    assert_eq!(cols, ["status", "tenant_id"], "{pair:#?}");
    let (before, after) = (pair.cost_before.unwrap(), pair.cost_after.unwrap());
    assert!(after * 2.0 <= before, "{before} → {after}");
    assert_eq!(pair.severity, Severity::Warning);
    assert!(pair.queries.iter().any(|q| q.queryid == "1"), "{pair:#?}");
    // The DELETE wants it too (explained, never run), and the UPDATE of status stops HOT.
    assert!(pair.queries.iter().any(|q| q.queryid == "4"), "{pair:#?}");
    let note = pair.note.clone().unwrap_or_default();
    assert!(
        note.contains("Stops HOT updates") && note.contains("status"),
        "{note}"
    );
    assert!(pair.evidence.iter().any(|e| e.label == "write overhead"));
    assert!(
        pair.evidence
            .iter()
            .any(|e| e.label == "estimated size (hypopg)")
    );
    assert_eq!(count(&mut su).await, rows, "EXPLAIN ran the DELETE");
    assert!(pair.statements[0].starts_with("CREATE INDEX CONCURRENTLY ON public.acc_events ("));

    // Not (queue) beside the real (tenant_id): that plan is a BitmapAnd of two indexes.
    let tickets = on(&first, "tickets");
    let mut cols = tickets.columns.clone();
    cols.sort();
    assert_eq!(cols, ["queue", "tenant_id"], "{tickets:#?}");

    // The join index, and odd identifiers quoted by PostgreSQL.
    let join = on(&first, "order_lines");
    assert_eq!(join.columns, ["order_id"]);
    assert_eq!(
        join.statements,
        ["CREATE INDEX CONCURRENTLY ON public.order_lines (order_id);"]
    );
    let odd = on(&first, "Odd \"Name\" ü");
    assert_eq!(
        odd.statements,
        [r#"CREATE INDEX CONCURRENTLY ON public."Odd ""Name"" ü" ("Mixed Col");"#]
    );
    // Nothing for what an index serves already, or for tiny tables.
    assert!(
        !missing(&first)
            .iter()
            .any(|f| f.table.as_deref() == Some("orders"))
    );
    assert!(
        !missing(&first)
            .iter()
            .any(|f| f.table.as_deref() == Some("tiny"))
    );

    // The recheck before applying keeps what still holds, with the same statements.
    let previous = Previous {
        missing: missing(&first).into_iter().cloned().collect(),
        workload: w.clone(),
        ..Previous::default()
    };
    let recheck = run(target, "shop", &previous, false).await;
    assert_eq!(on(&recheck, "acc_events").statements, pair.statements);
    assert_eq!(recheck.analysis.workload, *w);

    // Applied (the DDL runs as written), the suggestion is gone from the recheck and the next
    // analysis; the others stay.
    for f in [pair, odd] {
        for sql in &f.statements {
            su.execute(sqlx::raw_sql(sql)).await.unwrap();
        }
    }
    let recheck = run(target, "shop", &previous, false).await;
    let tables = |o: &Outcome| {
        let mut t: Vec<_> = missing(o).iter().filter_map(|f| f.table.clone()).collect();
        t.sort();
        t
    };
    assert_eq!(tables(&recheck), ["order_lines", "tickets"]);
    let next = run(target, "shop", &Previous::default(), true).await;
    assert_eq!(tables(&next), ["order_lines", "tickets"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_validation_the_section_says_why_and_marks_suggestions() {
    let c = TempCluster::start_async(ClusterOptions::default())
        .await
        .expect("cluster");
    let _shop = plant(&c, "shop", true).await;
    let _bare = plant(&c, "bare", false).await;
    // An action login that may not read the tables.
    let act = create_login(&c, "No Select", &[]).await.database("shop");
    let registry = monitored(&c, "Missing Mon", "shop", Some(common::login(act))).await;
    let target = registry.get("main").unwrap();
    let section = |o: &Outcome| {
        o.analysis
            .errors
            .iter()
            .filter(|e| e.section == "missing indexes")
            .map(|e| e.message.clone())
            .collect::<Vec<_>>()
            .join(" | ")
    };
    let unverified = |o: &Outcome| {
        let m = missing(o);
        assert!(!m.is_empty(), "{:#?}", o.analysis);
        for f in m {
            assert_eq!(f.severity, Severity::Info, "{f:#?}");
            assert!(f.statements.is_empty() && f.cost_before.is_none(), "{f:#?}");
            assert!(f.summary.starts_with("Not validated"), "{f:#?}");
        }
        assert!(!o.analysis.workload.validated);
    };

    let o = run(target, "shop", &Previous::default(), true).await;
    let message = section(&o);
    assert!(
        message.contains("may not EXPLAIN") && message.contains("GRANT SELECT ON"),
        "{message}"
    );
    unverified(&o);

    let o = run(target, "bare", &Previous::default(), true).await;
    let message = section(&o);
    assert!(
        message.contains("CREATE EXTENSION hypopg") && message.contains("setup-sql"),
        "{message}"
    );
    unverified(&o);
    // The rest of the analysis is there (the monitor may not read the sequences here).
    assert!(
        o.analysis
            .errors
            .iter()
            .all(|e| ["missing indexes", "sequences"].contains(&e.section.as_str())),
        "{:?}",
        o.analysis.errors
    );

    let monitor_only = monitored(&c, "Only Mon", "shop", None).await;
    let target = monitor_only.get("main").unwrap();
    let o = run(target, "shop", &Previous::default(), true).await;
    assert!(section(&o).contains("no action login"), "{}", section(&o));
    unverified(&o);
}

/// The window is pgpanel's own: the store's statement deltas and texts of this database,
/// pgpanel's own logins left out, entries of one queryid (roles, nesting) added up.
#[tokio::test(flavor = "multi_thread")]
async fn the_window_comes_from_the_store() {
    let c = TempCluster::start_async(ClusterOptions::default())
        .await
        .expect("cluster");
    let _shop = plant(&c, "shop", true).await;
    let registry = monitored(&c, "Window Mon", "shop", None).await;
    let target = registry.get("main").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("s.db").display()))
        .await
        .unwrap();
    let now = app::clock::to_millis(time::OffsetDateTime::now_utc());
    let minute = now - now % 60_000;
    let key = |queryid, userid| StatementKey {
        queryid,
        dbid: 1,
        userid,
        toplevel: true,
    };
    let delta = |calls, exec_ms| StatementDelta {
        calls,
        exec_ms,
        ..StatementDelta::default()
    };
    let text = |queryid, userid, db: &str, user: &str, query: &str| StatementText {
        queryid,
        dbid: 1,
        userid,
        toplevel: true,
        database_name: db.into(),
        user_name: user.into(),
        query: query.into(),
    };
    store
        .add_statement_minute(
            "main",
            minute,
            &[
                (key(1, 10), delta(100, 50.0)),
                (key(1, 11), delta(50, 25.0)),
                (key(2, 10), delta(10, 500.0)),
                (key(3, 12), delta(10, 900.0)),
                (key(4, 10), delta(10, 800.0)),
            ],
        )
        .await
        .unwrap();
    store
        .insert_statement_texts(
            "main",
            now,
            &[
                text(1, 10, "shop", "app", PAIR),
                text(1, 11, "shop", "app2", PAIR),
                text(2, 10, "shop", "app", JOIN),
                text(3, 12, "shop", "Window Mon", "select 1"),
                text(4, 10, "other", "app", ODD),
            ],
        )
        .await
        .unwrap();
    let got = workload(&store, target, "shop", now).await.unwrap();
    assert_eq!(
        got,
        vec![statement(2, JOIN, 10, 500.0), statement(1, PAIR, 150, 75.0),]
    );
}
