//! The server log read end to end: real clusters writing jsonlog, csvlog and stderr (two
//! log_line_prefix values) with the logging collector, pgaudit loaded, planted errors, slow
//! statements, lock waits and DDL, rotation mid-test; the reader function's path checks; what
//! the page says when the log cannot be read; and file mode through truncation, partial lines,
//! invalid UTF-8, a record longer than a read, and a restart of pgpanel.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use sqlx::{Connection, Executor, PgConnection};

use crate::common::{create_login, eventually, login, superuser};
use app::features::logs::model::{Kind, LogEntry, SourceStatus};
use app::features::logs::spec::{LogMode, LogSpec, TailSettings};
use app::features::logs::tailer::Tailer;
use app::features::targets::connect::SessionSettings;
use app::features::targets::monitor::{Schedule, TargetSpec};
use app::features::targets::registry::TargetRegistry;
use app::store::{LogQuery, Store};
use harness::{ClusterOptions, TempCluster};

async fn store(dir: &Path) -> Store {
    Store::open(&format!("sqlite://{}", dir.join("s.db").display()))
        .await
        .expect("store")
}

async fn entries(store: &Store, target: &str) -> Vec<LogEntry> {
    store
        .log_page(&LogQuery {
            target: target.into(),
            limit: 10_000,
            ..LogQuery::default()
        })
        .await
        .expect("page")
}

/// A cluster writing `destination` through the logging collector, with the settings that give
/// every kind of entry, pgaudit loaded (DDL and role classes).
async fn logging_cluster(prefix: &str) -> TempCluster {
    assert!(
        harness::has_library("pgaudit"),
        "pgaudit is not installed: run .ci/setup (it installs postgresql-NN-pgaudit)"
    );
    let mut options = ClusterOptions::default();
    options.preload.push("pgaudit".into());
    options.extensions.push("pgaudit".into());
    let options = options
        .setting("logging_collector", "on")
        .setting("log_destination", "stderr,csvlog,jsonlog")
        .setting("log_line_prefix", prefix)
        .setting("log_min_duration_statement", "100")
        .setting("log_lock_waits", "on")
        .setting("deadlock_timeout", "100ms")
        .setting("log_connections", "on")
        .setting("pgaudit.log", "ddl, role");
    TempCluster::start_async(options).await.expect("cluster")
}

/// Target `id` watched by a new pg_monitor login `monitor`, its log read as `logs` says.
async fn target(cluster: &TempCluster, id: &str, monitor: &str, logs: LogSpec) -> TargetRegistry {
    let opts = create_login(cluster, monitor, &["pg_monitor"]).await;
    registry(id, login(opts), logs, true).await
}

async fn registry(
    id: &str,
    monitor: app::features::targets::connect::Login,
    logs: LogSpec,
    wait_up: bool,
) -> TargetRegistry {
    let spec = TargetSpec {
        id: id.into(),
        name: id.into(),
        monitor,
        action: None,
        session: SessionSettings::default(),
        schedule: Schedule {
            probe_interval: Duration::from_millis(200),
            ..Schedule::default()
        },
        logs,
        audit_tables: Vec::new(),
    };
    let registry = TargetRegistry::start(vec![spec], None).await;
    if wait_up {
        eventually(Duration::from_secs(20), || {
            registry.get(id).and_then(|t| t.server())
        })
        .await;
    }
    registry
}

/// A tailer of target `id` with the default settings.
fn tail(reg: &TargetRegistry, id: &str, store: &Store) -> Tailer {
    Tailer::new(
        reg.get(id).unwrap().clone(),
        store.clone(),
        TailSettings::default(),
    )
}

/// Installs the reader as `pgpanel setup-sql` does and grants it to `monitor`.
async fn install_reader(cluster: &TempCluster, monitor: &str) {
    let mut su = superuser(cluster, "postgres").await;
    su.execute(app::features::logs::db::READER_SQL)
        .await
        .expect("reader");
    su.execute(
        format!(
            "grant usage on schema pgpanel to \"{monitor}\"; \
             grant execute on function pgpanel.read_log(text, bigint, bigint) to \"{monitor}\""
        )
        .as_str(),
    )
    .await
    .expect("grant");
}

fn spec(format: &str) -> LogSpec {
    LogSpec {
        mode: LogMode::Sql,
        format: Some(format.into()),
        line_prefix: None,
    }
}

/// Polls until `check` finds what it wants in the stored entries.
async fn poll_until(
    tailer: &mut Tailer,
    store: &Store,
    id: &str,
    what: &str,
    check: impl Fn(&[LogEntry]) -> bool,
) -> Vec<LogEntry> {
    for _ in 0..60 {
        let status = tailer.poll().await;
        assert!(status.reading, "{what}: {status:?}");
        let e = entries(store, id).await;
        if check(&e) {
            return e;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{what}: not found in {:#?}", entries(store, id).await);
}

/// What a session on the cluster does that each format must show: an error with its
/// statement, a slow statement, a lock wait, DDL audited by pgaudit, a role change.
async fn plant(cluster: &TempCluster, marker: &str) {
    let mut a = superuser(cluster, "postgres").await;
    a.execute(format!("create table if not exists \"{marker} t\" (id int primary key)").as_str())
        .await
        .unwrap();
    let err = a
        .execute(format!("select * from \"{marker}_missing\" where x = 'secret-literal'").as_str())
        .await;
    assert!(err.is_err());
    a.execute(format!("select pg_sleep(0.15), '{marker}_slow'").as_str())
        .await
        .unwrap();
    // A lock wait longer than deadlock_timeout.
    let mut holder = superuser(cluster, "postgres").await;
    holder
        .execute(format!("begin; lock table \"{marker} t\" in access exclusive mode").as_str())
        .await
        .unwrap();
    let waiter = {
        let url = cluster.url("postgres");
        let marker = marker.to_owned();
        tokio::spawn(async move {
            let mut w = PgConnection::connect(&url).await.unwrap();
            w.execute(format!("select count(*) from \"{marker} t\"").as_str())
                .await
                .unwrap();
        })
    };
    tokio::time::sleep(Duration::from_millis(400)).await;
    holder.execute("commit").await.unwrap();
    waiter.await.unwrap();
    a.execute(format!("create role \"{marker}_role\"").as_str())
        .await
        .unwrap();
}

fn find(e: &[LogEntry], f: impl Fn(&LogEntry) -> bool) -> Option<&LogEntry> {
    e.iter().find(|x| f(x))
}

fn planted(e: &[LogEntry], marker: &str) -> bool {
    let error = find(e, |x| {
        x.kind == Kind::Error && x.message.contains(&format!("{marker}_missing"))
    });
    let slow = find(e, |x| {
        x.kind == Kind::Slow && x.message.contains(&format!("{marker}_slow"))
    });
    let lock = find(e, |x| {
        x.kind == Kind::Lock && x.message.contains("still waiting for")
    });
    let ddl = find(e, |x| {
        x.audit.as_ref().is_some_and(|a| {
            a.class == "DDL" && a.object_name.as_deref().is_some_and(|o| o.contains(marker))
        })
    });
    let role = find(e, |x| x.audit.as_ref().is_some_and(|a| a.class == "ROLE"));
    error.is_some() && slow.is_some() && lock.is_some() && ddl.is_some() && role.is_some()
}

fn check_planted(e: &[LogEntry], marker: &str, format: &str) {
    let error = find(e, |x| {
        x.kind == Kind::Error && x.message.contains(&format!("{marker}_missing"))
    })
    .unwrap();
    // stderr has a SQLSTATE only when log_line_prefix has %e.
    let sqlstate = if format == "stderr" {
        None
    } else {
        Some("42P01")
    };
    assert_eq!(error.sqlstate.as_deref(), sqlstate, "{format}");
    assert_eq!(error.severity, "ERROR");
    assert_eq!(error.user.as_deref(), Some("postgres"), "{format}");
    assert_eq!(error.database.as_deref(), Some("postgres"), "{format}");
    assert!(error.pid.is_some());
    assert!(
        error
            .statement
            .as_deref()
            .is_some_and(|s| s.contains("secret-literal")),
        "{format}: the STATEMENT line is attached to its error: {error:?}"
    );
    let slow = find(e, |x| {
        x.kind == Kind::Slow && x.message.contains(&format!("{marker}_slow"))
    })
    .unwrap();
    assert!(
        slow.duration_ms.is_some_and(|d| d >= 150.0),
        "{format}: {slow:?}"
    );
    assert!(
        slow.statement
            .as_deref()
            .is_some_and(|s| s.contains("pg_sleep"))
    );
    let lock = find(e, |x| {
        x.kind == Kind::Lock && x.message.contains("still waiting for")
    })
    .unwrap();
    assert!(
        lock.detail
            .as_deref()
            .is_some_and(|d| d.contains("Process holding the lock")),
        "{format}: {lock:?}"
    );
    let ddl = find(e, |x| {
        x.audit
            .as_ref()
            .is_some_and(|a| a.class == "DDL" && a.command == "CREATE TABLE")
    })
    .unwrap();
    let a = ddl.audit.as_ref().unwrap();
    assert_eq!(a.audit_type, "SESSION");
    assert_eq!(a.command, "CREATE TABLE");
    assert_eq!(ddl.kind, Kind::Audit);
    assert!(
        e.iter().any(|x| x.kind == Kind::Connection),
        "{format}: log_connections"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn jsonlog_csvlog_and_stderr_over_sql_with_rotation() {
    let cluster = logging_cluster("%m [%p] %q%u@%d ").await;
    for (i, format) in ["jsonlog", "csvlog", "stderr"].into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path()).await;
        let id = format!("t{i}");
        let monitor = format!("Mon {format}");
        let reg = target(&cluster, &id, &monitor, spec(format)).await;
        install_reader(&cluster, &monitor).await;
        let mut tailer = tail(&reg, &id, &store);
        // First contact starts at the end: what was logged before is not read.
        let status = tailer.poll().await;
        assert!(status.reading, "{format}: {status:?}");
        assert_eq!(status.format.as_deref(), Some(format));
        assert!(
            entries(&store, &id)
                .await
                .iter()
                .all(|e| e.application.as_deref() == Some("pgpanel") || e.kind != Kind::Error)
        );
        let marker = format!("m{i}x");
        plant(&cluster, &marker).await;
        let e = poll_until(&mut tailer, &store, &id, format, |e| planted(e, &marker)).await;
        check_planted(&e, &marker, format);
        // Rotation mid-test: the new file is read from its start. (File names have the second
        // in them: a rotation within the same second would append to the same file.)
        let log_dir = cluster.dir().join("data/log");
        let count = || std::fs::read_dir(&log_dir).map(|d| d.count()).unwrap_or(0);
        let files_before = count();
        tokio::time::sleep(Duration::from_millis(1100)).await;
        cluster
            .psql("postgres", "select pg_rotate_logfile()")
            .unwrap();
        let after = format!("{marker}_after_rotation");
        eventually(Duration::from_secs(10), || {
            Some(count()).filter(|n| *n > files_before)
        })
        .await;
        let _ = superuser(&cluster, "postgres")
            .await
            .execute(format!("select 1/0 as \"{after}\"").as_str())
            .await;
        let e = poll_until(&mut tailer, &store, &id, "after rotation", |e| {
            e.iter()
                .any(|x| x.statement.as_deref().is_some_and(|s| s.contains(&after)))
        })
        .await;
        // Nothing was read twice.
        let mut places: Vec<(String, i64)> = e.iter().map(|x| (x.file.clone(), x.offset)).collect();
        let n = places.len();
        places.sort();
        places.dedup();
        assert_eq!(places.len(), n, "{format}: an entry stored twice");
        let status: SourceStatus = tailer.poll().await;
        assert!(status.files.len() >= 2, "{status:?}");
        // A statement longer than what is stored: kept cut, read whole again on request
        // (`GET /api/logs/entry`) from the entry's file and offset.
        let long = format!(
            "select 1/0 as \"{marker}_long\", '{}' as filler",
            "x".repeat(3 * app::features::logs::ingest::MAX_TEXT)
        );
        let _ = superuser(&cluster, "postgres")
            .await
            .execute(long.as_str())
            .await;
        let e = poll_until(&mut tailer, &store, &id, "a long statement", |e| {
            e.iter().any(|x| {
                x.statement
                    .as_deref()
                    .is_some_and(|s| s.contains(&format!("{marker}_long")))
            })
        })
        .await;
        let cut = find(&e, |x| {
            x.statement
                .as_deref()
                .is_some_and(|s| s.contains(&format!("{marker}_long")))
        })
        .unwrap()
        .clone();
        assert!(cut.cut, "{format}: a 24 KiB statement is stored cut");
        assert!(cut.statement.as_ref().unwrap().len() < long.len());
        let whole = app::features::logs::full::whole(reg.get(&id).unwrap(), cut.clone())
            .await
            .unwrap_or_else(|e| panic!("{format}: the whole entry: {e:?}"));
        assert!(!whole.cut);
        assert_eq!(whole.statement.as_deref(), Some(long.as_str()), "{format}");
        assert_eq!(
            (whole.id, &whole.file, whole.offset),
            (cut.id, &cut.file, cut.offset)
        );
        // Another record at that place (the file written again since): refused, not shown.
        let elsewhere = LogEntry {
            pid: cut.pid.map(|p| p + 1),
            ..cut
        };
        let refused = app::features::logs::full::whole(reg.get(&id).unwrap(), elsewhere)
            .await
            .expect_err("another record");
        assert!(
            format!("{refused:?}").contains("written again"),
            "{refused:?}"
        );
        reg.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn stderr_with_another_prefix() {
    let cluster = logging_cluster("%t:%r:%u@%d:[%p]:%c:%e:app=%a ").await;
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let reg = target(&cluster, "p2", "mon", spec("stderr")).await;
    install_reader(&cluster, "mon").await;
    let mut tailer = tail(&reg, "p2", &store);
    assert!(tailer.poll().await.reading);
    plant(&cluster, "pfx").await;
    let e = poll_until(&mut tailer, &store, "p2", "stderr %t prefix", |e| {
        planted(e, "pfx")
    })
    .await;
    check_planted(&e, "pfx", "stderr %t");
    let error = find(&e, |x| x.message.contains("pfx_missing")).unwrap();
    assert!(
        error
            .client
            .as_deref()
            .is_some_and(|c| c.starts_with("127.0.0.1(")),
        "{error:?}"
    );
    assert!(error.session_id.is_some());
    reg.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_setup_says_what_to_run_and_the_reader_refuses_paths() {
    let cluster = logging_cluster("%m [%p] %q%u@%d ").await;
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let reg = target(&cluster, "main", "watcher", spec("jsonlog")).await;
    let mut tailer = tail(&reg, "main", &store);
    let status = tailer.poll().await;
    assert!(!status.reading);
    assert!(
        status
            .problem
            .as_deref()
            .unwrap()
            .contains("pgpanel.read_log is not installed"),
        "{status:?}"
    );
    assert!(
        status
            .fix
            .as_deref()
            .unwrap()
            .contains("pgpanel setup-sql --target main"),
        "{status:?}"
    );
    // Installed but not granted: the grant is what is missing.
    let mut su = superuser(&cluster, "postgres").await;
    su.execute(app::features::logs::db::READER_SQL)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    let mut tailer = tail(&reg, "main", &store);
    let status = tailer.poll().await;
    assert!(
        status
            .problem
            .as_deref()
            .unwrap()
            .contains("may not execute pgpanel.read_log"),
        "{status:?}"
    );
    install_reader(&cluster, "watcher").await;
    let mut tailer = tail(&reg, "main", &store);
    assert!(tailer.poll().await.reading);
    // The reader reads bare names in log_directory only, whoever calls it.
    for bad in [
        "../PG_VERSION",
        "/etc/passwd",
        "..",
        "log/../../PG_VERSION",
        ".hidden",
    ] {
        let e = sqlx::query("select pgpanel.read_log($1, 0, 10)")
            .bind(bad)
            .fetch_one(&mut su)
            .await
            .expect_err(bad);
        assert!(
            e.to_string().contains("invalid log file name"),
            "{bad}: {e}"
        );
    }
    let huge = sqlx::query("select pgpanel.read_log('x', 0, 1000000000)")
        .fetch_one(&mut su)
        .await;
    assert!(huge.is_err());
    let gone: Option<Vec<u8>> =
        sqlx::query_scalar("select pgpanel.read_log('no-such-file.json', 0, 10)")
            .fetch_one(&mut su)
            .await
            .unwrap();
    assert_eq!(gone, None);
    // Nothing else of pg_read_*: the monitor login may not read files directly.
    let mut mon = PgConnection::connect(&cluster.url_as("watcher", "secret-pw-123", "postgres"))
        .await
        .unwrap();
    let direct = sqlx::query("select pg_read_binary_file('PG_VERSION')")
        .fetch_one(&mut mon)
        .await;
    assert!(direct.is_err());
    reg.shutdown().await;

    // Without the collector the log is out of SQL's reach: the page says why and what to set.
    let plain = TempCluster::start_async(ClusterOptions::default())
        .await
        .unwrap();
    let reg = target(&plain, "plain", "mon", LogSpec::default()).await;
    let mut tailer = tail(&reg, "plain", &store);
    let status = tailer.poll().await;
    assert!(
        status
            .problem
            .as_deref()
            .unwrap()
            .contains("logging_collector = off"),
        "{status:?}"
    );
    assert!(
        status
            .fix
            .as_deref()
            .unwrap()
            .contains("ALTER SYSTEM SET logging_collector = on")
    );
    assert!(status.advice.iter().any(|a| a.contains("log_lock_waits")));
    reg.shutdown().await;
}

fn json_line(ms: u32, message: &str) -> String {
    format!(
        "{{\"timestamp\":\"2026-12-02 10:00:00.{ms:03} UTC\",\"user\":\"app\",\"dbname\":\"shop\",\"pid\":4242,\"error_severity\":\"ERROR\",\"state_code\":\"XX000\",\"message\":{}}}\n",
        serde_json::to_string(message).unwrap()
    )
}

fn append(path: &Path, bytes: &[u8]) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(bytes).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn file_mode_through_truncation_partial_lines_bad_bytes_huge_records_and_restarts() {
    let logs = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let file = logs.path().join("postgresql.json");
    append(&file, json_line(1, "before pgpanel started").as_bytes());
    let logs_spec = LogSpec {
        mode: LogMode::File(logs.path().to_path_buf()),
        format: Some("jsonlog".into()),
        line_prefix: None,
    };
    // The target itself is down: file mode does not need it.
    let down = login("postgres://nobody@127.0.0.1:9/postgres".parse().unwrap());
    let reg = registry("host", down, logs_spec, false).await;
    let target = reg.get("host").unwrap().clone();
    let mut tailer = Tailer::new(target.clone(), store.clone(), TailSettings::default());
    let status = tailer.poll().await;
    assert!(status.reading, "{status:?}");
    assert!(
        entries(&store, "host").await.is_empty(),
        "history is not read on first contact"
    );

    // A partial last line waits for its end.
    let line = json_line(2, "first <b>bold</b> \u{7} line");
    append(&file, &line.as_bytes()[..line.len() - 10]);
    tailer.poll().await;
    assert!(entries(&store, "host").await.is_empty());
    append(&file, &line.as_bytes()[line.len() - 10..]);
    tailer.poll().await;
    let e = entries(&store, "host").await;
    assert_eq!(e.len(), 1);
    assert_eq!(
        e[0].message, "first <b>bold</b> \u{7} line",
        "stored as written, shown as text"
    );

    // Invalid UTF-8 is replaced, not an error.
    append(&file, b"{\"timestamp\":\"2026-12-02 10:00:00.003 UTC\",\"error_severity\":\"LOG\",\"message\":\"bad \xff\xfe bytes\"}\n");
    // A 10 MB record: its start is kept as a note, the rest skipped, the next line read.
    let huge = json_line(4, &"x".repeat(10 * 1024 * 1024));
    append(&file, huge.as_bytes());
    append(&file, json_line(5, "after the huge one").as_bytes());
    for _ in 0..4 {
        tailer.poll().await;
    }
    let e = entries(&store, "host").await;
    assert!(e.iter().any(|x| x.message.contains('\u{fffd}')), "{e:?}");
    assert!(
        e.iter()
            .any(|x| x.message.starts_with("pgpanel: a log record of more than"))
    );
    assert!(
        e.iter().any(|x| x.message == "after the huge one"),
        "{:?}",
        e.iter().map(|x| &x.message).collect::<Vec<_>>()
    );
    assert!(e.iter().all(|x| x.message.len() <= 9000));
    let before = e.len();

    // pgpanel restarts: it continues from the stored cursor, nothing is read twice.
    let mut again = Tailer::new(target.clone(), store.clone(), TailSettings::default());
    again.poll().await;
    assert_eq!(entries(&store, "host").await.len(), before);

    // Truncated and reused under the same name: read again from the start.
    std::fs::write(&file, json_line(6, "after truncation")).unwrap();
    again.poll().await;
    let e = entries(&store, "host").await;
    assert!(e.iter().any(|x| x.message == "after truncation"));
    assert!(
        e.iter()
            .any(|x| x.message.contains("was truncated or replaced"))
    );

    // logrotate's copytruncate: the copy is known by its first bytes (not read again), the
    // truncated original is read from its start; compressed rotations are left alone.
    append(&file, json_line(8, "before copytruncate").as_bytes());
    again.poll().await;
    std::fs::copy(&file, logs.path().join("postgresql.json.1")).unwrap();
    std::fs::write(
        logs.path().join("postgresql.json.2.gz"),
        b"\x1f\x8b garbage",
    )
    .unwrap();
    std::fs::write(&file, json_line(9, "after copytruncate")).unwrap();
    again.poll().await;
    let e = entries(&store, "host").await;
    assert_eq!(
        e.iter()
            .filter(|x| x.message == "before copytruncate")
            .count(),
        1,
        "the renamed copy was read again"
    );
    assert!(e.iter().any(|x| x.message == "after copytruncate"));
    std::fs::remove_file(logs.path().join("postgresql.json.1")).unwrap();
    std::fs::remove_file(logs.path().join("postgresql.json.2.gz")).unwrap();

    // Rotation: a new file is read from its start; a removed file's cursor is forgotten.
    let rotated = logs.path().join("postgresql-2.json");
    append(&rotated, json_line(7, "in the new file").as_bytes());
    again.poll().await;
    assert!(
        entries(&store, "host")
            .await
            .iter()
            .any(|x| x.message == "in the new file" && x.file == "postgresql-2.json")
    );
    std::fs::remove_file(&file).unwrap();
    let status = again.poll().await;
    assert_eq!(status.files.len(), 1);
    assert_eq!(store.log_cursors("host").await.unwrap().len(), 1);

    // Unreadable path: the page says why.
    let gone = LogSpec {
        mode: LogMode::File(logs.path().join("nope")),
        format: None,
        line_prefix: None,
    };
    let reg2 = registry(
        "gone",
        login("postgres://nobody@127.0.0.1:9/postgres".parse().unwrap()),
        gone,
        false,
    )
    .await;
    let status = tail(&reg2, "gone", &store).poll().await;
    assert!(
        status.problem.as_deref().unwrap().contains("cannot read"),
        "{status:?}"
    );
    reg.shutdown().await;
    reg2.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_is_bounded_per_poll_and_flood_lines_are_counted() {
    let logs = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let file = logs.path().join("postgresql.log");
    append(&file, b"");
    let spec = LogSpec {
        mode: LogMode::File(logs.path().to_path_buf()),
        format: Some("stderr".into()),
        line_prefix: Some("%m [%p] %q%u@%d ".into()),
    };
    let reg = registry(
        "burst",
        login("postgres://nobody@127.0.0.1:9/postgres".parse().unwrap()),
        spec,
        false,
    )
    .await;
    let settings = TailSettings {
        max_bytes_per_poll: 256 * 1024,
        max_entries_per_minute: 5_000,
        ..TailSettings::default()
    };
    let mut tailer = Tailer::new(reg.get("burst").unwrap().clone(), store.clone(), settings);
    tailer.poll().await;
    let mut text = String::new();
    for i in 0..10_000 {
        let ms = i % 1000;
        if i % 10 == 0 {
            text.push_str(&format!("2026-12-02 10:00:01.{ms:03} UTC [{}] app@shop ERROR:  relation \"t{i}\" does not exist\n", 1000 + i));
            text.push_str(&format!(
                "2026-12-02 10:00:01.{ms:03} UTC [{}] app@shop STATEMENT:  select * from t{i}\n",
                1000 + i
            ));
        } else {
            text.push_str(&format!("2026-12-02 10:00:01.{ms:03} UTC [{}] app@shop LOG:  duration: 0.{i:03} ms  statement: select {i}\n", 1000 + i));
        }
    }
    append(&file, text.as_bytes());
    let started = std::time::Instant::now();
    let mut polls = 0;
    loop {
        polls += 1;
        let status = tailer.poll().await;
        let f = &status.files[0];
        if f.offset >= f.size - 200 {
            break;
        }
        assert!(polls < 20);
    }
    assert!(
        polls >= 3,
        "bounded bytes per poll: {polls} polls for {} bytes",
        text.len()
    );
    // What a final poll (the file no longer grows) flushes.
    tailer.poll().await;
    let took = started.elapsed();
    let e = entries(&store, "burst").await;
    let errors = e.iter().filter(|x| x.kind == Kind::Error).count();
    assert_eq!(errors, 1000, "every error stored");
    assert!(
        e.iter().filter(|x| x.kind == Kind::Slow).count() == 0,
        "fast statements only counted"
    );
    let minutes = store.log_minutes("burst", 0, i64::MAX).await.unwrap();
    let slow: i64 = minutes
        .iter()
        .filter(|m| m.kind == Kind::Slow)
        .map(|m| m.count)
        .sum();
    let summarised: i64 = minutes.iter().map(|m| m.summarised).sum();
    assert_eq!((slow, summarised), (9000, 9000));
    let groups = store
        .log_error_groups(
            &LogQuery {
                target: "burst".into(),
                limit: 10,
                ..LogQuery::default()
            },
            5,
        )
        .await
        .unwrap();
    assert_eq!(
        groups[0].count, 1000,
        "one pattern for the 1000 errors: {groups:?}"
    );
    println!("10,000 lines parsed and stored in {took:?} over {polls} polls");
    assert!(took < Duration::from_secs(10), "{took:?}");
    reg.shutdown().await;
}

/// A target seen for the first time starts at the end of its log; an explicit backfill reads
/// what was there before, once, and says how far it got.
#[tokio::test(flavor = "multi_thread")]
async fn older_history_is_read_by_an_explicit_backfill() {
    let cluster = logging_cluster("%m [%p] %q%u@%d ").await;
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let reg = target(&cluster, "old", "Mon old", spec("jsonlog")).await;
    install_reader(&cluster, "Mon old").await;
    let marker = "before_pgpanel_came";
    let _ = superuser(&cluster, "postgres")
        .await
        .execute(format!("select * from \"{marker}\"").as_str())
        .await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let mut tailer = tail(&reg, "old", &store);
    let status = tailer.poll().await;
    assert!(status.reading, "{status:?}");
    let seen = |e: &[LogEntry]| e.iter().any(|x| x.message.contains(marker));
    assert!(
        !seen(&entries(&store, "old").await),
        "history is not read on first contact"
    );
    let unread: i64 = status.files.iter().map(|f| f.unread).sum();
    assert!(unread > 0, "{status:?}");

    let state = app::features::logs::State::default();
    // Backfills are taken in the store by a registered (live) instance.
    let me = app::features::cluster::Instance::new("127.0.0.1:0", Vec::new());
    me.register(&store).await.expect("register");
    let ended = async || loop {
        if let Some(b) = state
            .shown_backfill("old", &store, &me.id)
            .await
            .filter(|b| !b.running)
        {
            break b;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let t = reg.get("old").unwrap().clone();
    let since = app::clock::to_millis(time::OffsetDateTime::now_utc()) - 3_600_000;
    let started = app::features::logs::backfill::start(
        &state,
        t.clone(),
        store.clone(),
        me.id.clone(),
        since,
        "dora",
    )
    .await
    .expect("start");
    assert!(started.running);
    // One at a time.
    let again = app::features::logs::backfill::start(
        &state,
        t.clone(),
        store.clone(),
        me.id.clone(),
        since,
        "dora",
    )
    .await
    .expect_err("a second one while the first runs");
    assert_eq!(again.status(), 409, "{again:?}");
    let done = tokio::time::timeout(Duration::from_secs(30), ended())
        .await
        .expect("the backfill ends");
    assert_eq!(done.error, None, "{done:?}");
    assert!(
        done.bytes_done > 0 && done.bytes_done == done.bytes_total,
        "{done:?}"
    );
    assert!(done.entries > 0, "{done:?}");
    let e = entries(&store, "old").await;
    let found: Vec<&LogEntry> = e.iter().filter(|x| x.message.contains(marker)).collect();
    assert_eq!(found.len(), 1, "read once: {found:#?}");
    assert_eq!(found[0].kind, Kind::Error);
    let mut places: Vec<(String, i64)> = e.iter().map(|x| (x.file.clone(), x.offset)).collect();
    let n = places.len();
    places.sort();
    places.dedup();
    assert_eq!(places.len(), n, "an entry stored twice");
    // Nothing is left to read; following goes on as before.
    let status = tailer.poll().await;
    assert!(status.reading, "{status:?}");
    // The poll may store lines written since (the server logs as the test runs); count after it.
    let stored = entries(&store, "old").await.len();
    assert!(stored >= e.len());
    let cursors = store.log_cursors("old").await.unwrap();
    assert!(
        cursors.iter().all(|c| c.backfilled >= c.start),
        "{cursors:?}"
    );
    app::features::logs::backfill::start(&state, t, store.clone(), me.id.clone(), since, "dora")
        .await
        .expect("a second backfill");
    let second = tokio::time::timeout(Duration::from_secs(30), ended())
        .await
        .expect("the second backfill ends");
    assert_eq!((second.bytes_total, second.entries), (0, 0), "{second:?}");
    assert_eq!(entries(&store, "old").await.len(), stored);
    reg.shutdown().await;
}
