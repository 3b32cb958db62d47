//! The server log over HTTP on the real router, read by the real tailer from a throwaway cluster
//! writing jsonlog: analysts and anonymous callers, statement texts by role, filters, keyset
//! paging, bad filter values naming the parameter, unknown targets, and database strings
//! rendered as text on the page.

use crate::common;

use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::{Connection, Executor, PgConnection};

use crate::common::{Caller, PASSWORD};

async fn logging_fixture() -> (common::Fixture, harness::TempCluster) {
    let (cluster, config, dir) =
        common::logging_target(&[("log_min_duration_statement", "100")]).await;
    (common::fixture_from(config, dir).await, cluster)
}

/// Polls `path` until its entries satisfy `check`.
async fn eventually(c: &Caller, path: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, v) = c.json(path).await;
        assert_eq!(status, 200, "{v}");
        if check(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "not within 30 s: {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_log_by_role_filtered_paged_and_refused() {
    let (f, cluster) = logging_fixture().await;
    let ana = Caller::signed_in(&f.base, "ana", PASSWORD).await;
    let dora = Caller::signed_in(&f.base, "dora", PASSWORD).await;
    // The tailer has started at the end of the log.
    eventually(&ana, "/api/logs?target=main", |v| {
        v["source"]["reading"] == true
    })
    .await;
    let mut app = PgConnection::connect(&cluster.url("postgres"))
        .await
        .unwrap();
    for _ in 0..3 {
        let _ = app
            .execute("select * from \"<script>alert(1)</script>\" where secret = 'hunter2'")
            .await;
    }
    let _ = app.execute("select pg_sleep(0.12), 'slow one'").await;
    let path = "/api/logs?target=main&kind=error&text=alert(1)";
    let v = eventually(&ana, path, |v| {
        v["entries"].as_array().is_some_and(|e| e.len() == 3)
    })
    .await;
    let e = &v["entries"][0];
    assert_eq!(e["severity"], "ERROR");
    assert_eq!(e["sqlstate"], "42P01");
    assert_eq!(e["kind"], "error");
    assert_eq!(e["user"], "postgres");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("<script>alert(1)</script>")
    );
    // An analyst sees the statement as the Queries page would: no constants.
    assert_eq!(v["full_statements"], false);
    let st = e["statement"].as_str().unwrap();
    assert!(
        st.contains("secret = $1") && !st.contains("hunter2"),
        "{st}"
    );
    let (_, full) = dora.json(path).await;
    assert_eq!(full["full_statements"], true);
    assert!(
        full["entries"][0]["statement"]
            .as_str()
            .unwrap()
            .contains("hunter2")
    );
    // Errors grouped by pattern; the histogram counts them.
    assert!(
        v["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["count"] == 3),
        "{v}"
    );
    assert!(
        v["histogram"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["kind"] == "error")
    );

    // The slow statement, by kind and by severity.
    eventually(&ana, "/api/logs?target=main&kind=slow", |v| {
        v["entries"].as_array().is_some_and(|e| {
            e.iter()
                .any(|x| x["duration_ms"].as_f64().is_some_and(|d| d >= 120.0))
        })
    })
    .await;
    let (_, errors_only) = ana.json("/api/logs?target=main&severity=ERROR").await;
    assert!(
        errors_only["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["severity"] == "ERROR")
    );

    // Keyset paging: one at a time, no repeats, until the end.
    let mut seen = Vec::new();
    let mut next = String::from("/api/logs?target=main&kind=error&limit=1");
    loop {
        let (status, page) = ana.json(&next).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(
            page["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_i64().unwrap()),
        );
        match page["next_before"].as_str() {
            Some(b) => next = format!("/api/logs?target=main&kind=error&limit=1&before={b}"),
            None => break,
        }
        assert!(seen.len() < 50);
    }
    let n = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!((seen.len(), n >= 3), (n, true));

    // Bad input: 400 naming the parameter, unknown target 404, anonymous 401.
    for (query, name) in [
        ("severity=LOUD", "severity"),
        ("kind=nonsense", "kind"),
        ("before=yesterday", "before"),
        ("limit=0", "limit"),
        ("since=tuesday", "since"),
        ("pid=-4", "pid"),
    ] {
        let (status, v) = ana.json(&format!("/api/logs?target=main&{query}")).await;
        assert_eq!(status, 400, "{query}: {v}");
        assert!(v.to_string().contains(name), "{query}: {v}");
    }
    let (status, _) = ana.json("/api/logs?target=nope").await;
    assert_eq!(status, 404);
    let (status, _) = Caller::anonymous(&f.base)
        .json("/api/logs?target=main")
        .await;
    assert_eq!(status, 401);

    // The page renders database strings as text.
    let html = ana
        .get("/logs?target=main&kind=error&text=alert(1)")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("data-testid=\"logs-entry\""),
        "no entries rendered"
    );
    assert!(
        !html.contains("<script>alert(1)</script>"),
        "a log string was rendered as HTML"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    f.server.stop().await;
}
