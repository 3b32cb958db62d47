//! Several instances on one PostgreSQL store, over real HTTP on the real router: a cookie made on
//! one is valid on the other and a sign-out on one ends it on both; failed sign-ins on both count
//! against one limit; `GET /api/cluster` (admin only) and the Cluster page list every instance
//! with its state, and `pgpanel check-config` the same; two instances migrate a fresh store at
//! once; an older pgpanel refuses a store a newer one has migrated.

use crate::common;

use crate::common::{Caller, Fixture, PASSWORD, fixture_from, test_config};
use harness::{ClusterOptions, TempCluster};
use server::serve::start_with_clock;

/// A throwaway PostgreSQL for the store.
async fn store_server() -> TempCluster {
    TempCluster::start_async(ClusterOptions::bare())
        .await
        .expect("cluster")
}

/// The first instance on `url`, with the test users.
async fn first(url: &str) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    fixture_from(test_config(dir.path(), Some(url.to_owned())), dir).await
}

/// Another instance on the same store (its users are the first's).
async fn another(url: &str) -> (server::serve::RunningServer, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = test_config(dir.path(), Some(url.to_owned()));
    let clock = app::clock::Clock::manual(time::OffsetDateTime::now_utc());
    let server = start_with_clock(&config, clock).await.expect("start");
    let base = format!("http://{}", server.addr);
    (server, base, dir)
}

/// `caller`'s cookie, used on the instance at `base`.
fn on(base: &str, caller: &Caller) -> Caller {
    Caller {
        base: base.to_owned(),
        cookie: caller.cookie.clone(),
        http: common::client(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_share_sessions_sign_outs_and_failed_sign_ins() {
    let pg = store_server().await;
    let url = pg.url("postgres");
    let a = first(&url).await;
    let (b, b_base, _b_dir) = another(&url).await;

    // Signed in on A: the same cookie works on B.
    let ana = Caller::signed_in(&a.base, "ana", PASSWORD).await;
    let (status, me) = on(&b_base, &ana).json("/api/auth/me").await;
    assert_eq!((status, me["username"].as_str()), (200, Some("ana")));

    // Signed out on B: ended on A too.
    let res = on(&b_base, &ana).post("/api/auth/logout", &[]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(ana.get("/api/auth/me").await.status(), 401);
    assert_eq!(on(&b_base, &ana).get("/api/auth/me").await.status(), 401);

    // Ten wrong passwords for dora, five on each: the account is locked on both, even for the
    // right password.
    for i in 0..10 {
        let base = if i % 2 == 0 { &a.base } else { &b_base };
        let res = Caller::anonymous(base)
            .post(
                "/api/auth/login",
                &[("username", "dora"), ("password", "not her password")],
            )
            .await;
        assert_eq!(res.status(), 401, "attempt {i}");
    }
    for base in [&a.base, &b_base] {
        let res = Caller::anonymous(base)
            .post(
                "/api/auth/login",
                &[("username", "dora"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(res.status(), 429, "{base}");
    }
    b.stop().await;
    a.server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cluster_lists_every_instance_with_its_state_for_admins_only() {
    let pg = store_server().await;
    let url = pg.url("postgres");
    let a = first(&url).await;
    let (b, b_base, _b_dir) = another(&url).await;
    let a_id = a.server.state.instance.id.clone();
    let b_id = b.state.instance.id.clone();
    assert_ne!(a_id, b_id);

    let root = Caller::signed_in(&a.base, "root", PASSWORD).await;
    let (status, view) = root.json("/api/cluster").await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["store"], "postgres");
    let instances = view["instances"].as_array().expect("instances");
    assert_eq!(instances.len(), 2, "{view}");
    for i in instances {
        assert_eq!(i["state"], "running", "{i}");
        assert_eq!(i["version"], env!("CARGO_PKG_VERSION"));
        assert!(i["heartbeat_age_ms"].as_i64().expect("age") < 15_000, "{i}");
        assert_eq!(i["this"], i["id"] == a_id.as_str(), "{i}");
    }
    // B answers with itself as "this".
    let (_, from_b) = on(&b_base, &root).json("/api/cluster").await;
    assert!(
        from_b["instances"]
            .as_array()
            .expect("instances")
            .iter()
            .any(|i| i["id"] == b_id.as_str() && i["this"] == true)
    );

    // Not for a dba nor an analyst; not without a session.
    for user in ["dora", "ana"] {
        let c = Caller::signed_in(&a.base, user, PASSWORD).await;
        assert_eq!(c.get("/api/cluster").await.status(), 403, "{user}");
        assert_eq!(c.get("/cluster").await.status(), 403, "{user}");
    }
    assert_eq!(
        Caller::anonymous(&a.base)
            .get("/api/cluster")
            .await
            .status(),
        401
    );

    // The page, rendered on the server.
    let res = root.get("/cluster").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.expect("html");
    assert!(
        html.contains(&a_id) && html.contains(&b_id),
        "both instances listed"
    );
    assert!(html.contains("2 instances running on this PostgreSQL store"));

    // An instance that stopped cleanly says so at once; one that stopped beating is lost.
    b.stop().await;
    let lost = "0123456789ab";
    let store = &a.server.state.store;
    store
        .register_instance(
            lost,
            "0.0.1",
            "gone-host",
            "10.0.0.9:3000",
            &["main".into()],
        )
        .await
        .expect("register");
    sqlx::query("update instances set heartbeat_at_ms = heartbeat_at_ms - 60000 where id = $1")
        .bind(lost)
        .execute(store.pool())
        .await
        .expect("age the heartbeat");
    let (_, view) = root.json("/api/cluster").await;
    let state_of = |id: &str| {
        view["instances"]
            .as_array()
            .expect("instances")
            .iter()
            .find(|i| i["id"] == id)
            .map(|i| i["state"].as_str().unwrap_or_default().to_owned())
    };
    assert_eq!(state_of(&a_id).as_deref(), Some("running"));
    assert_eq!(state_of(&b_id).as_deref(), Some("stopped"));
    assert_eq!(state_of(lost).as_deref(), Some("lost"));

    // check-config reads the same, without changing the store.
    let listed = server::cluster_cli::instances(&url).await;
    assert!(listed.contains("3 instances known"), "{listed}");
    assert!(
        listed.contains(&format!("{a_id} running")) && listed.contains(&format!("{b_id} stopped")),
        "{listed}"
    );
    assert!(
        listed.contains("lost") && listed.contains("samples main"),
        "{listed}"
    );
    let unreachable = server::cluster_cli::instances("postgres://x:y@127.0.0.1:1/none").await;
    assert!(unreachable.contains("cannot be reached"), "{unreachable}");
    a.server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fresh_store_migrates_once_and_an_older_pgpanel_refuses_a_newer_one() {
    let pg = store_server().await;
    let url = pg.url("postgres");
    // Two instances starting at once on a fresh store.
    let (one, two) = tokio::join!(app::store::Store::open(&url), app::store::Store::open(&url));
    let (one, two) = (one.expect("first"), two.expect("second"));
    let applied: i64 = sqlx::query_scalar("select count(*) from _sqlx_migrations where success")
        .fetch_one(one.pool())
        .await
        .expect("count");
    let files = std::fs::read_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../migrations/postgres"
    ))
    .expect("migrations")
    .count();
    assert_eq!(applied, i64::try_from(files).expect("count"));
    two.close().await;

    // A newer pgpanel added migration 9999: this one refuses to start, saying why.
    sqlx::query(
        "insert into _sqlx_migrations (version, description, success, checksum, execution_time) \
         values (9999, 'from a newer pgpanel', true, '\\x00'::bytea, 0)",
    )
    .execute(one.pool())
    .await
    .expect("a newer migration");
    one.close().await;
    let err = app::store::Store::open(&url).await.expect_err("refused");
    let message = err.to_string();
    assert!(
        message.contains("newer than this pgpanel") && message.contains("9999"),
        "{message}"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let config = test_config(dir.path(), Some(url.clone()));
    let clock = app::clock::Clock::manual(time::OffsetDateTime::now_utc());
    let refused = start_with_clock(&config, clock)
        .await
        .err()
        .expect("refused");
    assert!(
        refused.to_string().contains("newer than this pgpanel"),
        "{refused}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn job_ids_are_shared_and_only_a_gone_instances_running_jobs_are_failed() {
    use app::features::maintenance::jobs::ORPHAN_REASON;
    use app::features::maintenance::model::JobState;

    let pg = store_server().await;
    let url = pg.url("postgres");
    let a = first(&url).await;
    let (b, _b_base, _b_dir) = another(&url).await;
    let (sa, sb) = (&a.server.state.store, &b.state.store);

    // One sequence for both: never the same id twice.
    let mut ids = Vec::new();
    for store in [sa, sb, sa, sb] {
        ids.push(
            store
                .next_job_id()
                .await
                .expect("id")
                .expect("postgres hands out ids"),
        );
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");

    // A job running on B (alive), one whose instance stopped beating, one whose instance
    // stopped cleanly.
    let lost = "lost00000001";
    sa.register_instance(lost, "0.0.1", "gone-host", "10.0.0.9:3000", &[])
        .await
        .expect("register");
    sqlx::query("update instances set heartbeat_at_ms = heartbeat_at_ms - 60000 where id = $1")
        .bind(lost)
        .execute(sa.pool())
        .await
        .expect("age");
    let (on_b, on_lost, on_stopped) = (ids[3] + 1, ids[3] + 2, ids[3] + 3);
    sb.save_job(
        &common::running_job(on_b, &format!("t{on_b}")),
        &b.state.instance.id,
    )
    .await
    .expect("save");
    sb.save_job(&common::running_job(on_lost, &format!("t{on_lost}")), lost)
        .await
        .expect("save");
    let (c, _c_base, _c_dir) = another(&url).await;
    sb.save_job(
        &common::running_job(on_stopped, &format!("t{on_stopped}")),
        &c.state.instance.id,
    )
    .await
    .expect("save");
    let c_id = c.state.instance.id.clone();
    c.stop().await;

    // Within two heartbeats the gone instances' jobs are failed (and audited); B's runs on.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let jobs = loop {
        let jobs = sa.recent_jobs("main", 100).await.expect("jobs");
        let state_of = |id: i64| jobs.iter().find(|j| j.id == id).map(|j| j.state);
        if state_of(on_lost) == Some(JobState::Failed)
            && state_of(on_stopped) == Some(JobState::Failed)
        {
            break jobs;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not failed in 15 s: {jobs:?} ({c_id})"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    let of = |id: i64| jobs.iter().find(|j| j.id == id).expect("job");
    assert_eq!(
        of(on_b).state,
        JobState::Running,
        "B is alive: its job runs on"
    );
    assert_eq!(of(on_lost).error.as_deref(), Some(ORPHAN_REASON));
    let audited = common::audit(&a).await;
    for id in [on_lost, on_stopped] {
        assert!(
            audited
                .iter()
                .any(|e| e.error.as_deref() == Some(ORPHAN_REASON)
                    && e.parameters
                        .as_deref()
                        .is_some_and(|p| p.contains(&format!("\"job\":{id}")))),
            "job {id} audited"
        );
    }
    b.stop().await;
    a.server.stop().await;
}
