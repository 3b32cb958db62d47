//! The incremental reads against a throwaway cluster: sql/activity.sql sends only the backends
//! that changed or were busy in the previous sample (and every pid when their number changed),
//! sql/statements.sql only the entries whose total execution time is not one pgpanel already
//! holds.

use std::time::Duration;

use sqlx::{Connection, Executor, PgConnection};

use app::features::activity::db;
use app::features::live::db as live_db;
use app::features::live::incremental::ActivityBaseline;
use harness::{ClusterOptions, TempCluster};

async fn connect(cluster: &TempCluster) -> PgConnection {
    PgConnection::connect(&cluster.url("postgres"))
        .await
        .expect("connect")
}

#[tokio::test(flavor = "multi_thread")]
async fn activity_sends_changed_backends_and_every_pid() {
    let cluster = TempCluster::start_async(ClusterOptions::default())
        .await
        .expect("cluster");
    let mut monitor = connect(&cluster).await;
    let mut idle = Vec::new();
    for _ in 0..5 {
        let mut c = connect(&cluster).await;
        c.execute("select 'before'").await.unwrap();
        idle.push(c);
    }
    let mut pids = Vec::new();
    for c in &mut idle {
        let pid: i32 = sqlx::query_scalar("select pg_backend_pid()")
            .fetch_one(&mut *c)
            .await
            .unwrap();
        pids.push(pid);
    }

    // Idle for longer than the margin before the first sample.
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    let mut base = ActivityBaseline::default();
    let full = db::activity(&mut monitor, None, None, &[]).await.unwrap();
    let listed = full.len();
    assert!(pids.iter().all(|p| full.iter().any(|r| r.pid == *p)));
    let own: Vec<_> = full.iter().filter(|r| r.alive.is_some()).collect();
    assert_eq!(own.len(), 1, "the pid list comes on pgpanel's own row only");
    assert!(own[0].is_self);
    assert_eq!(
        own[0].alive.as_ref().unwrap().len(),
        listed,
        "one pid per backend"
    );
    base.apply(None, full).expect("full read");

    // The idle backends did nothing since, so they are not sent; their number did not change,
    // so neither is the pid list.
    idle[0].execute("select 'after'").await.unwrap();
    let since = base.since();
    assert_eq!(base.backends(), Some(i32::try_from(listed).unwrap()));
    let sent = db::activity(&mut monitor, since, base.backends(), &base.busy())
        .await
        .unwrap();
    assert!(
        sent.iter().all(|r| r.alive.is_none()),
        "no pid list while the count is the same"
    );
    // With another count it comes.
    let listed_again = db::activity(&mut monitor, since, Some(1), &base.busy())
        .await
        .unwrap();
    assert_eq!(
        listed_again
            .iter()
            .find_map(|r| r.alive.as_ref())
            .map(Vec::len),
        Some(listed)
    );
    assert!(
        sent.len() < listed,
        "only changed backends are sent: {} of {listed}",
        sent.len()
    );
    assert!(
        !sent.iter().any(|r| r.pid == pids[1]),
        "an unchanged idle backend is not sent"
    );
    let changed = sent
        .iter()
        .find(|r| r.pid == pids[0])
        .expect("changed backend sent");
    assert!(changed.query.contains("after"), "{}", changed.query);
    let rows = base.apply(since, sent).expect("fits the baseline");
    assert_eq!(
        rows.len(),
        listed,
        "kept rows fill in the unchanged backends"
    );
    let kept = rows.iter().find(|r| r.pid == pids[1]).unwrap();
    assert!(kept.query.contains("pg_backend_pid"), "{}", kept.query);

    // A backend that exits leaves the sample; a new one joins it.
    let gone = idle.pop().unwrap();
    gone.close().await.unwrap();
    let gone_pid = pids[4];
    let _newcomer = connect(&cluster).await;
    let rows = loop {
        let since = base.since();
        let sent = db::activity(&mut monitor, since, base.backends(), &base.busy())
            .await
            .unwrap();
        let rows = match base.apply(since, sent) {
            Some(rows) => rows,
            None => base
                .apply(
                    None,
                    db::activity(&mut monitor, None, None, &[]).await.unwrap(),
                )
                .unwrap(),
        };
        if !rows.iter().any(|r| r.pid == gone_pid) {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(rows.len(), listed, "one gone, one new");
}

/// A statement that began before `since` and ended after it leaves its backend idle with an old
/// query_start: nothing in its times says it changed. It was busy in the previous sample, so the
/// read sends it because pgpanel names it (`busy`), and the sample shows it idle.
#[tokio::test(flavor = "multi_thread")]
async fn activity_sends_a_backend_busy_before_whose_statement_ended_since() {
    let cluster = TempCluster::start_async(ClusterOptions::default())
        .await
        .expect("cluster");
    let mut monitor = connect(&cluster).await;
    let mut worker = connect(&cluster).await;
    let pid: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&mut worker)
        .await
        .unwrap();
    let sleeping = tokio::spawn(async move {
        worker.execute("select pg_sleep(2.5)").await.unwrap();
        worker
    });
    // The sample sees it active, more than the margin after its statement began.
    tokio::time::sleep(Duration::from_millis(1_600)).await;
    let mut base = ActivityBaseline::default();
    let first = base
        .apply(
            None,
            db::activity(&mut monitor, None, None, &[]).await.unwrap(),
        )
        .expect("full read");
    let busy_row = first.iter().find(|r| r.pid == pid).expect("the worker");
    assert_eq!(busy_row.state.as_deref(), Some("active"));
    assert!(base.busy().contains(&pid));
    let _worker = sleeping.await.unwrap();
    let since = base.since();
    assert!(
        busy_row.query_start < since,
        "its statement began before `since`"
    );

    let unnamed = db::activity(&mut monitor, since, base.backends(), &[])
        .await
        .unwrap();
    assert!(
        !unnamed.iter().any(|r| r.pid == pid),
        "by its times alone it did not change"
    );
    let sent = db::activity(&mut monitor, since, base.backends(), &base.busy())
        .await
        .unwrap();
    let rows = base.apply(since, sent).expect("fits the baseline");
    let now = rows.iter().find(|r| r.pid == pid).expect("still there");
    assert_eq!(now.state.as_deref(), Some("idle"), "{now:?}");
    assert!(
        !base.busy().contains(&pid),
        "idle now: left to its times next"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn statements_send_only_entries_that_ran_since() {
    let cluster = TempCluster::start_async(ClusterOptions::default())
        .await
        .expect("cluster");
    let mut monitor = connect(&cluster).await;
    let mut work = connect(&cluster).await;
    // 60 distinct entries (one per column count: constants alone would share one entry).
    for i in 1..=60 {
        let columns = vec!["1"; i].join(", ");
        work.execute(format!("select {columns}").as_str())
            .await
            .unwrap();
    }
    let marker_sql = "select count(*) from pg_class where relname = 'incremental_marker'";
    work.execute(marker_sql).await.unwrap();

    let full = live_db::statements(&mut monitor, 150_000, None)
        .await
        .unwrap();
    assert!(full.len() > 60, "{}", full.len());
    let known: Vec<f64> = full.iter().map(|c| c.exec_ms).collect();
    let marker = sqlx::query_scalar::<_, i64>(
        "select queryid from pg_stat_statements where query like '%pg_class where relname%'",
    )
    .fetch_one(&mut monitor)
    .await
    .unwrap();
    let before = full.iter().find(|c| c.queryid == marker).unwrap().calls;
    for _ in 0..3 {
        work.execute(marker_sql).await.unwrap();
    }

    let sent = live_db::statements(&mut monitor, 150_000, Some(&known))
        .await
        .unwrap();
    // pgpanel's own reads in between changed a few entries too; the 60 idle ones are not sent.
    assert!(
        sent.len() < 10,
        "totals agree between pgpanel and the server: {} entries sent",
        sent.len()
    );
    let after = sent
        .iter()
        .find(|c| c.queryid == marker)
        .expect("the entry that ran is sent");
    assert_eq!(after.calls, before + 3);
}
