//! The throwaway-PostgreSQL harness itself: parallel clusters, stop/restart, cleanup on drop and
//! on panic, and reaping of clusters whose owner was killed.

use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use harness::{ClusterOptions, TempCluster};

fn accepting(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

#[test]
fn several_clusters_run_at_once_and_vanish_on_drop() {
    let handles: Vec<_> = (0..3)
        .map(|i| {
            std::thread::spawn(move || {
                let cluster = TempCluster::start().expect("start");
                cluster
                    .psql("postgres", &format!("create table t{i} (x int)"))
                    .expect("create");
                let out = cluster
                    .psql("postgres", "select current_setting('shared_preload_libraries'), current_setting('track_io_timing')")
                    .expect("settings");
                assert_eq!(out.trim(), "pg_stat_statements|on");
                let exts = cluster
                    .psql("postgres", "select string_agg(extname, ',' order by extname) from pg_extension")
                    .expect("extensions");
                assert!(exts.contains("pg_stat_statements"), "{exts}");
                assert!(exts.contains("pgstattuple"), "{exts}");
                (cluster.port(), cluster.dir().to_path_buf(), cluster)
            })
        })
        .collect();
    let clusters: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    let ports: Vec<u16> = clusters.iter().map(|c| c.0).collect();
    assert_eq!(
        ports
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        3,
        "each cluster has its own port: {ports:?}"
    );
    for (port, dir, cluster) in clusters {
        assert!(accepting(port));
        assert!(dir.join("data/PG_VERSION").is_file());
        drop(cluster);
        assert!(!accepting(port), "port {port} still open after drop");
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
}

#[test]
fn a_panicking_test_still_cleans_up() {
    let seen: Arc<Mutex<Option<(u16, PathBuf)>>> = Arc::default();
    let shared = seen.clone();
    let result = std::thread::spawn(move || {
        let cluster = TempCluster::start_with(ClusterOptions::bare()).expect("start");
        *shared.lock().expect("lock") = Some((cluster.port(), cluster.dir().to_path_buf()));
        panic!("the test failed");
    })
    .join();
    assert!(result.is_err());
    let (port, dir) = seen.lock().expect("lock").clone().expect("cluster started");
    assert!(!accepting(port));
    assert!(!dir.exists());
}

#[test]
fn stop_and_restart_keep_the_data_and_the_port() {
    let mut cluster = TempCluster::start_with(ClusterOptions::bare()).expect("start");
    cluster
        .psql(
            "postgres",
            "create table kept (x int); insert into kept values (42)",
        )
        .expect("create");
    let port = cluster.port();
    cluster.stop();
    assert!(!cluster.is_running());
    assert!(!accepting(port));
    cluster.restart().expect("restart");
    assert!(cluster.is_running());
    assert_eq!(cluster.port(), port);
    assert_eq!(
        cluster
            .psql("postgres", "select x from kept")
            .expect("select")
            .trim(),
        "42"
    );
}

#[test]
fn bare_clusters_have_no_preload_and_no_extensions() {
    let cluster = TempCluster::start_with(ClusterOptions::bare()).expect("start");
    let out = cluster
        .psql("postgres", "select current_setting('shared_preload_libraries') = '', count(*) from pg_extension where extname <> 'plpgsql'")
        .expect("query");
    assert_eq!(out.trim(), "t|0");
}

#[test]
fn clusters_of_a_killed_owner_are_reaped_by_the_next_start() {
    // A folder as a killed process would leave it: its owner pid no longer exists.
    let mut child = std::process::Command::new("true").spawn().expect("spawn");
    let dead_pid = child.id();
    child.wait().expect("wait");
    let stale = tempfile::Builder::new()
        .prefix("pgpanel-pg-")
        .tempdir()
        .expect("tempdir")
        .keep();
    std::fs::write(stale.join("owner.pid"), dead_pid.to_string()).expect("write");
    std::fs::create_dir_all(stale.join("data")).expect("mkdir");

    let cluster = TempCluster::start_with(ClusterOptions::bare()).expect("start");
    assert!(
        !stale.exists(),
        "stale folder {} not reaped",
        stale.display()
    );
    // Our own live cluster is never reaped.
    let again = TempCluster::start_with(ClusterOptions::bare()).expect("start");
    assert!(cluster.dir().exists());
    drop(again);
}
