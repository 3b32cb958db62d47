//! Advice over HTTP on the real router and a throwaway cluster: reading the page's data never
//! analyses (nothing stored → "never analysed"), a DBA's refresh runs the analysis and is
//! audited, analysts and forged requests are refused with nothing run, unknown targets and
//! databases are 404.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::{Connection, Executor, PgConnection};

use common::{Caller, PASSWORD, actions_fixture, audit};

async fn wait_analysed(c: &Caller, path: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, a) = c.json(path).await;
        assert_eq!(status, 200, "{a}");
        if a["analysed_at"].is_i64() && a["running"] == false {
            return a;
        }
        assert!(Instant::now() < deadline, "no analysis within 30 s: {a}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_analyses_once_and_get_only_reads() {
    let (f, cluster) = actions_fixture().await;
    let mut su = PgConnection::connect(&cluster.url("postgres"))
        .await
        .unwrap();
    su.execute("create database \"Shop ü\"").await.unwrap();
    let mut shop = PgConnection::connect(&cluster.url("Shop ü")).await.unwrap();
    shop.execute(
        "create table t (id int primary key, k int); \
         create index t_k on t (k); create index t_k_copy on t (k)",
    )
    .await
    .unwrap();
    let dora = Caller::signed_in(&f.base, "dora", PASSWORD).await;
    let ana = Caller::signed_in(&f.base, "ana", PASSWORD).await;
    let path = "/api/advice?target=main&database=Shop%20%C3%BC";

    // Before any analysis: nothing, and reading did not start one.
    let (status, a) = ana.json(path).await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["analysed_at"], Value::Null);
    assert_eq!(a["findings"], serde_json::json!([]));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, a) = ana.json(path).await;
    assert_eq!(a["analysed_at"], Value::Null, "a GET analysed: {a}");
    assert_eq!(a["running"], false);

    // Refused, nothing run: anonymous, analyst, forged origin, unknown target and database.
    let form = [("target", "main"), ("database", "Shop ü")];
    let (status, _) = common::body(
        Caller::anonymous(&f.base)
            .post("/api/advice/refresh", &form)
            .await,
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = common::body(ana.post("/api/advice/refresh", &form).await).await;
    assert_eq!(status, 403);
    let forged = dora
        .post_with(
            "/api/advice/refresh",
            &form,
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(forged.status().as_u16(), 403);
    let (status, body) = common::body(
        dora.post(
            "/api/advice/refresh",
            &[("target", "nope"), ("database", "Shop ü")],
        )
        .await,
    )
    .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = common::body(
        dora.post(
            "/api/advice/refresh",
            &[("target", "main"), ("database", "no such db")],
        )
        .await,
    )
    .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = ana
        .json("/api/advice?target=main&database=no%20such%20db")
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = ana.json("/api/advice?target=nope").await;
    assert_eq!(status, 404);
    let (_, a) = ana.json(path).await;
    assert_eq!(
        a["analysed_at"],
        Value::Null,
        "a refused request analysed: {a}"
    );

    // A DBA analyses (`true`: this request started it).
    let (status, first) = common::body(dora.post("/api/advice/refresh", &form).await).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first, true);
    let a = wait_analysed(&ana, path).await;
    assert_eq!(a["database"], "Shop ü");
    let dup: Vec<&Value> = a["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "duplicate_index")
        .collect();
    assert_eq!(dup.len(), 1, "{a}");
    assert_eq!(dup[0]["index"], "t_k_copy");
    assert_eq!(dup[0]["table"], "t");
    assert!(
        dup[0]["ddl"]
            .as_str()
            .unwrap()
            .starts_with("DROP INDEX CONCURRENTLY public.t_k_copy;"),
        "{a}"
    );
    assert!(
        dup[0]["id"]
            .as_str()
            .unwrap()
            .starts_with("duplicate_index-")
    );

    // Audited: the DBA's requests, and the refusals with their reason.
    let events = audit(&f).await;
    let refresh: Vec<_> = events
        .iter()
        .filter(|e| e.action == "advice.refresh")
        .collect();
    assert!(
        refresh
            .iter()
            .any(|e| e.outcome == "success" && e.actor.as_deref() == Some("dora")),
        "{refresh:#?}"
    );
    assert!(
        refresh
            .iter()
            .any(|e| e.outcome == "refused"
                && e.error.as_deref().unwrap_or("").contains("no database")),
        "{refresh:#?}"
    );
    assert!(
        refresh.iter().all(|e| e.actor.as_deref() != Some("ana")),
        "the analyst's request was refused by the guard, before the server function"
    );
}
