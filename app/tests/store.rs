//! The store behaves the same on SQLite (default) and PostgreSQL (shared): same migrations, same
//! queries, same results.

use std::time::Duration;

use time::OffsetDateTime;

use app::features::audit::model::{Action, Outcome};
use app::features::auth::model::Role;
use app::features::logs::model::Kind;
use app::features::targets::model::{DatabaseSize, DatabaseSizes};
use app::store::{
    AttemptsOf, AuditEvent, AuditQuery, Backend, LogCursor, LogQuery, LoginRecord, MinuteDelta,
    NewLogEntry, Store, StoreError, TextPlan, UserChange,
};
use harness::{ClusterOptions, TempCluster};

fn sizes(at: OffsetDateTime, items: &[(&str, Option<i64>)]) -> DatabaseSizes {
    DatabaseSizes {
        measured_at: at,
        items: items
            .iter()
            .map(|(n, s)| DatabaseSize {
                name: (*n).into(),
                size_bytes: *s,
            })
            .collect(),
    }
}

async fn exercise(store: &Store) {
    store.ping().await.expect("ping");
    assert_eq!(
        store.latest_database_sizes("a").await.expect("latest"),
        None
    );

    let old = OffsetDateTime::now_utc() - time::Duration::days(40);
    let new = OffsetDateTime::now_utc();
    store
        .record_database_sizes("a", &sizes(old, &[("postgres", Some(1))]))
        .await
        .expect("record");
    let latest = sizes(
        new,
        &[
            ("Grüße db", Some(9_000_000_000)),
            ("hidden", None),
            ("postgres", Some(2)),
        ],
    );
    store
        .record_database_sizes("a", &latest)
        .await
        .expect("record");
    store
        .record_database_sizes("b", &sizes(new, &[("other", Some(3))]))
        .await
        .expect("record");

    let got = store
        .latest_database_sizes("a")
        .await
        .expect("latest")
        .expect("some");
    assert_eq!(
        got.items, latest.items,
        "latest sample only, ordered by name, big and null sizes kept"
    );
    assert_eq!(
        got.measured_at.unix_timestamp_nanos() / 1_000_000,
        new.unix_timestamp_nanos() / 1_000_000
    );

    let pruned = store
        .prune_database_sizes(Duration::from_secs(30 * 86_400))
        .await
        .expect("prune");
    assert_eq!(pruned, 1);
    assert!(
        store
            .latest_database_sizes("b")
            .await
            .expect("latest")
            .is_some()
    );
}

fn ev(action: &str) -> AuditEvent {
    AuditEvent::new(1, Action::parse(action).expect("action"), Outcome::Success)
        .actor("tester", Some("admin"))
}

/// Users, sessions, attempts and audit events: the same answers from both backends.
async fn accounts(store: &Store) {
    store
        .create_user("admin1", "$hash1", Role::Admin, 10, &ev("user.create"))
        .await
        .expect("create");
    store
        .create_user("ünï", "$hash2", Role::Analyst, 11, &ev("user.create"))
        .await
        .expect("create");
    assert!(matches!(
        store
            .create_user("admin1", "$x", Role::Dba, 12, &ev("user.create"))
            .await,
        Err(StoreError::Duplicate)
    ));
    let users = store.list_users().await.expect("list");
    assert_eq!(
        users
            .iter()
            .map(|u| u.username.as_str())
            .collect::<Vec<_>>(),
        ["admin1", "ünï"]
    );
    let u = store.find_user("ünï").await.expect("find").expect("some");
    assert_eq!(
        (u.role, u.disabled_at_ms, u.created_at_ms),
        (Role::Analyst, None, 11)
    );

    // Last admin.
    let demote = UserChange {
        role: Some(Role::Dba),
        ..UserChange::default()
    };
    let disable = UserChange {
        disabled: Some(true),
        ..UserChange::default()
    };
    for change in [&demote, &disable] {
        assert!(matches!(
            store
                .update_user("admin1", change, 20, &ev("user.update"))
                .await,
            Err(StoreError::LastAdmin)
        ));
    }
    assert!(matches!(
        store
            .update_user("nobody", &demote, 20, &ev("user.update"))
            .await,
        Err(StoreError::NotFound)
    ));

    // A login writes a session, an attempt and the audit event; replaces the old session.
    let login = |token: &'static str, replaces: Option<&'static str>| LoginRecord {
        user_id: u.id,
        username: "ünï",
        token_hash: token,
        replaces,
        client_addr: "10.0.0.1",
        user_agent: "test",
        now_ms: 100,
        rehashed: Some("$rehashed".into()),
    };
    store
        .record_login(&login("t1", None), &ev("auth.login"))
        .await
        .expect("login");
    store
        .record_login(&login("t2", Some("t1")), &ev("auth.login"))
        .await
        .expect("login");
    assert!(store.find_session("t1").await.expect("find").is_none());
    let s = store.find_session("t2").await.expect("find").expect("some");
    assert_eq!(
        (s.username.as_str(), s.role, s.disabled),
        ("ünï", Role::Analyst, false)
    );
    let u2 = store.find_user("ünï").await.expect("find").expect("some");
    assert_eq!(
        (u2.password_hash.as_str(), u2.last_login_at_ms),
        ("$rehashed", Some(100))
    );
    store.touch_session("t2", 150).await.expect("touch");
    assert_eq!(
        store
            .find_session("t2")
            .await
            .expect("f")
            .expect("s")
            .last_seen_ms,
        150
    );

    // Failures count since the last success or clear.
    for t in [200, 210, 220] {
        store
            .record_login_failure("ünï", "10.0.0.9", t, &ev("auth.login"))
            .await
            .expect("failure");
    }
    assert_eq!(
        store
            .recent_failures(AttemptsOf::User("ünï"), 0)
            .await
            .expect("f"),
        [220, 210, 200]
    );
    assert_eq!(
        store
            .recent_failures(AttemptsOf::User("ünï"), 215)
            .await
            .expect("f"),
        [220]
    );
    assert_eq!(
        store
            .recent_failures(AttemptsOf::Address("10.0.0.9"), 0)
            .await
            .expect("f")
            .len(),
        3
    );
    store
        .clear_lock("ünï", "", 230, &ev("user.unlock"))
        .await
        .expect("clear");
    assert!(
        store
            .recent_failures(AttemptsOf::User("ünï"), 0)
            .await
            .expect("f")
            .is_empty()
    );
    assert_eq!(
        store
            .recent_failures(AttemptsOf::Address("10.0.0.9"), 0)
            .await
            .expect("f")
            .len(),
        3
    );
    store
        .clear_lock("", "10.0.0.9", 231, &ev("user.unlock"))
        .await
        .expect("clear");
    assert!(
        store
            .recent_failures(AttemptsOf::Address("10.0.0.9"), 0)
            .await
            .expect("f")
            .is_empty()
    );
    assert_eq!(store.attempts_since(0).await.expect("attempts").len(), 7);

    // Disabling ends the user's sessions; the role change is visible at once.
    let change = UserChange {
        role: Some(Role::Dba),
        disabled: Some(true),
        ..UserChange::default()
    };
    let after = store
        .update_user("ünï", &change, 300, &ev("user.update"))
        .await
        .expect("update");
    assert_eq!((after.role, after.disabled_at_ms), (Role::Dba, Some(300)));
    assert!(store.find_session("t2").await.expect("find").is_none());
    assert_eq!(store.count_sessions("ünï").await.expect("count"), 0);

    // Pruning: sessions idle or too old, attempts older than the cut.
    store
        .record_login(&login("t3", None), &ev("auth.login"))
        .await
        .expect("login");
    assert_eq!(store.prune_sessions(101, 0, 0).await.expect("prune"), 1);
    store.prune_sessions(0, 0, 1_000).await.expect("prune");
    assert!(store.attempts_since(0).await.expect("attempts").is_empty());

    // The audit trail: everything above, newest first; rows cannot be changed.
    let events = store.recent_audit(100).await.expect("audit");
    assert_eq!(events.len(), 11, "{events:#?}");
    assert_eq!(events[0].action, "auth.login");
    assert!(
        store
            .append_audit(&ev("user.update").object("o").error("e"))
            .await
            .is_ok()
    );
    let update = sqlx::query("update audit_events set outcome = 'forged'");
    assert!(update.execute(store.pool()).await.is_err(), "append-only");
    assert_eq!(store.prune_audit(2).await.expect("prune"), 12);
}

/// Reading the audit trail: every filter, literal object search, paging by id.
async fn audit_queries(store: &Store) {
    let events = [
        (
            10,
            "vacuum",
            "intent",
            Some("dba"),
            "\"Ünï Cödé\".\"50%_off\"",
        ),
        (
            20,
            "vacuum",
            "success",
            Some("dba"),
            "\"Ünï Cödé\".\"50%_off\"",
        ),
        (30, "terminate_backend", "failure", Some("ops"), "pid 7"),
        (30, "auth.login", "failure", None, "x\\y"),
        (
            40,
            "request.denied",
            "denied",
            Some("ana"),
            "POST /api/actions/vacuum",
        ),
    ];
    for (at, action, outcome, actor, object) in events {
        let mut e = AuditEvent::new(
            at,
            Action::parse(action).expect("action"),
            Outcome::parse(outcome).expect("outcome"),
        )
        .object(object);
        e.actor = actor.map(str::to_owned);
        e.target = Some("main".into());
        store.append_audit(&e).await.expect("append");
    }
    let q = |f: fn(&mut AuditQuery)| {
        let mut q = AuditQuery {
            limit: 100,
            ..AuditQuery::default()
        };
        f(&mut q);
        async move {
            store
                .audit_page(&q)
                .await
                .expect("page")
                .into_iter()
                .map(|s| (s.event.at_ms, s.event.action))
                .collect::<Vec<_>>()
        }
    };
    let all = q(|_| {}).await;
    assert_eq!(all.len(), 5);
    assert_eq!(all[0], (40, "request.denied".to_owned()), "newest first");
    let pairs = |v: &[(i64, &str)]| {
        v.iter()
            .map(|(a, s)| (*a, (*s).to_owned()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        q(|q| q.actions = vec!["vacuum".into(), "auth.login".into()]).await,
        pairs(&[(30, "auth.login"), (20, "vacuum"), (10, "vacuum")])
    );
    assert_eq!(
        q(|q| q.actor = Some("ops".into())).await,
        pairs(&[(30, "terminate_backend")])
    );
    assert_eq!(
        q(|q| q.outcome = Some("denied".into())).await,
        pairs(&[(40, "request.denied")])
    );
    assert_eq!(q(|q| q.target = Some("other".into())).await, vec![]);
    // LIKE characters are literal; letters match in any case (on SQLite only ASCII ones).
    assert_eq!(
        q(|q| q.object_contains = Some("50%_OFF".into()))
            .await
            .len(),
        2
    );
    assert_eq!(q(|q| q.object_contains = Some("5_%".into())).await, vec![]);
    assert_eq!(
        q(|q| q.object_contains = Some("x\\y".into())).await,
        pairs(&[(30, "auth.login")])
    );
    assert_eq!(
        q(|q| q.object_contains = Some("Ünï Cödé".into()))
            .await
            .len(),
        2
    );
    // Window: since inclusive, until exclusive; paging by id.
    assert_eq!(
        q(|q| {
            q.since_ms = Some(20);
            q.until_ms = Some(40);
        })
        .await,
        pairs(&[
            (30, "auth.login"),
            (30, "terminate_backend"),
            (20, "vacuum")
        ])
    );
    let first = store
        .audit_page(&AuditQuery {
            limit: 2,
            ..AuditQuery::default()
        })
        .await
        .expect("page");
    let rest = store
        .audit_page(&AuditQuery {
            limit: 100,
            before_id: Some(first[1].id),
            ..AuditQuery::default()
        })
        .await
        .expect("page");
    assert_eq!(first.len() + rest.len(), 5);
    assert!(rest.iter().all(|r| r.id < first[1].id));
    assert_eq!(store.prune_audit(1_000).await.expect("prune"), 5);
}

/// Lock episodes: upserted while they grow, the peak graph kept, listed by window, pruned.
async fn lock_episodes(store: &Store) {
    use app::features::locks::model::{EpisodeRoot, LockEpisode, LockGraph};
    let mut e = LockEpisode {
        id: 1_000,
        target: "a".into(),
        started_ms: 1_000,
        ended_ms: None,
        peak_waiting: 2,
        peak_ms: 1_000,
        longest_wait_ms: Some(10),
        roots: vec![EpisodeRoot {
            pid: 7,
            usename: Some("o'neil".into()),
            application_name: "app \"ü\"".into(),
            datname: None,
            state: Some("idle in transaction".into()),
            query: "update t set v = 1".into(),
            blocks_total: 2,
        }],
    };
    let peak = LockGraph {
        target: "a".into(),
        at_ms: 1_000,
        waiting: 2,
        ..LockGraph::default()
    };
    store
        .save_lock_episode(&e, Some(&peak), 1_000)
        .await
        .expect("start");
    e.ended_ms = Some(5_000);
    e.peak_waiting = 3;
    store.save_lock_episode(&e, None, 5_000).await.expect("end");
    let listed = store
        .lock_episodes("a", 0, 10_000, 1000)
        .await
        .expect("list");
    assert_eq!(listed, vec![e.clone()]);
    assert!(
        store
            .lock_episodes("a", 6_000, 10_000, 1000)
            .await
            .expect("after")
            .is_empty()
    );
    assert!(
        store
            .lock_episodes("b", 0, 10_000, 1000)
            .await
            .expect("other")
            .is_empty()
    );
    let kept = store.lock_episode_peak("a", 1_000).await.expect("peak");
    assert_eq!(
        kept.map(|g| g.waiting),
        Some(2),
        "the peak graph survives later updates"
    );
    assert!(store.prune_metrics(6_000).await.expect("prune") >= 1);
    assert!(
        store
            .lock_episodes("a", 0, 10_000, 1000)
            .await
            .expect("pruned")
            .is_empty()
    );

    // What a sampler finds open when it starts: one not seen for long is ended when it was last
    // seen; the latest seen recently is handed over, still open.
    let open = |started_ms: i64| LockEpisode {
        id: started_ms,
        target: "c".into(),
        started_ms,
        ended_ms: None,
        peak_ms: started_ms,
        ..e.clone()
    };
    store
        .save_lock_episode(&open(10_000), None, 12_000)
        .await
        .expect("old");
    store
        .save_lock_episode(&open(15_000), None, 25_000)
        .await
        .expect("recent");
    let taken = store
        .take_open_lock_episode("c", 20_000)
        .await
        .expect("take");
    assert_eq!(taken, Some(open(15_000)));
    let listed = store
        .lock_episodes("c", 0, 30_000, 1000)
        .await
        .expect("list");
    assert_eq!(
        listed
            .iter()
            .map(|e| (e.started_ms, e.ended_ms))
            .collect::<Vec<_>>(),
        vec![(15_000, None), (10_000, Some(12_000))]
    );
    assert_eq!(
        store
            .take_open_lock_episode("c", 30_000)
            .await
            .expect("all old"),
        None
    );
    assert_eq!(
        store
            .lock_episodes("c", 0, 30_000, 1000)
            .await
            .expect("list")[0]
            .ended_ms,
        Some(25_000)
    );
    assert!(
        store
            .take_open_lock_episode("b", 0)
            .await
            .expect("none")
            .is_none()
    );
}

/// Statement deltas add up per minute, every column (the newer ones too), on both backends.
async fn statement_minutes(store: &Store) {
    use app::features::live::model::{StatementDelta, StatementKey};
    let key = StatementKey {
        queryid: -8_726_598_286_881_862_994,
        dbid: 5,
        userid: 10,
        toplevel: true,
    };
    let d = StatementDelta {
        calls: 2,
        exec_ms: 30.0,
        plan_ms: 1.5,
        rows: 2,
        shared_blks_hit: 9,
        shared_blks_read: 1,
        temp_blks_read: 0,
        temp_blks_written: 4,
        exec_sumsq: 500.0,
        io_read_ms: 2.5,
        io_write_ms: 0.5,
        wal_bytes: 4096,
        lock_wait_ms: 20_000.0,
    };
    store
        .add_statement_minute("q", 60_000, &[(key, d.clone())])
        .await
        .expect("add");
    store
        .add_statement_minute("q", 60_000, &[(key, d.clone())])
        .await
        .expect("add again");
    store
        .add_statement_minute("q", 120_000, &[(key, d.clone())])
        .await
        .expect("next minute");
    let totals = store.statement_totals("q", 0).await.expect("totals");
    let mut want = d.clone();
    want.add(&d);
    want.add(&d);
    assert_eq!(totals.get(&key), Some(&want));
    let minutes = store
        .statement_minutes("q", key.queryid, 0)
        .await
        .expect("minutes");
    assert_eq!(minutes.len(), 2);
    assert_eq!(minutes[0].1.lock_wait_ms, 40_000.0);
    assert_eq!(minutes[0].1.wal_bytes, 8192);
    // Six calls of 15 ms on average whose squares sum to 1,500: variance 250 - 225, so 5 ms.
    assert_eq!(want.stddev_ms(), Some(5.0));
}

/// An outcome names its intent; folding leaves the intent out of the list.
async fn folded_intents(store: &Store) {
    let intent = store
        .append_audit(&AuditEvent::new(100, Action::CancelJob, Outcome::Intent).object("job 9"))
        .await
        .expect("intent");
    let outcome = store
        .append_audit(
            &AuditEvent::new(101, Action::CancelJob, Outcome::Success)
                .object("job 9")
                .follows(Some(intent)),
        )
        .await
        .expect("outcome");
    assert!(outcome > intent);
    let page = |fold: bool| AuditQuery {
        actions: vec!["cancel_job".into()],
        limit: 10,
        fold,
        ..AuditQuery::default()
    };
    let all = store.audit_page(&page(false)).await.expect("page");
    assert_eq!(
        all.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![outcome, intent]
    );
    assert_eq!(all[0].event.intent_id, Some(intent));
    let folded = store.audit_page(&page(true)).await.expect("folded");
    assert_eq!(
        folded.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![outcome]
    );
    let by_id = store.audit_by_ids(&[intent]).await.expect("by id");
    assert_eq!(by_id[0].event.outcome, "intent");
}

/// The latest advice analysis per database replaces the one before, with its snapshot.
async fn advice(store: &Store) {
    use app::features::advice::model::{
        Analysis, Bloat, Evidence, Finding, IndexSnapshot, Kind, QueryUse, SectionError, Severity,
        Skipped, Workload, finding_id,
    };
    assert!(store.latest_advice("a", "Shop ü").await.unwrap().is_none());
    let mut a = Analysis::never("a", "Shop ü");
    a.analysed_at = Some(1_000);
    a.duration_ms = 12;
    a.findings = vec![Finding {
        id: finding_id(Kind::DuplicateIndex, &["public", "t", "i\"x\""]),
        kind: Kind::DuplicateIndex,
        severity: Severity::Warning,
        schema: Some("public".into()),
        table: Some("t".into()),
        index: Some("i\"x\"".into()),
        summary: "s".into(),
        evidence: vec![Evidence {
            label: "kept".into(),
            value: "v".into(),
        }],
        gain_bytes: Some(8192),
        ddl: Some("DROP INDEX CONCURRENTLY public.\"i\"\"x\"\"\";".into()),
        statements: vec!["DROP INDEX CONCURRENTLY public.\"i\"\"x\"\"\";".into()],
        oid: Some(16_385),
        object: Some("public.\"i\"\"x\"\"\"".into()),
        confirm: None,
        lock: Some("l".into()),
        note: None,
        cost_before: Some(1234.5),
        cost_after: Some(8.25),
        queries: vec![QueryUse {
            queryid: "-42".into(),
            query: "select * from t where a = $1".into(),
            calls: 7,
            total_ms: 1.5,
            cost_before: Some(1234.5),
            cost_after: None,
        }],
        columns: vec!["\"A b\"".into()],
    }];
    a.workload = Workload {
        window_ms: 60_000,
        statements: 3,
        considered: 2,
        skipped: vec![Skipped {
            queryid: "7".into(),
            reason: "not a query".into(),
        }],
        validated: true,
    };
    a.errors = vec![SectionError {
        section: "sequences".into(),
        message: "m".into(),
    }];
    let snapshot = IndexSnapshot::default().next([(16_384, 3)], 1_000, None);
    let mut bloat = Bloat {
        target: "a".into(),
        database: "Shop ü".into(),
        analysed_at: Some(1_000),
        method_note: Some("install it".into()),
        repack: false,
        cleanup_blockers: vec!["session pid 7".into()],
        rows: Vec::new(),
        more: 0,
    };
    assert!(store.latest_bloat("a", "Shop ü").await.unwrap().is_none());
    store
        .save_advice(&a, &snapshot, &bloat)
        .await
        .expect("save");
    let (got, snap) = store.latest_advice("a", "Shop ü").await.unwrap().unwrap();
    assert_eq!(got, a);
    assert_eq!(snap, snapshot);
    assert_eq!(
        store.latest_bloat("a", "Shop ü").await.unwrap(),
        Some(bloat.clone())
    );
    // An exact measurement replaces the bloat rows and findings, the rest stays.
    bloat.method_note = None;
    assert!(store.save_measurement(&bloat, &[]).await.expect("measure"));
    let (got, snap) = store.latest_advice("a", "Shop ü").await.unwrap().unwrap();
    assert!(got.findings.is_empty() && got.analysed_at == Some(1_000));
    assert_eq!(snap, snapshot);
    assert_eq!(
        store.latest_bloat("a", "Shop ü").await.unwrap(),
        Some(bloat.clone())
    );
    let elsewhere = Bloat {
        database: "other".into(),
        ..bloat.clone()
    };
    assert!(!store.save_measurement(&elsewhere, &[]).await.expect("none"));
    a.analysed_at = Some(2_000);
    a.findings.clear();
    store
        .save_advice(&a, &IndexSnapshot::default(), &Bloat::default())
        .await
        .expect("replace");
    let (got, snap) = store.latest_advice("a", "Shop ü").await.unwrap().unwrap();
    assert_eq!(got, a);
    assert_eq!(snap, IndexSnapshot::default());
    assert!(store.latest_advice("a", "other").await.unwrap().is_none());
}

/// The stored server log: filters, keyset paging, text search (through the trigram index or by
/// reading, which must agree), error groups, minute counts and retention.
async fn logs(store: &Store) {
    // How the log is read, stored by its reader for the other instances.
    assert_eq!(store.log_source("a").await.expect("none yet"), None);
    store
        .put_log_source("a", 1, r#"{"mode":"sql"}"#)
        .await
        .expect("put");
    store
        .put_log_source("a", 2, r#"{"mode":"file","format":"Zürich \"csv\""}"#)
        .await
        .expect("again");
    assert_eq!(
        store.log_source("a").await.expect("read").as_deref(),
        Some(r#"{"mode":"file","format":"Zürich \"csv\""}"#)
    );
    assert_eq!(store.log_source("b").await.expect("other"), None);
    const N: i64 = 6000;
    let base = 1_790_000_000_000_i64;
    let entry = |i: i64| {
        let error = i % 3 == 0;
        NewLogEntry {
            at_ms: base + i * 1000,
            severity: if error { "ERROR" } else { "LOG" }.into(),
            sqlstate: error.then(|| "42P01".into()),
            kind: Some(if error { Kind::Error } else { Kind::Other }),
            user: Some(if i % 2 == 0 { "Zoë" } else { "bob" }.into()),
            database: Some("Shop ü".into()),
            application: Some("app".into()),
            pid: Some(i32::try_from(100 + i % 50).unwrap()),
            message: match i {
                10 => "needle \"quoted\" ÜBER 100% done_ok".into(),
                11 => "1000 done ok".into(),
                _ if error => format!("relation \"t{}\" does not exist", i % 4),
                _ => format!("checkpoint {i} complete"),
            },
            statement: Some(format!("select filler from t where id = {i}")),
            pattern: error.then(|| "relation \"…\" does not exist".into()),
            offset: i * 100,
            ..NewLogEntry::default()
        }
    };
    let all: Vec<NewLogEntry> = (0..N).map(entry).collect();
    for (n, chunk) in all.chunks(1000).enumerate() {
        let n = i64::try_from(n).unwrap();
        let cursor = LogCursor {
            file_name: "postgresql.json".into(),
            generation: 1,
            head_len: 10,
            head_hash: "h".into(),
            offset: (n + 1) * 100_000,
            size_seen: (n + 1) * 100_000,
            skipping: false,
            start: 5000,
            backfilled: 0,
        };
        let minutes = [MinuteDelta {
            minute_ms: base,
            kind: Kind::Other,
            severity: "LOG".into(),
            entries: 1000,
            summarised: 10,
        }];
        store
            .record_log_batch("t", &cursor, chunk, &minutes, base)
            .await
            .expect("batch");
    }
    let q = |text: Option<&str>| LogQuery {
        target: "t".into(),
        text: text.map(Into::into),
        limit: 10_000,
        ..LogQuery::default()
    };
    let ids = |page: Vec<app::features::logs::model::LogEntry>| -> Vec<i64> {
        page.iter().map(|e| e.offset / 100).collect()
    };
    // Newest first, every entry once.
    let newest = ids(store.log_page(&q(None)).await.unwrap());
    assert_eq!(newest, (0..N).rev().collect::<Vec<_>>());
    // The filters together.
    let filtered = store
        .log_page(&LogQuery {
            severities: vec!["ERROR", "FATAL", "PANIC"],
            kinds: vec![Kind::Error],
            user: Some("Zoë".into()),
            database: Some("Shop ü".into()),
            pid: Some(106),
            since_ms: Some(base + 1000 * 1000),
            until_ms: Some(base + 5000 * 1000),
            ..q(None)
        })
        .await
        .unwrap();
    let expected: Vec<i64> = (1000..5000)
        .rev()
        .filter(|i| i % 3 == 0 && i % 2 == 0 && i % 50 == 6)
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(ids(filtered), expected);
    // Text: any case, LIKE's wildcards and quotes taken literally, the same answer whichever
    // way the store finds it; keyset pages of two.
    let indexed = store.backend() == Backend::Sqlite;
    for (text, expect, rare) in [
        ("NEEDLE", vec![10], true),
        ("\"quoted\" ÜBER", vec![10], true),
        ("100%", vec![10], true),
        ("done_ok", vec![10], true),
        (
            "t2\" does not",
            (0..N)
                .rev()
                .filter(|i| i % 3 == 0 && i % 4 == 2 && *i != 10)
                .collect(),
            true,
        ),
        ("filler", (0..N).rev().collect(), false),
        ("zz", vec![], false),
    ] {
        let decided = store.log_text_plan(&q(Some(text))).await.unwrap();
        assert_eq!(
            matches!(decided, TextPlan::Hits(_)),
            indexed && rare,
            "{text}"
        );
        for plan in [None, Some(TextPlan::Scan), Some(decided)] {
            let query = LogQuery {
                text_plan: plan.clone(),
                ..q(Some(text))
            };
            let got = ids(store.log_page(&query).await.unwrap());
            assert_eq!(got, expect, "{text} {plan:?}");
            let mut paged = Vec::new();
            let mut before = None;
            loop {
                let page = store
                    .log_page(&LogQuery {
                        before,
                        limit: 2,
                        ..query.clone()
                    })
                    .await
                    .unwrap();
                let Some(last) = page.last() else { break };
                before = Some((app::clock::millis_of_rfc3339(&last.time), last.id));
                paged.extend(ids(page));
                if paged.len() >= 6 {
                    break;
                }
            }
            assert_eq!(
                paged,
                expect.iter().copied().take(6).collect::<Vec<_>>(),
                "{text} {plan:?}"
            );
            let groups = store.log_error_groups(&query, 5).await.unwrap();
            let errors = expect.iter().filter(|i| *i % 3 == 0).count();
            assert_eq!(
                groups.iter().map(|g| g.count).sum::<i64>(),
                i64::try_from(errors).unwrap(),
                "{text} {plan:?}"
            );
        }
    }
    let groups = store.log_error_groups(&q(None), 5).await.unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].pattern, "relation \"…\" does not exist");
    assert_eq!(groups[0].count, N / 3);
    let minutes = store.log_minutes("t", base, base + 60_000).await.unwrap();
    assert_eq!(
        minutes
            .iter()
            .map(|m| (m.count, m.summarised))
            .collect::<Vec<_>>(),
        vec![(N, 60)]
    );
    let newest_id = store
        .log_page(&LogQuery {
            limit: 1,
            ..q(None)
        })
        .await
        .unwrap()[0]
        .id;
    let one = store.log_entry("t", newest_id).await.unwrap().unwrap();
    assert_eq!(one.offset, (N - 1) * 100);
    assert!(store.log_entry("other", one.id).await.unwrap().is_none());
    // The cursor as stored; a backfill of the file's unread start moves only forward and only
    // in the same generation of the file; a file gone is forgotten.
    let cursors = store.log_cursors("t").await.unwrap();
    assert_eq!(cursors.len(), 1);
    let cursor = cursors[0].clone();
    assert_eq!(
        (cursor.offset, cursor.start, cursor.unread(700_000)),
        (600_000, 5000, 5000)
    );
    let older = [NewLogEntry {
        at_ms: base - 1000,
        message: "older history".into(),
        offset: 7,
        ..entry(1)
    }];
    assert!(
        store
            .record_log_backfill("t", &cursor, &older, &[], 2000)
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_log_backfill("t", &cursor, &older, &[], 1000)
            .await
            .unwrap()
    );
    let replaced = LogCursor {
        generation: 2,
        ..cursor.clone()
    };
    assert!(
        !store
            .record_log_backfill("t", &replaced, &older, &[], 3000)
            .await
            .unwrap()
    );
    assert_eq!(
        store.log_cursors("t").await.unwrap()[0].unread(700_000),
        3000
    );
    let found = store.log_page(&q(Some("older history"))).await.unwrap();
    assert_eq!(found.iter().map(|e| e.offset).collect::<Vec<_>>(), [7]);
    store.forget_log_file("t", "postgresql.json").await.unwrap();
    assert!(store.log_cursors("t").await.unwrap().is_empty());
    // Retention: the first half goes, with its minute counts; the index follows.
    let pruned = store.prune_logs(base + (N / 2) * 1000).await.unwrap();
    assert_eq!(
        pruned,
        u64::try_from(N / 2 + 1).unwrap(),
        "with the backfilled entry"
    );
    assert!(
        store
            .log_minutes("t", base, base + 60_000)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(ids(store.log_page(&q(Some("NEEDLE"))).await.unwrap()).is_empty());
    assert_eq!(
        ids(store.log_page(&q(Some("filler"))).await.unwrap()).len(),
        usize::try_from(N / 2).unwrap()
    );
}

/// Target leases and relayed frames (several instances on one store).
async fn leases(store: &Store) {
    let ids: Vec<String> = ["x", "y", "z"].map(String::from).into();
    let one = |s: &str| vec![s.to_owned()];
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    for i in ["lease-a", "lease-b"] {
        store
            .register_instance(i, "v", "h", "127.0.0.1:1", &[])
            .await
            .expect("register");
    }
    // a takes all three; b finds none free, and renews nothing.
    let taken = store
        .take_leases("lease-a", &ids, 10_000)
        .await
        .expect("take");
    assert_eq!(sorted(taken), ids);
    assert!(
        store
            .take_leases("lease-b", &ids, 10_000)
            .await
            .expect("take")
            .is_empty()
    );
    assert_eq!(
        store
            .renew_leases("lease-a", &ids, 10_000)
            .await
            .expect("renew")
            .len(),
        3
    );
    assert!(
        store
            .renew_leases("lease-b", &ids, 10_000)
            .await
            .expect("renew")
            .is_empty()
    );
    // A page of y is open on b: its holder learns it from the lease.
    store
        .mark_watched(&one("y"), &one("y"), 5_000)
        .await
        .expect("watch");
    let (rows, alive) = store.leases(&ids, 15_000).await.expect("leases");
    assert!(
        ["lease-a", "lease-b"]
            .iter()
            .all(|i| alive.iter().any(|a| a == i)),
        "{alive:?}"
    );
    assert_eq!(rows.len(), 3);
    for r in &rows {
        assert_eq!((r.instance_id.as_str(), r.live), ("lease-a", true));
        assert_eq!(r.watched, r.target_id == "y", "{r:?}");
        assert_eq!(r.statements, r.target_id == "y", "{r:?}");
    }
    // a gives z up: b takes it.
    store
        .release_leases("lease-a", Some(&one("z")))
        .await
        .expect("release");
    assert_eq!(
        store
            .take_leases("lease-b", &ids, 10_000)
            .await
            .expect("take"),
        one("z")
    );
    // a's leases expire (renewed into the past): b takes them, a cannot renew them any more.
    store
        .renew_leases("lease-a", &ids, -1)
        .await
        .expect("renew");
    let (rows, _) = store.leases(&ids, 15_000).await.expect("leases");
    assert_eq!(rows.iter().filter(|r| !r.live).count(), 2, "{rows:?}");
    let taken = store
        .take_leases("lease-b", &ids, 10_000)
        .await
        .expect("take");
    assert_eq!(sorted(taken), ["x", "y"].map(String::from));
    assert!(
        store
            .renew_leases("lease-a", &ids, 10_000)
            .await
            .expect("renew")
            .is_empty()
    );
    store
        .release_leases("lease-b", None)
        .await
        .expect("release all");
    assert!(
        store
            .leases(&ids, 15_000)
            .await
            .expect("leases")
            .0
            .is_empty()
    );

    // Frames: the latest per target and topic.
    for (t, topic, at, body) in [
        ("x", "overview", 5, r#"{"a":1}"#),
        ("x", "overview", 6, r#"{"a":2}"#),
        ("x", "locks", 6, "{}"),
        ("y", "overview", 7, "{}"),
    ] {
        store
            .publish_frame(t, topic, at, body)
            .await
            .expect("publish");
    }
    let f = store
        .frames(&[("x".into(), Some("overview".into()))])
        .await
        .expect("frames");
    assert_eq!(
        f,
        vec![("x".into(), "overview".into(), 6, r#"{"a":2}"#.into())]
    );
    assert_eq!(
        store
            .frames(&[("x".into(), None)])
            .await
            .expect("frames")
            .len(),
        2
    );
    assert!(store.frames(&[]).await.expect("none").is_empty());
}

/// Log backfills: one at a time per target across instances, taken over from a lost one.
async fn log_backfills(store: &Store) {
    for i in ["fill-a", "fill-b"] {
        store
            .register_instance(i, "v", "h", "127.0.0.1:1", &[])
            .await
            .expect("register");
    }
    let target = "Fill \"Target\" ü";
    assert_eq!(
        store.log_backfill(target, 15_000).await.expect("none"),
        None
    );
    assert!(
        store
            .claim_log_backfill(target, "fill-a", r#"{"n":1}"#, 15_000)
            .await
            .expect("claim")
    );
    // Running on a live instance: neither b nor a itself starts a second one.
    for i in ["fill-b", "fill-a"] {
        assert!(
            !store
                .claim_log_backfill(target, i, r#"{"n":2}"#, 15_000)
                .await
                .expect("claim")
        );
    }
    assert!(
        store
            .put_log_backfill(target, "fill-a", true, r#"{"n":1,"done":5}"#)
            .await
            .expect("put")
    );
    assert!(
        !store
            .put_log_backfill(target, "fill-b", true, r#"{"n":"b"}"#)
            .await
            .expect("only the runner writes")
    );
    let row = store
        .log_backfill(target, 15_000)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(
        (
            row.instance_id.as_str(),
            row.running,
            row.body.as_str(),
            row.instance_alive
        ),
        ("fill-a", true, r#"{"n":1,"done":5}"#, true)
    );
    // a is lost (no heartbeat within a negative window): its backfill shows its instance gone,
    // and b may take it over; a's next write then fails, so a stops.
    let lost = store
        .log_backfill(target, -60_000)
        .await
        .expect("read")
        .expect("stored");
    assert!(lost.running && !lost.instance_alive);
    assert!(
        store
            .claim_log_backfill(target, "fill-b", r#"{"n":3}"#, -60_000)
            .await
            .expect("take over")
    );
    assert!(
        !store
            .put_log_backfill(target, "fill-a", true, r#"{"n":1}"#)
            .await
            .expect("put")
    );
    // Ended: anyone may start the next one.
    assert!(
        store
            .put_log_backfill(target, "fill-b", false, r#"{"n":3,"end":true}"#)
            .await
            .expect("end")
    );
    let ended = store
        .log_backfill(target, 15_000)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(
        (ended.instance_id.as_str(), ended.running),
        ("fill-b", false)
    );
    assert!(
        store
            .claim_log_backfill(target, "fill-a", r#"{"n":4}"#, 15_000)
            .await
            .expect("claim")
    );
    assert_eq!(
        store.log_backfill("other", 15_000).await.expect("none"),
        None
    );
}

/// Opens, exercises, closes and reopens: migrations run once and the data stays.
async fn round_trip(url: &str, backend: Backend) {
    let store = Store::open(url).await.expect("open");
    assert_eq!(store.backend(), backend);
    exercise(&store).await;
    accounts(&store).await;
    audit_queries(&store).await;
    lock_episodes(&store).await;
    statement_minutes(&store).await;
    folded_intents(&store).await;
    advice(&store).await;
    logs(&store).await;
    log_backfills(&store).await;
    leases(&store).await;
    store.close().await;
    let again = Store::open(url).await.expect("reopen");
    assert!(
        again
            .latest_database_sizes("a")
            .await
            .expect("latest")
            .is_some()
    );
}

#[tokio::test]
async fn sqlite_store_creates_its_directory_and_migrates_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!(
        "sqlite://{}",
        dir.path().join("nested/dir/pgpanel.db").display()
    );
    round_trip(&url, Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_store_behaves_the_same() {
    let cluster = TempCluster::start_async(ClusterOptions::bare())
        .await
        .expect("cluster");
    round_trip(&cluster.url("postgres"), Backend::Postgres).await;
}

#[tokio::test]
async fn unsupported_or_unreachable_stores_fail_clearly() {
    let err = Store::open("mysql://x").await.expect_err("unsupported");
    assert!(err.to_string().contains("sqlite: or postgres://"), "{err}");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let err = Store::open(&format!("postgres://x:y@127.0.0.1:{port}/db"))
        .await
        .expect_err("down");
    assert!(
        err.to_string().starts_with("cannot open the store"),
        "{err}"
    );
}
