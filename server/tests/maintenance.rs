//! VACUUM, ANALYZE and REINDEX over HTTP on the real router and a throwaway cluster: each job
//! reaches exactly the object named (identifier torture table), runs in the background with
//! progress, can be cancelled, gives up on a held lock naming the holder, is refused for the
//! wrong role, a forged request, bad options, unknown objects and a duplicate, and is audited;
//! a job left running by a stopped pgpanel is marked failed.

use crate::common;

use std::str::FromStr;
use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Executor, PgConnection};

use crate::common::{Caller, PASSWORD, actions_fixture, audit};
use app::features::maintenance::jobs::{Jobs, ORPHAN_REASON};
use app::features::maintenance::model::JobState;

const DB: &str = "Shop ü \"db\"";

/// (schema, table) pairs that a statement assembled by hand would get wrong.
fn torture() -> Vec<(String, String)> {
    let long = format!("{}ü{}", "a".repeat(60), "b"); // 63 bytes
    assert_eq!(long.len(), 63);
    vec![
        ("public".into(), "plain".into()),
        ("public".into(), "Plain".into()),
        ("public".into(), "a.b".into()),
        ("a".into(), "b".into()),
        ("public".into(), "t; vacuum full plain; --".into()),
        ("odd \"schema\"".into(), "Tbl ü 'q' \"x\"".into()),
        ("public".into(), long),
    ]
}

async fn connect(cluster: &harness::TempCluster, db: &str) -> PgConnection {
    PgConnectOptions::from_str(&cluster.url("postgres"))
        .unwrap()
        .database(db)
        .connect()
        .await
        .unwrap()
}

/// (vacuum_count, analyze_count) of every torture table.
async fn counts(db: &mut PgConnection) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    for (schema, table) in torture() {
        let row: (i64, i64) = sqlx::query_as(
            "select vacuum_count, analyze_count from pg_stat_all_tables \
             where schemaname = $1 and relname = $2",
        )
        .bind(&schema)
        .bind(&table)
        .fetch_one(&mut *db)
        .await
        .unwrap();
        out.push(row);
    }
    out
}

async fn post(c: &Caller, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    common::body(c.post(path, form).await).await
}

/// Waits until job `id` is no longer running; returns it as the jobs endpoint lists it.
async fn finished(c: &Caller, id: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, jobs) = c.json("/api/actions/jobs?target=main").await;
        assert_eq!(status, 200, "{jobs}");
        let job = jobs
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["id"] == id)
            .cloned()
            .expect("job listed");
        if job["state"] != "running" {
            return job;
        }
        assert!(Instant::now() < deadline, "job {id} never ended: {job}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn jobs_reach_exactly_the_object_named() {
    let (f, cluster) = actions_fixture().await;
    let mut su = connect(&cluster, "postgres").await;
    su.execute(
        format!(
            "create database \"{}\" owner postgres",
            DB.replace('"', "\"\"")
        )
        .as_str(),
    )
    .await
    .unwrap();
    let mut db = connect(&cluster, DB).await;
    db.execute(
        "grant app_user to pgpanel_action; \
         create schema a authorization app_user; \
         create schema \"odd \"\"schema\"\"\" authorization app_user; \
         grant create on schema public to app_user; \
         create table root_owned (id int)",
    )
    .await
    .unwrap();
    db.execute("set role app_user").await.unwrap();
    for (schema, table) in torture() {
        let sql: String = sqlx::query_scalar(
            "select format('create table %I.%I (id int primary key, v text); \
                            insert into %I.%I select g, g::text from generate_series(1, 50) g', \
                           $1::text, $2::text, $1::text, $2::text)",
        )
        .bind(&schema)
        .bind(&table)
        .fetch_one(&mut db)
        .await
        .unwrap();
        db.execute(sql.as_str()).await.unwrap();
    }
    db.execute("create index \"Idx; ü \"\"q\"\"\" on \"a\".\"b\" (v); reset role")
        .await
        .unwrap();
    let dora = Caller::signed_in(&f.base, "dora", PASSWORD).await;
    let ana = Caller::signed_in(&f.base, "ana", PASSWORD).await;

    // Each torture table: VACUUM reaches it and nothing else.
    for (i, (schema, table)) in torture().iter().enumerate() {
        let before = counts(&mut db).await;
        let (status, job) = post(
            &dora,
            "/api/actions/vacuum",
            &[
                ("target", "main"),
                ("database", DB),
                ("schema", schema),
                ("table", table),
                ("analyze", "true"),
            ],
        )
        .await;
        assert_eq!(status, 200, "{schema}.{table}: {job}");
        let job = finished(&dora, job["id"].as_i64().unwrap()).await;
        assert_eq!(job["state"], "succeeded", "{job}");
        let quoted: String = sqlx::query_scalar("select format('%I.%I', $1::text, $2::text)")
            .bind(schema)
            .bind(table)
            .fetch_one(&mut db)
            .await
            .unwrap();
        assert_eq!(job["sql"], format!("VACUUM (ANALYZE) {quoted};"));
        let after = counts(&mut db).await;
        for (j, (b, a)) in before.iter().zip(&after).enumerate() {
            let hit = i == j;
            assert_eq!(
                a.0 - b.0,
                hit as i64,
                "vacuum of {table:?} touched table {j}"
            );
        }
    }
    // ANALYZE and REINDEX on odd names.
    let (status, job) = post(
        &dora,
        "/api/actions/analyze",
        &[
            ("target", "main"),
            ("database", DB),
            ("schema", "odd \"schema\""),
            ("table", "Tbl ü 'q' \"x\""),
        ],
    )
    .await;
    assert_eq!(status, 200, "{job}");
    assert_eq!(
        finished(&dora, job["id"].as_i64().unwrap()).await["state"],
        "succeeded"
    );
    let (status, job) = post(
        &dora,
        "/api/actions/reindex",
        &[
            ("target", "main"),
            ("database", DB),
            ("schema", "a"),
            ("index", "Idx; ü \"q\""),
        ],
    )
    .await;
    assert_eq!(status, 200, "{job}");
    assert_eq!(
        job["sql"],
        "REINDEX INDEX CONCURRENTLY a.\"Idx; ü \"\"q\"\"\";"
    );
    let done = finished(&dora, job["id"].as_i64().unwrap()).await;
    assert_eq!(done["state"], "succeeded", "{done}");

    // Refused with nothing run: wrong role, forged origin, bad input, unknown objects.
    let before = counts(&mut db).await;
    let plain = |extra: &[(&'static str, &'static str)]| {
        let mut form = vec![
            ("target", "main"),
            ("database", DB),
            ("schema", "public"),
            ("table", "plain"),
        ];
        form.extend_from_slice(extra);
        form
    };
    assert_eq!(post(&ana, "/api/actions/vacuum", &plain(&[])).await.0, 403);
    assert_eq!(
        post(
            &Caller::anonymous(&f.base),
            "/api/actions/vacuum",
            &plain(&[])
        )
        .await
        .0,
        401
    );
    let forged = dora
        .post_with(
            "/api/actions/vacuum",
            &plain(&[]),
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(forged.status().as_u16(), 403);
    let too_long = format!("{}ü{}zzz", "a".repeat(60), "b");
    for (form, want) in [
        (plain(&[("index_cleanup", "maybe")]), 400),
        (plain(&[("parallel", "-1")]), 400),
        (plain(&[("parallel", "1; drop table plain")]), 400),
        (plain(&[("verbose", "true")]), 400),
        (plain(&[("full", "true"), ("parallel", "2")]), 400),
        (plain(&[("full", "true")]), 400), // no typed confirmation
        (plain(&[("full", "true"), ("confirm", "plain")]), 400),
        (
            vec![
                ("target", "main"),
                ("database", DB),
                ("schema", "public"),
                ("table", "PLAIN"),
            ],
            404,
        ),
        (
            vec![
                ("target", "main"),
                ("database", DB),
                ("schema", "public"),
                ("table", &too_long),
            ],
            404,
        ),
        (
            vec![
                ("target", "main"),
                ("database", "nope"),
                ("schema", "public"),
                ("table", "plain"),
            ],
            404,
        ),
        (
            vec![
                ("target", "nope"),
                ("database", DB),
                ("schema", "public"),
                ("table", "plain"),
            ],
            404,
        ),
        (
            vec![
                ("target", "noact"),
                ("database", DB),
                ("schema", "public"),
                ("table", "plain"),
            ],
            409,
        ),
        (
            vec![
                ("target", "main"),
                ("database", DB),
                ("schema", "public"),
                ("table", "root_owned"),
            ],
            403,
        ),
        (
            vec![
                ("target", "main"),
                ("database", DB),
                ("schema", "public"),
                ("table", ""),
            ],
            400,
        ),
    ] {
        let (status, body) = post(&dora, "/api/actions/vacuum", &form).await;
        assert_eq!(status, want, "{form:?}: {body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    assert_eq!(counts(&mut db).await, before, "nothing ran");

    // VACUUM FULL with the typed name runs.
    let (status, job) = post(
        &dora,
        "/api/actions/vacuum",
        &plain(&[("full", "true"), ("confirm", "public.plain")]),
    )
    .await;
    assert_eq!(status, 200, "{job}");
    assert_eq!(job["sql"], "VACUUM (FULL) public.plain;");
    assert_eq!(
        finished(&dora, job["id"].as_i64().unwrap()).await["state"],
        "succeeded"
    );

    // The preview: the statement, its lock, and who it conflicts with now.
    let mut holder = connect(&cluster, DB).await;
    holder
        .execute("begin; lock table public.plain in share mode")
        .await
        .unwrap();
    let holder_pid: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&mut holder)
        .await
        .unwrap();
    let q = |s: &str| {
        s.replace('%', "%25")
            .replace(' ', "%20")
            .replace('"', "%22")
    };
    let (status, p) = dora
        .json(&format!(
            "/api/actions/preview?target=main&action=vacuum&database={}&schema=public&name=plain&full=true",
            q(DB)
        ))
        .await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["lock_mode"], "ACCESS EXCLUSIVE");
    assert_eq!(p["confirm"], "public.plain");
    assert_eq!(p["conflicts"][0]["pid"], holder_pid);
    assert_eq!(p["conflicts"][0]["mode"], "ShareLock");
    assert_eq!(
        ana.json(&format!(
            "/api/actions/preview?target=main&action=vacuum&database={}&schema=public&name=plain",
            q(DB)
        ))
        .await
        .0,
        403
    );

    // A held lock: the job gives up after lock_timeout and names the holder.
    let (status, job) = post(&dora, "/api/actions/vacuum", &plain(&[])).await;
    assert_eq!(status, 200, "{job}");
    let done = finished(&dora, job["id"].as_i64().unwrap()).await;
    assert_eq!(done["state"], "failed", "{done}");
    assert_eq!(done["sqlstate"], "55P03");
    let error = done["error"].as_str().unwrap();
    assert!(
        error.contains(&format!("object is locked by pid {holder_pid}")),
        "{error}"
    );
    holder.execute("rollback").await.unwrap();

    // The Maintenance page's read: every torture table, sortable, for analysts too.
    let path = |extra: &str| {
        format!(
            "/api/maintenance/tables?target=main&database={}{extra}",
            q(DB)
        )
    };
    let (status, t) = ana.json(&path("&order=name")).await;
    assert_eq!(status, 200, "{t}");
    assert!(t["databases"].as_array().unwrap().iter().any(|d| d == DB));
    // (schema, name) of each table of an answer, in its order.
    let names_of = |answer: &serde_json::Value| -> Vec<(String, String)> {
        answer["tables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["schema"].as_str().unwrap().to_owned(),
                    r["name"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let names = names_of(&t);
    for want in torture() {
        assert!(names.contains(&want), "{want:?} not in {names:?}");
    }
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "order=name");
    assert_eq!(t["total"].as_u64(), Some(names.len() as u64), "{t}");
    // The page asks for the first tables only: the first in the order, and how many there are.
    let (status, first) = ana.json(&path("&order=name&limit=2")).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["total"].as_u64(), Some(names.len() as u64));
    assert_eq!(names_of(&first), names[..2]);
    for bad in ["0", "-1", "two", "1000001"] {
        let (status, body) = ana.json(&path(&format!("&limit={bad}"))).await;
        assert_eq!(status, 400, "limit={bad}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains("limit"),
            "{body}"
        );
    }
    let plain_row = t["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "plain")
        .unwrap();
    assert!(plain_row["last_vacuum_ms"].is_i64(), "{plain_row}");
    assert!(plain_row["xid_age"].is_i64());
    assert_eq!(ana.json(&path("&order=bogus")).await.0, 400);
    assert_eq!(
        ana.json("/api/maintenance/tables?target=main&database=nope")
            .await
            .0,
        404
    );
    assert_eq!(Caller::anonymous(&f.base).json(&path("")).await.0, 401);

    // Audit: intent, then outcome; refusals; the lock failure says who held the lock.
    let all = audit(&f).await;
    let vacuums: Vec<_> = all.iter().filter(|e| e.action == "vacuum").collect();
    for outcome in ["intent", "success", "refused", "failure"] {
        assert!(
            vacuums.iter().any(|e| e.outcome == outcome),
            "no {outcome} in {vacuums:?}"
        );
    }
    let failure = vacuums.iter().find(|e| e.outcome == "failure").unwrap();
    assert!(
        failure.error.as_deref().unwrap().contains("locked by pid"),
        "{failure:?}"
    );
    assert!(failure.parameters.as_deref().unwrap().contains("55P03"));
    assert!(
        all.iter().any(|e| e.outcome == "denied"
            && e.object.as_deref() == Some("POST /api/actions/vacuum")
            && e.actor.as_deref() == Some("ana")),
        "the analyst's attempt is audited"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn jobs_show_progress_and_can_be_cancelled_or_lost() {
    let (f, cluster) = actions_fixture().await;
    let mut su = connect(&cluster, "postgres").await;
    // A table big enough for seconds of VACUUM once the action login's vacuum is throttled.
    su.execute(
        "grant app_user to pgpanel_action; \
         create table big (id int, pad text) with (autovacuum_enabled = false); \
         alter table big owner to app_user; \
         insert into big select g, repeat('x', 100) from generate_series(1, 300000) g; \
         delete from big where id % 2 = 0; \
         alter role pgpanel_action set vacuum_cost_delay = '10ms'; \
         alter role pgpanel_action set vacuum_cost_limit = 20",
    )
    .await
    .unwrap();
    let dora = Caller::signed_in(&f.base, "dora", PASSWORD).await;
    let form = [
        ("target", "main"),
        ("database", "postgres"),
        ("schema", "public"),
        ("table", "big"),
    ];
    let (status, job) = post(&dora, "/api/actions/vacuum", &form).await;
    assert_eq!(status, 200, "{job}");
    let id = job["id"].as_i64().unwrap();

    // Progress: phase and blocks from pg_stat_progress_vacuum, then an ETA.
    let deadline = Instant::now() + Duration::from_secs(30);
    let progress = loop {
        let (_, jobs) = dora.json("/api/actions/jobs?target=main").await;
        let j = jobs
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["id"] == id)
            .cloned()
            .unwrap();
        assert_eq!(j["state"], "running", "{j}");
        let p = &j["progress"];
        if p["blocks_done"].as_i64().unwrap_or(0) > 0 && p["eta_ms"].is_i64() {
            break p.clone();
        }
        assert!(Instant::now() < deadline, "no progress: {j}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(progress["command"], "VACUUM");
    assert_eq!(progress["phase"], "scanning heap");
    assert!(
        progress["blocks_total"].as_i64().unwrap() > 1000,
        "{progress}"
    );

    // A second job on the same table while it runs: 409.
    let (status, body) = post(&dora, "/api/actions/analyze", &form).await;
    assert_eq!(status, 409, "{body}");

    // Cancel.
    let (status, body) = post(
        &dora,
        "/api/actions/cancel_job",
        &[("target", "main"), ("job", &id.to_string())],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let done = finished(&dora, id).await;
    assert_eq!(done["state"], "cancelled", "{done}");
    assert_eq!(
        post(
            &dora,
            "/api/actions/cancel_job",
            &[("target", "main"), ("job", &id.to_string())]
        )
        .await
        .0,
        404
    );

    // The target lost mid-job: failed, with the reason.
    let (_, job) = post(&dora, "/api/actions/vacuum", &form).await;
    let id = job["id"].as_i64().unwrap();
    let pid = loop {
        let (_, jobs) = dora.json("/api/actions/jobs?target=main").await;
        let j = jobs
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["id"] == id)
            .cloned()
            .unwrap();
        if let Some(pid) = j["pid"].as_i64() {
            break pid;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    sqlx::query("select pg_terminate_backend($1::int)")
        .bind(pid)
        .execute(&mut su)
        .await
        .unwrap();
    let done = finished(&dora, id).await;
    assert_eq!(done["state"], "failed", "{done}");
    assert!(
        done["error"]
            .as_str()
            .unwrap()
            .contains("terminating connection"),
        "{done}"
    );

    // A job left 'running' by a stopped pgpanel is marked failed when pgpanel starts.
    let store = &f.server.state.store;
    let orphan = common::running_job(9_999, "big");
    store.save_job(&orphan, "a-gone-instance").await.unwrap();
    let jobs = Jobs::open(store, 2).await.unwrap();
    let after = store.recent_jobs("main", 100).await.unwrap();
    let marked = after.iter().find(|j| j.id == 9_999).unwrap();
    assert_eq!(marked.state, JobState::Failed);
    assert_eq!(marked.error.as_deref(), Some(ORPHAN_REASON));
    assert!(jobs.running("main", &[]).is_empty());
    assert!(
        audit(&f)
            .await
            .iter()
            .any(|e| e.action == "vacuum" && e.error.as_deref() == Some(ORPHAN_REASON))
    );

    // The store cannot take the intent: 503, and nothing runs.
    let vacuums = || async {
        sqlx::query_scalar::<_, i64>(
            "select vacuum_count + autovacuum_count from pg_stat_all_tables where relname = 'big'",
        )
        .fetch_one(&mut connect(&cluster, "postgres").await)
        .await
        .unwrap()
    };
    let before = vacuums().await;
    sqlx::query(
        "create trigger no_intents before insert on audit_events when new.outcome = 'intent' \
         begin select raise(abort, 'store is read-only'); end",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let (status, body) = post(&dora, "/api/actions/vacuum", &form).await;
    assert_eq!(status, 503, "{body}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(vacuums().await, before, "nothing ran without an intent");
    let (_, jobs) = dora.json("/api/actions/jobs?target=main").await;
    assert!(
        jobs.as_array()
            .unwrap()
            .iter()
            .all(|j| j["state"] != "running"),
        "{jobs}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_standby_refuses_maintenance_with_the_reason() {
    let (f, mut cluster) = actions_fixture().await;
    let mut su = connect(&cluster, "postgres").await;
    su.execute(
        "grant app_user to pgpanel_action; create table t (id int); alter table t owner to app_user",
    )
    .await
    .unwrap();
    drop(su);
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.make_standby().expect("standby");
        cluster
    })
    .await
    .unwrap();
    let mut su = connect(&cluster, "postgres").await;
    let in_recovery: bool = sqlx::query_scalar("select pg_is_in_recovery()")
        .fetch_one(&mut su)
        .await
        .unwrap();
    assert!(in_recovery);
    let dora = Caller::signed_in(&f.base, "dora", PASSWORD).await;
    let form = [
        ("target", "main"),
        ("database", "postgres"),
        ("schema", "public"),
        ("table", "t"),
    ];
    for path in ["/api/actions/vacuum", "/api/actions/analyze"] {
        let (status, body) = post(&dora, path, &form).await;
        assert_eq!(status, 409, "{path}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains("standby"),
            "{body}"
        );
    }
    let all = audit(&f).await;
    assert!(all.iter().any(|e| e.action == "vacuum"
        && e.outcome == "refused"
        && e.error.as_deref().is_some_and(|m| m.contains("standby"))));
}
