//! Cancel and terminate over HTTP on the real router and a throwaway cluster: a DBA's signal
//! reaches exactly the session chosen and is audited (intent, then outcome); an analyst, a
//! forged request, a reused pid, pgpanel's own session, a non-client backend, an unconfirmed
//! superuser session, bad input, a target without an action login and a store that cannot
//! record the intent are all refused with nothing signalled.

use crate::common;

use std::time::{Duration, Instant};

use sqlx::{Connection, Executor, PgConnection};

use crate::common::{Caller, PASSWORD, actions_fixture, audit};
use app::store::AuditEvent;
use harness::TempCluster;

/// A session of `app_user` running a long statement; returns it with its pid and backend_start
/// (as the activity API gives it).
struct Victim {
    pid: i32,
    backend_start: String,
    task: tokio::task::JoinHandle<(PgConnection, Result<(), sqlx::Error>)>,
}

async fn victim(cluster: &TempCluster, su: &mut PgConnection) -> Victim {
    let mut conn = PgConnection::connect(&cluster.url_as("app_user", "app", "postgres"))
        .await
        .unwrap();
    let pid: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let task = tokio::spawn(async move {
        let r = conn.execute("select pg_sleep(600)").await.map(|_| ());
        (conn, r)
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let backend_start: String = loop {
        let row: Option<(String, Option<String>)> = sqlx::query_as(
            "select to_json(backend_start)#>>'{}', state from pg_stat_activity where pid = $1",
        )
        .bind(pid)
        .fetch_optional(&mut *su)
        .await
        .unwrap();
        if let Some((start, Some(state))) = row
            && state == "active"
        {
            break start;
        }
        assert!(Instant::now() < deadline, "victim never ran");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    Victim {
        pid,
        backend_start,
        task,
    }
}

async fn alive(su: &mut PgConnection, pid: i32) -> bool {
    sqlx::query_scalar::<_, bool>("select exists (select 1 from pg_stat_activity where pid = $1)")
        .bind(pid)
        .fetch_one(su)
        .await
        .unwrap()
}

fn events<'a>(all: &'a [AuditEvent], action: &str) -> Vec<&'a AuditEvent> {
    all.iter().filter(|e| e.action == action).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_and_terminate_reach_exactly_the_session_chosen() {
    let (f, cluster) = actions_fixture().await;
    let mut su = PgConnection::connect(&cluster.url("postgres"))
        .await
        .unwrap();
    let dora = Caller::signed_in(&f.base, "dora", PASSWORD).await;
    let ana = Caller::signed_in(&f.base, "ana", PASSWORD).await;
    let v = victim(&cluster, &mut su).await;
    let pid = v.pid.to_string();
    let form = |pid: &str, start: &str| {
        vec![
            ("target", "main".to_owned()),
            ("pid", pid.to_owned()),
            ("backend_start", start.to_owned()),
        ]
    };
    let post = |c: &Caller, path: &'static str, form: Vec<(&'static str, String)>| {
        let c = c.clone();
        async move {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            common::body(c.post(path, &pairs).await).await
        }
    };

    // Refused, nothing signalled: anonymous, an analyst, a forged origin, a reused pid, bad input.
    for path in [
        "/api/actions/cancel_backend",
        "/api/actions/terminate_backend",
    ] {
        let (status, _) = post(
            &Caller::anonymous(&f.base),
            path,
            form(&pid, &v.backend_start),
        )
        .await;
        assert_eq!(status, 401, "{path}");
    }
    let (status, _) = post(
        &ana,
        "/api/actions/terminate_backend",
        form(&pid, &v.backend_start),
    )
    .await;
    assert_eq!(status, 403);
    let forged = dora
        .post_with(
            "/api/actions/terminate_backend",
            &[
                ("target", "main"),
                ("pid", &pid),
                ("backend_start", &v.backend_start),
            ],
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(forged.status().as_u16(), 403);
    let (status, body) = post(
        &dora,
        "/api/actions/terminate_backend",
        form(&pid, "2001-01-01T00:00:00Z"),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(body["message"].as_str().unwrap().contains("pid reused"));
    for (p, start, want) in [
        ("abc", v.backend_start.as_str(), 400),
        ("-4", v.backend_start.as_str(), 400),
        (pid.as_str(), "yesterday", 400),
        ("999999", v.backend_start.as_str(), 404),
    ] {
        let (status, body) = post(&dora, "/api/actions/cancel_backend", form(p, start)).await;
        assert_eq!(status, want, "pid {p}, start {start}: {body}");
    }
    let mut unknown = form(&pid, &v.backend_start);
    unknown[0].1 = "nope".into();
    assert_eq!(
        post(&dora, "/api/actions/cancel_backend", unknown).await.0,
        404
    );
    let mut no_action = form(&pid, &v.backend_start);
    no_action[0].1 = "noact".into();
    let (status, body) = post(&dora, "/api/actions/cancel_backend", no_action).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("no action login")
    );
    assert!(alive(&mut su, v.pid).await);
    assert!(!v.task.is_finished(), "the victim's statement still runs");

    // Cancel: the statement stops, the session stays.
    let (status, body) = post(
        &dora,
        "/api/actions/cancel_backend",
        form(&pid, &v.backend_start),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["signalled"], true);
    // The statement shown and audited is the one sent, with its values.
    let sql = body["sql"].as_str().unwrap();
    assert!(sql.contains("pg_cancel_backend(a.pid)"), "{sql}");
    assert!(sql.contains(&format!("-- $1 = {pid}, ")), "{sql}");
    let (mut conn, result) = v.task.await.unwrap();
    let err = result.expect_err("cancelled");
    assert_eq!(
        err.as_database_error().and_then(|d| d.code()).as_deref(),
        Some("57014")
    );
    assert_eq!(
        sqlx::query_scalar::<_, i32>("select 1")
            .fetch_one(&mut conn)
            .await
            .unwrap(),
        1
    );
    drop(conn);

    // Terminate waits for the backend to be gone.
    let v = victim(&cluster, &mut su).await;
    let pid = v.pid.to_string();
    let (status, body) = post(
        &dora,
        "/api/actions/terminate_backend",
        form(&pid, &v.backend_start),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["gone"], true);
    assert!(!alive(&mut su, v.pid).await);
    assert!(v.task.await.unwrap().1.is_err());

    // Audit: refusals, intent before outcome, the guard's denials.
    let all = audit(&f).await;
    let terminate = events(&all, "terminate_backend");
    let outcomes: Vec<&str> = terminate.iter().map(|e| e.outcome.as_str()).collect();
    assert!(outcomes.contains(&"refused"), "{outcomes:?}");
    let intent = terminate
        .iter()
        .position(|e| e.outcome == "intent")
        .expect("intent");
    let success = terminate
        .iter()
        .position(|e| e.outcome == "success")
        .expect("success");
    // Newest first.
    assert!(success < intent, "the outcome is written after the intent");
    let ok = terminate[success];
    assert_eq!(ok.actor.as_deref(), Some("dora"));
    assert_eq!(ok.target.as_deref(), Some("main"));
    assert_eq!(ok.object.as_deref(), Some(format!("pid {pid}").as_str()));
    assert!(ok.parameters.as_deref().unwrap().contains("app_user"));
    let denied: Vec<&AuditEvent> = all
        .iter()
        .filter(|e| {
            e.outcome == "denied"
                && e.object.as_deref() == Some("POST /api/actions/terminate_backend")
        })
        .collect();
    assert!(
        denied.iter().any(|e| e.actor.as_deref() == Some("ana")),
        "the analyst's attempt is audited"
    );
    assert!(denied.len() >= 2, "and the forged one: {denied:?}");
    assert!(events(&all, "cancel_backend").len() >= 7);
}

#[tokio::test(flavor = "multi_thread")]
async fn own_sessions_workers_and_superusers_are_guarded_and_the_intent_fails_closed() {
    let (f, cluster) = actions_fixture().await;
    let mut su = PgConnection::connect(&cluster.url("postgres"))
        .await
        .unwrap();
    let dora = Caller::signed_in(&f.base, "dora", PASSWORD).await;
    let session_of = |filter: &'static str| {
        let url = cluster.url("postgres");
        async move {
            let mut c = PgConnection::connect(&url).await.unwrap();
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let row: Option<(i32, String)> = sqlx::query_as(&format!(
                    "select pid, to_json(backend_start)#>>'{{}}' from pg_stat_activity where {filter} limit 1"
                ))
                .fetch_optional(&mut c)
                .await
                .unwrap();
                if let Some(r) = row {
                    return r;
                }
                assert!(Instant::now() < deadline, "no session where {filter}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let terminate = |pid: i32, start: String, confirm: Option<String>| {
        let dora = dora.clone();
        async move {
            let pid = pid.to_string();
            let mut form = vec![
                ("target", "main"),
                ("pid", pid.as_str()),
                ("backend_start", start.as_str()),
            ];
            if let Some(c) = confirm.as_deref() {
                form.push(("confirm", c));
            }
            common::body(dora.post("/api/actions/terminate_backend", &form).await).await
        }
    };

    // pgpanel's own monitor session.
    let (own, own_start) = session_of("application_name = 'pgpanel'").await;
    let (status, body) = terminate(own, own_start, None).await;
    assert_eq!(status, 403, "{body}");
    assert!(alive(&mut su, own).await);

    // A background process.
    let (launcher, start) = session_of("backend_type = 'autovacuum launcher'").await;
    let (status, body) = terminate(launcher, start, None).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["message"].as_str().unwrap().contains("autovacuum"));
    assert!(alive(&mut su, launcher).await);

    // A superuser's session: the pid must be typed again; then the action login (not a
    // superuser) is refused by the server itself.
    let me: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&mut su)
        .await
        .unwrap();
    let my_start: String = sqlx::query_scalar(
        "select to_json(backend_start)#>>'{}' from pg_stat_activity where pid = pg_backend_pid()",
    )
    .fetch_one(&mut su)
    .await
    .unwrap();
    let (status, body) = terminate(me, my_start.clone(), None).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("superuser"));
    let (status, body) = terminate(me, my_start.clone(), Some(me.to_string())).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["message"].as_str().unwrap().contains("privilege"));
    assert!(alive(&mut su, me).await);

    // The store cannot record the intent: nothing runs.
    let mut c = PgConnection::connect(&cluster.url_as("app_user", "app", "postgres"))
        .await
        .unwrap();
    let victim_pid: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&mut c)
        .await
        .unwrap();
    let victim_start: String = sqlx::query_scalar(
        "select to_json(backend_start)#>>'{}' from pg_stat_activity where pid = $1",
    )
    .bind(victim_pid)
    .fetch_one(&mut su)
    .await
    .unwrap();
    sqlx::query(
        "create trigger no_intents before insert on audit_events when new.outcome = 'intent' \
         begin select raise(abort, 'store is read-only'); end",
    )
    .execute(f.server.state.store.pool())
    .await
    .unwrap();
    let (status, body) = terminate(victim_pid, victim_start, None).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        alive(&mut su, victim_pid).await,
        "nothing ran without an intent"
    );
    let all = audit(&f).await;
    assert!(
        !events(&all, "terminate_backend")
            .iter()
            .any(|e| e.outcome == "success")
    );
    drop(c);
}

/// A session of `app_user` (or the superuser) left idle in an open transaction.
async fn idle_in_transaction(url: &str) -> (PgConnection, i32, String) {
    let mut c = PgConnection::connect(url).await.unwrap();
    c.execute("begin; select 1").await.unwrap();
    let (pid, start): (i32, String) =
        sqlx::query_as("select pg_backend_pid(), to_json(backend_start)#>>'{}' from pg_stat_activity where pid = pg_backend_pid()")
            .fetch_one(&mut c)
            .await
            .unwrap();
    (c, pid, start)
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_in_transaction_sessions_end_in_bulk_and_only_those() {
    let (f, cluster) = actions_fixture().await;
    let mut su = PgConnection::connect(&cluster.url("postgres"))
        .await
        .unwrap();
    let app = cluster.url_as("app_user", "app", "postgres");
    let (_a, a_pid, a_start) = idle_in_transaction(&app).await;
    let (_b, b_pid, b_start) = idle_in_transaction(&app).await;
    let (_c, c_pid, _) = idle_in_transaction(&app).await;
    let (_s, s_pid, _) = idle_in_transaction(&cluster.url("postgres")).await;
    let busy = victim(&cluster, &mut su).await;
    let dora = Caller::signed_in(&f.base, "dora", PASSWORD).await;
    let ana = Caller::signed_in(&f.base, "ana", PASSWORD).await;
    let post = |c: &Caller, form: Vec<(&'static str, String)>| {
        let c = c.clone();
        async move {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            common::body(c.post("/api/actions/terminate_idle", &pairs).await).await
        }
    };
    let form = |minutes: &str, sessions: Option<String>| {
        let mut f = vec![
            ("target", "main".to_owned()),
            ("older_than_minutes", minutes.to_owned()),
        ];
        if let Some(s) = sessions {
            f.push(("sessions", s));
        }
        f
    };
    // Refused, nothing signalled.
    assert_eq!(post(&ana, form("0", None)).await.0, 403);
    for (m, s) in [
        ("-1", None),
        ("soon", None),
        ("0", Some("12".to_owned())),
        ("0", Some(format!("{a_pid}@yesterday"))),
    ] {
        let (status, body) = post(&dora, form(m, s.clone())).await;
        assert_eq!(status, 400, "{m} {s:?}: {body}");
    }
    for pid in [a_pid, b_pid, c_pid, s_pid, busy.pid] {
        assert!(alive(&mut su, pid).await);
    }
    // Only the sessions listed, and only while they match: b is listed with another start.
    let listed = format!("{a_pid}@{a_start},{b_pid}@2001-01-01T00:00:00Z");
    let (status, body) = post(&dora, form("0", Some(listed))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["terminated"], serde_json::json!([a_pid]));
    assert_eq!(body["skipped"], serde_json::json!([b_pid]));
    assert!(!alive(&mut su, a_pid).await);
    assert!(alive(&mut su, b_pid).await);
    // Too young for 60 minutes: nothing.
    let (status, body) = post(&dora, form("60", None)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["terminated"], serde_json::json!([]));
    // Everyone idle in transaction: b and c, not the superuser's, not the running one.
    let (status, body) = post(&dora, form("0", None)).await;
    assert_eq!(status, 200, "{body}");
    let mut ended: Vec<i64> = body["terminated"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_i64().unwrap())
        .collect();
    ended.sort();
    let mut want = vec![i64::from(b_pid), i64::from(c_pid)];
    want.sort();
    assert_eq!(ended, want, "{body}");
    assert!(
        alive(&mut su, s_pid).await,
        "a superuser's session is left alone"
    );
    assert!(
        alive(&mut su, busy.pid).await,
        "a running session is left alone"
    );
    let shown = body["sql"].as_str().unwrap().to_owned();
    assert!(shown.contains("-- $1 = 0, "));
    // What the DBA is shown is the statement that runs (terminate_idle.sql as sent), and it is
    // what the audit trail records for the intent and the outcome.
    let sent = app::sql::body(app::features::sessions::model::TERMINATE_IDLE_SQL);
    assert!(shown.starts_with(sent.trim_end()), "{shown}");
    let _ = b_start;
    let all = audit(&f).await;
    let bulk = events(&all, "terminate_idle");
    for outcome in ["refused", "intent", "success"] {
        assert!(
            bulk.iter().any(|e| e.outcome == outcome),
            "{outcome}: {bulk:?}"
        );
    }
    let last = bulk.iter().find(|e| e.outcome == "success").unwrap();
    let recorded: serde_json::Value =
        serde_json::from_str(last.parameters.as_deref().unwrap()).unwrap();
    assert_eq!(recorded["sql"].as_str(), Some(shown.as_str()), "{recorded}");
}

/// The actions fixture, a superuser connection to its cluster and the DBA signed in.
async fn dba_on_fixture() -> (common::Fixture, TempCluster, PgConnection, Caller) {
    let (f, cluster) = actions_fixture().await;
    let su = PgConnection::connect(&cluster.url("postgres"))
        .await
        .unwrap();
    let dora = Caller::signed_in(&f.base, "dora", PASSWORD).await;
    (f, cluster, su, dora)
}

/// Cancel reaches a running statement only: on a session idle in transaction the answer says
/// nothing was cancelled (its transaction stays), instead of a bare "sent".
#[tokio::test(flavor = "multi_thread")]
async fn cancelling_an_idle_session_says_there_was_nothing_to_cancel() {
    let (_f, cluster, mut su, dora) = dba_on_fixture().await;
    let (mut idle, pid, start) =
        idle_in_transaction(&cluster.url_as("app_user", "app", "postgres")).await;
    let pid_text = pid.to_string();
    let (status, body) = common::body(
        dora.post(
            "/api/actions/cancel_backend",
            &[
                ("target", "main"),
                ("pid", &pid_text),
                ("backend_start", &start),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.starts_with("Nothing to cancel"), "{message}");
    assert!(message.contains("only Terminate"), "{message}");
    assert!(alive(&mut su, pid).await);
    // Its transaction is still open.
    let still: i32 = sqlx::query_scalar("select 1")
        .fetch_one(&mut idle)
        .await
        .unwrap();
    assert_eq!(still, 1);
}

/// An action login without pg_read_all_stats cannot see another role's session: the refusal
/// names the missing GRANT (403), not "session ended or pid reused"; the Overview's capability
/// list says the same, read by the monitor login.
#[tokio::test(flavor = "multi_thread")]
async fn a_missing_grant_is_named_instead_of_blaming_a_reused_pid() {
    let (f, cluster, mut su, dora) = dba_on_fixture().await;
    let v = victim(&cluster, &mut su).await;
    let pid = v.pid.to_string();
    for path in [
        "/api/actions/cancel_backend",
        "/api/actions/terminate_backend",
    ] {
        let (status, body) = common::body(
            dora.post(
                path,
                &[
                    ("target", "weak"),
                    ("pid", &pid),
                    ("backend_start", &v.backend_start),
                ],
            )
            .await,
        )
        .await;
        assert_eq!(status, 403, "{path}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains("GRANT pg_read_all_stats TO weak_action;"),
            "{message}"
        );
        assert!(!message.contains("reused"), "{message}");
    }
    assert!(alive(&mut su, v.pid).await);
    assert!(!v.task.is_finished(), "nothing was signalled");
    let all = audit(&f).await;
    assert!(events(&all, "terminate_backend").iter().any(|e| {
        e.outcome == "refused"
            && e.error
                .as_deref()
                .is_some_and(|m| m.contains("pg_read_all_stats"))
    }));
    // The target's capabilities say which grant is missing, with the SQL.
    let deadline = Instant::now() + Duration::from_secs(30);
    let cap = loop {
        let (_, targets) = dora.json("/api/targets").await;
        let found = targets
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == "weak")
            .and_then(|t| {
                t["capabilities"]
                    .as_array()?
                    .iter()
                    .find(|c| c["key"] == "action_login")
                    .cloned()
            });
        if let Some(c) = found {
            break c;
        }
        assert!(Instant::now() < deadline, "no action_login capability");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(cap["available"], false, "{cap}");
    assert_eq!(cap["sql"], "GRANT pg_read_all_stats TO weak_action;");
    let (_, targets) = dora.json("/api/targets").await;
    let main = targets
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "main")
        .unwrap();
    assert!(
        main["capabilities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["key"] == "action_login" && c["available"] == true),
        "{main}"
    );
}

/// The bulk tool goes by the TRANSACTION's age: a session that ran a quick statement a moment
/// ago, inside a transaction open for over a minute, is the classic offender (state_change
/// would call it idle for a second).
#[tokio::test(flavor = "multi_thread")]
async fn idle_in_transaction_goes_by_the_age_of_the_transaction() {
    let (_f, cluster, mut su, dora) = dba_on_fixture().await;
    let app = cluster.url_as("app_user", "app", "postgres");
    let (mut old, old_pid, _) = idle_in_transaction(&app).await;
    tokio::time::sleep(Duration::from_secs(61)).await;
    // A statement a moment ago: idle for under a second, transaction open for a minute.
    old.execute("select 2").await.unwrap();
    let (_young, young_pid, _) = idle_in_transaction(&app).await;
    let (status, body) = common::body(
        dora.post(
            "/api/actions/terminate_idle",
            &[("target", "main"), ("older_than_minutes", "1")],
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["terminated"], serde_json::json!([old_pid]), "{body}");
    assert!(body["sql"].as_str().unwrap().contains("a.xact_start <="));
    assert!(!alive(&mut su, old_pid).await);
    assert!(alive(&mut su, young_pid).await, "a young transaction stays");
}

/// The probe's F5: a session of another role that names itself pgpanel is an ordinary client
/// session: marked as only claiming to be pgpanel, terminated on request and by the bulk action.
#[tokio::test(flavor = "multi_thread")]
async fn a_session_that_only_claims_to_be_pgpanel_is_an_ordinary_one() {
    let (f, cluster) = actions_fixture().await;
    let mut su = PgConnection::connect(&cluster.url("postgres"))
        .await
        .unwrap();
    let app = cluster.url_as("app_user", "app", "postgres");
    let pretender = |name: &'static str| {
        let app = app.clone();
        async move {
            let mut c = PgConnection::connect(&app).await.unwrap();
            sqlx::raw_sql(&format!("set application_name = '{name}'; begin; select 1"))
                .execute(&mut c)
                .await
                .unwrap();
            let (pid, start): (i32, String) = sqlx::query_as(
                "select pg_backend_pid(), to_json(backend_start)#>>'{}' from pg_stat_activity where pid = pg_backend_pid()",
            )
            .fetch_one(&mut c)
            .await
            .unwrap();
            (c, pid, start)
        }
    };
    let (_a, a_pid, a_start) = pretender("pgpanel_monitor-fake").await;
    let (_b, b_pid, _) = pretender("pgpanel").await;
    let dora = Caller::signed_in(&f.base, "dora", PASSWORD).await;

    // Activity: not pgpanel's, but marked as claiming to be.
    let deadline = Instant::now() + Duration::from_secs(30);
    let row = loop {
        // 503 until the first sample.
        let (status, body) = dora.json("/api/activity/sessions?target=main").await;
        assert!(status == 200 || status == 503, "{status} {body}");
        let found = body
            .as_array()
            .and_then(|s| s.iter().find(|s| s["pid"] == a_pid).cloned());
        if let Some(row) = found {
            break row;
        }
        assert!(
            Instant::now() < deadline,
            "pid {a_pid} never listed: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(row["pgpanel"], false, "{row}");
    assert_eq!(row["claims_pgpanel"], true, "{row}");

    // Terminated on request.
    let pid = a_pid.to_string();
    let (status, body) = common::body(
        dora.post(
            "/api/actions/terminate_backend",
            &[
                ("target", "main"),
                ("pid", pid.as_str()),
                ("backend_start", a_start.as_str()),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(!alive(&mut su, a_pid).await);

    // And by the bulk action, which still leaves pgpanel's real sessions alone.
    let (status, body) = common::body(
        dora.post(
            "/api/actions/terminate_idle",
            &[("target", "main"), ("older_than_minutes", "0")],
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["terminated"], serde_json::json!([b_pid]), "{body}");
    assert!(!alive(&mut su, b_pid).await);
    let own: i64 = sqlx::query_scalar(
        "select count(*) from pg_stat_activity where application_name = 'pgpanel' and usename = 'pgpanel_action' or application_name = 'pgpanel' and usename = 'postgres'",
    )
    .fetch_one(&mut su)
    .await
    .unwrap();
    assert!(own > 0, "pgpanel's own sessions are still there");
}

/// The probe's F12: ANALYZE refuses VACUUM's options instead of ignoring them, and the preview
/// of a table someone holds locked names who holds it.
#[tokio::test(flavor = "multi_thread")]
async fn analyze_refuses_foreign_options_and_a_locked_table_names_its_holder() {
    let (f, cluster) = actions_fixture().await;
    let mut su = PgConnection::connect(&cluster.url("postgres"))
        .await
        .unwrap();
    sqlx::raw_sql(
        "create table public.victim (id int); alter table public.victim owner to pgpanel_action",
    )
    .execute(&mut su)
    .await
    .unwrap();
    let dora = Caller::signed_in(&f.base, "dora", PASSWORD).await;
    for (k, v) in [
        ("freeze", "true"),
        ("full", "true"),
        ("concurrently", "true"),
    ] {
        let (status, body) = common::body(
            dora.post(
                "/api/actions/analyze",
                &[
                    ("target", "main"),
                    ("database", "postgres"),
                    ("schema", "public"),
                    ("table", "victim"),
                    (k, v),
                ],
            )
            .await,
        )
        .await;
        assert_eq!(status, 400, "{k}: {body}");
        assert!(body["message"].as_str().unwrap().contains(k), "{body}");
    }
    let mut holder = PgConnection::connect(&cluster.url("postgres"))
        .await
        .unwrap();
    sqlx::raw_sql("begin; lock table public.victim in access exclusive mode")
        .execute(&mut holder)
        .await
        .unwrap();
    let holder_pid: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&mut holder)
        .await
        .unwrap();
    let (status, body) = dora
        .json("/api/actions/preview?target=main&action=vacuum&database=postgres&schema=public&name=victim")
        .await;
    assert_eq!(status, 409, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("locked by pid {holder_pid}")),
        "{message}"
    );
    assert!(message.contains("AccessExclusiveLock"), "{message}");
}
