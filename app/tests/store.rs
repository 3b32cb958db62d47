//! The store behaves the same on SQLite (default) and PostgreSQL (shared): same migrations, same
//! queries, same results.
#![cfg(feature = "ssr")]
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use time::OffsetDateTime;

use app::features::targets::model::{DatabaseSize, DatabaseSizes};
use app::harness::{ClusterOptions, TempCluster};
use app::store::{Backend, Store};

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

/// Opens, exercises, closes and reopens: migrations run once and the data stays.
async fn round_trip(url: &str, backend: Backend) {
    let store = Store::open(url).await.expect("open");
    assert_eq!(store.backend(), backend);
    exercise(&store).await;
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
