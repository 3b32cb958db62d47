//! The live panels over HTTP on the real router: `/live` delivers frames to several clients at
//! once and refuses the anonymous, unknown targets and topics; `/api/overview`,
//! `/api/activity/sessions`, `/api/queries/top`, `/api/queries/detail` and `/api/fleet` answer
//! from memory and the store, with 400/404 for bad input; HTML in session data stays text.

use crate::common;

use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, PgConnection};

use crate::common::{
    Caller, Fixture, PASSWORD, eventually_json, fixture_from, read_events, test_config,
};
use harness::{ClusterOptions, TempCluster};
use server::config::TargetConfig;

const EVIL: &str = "<img src=x onerror=alert(1)>";

async fn live_fixture() -> (Fixture, TempCluster) {
    let cluster = TempCluster::start_async(ClusterOptions::default())
        .await
        .expect("cluster");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = test_config(dir.path(), None);
    config.monitor.live_interval_ms = 200;
    config.monitor.live_slow_interval_s = 1;
    config.monitor.statements_idle_interval_s = 1;
    config.monitor.probe_interval_ms = 200;
    config.targets = vec![TargetConfig {
        name: Some("Main".into()),
        ..common::monitor_only(cluster.url("postgres"))
    }];
    (fixture_from(config, dir).await, cluster)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_stream_feeds_several_clients_and_refuses_bad_requests() {
    let (f, _cluster) = live_fixture().await;
    let ana = Caller::signed_in(&f.base, "ana", PASSWORD).await;
    eventually_json(&ana, "/api/overview?target=main", |b| {
        b["latest"]["fast"].is_object()
    })
    .await;

    let mut streams = Vec::new();
    for _ in 0..5 {
        let res = ana.get("/live?target=main&topics=overview,activity").await;
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        streams.push(res);
    }
    for res in &mut streams {
        let events = read_events(res, 6).await;
        let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
        assert!(
            names.contains(&"overview") && names.contains(&"activity"),
            "{names:?}"
        );
        let frames: Vec<serde_json::Value> = events
            .iter()
            .filter(|(n, _)| n == "overview")
            .map(|(_, d)| serde_json::from_str(d).expect("json frame"))
            .collect();
        assert!(frames.iter().all(|f| f["target"] == "main"));
        // Frames keep coming: the second overview frame is newer than the first.
        let times: Vec<i64> = frames
            .iter()
            .map(|f| f["at_ms"].as_i64().unwrap())
            .collect();
        assert!(times.windows(2).all(|w| w[1] >= w[0]), "{times:?}");
    }
    assert!(f.server.state.live.hub("main").unwrap().viewers() >= 5);
    // None of them follows the statements topic: pg_stat_statements is on its idle cadence.
    let hub = f.server.state.live.hub("main").unwrap().clone();
    assert!(!hub.statements_watched());
    drop(streams);

    // A Queries page's stream is counted while it is open (the sampler then reads
    // pg_stat_statements every slow tick), and no longer once it is closed.
    let mut queries = ana
        .get("/live?target=main&topics=overview,statements")
        .await;
    assert_eq!(queries.status(), 200);
    read_events(&mut queries, 2).await;
    assert!(hub.statements_watched());
    drop(queries);
    let deadline = Instant::now() + Duration::from_secs(30);
    while hub.statements_watched() {
        assert!(
            Instant::now() < deadline,
            "the closed stream is still counted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let anon = Caller::anonymous(&f.base);
    let res = anon.get("/live?target=main").await;
    assert_eq!(res.status(), 401, "no redirect for the stream");
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["kind"],
        "unauthorized"
    );
    for (path, status) in [
        ("/live?target=nope", 404),
        ("/live?target=main&topics=overview,bloat", 400),
        ("/live", 400),
    ] {
        let res = ana.get(path).await;
        assert_eq!(res.status(), status, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_read_apis_answer_from_memory_and_refuse_bad_input() {
    let (f, cluster) = live_fixture().await;
    let ana = Caller::signed_in(&f.base, "ana", PASSWORD).await;
    let opts: PgConnectOptions = cluster.url("postgres").parse().unwrap();
    let mut held: PgConnection = opts.application_name(EVIL).connect().await.unwrap();
    // Statements run before the sampler's first pg_stat_statements read are its baseline: wait
    // for two reads (the sampler's own statements then show up) before running ours.
    eventually_json(&ana, "/api/queries/top?target=main", |b| {
        b["rows"].as_array().is_some_and(|r| !r.is_empty())
    })
    .await;
    sqlx::query("select count(*) as pgpanel_http_probe from pg_class where relpages >= $1")
        .bind(0)
        .execute(&mut held)
        .await
        .unwrap();

    // Activity: the session with HTML in its name comes back as a JSON string.
    let sessions = eventually_json(&ana, "/api/activity/sessions?target=main", |b| {
        b.as_array()
            .is_some_and(|a| a.iter().any(|s| s["application_name"] == EVIL))
    })
    .await;
    let row = sessions
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["application_name"] == EVIL)
        .unwrap();
    for key in [
        "pid",
        "backend_start",
        "backend_type",
        "datname",
        "usename",
        "client_addr",
        "state",
        "wait_event_type",
        "wait_event",
        "xact_start",
        "query_start",
        "state_change",
        "query",
    ] {
        assert!(row.get(key).is_some(), "{key} missing from {row}");
    }
    let pid = row["pid"].as_i64().unwrap();
    let (_, one) = ana
        .json(&format!("/api/activity/sessions?target=main&pid={pid}"))
        .await;
    assert_eq!(one.as_array().unwrap().len(), 1);
    let (_, idle) = ana
        .json("/api/activity/sessions?target=main&state=idle&user=postgres")
        .await;
    assert!(
        idle.as_array()
            .unwrap()
            .iter()
            .all(|s| s["state"] == "idle")
    );

    // Queries: the statement run above shows with its normalised text.
    let top = eventually_json(
        &ana,
        "/api/queries/top?target=main&window=5m&order=calls",
        |b| {
            b["rows"].as_array().is_some_and(|r| {
                r.iter().any(|s| {
                    s["query"]
                        .as_str()
                        .is_some_and(|q| q.contains("pgpanel_http_probe"))
                })
            })
        },
    )
    .await;
    let probe = top["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["query"]
                .as_str()
                .unwrap_or("")
                .contains("pgpanel_http_probe")
        })
        .unwrap();
    assert_eq!(probe["calls"], 1);
    let queryid = probe["queryid"]
        .as_str()
        .expect("queryid as a string")
        .to_owned();
    let (status, detail) = ana
        .json(&format!(
            "/api/queries/detail?target=main&queryid={queryid}"
        ))
        .await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["points"].as_array().unwrap().len(), 1);

    // Overview and fleet.
    let (status, overview) = ana.json("/api/overview?target=main&range=1h").await;
    assert_eq!(status, 200);
    assert!(!overview["fast"].as_array().unwrap().is_empty());
    assert_eq!(overview["range"], "1h");
    let (status, fleet) = ana.json("/api/fleet").await;
    assert_eq!(status, 200);
    assert_eq!(fleet[0]["target"]["id"], "main");

    for (path, status) in [
        ("/api/overview?target=nope", 404),
        ("/api/overview?target=main&range=2h", 400),
        ("/api/activity/sessions?target=nope", 404),
        ("/api/activity/sessions?target=main&pid=-3", 400),
        ("/api/activity/sessions?target=main&pid=abc", 400),
        ("/api/activity/sessions?target=main&min_duration_ms=-1", 400),
        ("/api/activity/sessions", 400),
        ("/api/queries/top?target=nope", 404),
        ("/api/queries/top?target=main&window=2h", 400),
        ("/api/queries/top?target=main&order=random()", 400),
        ("/api/queries/top?target=main&limit=0", 400),
        ("/api/queries/detail?target=main&queryid=1;drop", 400),
        ("/api/queries/detail?target=main&queryid=42", 404),
    ] {
        let (got, body) = ana.json(path).await;
        assert_eq!(got, status, "{path}: {body}");
        assert!(body["kind"].is_string(), "{path}: {body}");
    }
    for path in [
        "/api/overview?target=main",
        "/api/activity/sessions?target=main",
        "/api/queries/top?target=main",
        "/api/fleet",
    ] {
        let (got, _) = Caller::anonymous(&f.base).json(path).await;
        assert_eq!(got, 401, "{path}");
    }

    // The Activity page is rendered on the server with the name as text, never as markup.
    let html = ana.get("/activity?target=main").await.text().await.unwrap();
    assert!(
        !html.contains(EVIL),
        "raw HTML from the database in the page"
    );
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));

    // The lock graph and its history: from memory and the store, bad input refused.
    let graph = eventually_json(&ana, "/api/locks/graph?target=main", |b| {
        b["waiting"] == 0 && b["error"].is_null()
    })
    .await;
    assert!(graph["nodes"].as_array().is_some_and(Vec::is_empty));
    let (status, history) = ana.json("/api/locks/history?target=main").await;
    assert_eq!(status, 200, "{history}");
    assert!(history.is_array());
    for (path, status) in [
        ("/api/locks/graph?target=nope", 404),
        ("/api/locks/history?target=nope", 404),
        ("/api/locks/history?target=main&from_ms=10&to_ms=5", 400),
        (
            "/api/locks/history?target=main&from_ms=0&to_ms=9999999999999",
            400,
        ),
        ("/api/locks/history?target=main&from_ms=abc", 400),
        ("/api/locks/peak?target=main&started_ms=1", 404),
        ("/api/locks/peak?target=nope&started_ms=1", 404),
        ("/api/locks/peak?target=main&started_ms=abc", 400),
        ("/api/locks/peak?target=main", 400),
    ] {
        let (got, body) = ana.json(path).await;
        assert_eq!(got, status, "{path}: {body}");
    }
    for path in [
        "/api/locks/graph?target=main",
        "/api/locks/peak?target=main&started_ms=1",
    ] {
        let (got, _) = Caller::anonymous(&f.base).json(path).await;
        assert_eq!(got, 401, "{path}");
    }
    let locks = ana.get("/locks?target=main").await.text().await.unwrap();
    assert!(
        locks.contains("No session is waiting on a lock."),
        "rendered on the server"
    );
}
