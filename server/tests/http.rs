//! The real router over a real store and a real target: pages rendered on the server with the
//! data in the HTML, the JSON API and its error statuses, security headers, health probes,
//! compression, no secret in any answer, and a clean shutdown.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use app::features::auth::model::Role;
use common::{Caller, PASSWORD, add_user};

use sqlx::{Connection, Executor, PgConnection};

use harness::{ClusterOptions, TempCluster};
use server::config::{Config, TargetConfig};
use server::serve::{RunningServer, start};

const MONITOR_PASSWORD: &str = "Monitor-Pass-From-File";

struct Fixture {
    server: RunningServer,
    base: String,
    /// Signed in as an analyst.
    c: Caller,
    cluster: TempCluster,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let cluster = TempCluster::start_async(ClusterOptions::default())
        .await
        .expect("cluster");
    let mut su = PgConnection::connect(&cluster.url("postgres"))
        .await
        .expect("connect");
    for statement in [
        format!("create role pgpanel_monitor login password '{MONITOR_PASSWORD}'"),
        "grant pg_monitor to pgpanel_monitor".into(),
        "create database \"<b>shop</b>\"".into(),
    ] {
        su.execute(statement.as_str()).await.expect("setup");
    }
    su.close().await.expect("close");

    let dir = tempfile::tempdir().expect("tempdir");
    let pw = dir.path().join("monitor.pw");
    std::fs::write(&pw, format!("{MONITOR_PASSWORD}\n")).expect("write");
    let config = Config {
        targets: vec![TargetConfig {
            id: "main".into(),
            name: Some("Main <i>cluster</i>".into()),
            // A wrong password in the URL: the file must win.
            monitor_url: format!(
                "postgres://pgpanel_monitor:wrong-in-url@127.0.0.1:{}/postgres",
                cluster.port()
            ),
            monitor_password_file: Some(pw),
            action_url: None,
            action_password_file: None,
            logs: None,
            log_path: None,
            log_format: None,
            log_line_prefix: None,
            audit_tables: Vec::new(),
        }],
        ..common::test_config(dir.path(), None)
    };
    let server = start(&config).await.expect("start");
    let base = format!("http://{}", server.addr);
    add_user(&server.state, "ana", Role::Analyst).await;
    let c = Caller::signed_in(&base, "ana", PASSWORD).await;
    Fixture {
        server,
        base,
        c,
        cluster,
        _dir: dir,
    }
}

async fn wait_until_up(c: &Caller) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, targets) = c.json("/api/targets").await;
        if targets[0]["status"]["state"] == "up" && !targets[0]["databases"].is_null() {
            return targets;
        }
        assert!(Instant::now() < deadline, "target not up: {targets}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn overview_and_api_over_real_http() {
    let f = fixture().await;
    let targets = wait_until_up(&f.c).await;
    let t = &targets[0];
    assert_eq!(t["id"], "main");
    assert_eq!(t["name"], "Main <i>cluster</i>");
    assert_eq!(t["server"]["role"], "primary");
    assert_eq!(t["server"]["login"], "pgpanel_monitor");
    assert_eq!(t["actions"]["enabled"], false);
    let version = t["server"]["version"].as_str().expect("version").to_owned();
    assert!(version.starts_with(&f.cluster.version().expect("version")));
    let names: Vec<&str> = t["databases"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|d| d["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["<b>shop</b>", "postgres"]);
    // RFC 3339 times in UTC.
    let since = t["status"]["since"].as_str().expect("since");
    assert!(
        time::OffsetDateTime::parse(since, &time::format_description::well_known::Rfc3339).is_ok()
    );
    assert!(since.ends_with('Z'));

    // The page: rendered on the server, data in the HTML, database strings escaped.
    let res = f.c.get("/").await;
    assert_eq!(res.status(), 200);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_owned();
    let html = res.text().await.expect("html");
    assert!(
        html.contains("Main &lt;i&gt;cluster&lt;/i&gt;"),
        "name escaped"
    );
    assert!(
        html.contains("&lt;b&gt;shop&lt;/b&gt;"),
        "database name escaped"
    );
    assert!(!html.contains("<b>shop</b>") && !html.contains("<i>cluster</i>"));
    assert!(html.contains(&format!(
        "PostgreSQL {}",
        version.split(' ').next().expect("v")
    )));
    assert!(html.contains("pgpanel_monitor"));
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .expect("nonce in CSP");
    assert!(!csp.contains("unsafe-inline") && !csp.contains("'unsafe-eval'"));
    let scripts: Vec<&str> = html
        .match_indices("<script")
        .map(|(i, _)| &html[i..i + 80.min(html.len() - i)])
        .collect();
    assert!(!scripts.is_empty());
    for s in scripts {
        assert!(s.contains(&format!("nonce=\"{nonce}\"")), "{s}");
    }
    // A fresh nonce per response.
    let again = f.c.get("/").await;
    assert!(
        !again.headers()["content-security-policy"]
            .to_str()
            .expect("csp")
            .contains(nonce)
    );

    // No secret anywhere.
    for secret in [MONITOR_PASSWORD, "wrong-in-url", f.cluster.password()] {
        assert!(
            !html.contains(secret) && !targets.to_string().contains(secret),
            "{secret} leaked"
        );
    }
    f.server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_headers_probes_and_compression() {
    let f = fixture().await;
    let c = common::client();

    let res = c
        .get(format!("{}/no/such/page", f.base))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 404);
    assert!(res.text().await.expect("body").contains("Page not found"));

    let res = c
        .get(format!("{}/api/nope", f.base))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/json");
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["kind"], "not_found");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("/api/nope")
    );

    let res = f.c.post("/api/targets", &[]).await;
    assert_eq!(res.status(), 405);
    assert_eq!(
        res.json::<serde_json::Value>().await.expect("json")["kind"],
        "method_not_allowed"
    );

    // Unknown query parameters are ignored, not fatal.
    let res = f.c.get("/api/targets?x=1").await;
    assert_eq!(res.status(), 200);

    let res = c
        .get(format!("{}/healthz", f.base))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 200);
    let h = res.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "same-origin");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    assert!(
        h["content-security-policy"]
            .to_str()
            .expect("csp")
            .contains("default-src 'none'")
    );

    let res = c
        .get(format!("{}/readyz", f.base))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 200);
    let ready: serde_json::Value = res.json().await.expect("json");
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["targets_total"], 1);

    let res = c
        .get(format!("{}/", f.base))
        .header("accept-encoding", "gzip")
        .header("cookie", f.c.cookie.clone().expect("cookie"))
        .send()
        .await
        .expect("get");
    assert_eq!(res.headers()["content-encoding"], "gzip");

    // Readiness follows the store, not the targets.
    f.server.state.store.close().await;
    let res = c
        .get(format!("{}/readyz", f.base))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 503);
    f.server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_stops_serving_and_disconnects_from_targets() {
    let f = fixture().await;
    wait_until_up(&f.c).await;
    let count = || async {
        let mut su = PgConnection::connect(&f.cluster.url("postgres"))
            .await
            .expect("connect");
        let n: i64 = sqlx::query_scalar(
            "select count(*) from pg_stat_activity where application_name = 'pgpanel'",
        )
        .fetch_one(&mut su)
        .await
        .expect("count");
        n
    };
    assert!(count().await >= 1);
    let base = f.base.clone();
    let started = Instant::now();
    f.server.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown took {:?}",
        started.elapsed()
    );
    assert!(
        common::client()
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_err()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(count().await, 0, "monitor sessions closed");
}
