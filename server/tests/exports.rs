//! The Audit area's application tables and the downloads over HTTP on the real router: a
//! throwaway cluster with an audit table fed by triggers and a jsonlog server log; analysts and
//! anonymous callers, the diff and a row's history, bad filters naming the parameter, an
//! unknown source, a layout that is not recognised, and CSV / JSON-lines exports of the logs,
//! pgpanel's trail and the audit table with the same filters and the same masking as the pages.

use crate::common;

use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::{Connection, Executor, PgConnection};

use crate::common::{Caller, PASSWORD};
use server::config::AuditTableConfig;

const SHOP: &str = r#"
create table orders (id bigint primary key, status text not null, note text);
create trigger orders_audit after insert or update or delete on orders
    for each row execute function audit_row();
create table plain_log (id int primary key, payload jsonb);
select set_config('app.user', 'alice', false);
insert into orders values (7, 'new', '=HYPERLINK("http://x")');
select set_config('app.user', 'bob', false);
update orders set status = 'paid', note = '<script>alert(1)</script>' where id = 7;
"#;

async fn fixture() -> (common::Fixture, harness::TempCluster) {
    let (cluster, mut config, dir) = common::logging_target(&[]).await;
    let mut su = PgConnection::connect(&cluster.url("postgres"))
        .await
        .unwrap();
    su.execute("create database shop").await.unwrap();
    let mut shop = PgConnection::connect(&cluster.url("shop")).await.unwrap();
    shop.execute(harness::AUDIT_LOG_SQL).await.unwrap();
    shop.execute(SHOP).await.unwrap();
    shop.execute("grant select on audit_log, plain_log to watcher")
        .await
        .unwrap();
    let target = &mut config.targets[0];
    target.audit_tables = vec![
        AuditTableConfig::new("shop", "public.audit_log"),
        AuditTableConfig {
            id: Some("plain".into()),
            ..AuditTableConfig::new("shop", "plain_log")
        },
    ];
    (common::fixture_from(config, dir).await, cluster)
}

async fn download(c: &Caller, path: &str) -> (u16, String, String) {
    let res = c.get(path).await;
    let status = res.status().as_u16();
    let kind = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, res.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_tables_and_exports_by_role() {
    let (f, cluster) = fixture().await;
    let ana = Caller::signed_in(&f.base, "ana", PASSWORD).await;
    let dora = Caller::signed_in(&f.base, "dora", PASSWORD).await;
    let anon = Caller::anonymous(&f.base);

    // The application table, newest first, with its diff; the row's history.
    let (status, v) = ana
        .json("/api/app-audit?target=main&source=audit_log")
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["relation"], "audit_log");
    assert!(
        v["index_hint"]
            .as_str()
            .unwrap()
            .contains("(changed_at DESC, id DESC)")
    );
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["operation"], "UPDATE");
    assert_eq!(rows[0]["actor"], "bob");
    assert_eq!(rows[0]["record"], "7");
    let changes: Vec<&str> = rows[0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(changes, ["note", "status"]);
    let (_, history) = ana
        .json("/api/app-audit?target=main&source=audit_log&record=7&operation=insert")
        .await;
    assert_eq!(history["rows"].as_array().unwrap().len(), 1);
    assert_eq!(history["rows"][0]["actor"], "alice");

    // Bad input and refusals.
    for (query, name) in [
        ("operation=MERGE", "operation"),
        ("before=nonsense", "before"),
        ("since=tuesday", "since"),
        ("limit=100000", "limit"),
    ] {
        let (status, v) = ana
            .json(&format!("/api/app-audit?target=main&{query}"))
            .await;
        assert_eq!(status, 400, "{query}: {v}");
        assert!(v.to_string().contains(name), "{query}: {v}");
    }
    let (status, _) = ana.json("/api/app-audit?target=main&source=nope").await;
    assert_eq!(status, 404);
    let (status, _) = ana.json("/api/app-audit?target=nope").await;
    assert_eq!(status, 404);
    let (status, v) = ana.json("/api/app-audit?target=main&source=plain").await;
    assert_eq!(status, 409, "{v}");
    assert!(v["message"].as_str().unwrap().contains("`time = "), "{v}");
    let (status, _) = anon.json("/api/app-audit?target=main").await;
    assert_eq!(status, 401);

    // The page renders the recorded values as text.
    let html = ana
        .get("/audit/app?target=main")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("data-testid=\"app-audit-row\""),
        "no rows rendered"
    );
    assert!(!html.contains("<script>alert(1)</script>"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));

    // Exports: CSV with a header, JSON lines, as attachments.
    let res = ana
        .get("/api/app-audit/export?target=main&format=csv")
        .await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"pgpanel-app-audit-main-audit_log-")
    );
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("time,id,table,operation,actor"),
        "{csv}"
    );
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(csv.contains("=HYPERLINK"), "{csv}");
    let (status, kind, jsonl) = download(
        &ana,
        "/api/app-audit/export?target=main&format=jsonl&actor=bob",
    )
    .await;
    assert_eq!(
        (status, kind.as_str()),
        (200, "application/jsonl; charset=utf-8")
    );
    let one: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0]["operation"], "UPDATE");
    for path in [
        "/api/app-audit/export?target=main&format=xml",
        "/api/app-audit/export?target=main&format=csv&operation=MERGE",
        "/api/logs/export?target=main&format=csv&severity=LOUD",
        "/api/audit/export?format=csv&since=tuesday",
    ] {
        let (status, kind, body) = download(&ana, path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(kind.starts_with("application/json"), "{path}");
    }
    for path in [
        "/api/app-audit/export?target=main&format=csv",
        "/api/logs/export?target=main&format=csv",
        "/api/audit/export?format=csv",
    ] {
        let (status, _, _) = download(&anon, path).await;
        assert_eq!(status, 401, "{path}");
    }
    let (status, _, _) = download(
        &ana,
        "/api/app-audit/export?target=main&source=plain&format=csv",
    )
    .await;
    assert_eq!(status, 409);

    // The trail: the sign-ins of this test, as CSV and as JSON lines.
    let (status, _, csv) = download(&ana, "/api/audit/export?format=csv&action=auth.login").await;
    assert_eq!(status, 200);
    assert!(csv.starts_with("id,time,actor"), "{csv}");
    assert!(csv.lines().skip(1).any(|l| l.contains(",ana,")), "{csv}");
    let (_, _, jsonl) = download(&ana, "/api/audit/export?format=jsonl&actor=dora").await;
    assert!(
        jsonl
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .all(|e| e["actor"] == "dora")
    );

    // The server log: a statement with a secret, exported as analysts see it (no constants)
    // and as a dba does.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, v) = ana.json("/api/logs?target=main").await;
        if v["source"]["reading"] == true {
            break;
        }
        assert!(Instant::now() < deadline, "the log is not read: {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut app = PgConnection::connect(&cluster.url("postgres"))
        .await
        .unwrap();
    let _ = app
        .execute("select * from missing_table where secret = 'hunter2'")
        .await;
    let path = "/api/logs/export?target=main&format=csv&kind=error&text=missing_table";
    let csv = loop {
        let (status, _, csv) = download(&ana, path).await;
        assert_eq!(status, 200, "{csv}");
        if csv.lines().count() > 1 {
            break csv;
        }
        assert!(Instant::now() < deadline, "the error is not exported");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(csv.starts_with("time,severity,kind,sqlstate"), "{csv}");
    assert!(
        csv.contains("secret = $1") && !csv.contains("hunter2"),
        "{csv}"
    );
    let (_, _, full) = download(&dora, &path.replace("csv", "jsonl")).await;
    let e: Value = serde_json::from_str(full.lines().next().unwrap()).unwrap();
    assert!(e["statement"].as_str().unwrap().contains("hunter2"), "{e}");
    assert_eq!(e["sqlstate"], "42P01");
}
