//! Advice over HTTP on the real router and a throwaway cluster: reading the page's data never
//! analyses (nothing stored → "never analysed"), a DBA's refresh runs the analysis and is
//! audited, analysts and forged requests are refused with nothing run, unknown targets and
//! databases are 404.

use crate::common;

use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::{Connection, Executor, PgConnection};

use crate::common::{Caller, PASSWORD, actions_fixture, audit};

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

/// Polls `GET /api/actions/jobs` until job `id` has ended; returns it.
async fn job_end(c: &Caller, id: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, jobs) = c.json("/api/actions/jobs?target=main").await;
        assert_eq!(status, 200, "{jobs}");
        if let Some(j) = jobs.as_array().unwrap().iter().find(|j| j["id"] == id)
            && j["state"] != "running"
        {
            return j.clone();
        }
        assert!(Instant::now() < deadline, "job {id} still running: {jobs}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn exists(db: &mut PgConnection, relation: &str) -> bool {
    sqlx::query_scalar::<_, bool>("select to_regclass($1) is not null")
        .bind(relation)
        .fetch_one(db)
        .await
        .unwrap()
}

fn find<'a>(a: &'a Value, kind: &str, name: &str) -> &'a Value {
    a["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["kind"] == kind
                && (f["index"] == name || (f["index"].is_null() && f["table"] == name))
        })
        .unwrap_or_else(|| panic!("no {kind} finding for {name}: {a}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_and_measure_run_as_audited_jobs() {
    let (f, cluster) = actions_fixture().await;
    let mut su = PgConnection::connect(&cluster.url("postgres"))
        .await
        .unwrap();
    su.execute("create database \"Shop ü\"").await.unwrap();
    // The harness creates pgstattuple in `postgres`; `bare` has no extension.
    su.execute("create database bare").await.unwrap();
    PgConnection::connect(&cluster.url("bare"))
        .await
        .unwrap()
        .execute(
            "create table pg_side (id int); insert into pg_side select generate_series(1, 100)",
        )
        .await
        .unwrap();
    let mut shop = PgConnection::connect(&cluster.url("Shop ü")).await.unwrap();
    shop.execute(
        "create extension pgstattuple; \
         create table t (id int primary key, k int); \
         insert into t select g, g % 50 from generate_series(1, 100000) g; \
         create index t_k on t (k); create index t_k_copy on t (k); \
         create table u (a int); create index u_a on u (a); create index u_a_copy on u (a); \
         create table holes (id int, pad text) with (autovacuum_enabled = false); \
         insert into holes select g, repeat('x', 120) from generate_series(1, 30000) g; \
         delete from holes where id % 10 < 7; \
         alter table t owner to pgpanel_action; alter table u owner to pgpanel_action; \
         alter table holes owner to pgpanel_action",
    )
    .await
    .unwrap();
    shop.execute("vacuum (analyze) holes").await.unwrap();
    shop.execute("analyze t").await.unwrap();
    let dora = Caller::signed_in(&f.base, "dora", PASSWORD).await;
    let ana = Caller::signed_in(&f.base, "ana", PASSWORD).await;
    let path = "/api/advice?target=main&database=Shop%20%C3%BC";
    for db in ["Shop ü", "postgres", "bare"] {
        let (status, _) = common::body(
            dora.post(
                "/api/advice/refresh",
                &[("target", "main"), ("database", db)],
            )
            .await,
        )
        .await;
        assert_eq!(status, 200);
    }
    let a = wait_analysed(&ana, path).await;
    wait_analysed(&ana, "/api/advice?target=main&database=postgres").await;
    wait_analysed(&ana, "/api/advice?target=main&database=bare").await;

    // GET /api/advice/bloat: every table and btree with its method; sorted and cut as asked.
    let (status, b) = ana
        .json("/api/advice/bloat?target=main&database=Shop%20%C3%BC")
        .await;
    assert_eq!(status, 200, "{b}");
    let rows = b["rows"].as_array().unwrap();
    let t_row = rows
        .iter()
        .find(|r| r["table"] == "t" && r["index"].is_null())
        .expect("t");
    assert_eq!(t_row["method"], "approx", "{t_row}");
    assert!(t_row["bloat_ratio"].as_f64().unwrap() < 0.2, "{t_row}");
    assert!(
        rows.iter()
            .any(|r| r["index"] == "t_pkey" && r["method"] == "exact"),
        "{b}"
    );
    let ratios: Vec<i64> = rows
        .iter()
        .map(|r| r["bloat_bytes"].as_i64().unwrap_or(-1))
        .collect();
    assert!(ratios.windows(2).all(|w| w[0] >= w[1]), "{ratios:?}");
    let (status, one) = ana
        .json("/api/advice/bloat?target=main&database=Shop%20%C3%BC&kind=table&sort=bytes&limit=1")
        .await;
    assert_eq!(status, 200);
    assert_eq!(one["rows"].as_array().unwrap().len(), 1);
    assert!(one["more"].as_u64().unwrap() >= 2, "{one}");
    for bad in ["sort=size'--", "kind=view"] {
        let (status, body) = ana
            .json(&format!("/api/advice/bloat?target=main&{bad}"))
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
    }

    // Apply: refused with nothing run for the anonymous, an analyst, a forged origin, a malformed
    // or unknown id, a finding of another database.
    let dup = find(&a, "duplicate_index", "t_k_copy");
    let id = dup["id"].as_str().unwrap().to_owned();
    let form = [
        ("target", "main"),
        ("database", "Shop ü"),
        ("finding", id.as_str()),
    ];
    let anon = Caller::anonymous(&f.base)
        .post("/api/advice/apply", &form)
        .await;
    assert_eq!(anon.status().as_u16(), 401);
    assert_eq!(
        ana.post("/api/advice/apply", &form).await.status().as_u16(),
        403
    );
    let forged = dora
        .post_with(
            "/api/advice/apply",
            &form,
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(forged.status().as_u16(), 403);
    for (database, finding, want) in [
        ("Shop ü", "duplicate_index-x'; drop table t; --", 400),
        ("Shop ü", "duplicate_index-0000000000000000", 404),
        ("postgres", id.as_str(), 404),
        ("no such db", id.as_str(), 404),
    ] {
        let (status, body) = common::body(
            dora.post(
                "/api/advice/apply",
                &[
                    ("target", "main"),
                    ("database", database),
                    ("finding", finding),
                ],
            )
            .await,
        )
        .await;
        assert_eq!(status, want, "{finding} in {database}: {body}");
    }
    assert!(
        exists(&mut shop, "t_k_copy").await,
        "a refused request dropped the index"
    );

    // A finding that no longer holds (its index went since the analysis): 409, nothing run.
    let gone = find(&a, "duplicate_index", "u_a_copy")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    shop.execute("drop index u_a_copy").await.unwrap();
    let (status, body) = common::body(
        dora.post(
            "/api/advice/apply",
            &[
                ("target", "main"),
                ("database", "Shop ü"),
                ("finding", gone.as_str()),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(body.to_string().contains("no longer holds"), "{body}");
    assert!(exists(&mut shop, "u_a").await);

    // The DBA applies the duplicate's DROP: a job running the finding's own statement.
    let (status, job) = common::body(dora.post("/api/advice/apply", &form).await).await;
    assert_eq!(status, 200, "{job}");
    assert_eq!(job["action"], "apply");
    assert_eq!(job["sql"], "DROP INDEX CONCURRENTLY public.t_k_copy;");
    let end = job_end(&dora, job["id"].as_i64().unwrap()).await;
    assert_eq!(end["state"], "succeeded", "{end}");
    assert!(!exists(&mut shop, "t_k_copy").await);
    assert!(exists(&mut shop, "t_k").await, "the kept index stays");
    // The database is analysed again: the finding goes.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, now) = ana.json(path).await;
        if now["running"] == false
            && !now["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["id"] == id.as_str())
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the applied finding stays: {now}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A rewrite blocks the application: only with the object's name typed as confirmation.
    let rewrite = find(&a, "table_bloat", "holes");
    assert_eq!(rewrite["confirm"], "public.holes", "{rewrite}");
    let rid = rewrite["id"].as_str().unwrap();
    let mut confirm_form = vec![("target", "main"), ("database", "Shop ü"), ("finding", rid)];
    let (status, body) = common::body(dora.post("/api/advice/apply", &confirm_form).await).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("type public.holes"), "{body}");
    confirm_form.push(("confirm", "public.holes"));
    let (status, job) = common::body(dora.post("/api/advice/apply", &confirm_form).await).await;
    assert_eq!(status, 200, "{job}");
    assert_eq!(job["sql"], "VACUUM (FULL, ANALYZE) public.holes;");
    let end = job_end(&dora, job["id"].as_i64().unwrap()).await;
    assert_eq!(end["state"], "succeeded", "{end}");

    // Measure exactly: refused cases, then pgstattuple as a job, replacing the figure.
    for (form, want) in [
        (vec![("schema", "public")], 400),
        (
            vec![("schema", "public"), ("table", "t"), ("index", "t_k")],
            400,
        ),
        (vec![("schema", "public"), ("table", "no such table")], 404),
    ] {
        let mut full = vec![("target", "main"), ("database", "Shop ü")];
        full.extend(form.clone());
        let (status, body) = common::body(dora.post("/api/advice/measure", &full).await).await;
        assert_eq!(status, want, "{form:?}: {body}");
    }
    let measure = [
        ("target", "main"),
        ("database", "Shop ü"),
        ("schema", "public"),
        ("table", "t"),
    ];
    assert_eq!(
        ana.post("/api/advice/measure", &measure)
            .await
            .status()
            .as_u16(),
        403
    );
    let (status, job) = common::body(dora.post("/api/advice/measure", &measure).await).await;
    assert_eq!(status, 200, "{job}");
    assert_eq!(job["action"], "measure");
    assert!(
        job["sql"].as_str().unwrap().contains("pgstattuple("),
        "{job}"
    );
    let end = job_end(&dora, job["id"].as_i64().unwrap()).await;
    assert_eq!(end["state"], "succeeded", "{end}");
    assert!(
        end["result"].as_str().unwrap().contains("every page read"),
        "{end}"
    );
    let (_, b) = ana
        .json("/api/advice/bloat?target=main&database=Shop%20%C3%BC&kind=table")
        .await;
    let t_row = b["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["table"] == "t")
        .unwrap();
    assert_eq!(t_row["method"], "exact", "{t_row}");
    let index = [
        ("target", "main"),
        ("database", "Shop ü"),
        ("schema", "public"),
        ("index", "t_pkey"),
    ];
    let (status, job) = common::body(dora.post("/api/advice/measure", &index).await).await;
    assert_eq!(status, 200, "{job}");
    assert!(
        job["sql"].as_str().unwrap().contains("pgstatindex("),
        "{job}"
    );
    assert_eq!(
        job_end(&dora, job["id"].as_i64().unwrap()).await["state"],
        "succeeded"
    );
    // A database without pgstattuple: 409 naming what to run.
    let (status, body) = common::body(
        dora.post(
            "/api/advice/measure",
            &[
                ("target", "main"),
                ("database", "bare"),
                ("schema", "public"),
                ("table", "pg_side"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body.to_string()
            .contains("CREATE EXTENSION IF NOT EXISTS pgstattuple"),
        "{body}"
    );

    // Audited: intent before and outcome after, each with the statement; the refusals with
    // their reason.
    let events = audit(&f).await;
    let applied: Vec<_> = events
        .iter()
        .filter(|e| e.action == "advice.apply" && e.actor.as_deref() == Some("dora"))
        .collect();
    assert!(
        applied.iter().any(|e| e.outcome == "intent"
            && e.parameters
                .as_deref()
                .unwrap_or("")
                .contains("DROP INDEX CONCURRENTLY public.t_k_copy")),
        "{applied:#?}"
    );
    assert!(
        applied.iter().any(|e| e.outcome == "success"),
        "{applied:#?}"
    );
    assert!(
        applied.iter().any(|e| e.outcome == "refused"
            && e.error.as_deref().unwrap_or("").contains("no longer holds")),
        "{applied:#?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e.action == "advice.measure" && e.outcome == "success"),
        "measure audited"
    );
}
