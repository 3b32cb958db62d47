//! The independent security probe's attacks (../shared/research/security-probe.md), each
//! replayed at a small scale on loopback against the real router, asserting the fixed
//! behaviour: bounded audit writes from refused requests (F1), an exact per-address sign-in
//! limit under parallel bursts (F2), database names checked before any cache entry or
//! connection and connection attempts rate-limited (F3), timeouts and limits for slow clients
//! (F4), oversized and non-UTF-8 bodies (F6), look-alike usernames (F7), two session cookies
//! (F8), content types (F11) and hosts and origins (F13). F5 and F12 need a target's sessions
//! and are in actions.rs; F10 is a unit test of the request span (src/http/mod.rs).

use crate::common;

use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{Caller, Fixture, PASSWORD, fixture, fixture_from, test_config};
use harness::{ClusterOptions, TempCluster};

/// Bytes the audit rows hold (text columns), the same measure on both backends.
async fn audit_bytes(f: &Fixture) -> i64 {
    sqlx::query_scalar::<_, i64>(
        "select cast(coalesce(sum(length(action) + length(outcome) + length(coalesce(object, '')) \
         + length(coalesce(error, '')) + length(coalesce(parameters, '')) \
         + length(coalesce(client_addr, '')) + 40), 0) as bigint) from audit_events",
    )
    .fetch_one(f.server.state.store.pool())
    .await
    .unwrap()
}

/// What the store occupies on disk for the audit trail (SQLite: the whole file; PostgreSQL:
/// the table with its indexes).
async fn store_bytes(f: &Fixture) -> i64 {
    let pool = f.server.state.store.pool();
    match f.server.state.store.backend() {
        app::store::Backend::Sqlite => sqlx::query_scalar::<_, i64>(
            "select page_count * page_size from pragma_page_count(), pragma_page_size()",
        )
        .fetch_one(pool)
        .await
        .unwrap(),
        app::store::Backend::Postgres => {
            sqlx::query_scalar::<_, i64>("select pg_total_relation_size('audit_events')::int8")
                .fetch_one(pool)
                .await
                .unwrap()
        }
    }
}

async fn postgres_store_fixture() -> (Fixture, TempCluster) {
    let cluster = TempCluster::start_async(ClusterOptions::bare())
        .await
        .expect("cluster");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = test_config(dir.path(), Some(cluster.url("postgres")));
    (fixture_from(config, dir).await, cluster)
}

/// F1: 500 refused POSTs with 16 KB paths and no Origin grow the store by less than 100 KB: one
/// row as it happens, one summary with the count, paths cut, no query string.
async fn refused_flood_is_bounded(f: &Fixture) {
    let http = common::client();
    let before_rows = common::audit(f).await.len();
    let (before_bytes, before_disk) = (audit_bytes(f).await, store_bytes(f).await);
    let path = "A".repeat(16_000);
    let statuses: Vec<u16> = futures::stream::iter(0..500)
        .map(|i| {
            let url = format!("{}/{path}{i}?password=secret{i}", f.base);
            let http = http.clone();
            async move { http.post(url).send().await.unwrap().status().as_u16() }
        })
        .buffer_unordered(20)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == 403), "{statuses:?}");
    let state = &f.server.state;
    state
        .auth
        .refusals
        .flush(&state.store, state.auth.clock.now_ms() + 120_000, true)
        .await;
    let all = common::audit(f).await;
    let forged: Vec<_> = all
        .iter()
        .filter(|e| e.action == "request.forged")
        .collect();
    assert_eq!(all.len() - before_rows, forged.len());
    assert!(
        (1..=2).contains(&forged.len()),
        "one row as it happened, one summary: {}",
        forged.len()
    );
    let repeats: u64 = forged
        .iter()
        .filter_map(|e| e.parameters.as_deref())
        .filter_map(|p| serde_json::from_str::<serde_json::Value>(p).ok())
        .filter_map(|v| v["repeats"].as_u64())
        .sum();
    assert_eq!(repeats as usize + 1, 500, "every refusal is counted");
    for e in &forged {
        let object = e.object.as_deref().unwrap_or_default();
        assert!(object.chars().count() <= 220, "{}", object.len());
        assert!(!object.contains("secret") && !object.contains('?'));
        assert_eq!(e.client_addr.as_deref(), Some("127.0.0.1"));
    }
    let grown = audit_bytes(f).await - before_bytes;
    let disk = store_bytes(f).await - before_disk;
    assert!(grown < 100_000, "audit rows grew by {grown} bytes");
    assert!(disk < 100_000, "the store grew by {disk} bytes on disk");
}

#[tokio::test(flavor = "multi_thread")]
async fn f1_refused_requests_are_bounded_sqlite() {
    let f = fixture().await;
    refused_flood_is_bounded(&f).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn f1_refused_requests_are_bounded_postgres() {
    let (f, _cluster) = postgres_store_fixture().await;
    refused_flood_is_bounded(&f).await;
}

/// F1: with 100,000 refused rows in the trail, the audit API and page still answer a page of
/// 100 at a time, and the page stays small (paths are cut).
async fn audit_pages_hold_up_under_a_flood(f: &Fixture) {
    let pool = f.server.state.store.pool();
    let object = format!("POST /{}…", "A".repeat(200));
    sqlx::query(
        "with recursive n(i) as (select 1 union all select i + 1 from n where i < 100000) \
         insert into audit_events (at_ms, client_addr, action, object, outcome, error) \
         select 1700000000000 + i, '10.0.0.' || (i % 250), 'request.forged', $1, 'denied', \
         'Refused: it carries no Origin, Sec-Fetch-Site or Referer header.' from n",
    )
    .bind(&object)
    .execute(pool)
    .await
    .unwrap();
    let root = Caller::signed_in(&f.base, "root", PASSWORD).await;
    let started = Instant::now();
    let (status, body) = root.json("/api/audit?fold=true").await;
    let first_page = started.elapsed();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["events"].as_array().unwrap().len(), 100);
    let next = body["next_before"].as_i64().expect("next page");
    let (status, body) = root
        .json(&format!(
            "/api/audit?fold=true&before={next}&action=request.forged"
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["events"].as_array().unwrap().len(), 100);
    let res = root.get("/audit").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(
        html.len() < 400_000,
        "the audit page is {} bytes",
        html.len()
    );
    // Not a timing assertion (the benchmark measures that): a sanity bound far above it.
    assert!(first_page < Duration::from_secs(5), "{first_page:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn f1_audit_pages_hold_up_under_a_flood_in_the_trail_sqlite() {
    let f = fixture().await;
    audit_pages_hold_up_under_a_flood(&f).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn f1_audit_pages_hold_up_under_a_flood_in_the_trail_postgres() {
    let (f, _cluster) = postgres_store_fixture().await;
    audit_pages_hold_up_under_a_flood(&f).await;
}

/// F2: 300 parallel sign-ins with different usernames from one address: exactly the address
/// limit (50) is checked, the rest are refused with 429.
async fn address_limit_holds_under_a_burst(f: &Fixture) {
    let http = common::client();
    let statuses: Vec<u16> = futures::stream::iter(0..300)
        .map(|i| {
            let http = http.clone();
            let base = f.base.clone();
            async move {
                http.post(format!("{base}/api/auth/login"))
                    .header("origin", &base)
                    .form(&[
                        ("username", format!("spray{i}")),
                        ("password", "Winter2026!Winter".to_owned()),
                    ])
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        })
        .buffer_unordered(100)
        .collect()
        .await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((checked, refused), (50, 250), "{statuses:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn f2_address_limit_is_exact_under_parallel_bursts_sqlite() {
    let f = fixture().await;
    address_limit_holds_under_a_burst(&f).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn f2_address_limit_is_exact_under_parallel_bursts_postgres() {
    let (f, _cluster) = postgres_store_fixture().await;
    address_limit_holds_under_a_burst(&f).await;
}

/// F3: an analyst naming databases that do not exist gets 404 (or 400 for names no database
/// can have), and nothing is cached and no connection is attempted for them; a dba's burst of
/// connection-opening requests is rate-limited per target.
#[tokio::test(flavor = "multi_thread")]
async fn f3_unknown_databases_cost_nothing_and_connections_are_rate_limited() {
    let (f, cluster) = common::actions_fixture().await;
    let ana = Caller::signed_in(&f.base, "ana", PASSWORD).await;
    let long = "x".repeat(4000);
    for i in 0..200 {
        let name = if i % 2 == 0 {
            format!("nodb{i}")
        } else {
            format!("d{i}-{long}")
        };
        let (status, body) = ana
            .json(&format!(
                "/api/maintenance/tables?target=main&database={name}"
            ))
            .await;
        assert!(status == 404 || status == 400, "{status} {body}");
    }
    assert_eq!(
        f.server.state.maintenance.tables_held(),
        0,
        "nothing cached"
    );
    let log = std::fs::read_to_string(cluster.log_file()).unwrap_or_default();
    assert!(
        !log.contains("database \"nodb"),
        "pgpanel tried to connect to a database that does not exist"
    );
    // A database that exists works.
    let (status, body) = ana
        .json("/api/maintenance/tables?target=main&database=postgres")
        .await;
    assert_eq!(status, 200, "{body}");

    // 40 previews at once, each opening a connection: past the burst, 429.
    let dora = Caller::signed_in(&f.base, "dora", PASSWORD).await;
    sqlx::raw_sql("create table public.t (id int); alter table public.t owner to pgpanel_action")
        .execute(
            &mut <sqlx::PgConnection as sqlx::Connection>::connect(&cluster.url("postgres"))
                .await
                .unwrap(),
        )
        .await
        .unwrap();
    let statuses: Vec<u16> = futures::stream::iter(0..40)
        .map(|_| {
            let dora = dora.clone();
            async move {
                dora.get(
                    "/api/actions/preview?target=main&action=analyze&database=postgres&schema=public&name=t",
                )
                .await
                .status()
                .as_u16()
            }
        })
        .buffer_unordered(40)
        .collect()
        .await;
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert!(limited > 0, "no request was rate-limited: {statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 429),
        "{statuses:?}"
    );
}

/// Reads from a raw connection until the server closes it; returns what arrived and how long
/// it took (None if it was still open at `limit`).
async fn until_closed(s: &mut TcpStream, limit: Duration) -> (String, Option<Duration>) {
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0_u8; 4096];
    loop {
        match tokio::time::timeout_at(
            tokio::time::Instant::from_std(started + limit),
            s.read(&mut buf),
        )
        .await
        {
            Ok(Ok(0)) | Ok(Err(_)) => {
                return (
                    String::from_utf8_lossy(&got).into_owned(),
                    Some(started.elapsed()),
                );
            }
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), None),
        }
    }
}

async fn short_timeouts_fixture(max_connections: usize) -> Fixture {
    short_timeouts_fixture_with(max_connections, max_connections).await
}

async fn short_timeouts_fixture_with(max_connections: usize, per_client: usize) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = test_config(dir.path(), None);
    config.http.header_timeout_secs = 1;
    config.http.body_timeout_secs = 1;
    config.http.write_timeout_secs = 1;
    config.http.max_connections = max_connections;
    config.http.max_connections_per_client = per_client;
    fixture_from(config, dir).await
}

/// F4: half a header, nothing at all, a body that never comes and an idle keep-alive
/// connection are all closed by the server; a huge declared body is refused at once; the
/// connection cap makes further clients wait, not fail.
#[tokio::test(flavor = "multi_thread")]
async fn f4_slow_and_silent_clients_are_timed_out() {
    let f = short_timeouts_fixture(8).await;
    let addr = f.server.addr;
    let mut half = TcpStream::connect(addr).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let (_, closed) = until_closed(&mut half, Duration::from_secs(5)).await;
    assert!(closed.is_some(), "half a header kept open");
    let (_, closed) = until_closed(&mut silent, Duration::from_secs(5)).await;
    assert!(closed.is_some(), "a silent connection kept open");

    // Keep-alive: one request answered, then the idle connection is closed.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let (text, closed) = until_closed(&mut idle, Duration::from_secs(5)).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(closed.is_some(), "an idle keep-alive connection kept open");

    // A body announced and never sent: 408 after the body timeout.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(
        format!(
            "POST /api/auth/login HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nuser"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let (text, _) = until_closed(&mut slow, Duration::from_secs(5)).await;
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");

    // 10 GB announced: 413 at once, nothing read.
    let mut huge = TcpStream::connect(addr).await.unwrap();
    huge.write_all(
        format!(
            "POST /api/auth/login HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000000000\r\n\r\n"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let started = Instant::now();
    let mut buf = [0_u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(3), huge.read(&mut buf))
        .await
        .expect("answered at once")
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 413"));
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test(flavor = "multi_thread")]
async fn f4_the_connection_cap_makes_clients_wait() {
    let f = short_timeouts_fixture(3).await;
    let addr = f.server.addr;
    let mut held = Vec::new();
    for _ in 0..3 {
        let s = TcpStream::connect(addr).await.unwrap();
        held.push(s);
    }
    // Let the server take them.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(f.server.connections.get(), 3);
    let started = Instant::now();
    let res = common::client()
        .get(format!("{}/healthz", f.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Answered only once the silent ones were timed out (1 s), not refused.
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    drop(held);

    // One client address may not take every slot: past its own cap, a connection is closed at
    // once (well within the 1 s header timeout, so only the cap can have closed it).
    let f = short_timeouts_fixture_with(16, 2).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(TcpStream::connect(f.server.addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = TcpStream::connect(f.server.addr).await.unwrap();
    let (_, closed) = until_closed(&mut third, Duration::from_millis(800)).await;
    assert!(
        closed.is_some(),
        "a third connection of one client was kept"
    );
    assert_eq!(f.server.connections.get(), 2);
    drop(held);
}

/// F4: a live stream that is read keeps going past every timeout; a response that is never
/// read is dropped once its writes stall.
#[tokio::test(flavor = "multi_thread")]
async fn f4_live_streams_live_and_unread_ones_are_dropped() {
    let cluster = TempCluster::start_async(ClusterOptions::default())
        .await
        .expect("cluster");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = test_config(dir.path(), None);
    config.http.header_timeout_secs = 1;
    config.http.write_timeout_secs = 1;
    config.targets = vec![common::monitor_only(cluster.url("postgres"))];
    let f = fixture_from(config, dir).await;
    let ana = Caller::signed_in(&f.base, "ana", PASSWORD).await;
    let cookie = ana.cookie.clone().unwrap();

    // Read for 4 s: frames keep coming after the 1 s header and write timeouts.
    let mut res = ana.get("/live?target=main&topics=overview,activity").await;
    assert_eq!(res.status(), 200);
    let started = Instant::now();
    let mut late_frames = 0;
    while started.elapsed() < Duration::from_secs(4) {
        match tokio::time::timeout(Duration::from_secs(3), res.chunk()).await {
            Ok(Ok(Some(_))) if started.elapsed() > Duration::from_secs(2) => late_frames += 1,
            Ok(Ok(Some(_))) => {}
            other => panic!("the live stream ended: {other:?}"),
        }
    }
    assert!(late_frames > 0, "no frames after the timeouts");
    drop(res);

    // A response that is never read (a tiny receive window, nothing read): once the socket
    // buffers are full the server's writes stall, and after the write timeout it hangs up. A
    // live stream's frames come slowly (minutes to fill the buffers), so an 8 MB file stands in
    // for it here: the limit is the same, on the socket, for every response.
    std::fs::create_dir_all(f.dir.path().join("site")).unwrap();
    std::fs::write(f.dir.path().join("site/big.bin"), vec![7_u8; 8 << 20]).unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await; // idle keep-alives above are gone
    let before = f.server.connections.get();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(1024).unwrap();
    let mut s = socket.connect(f.server.addr).await.unwrap();
    s.write_all(
        format!(
            "GET /big.bin HTTP/1.1\r\nHost: {}\r\nCookie: {cookie}\r\n\r\n",
            f.server.addr
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        f.server.connections.get() > before,
        "the response is being sent"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while f.server.connections.get() > before {
        assert!(
            Instant::now() < deadline,
            "a response nobody reads was never dropped"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(s);
}

/// F6: a 50 MB body gets 413, a form that is not UTF-8 gets 400; neither says anything
/// internal.
#[tokio::test(flavor = "multi_thread")]
async fn f6_oversized_and_invalid_bodies_are_client_errors() {
    let f = fixture().await;
    let addr = f.server.addr;
    let head = |framing: &str| {
        format!(
            "POST /api/auth/login HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\n{framing}\r\n\r\n"
        )
    };
    // 50 MB announced: 413 before any of it is read.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(head("Content-Length: 52428800").as_bytes())
        .await
        .unwrap();
    let (text, _) = until_closed(&mut s, Duration::from_secs(5)).await;
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(
        text.contains("too_large") && !text.contains("internal"),
        "{text}"
    );

    // Chunked (no length announced): cut off at the limit, still 413.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(head("Transfer-Encoding: chunked").as_bytes())
        .await
        .unwrap();
    let chunk = format!("10000\r\n{}\r\n", "a".repeat(0x10000));
    for _ in 0..50 {
        if s.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let (text, _) = until_closed(&mut s, Duration::from_secs(5)).await;
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");

    let root = Caller::signed_in(&f.base, "root", PASSWORD).await;
    let res = root
        .http
        .post(format!("{}/api/users/create", f.base))
        .header("origin", &f.base)
        .header("cookie", root.cookie.clone().unwrap())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(&b"username=\xff\xfe\xfd&password=correct+horse+battery&role=analyst"[..])
        .send()
        .await
        .unwrap();
    let (status, body) = common::body(res).await;
    assert_eq!(status, 400, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("UTF-8"), "{message}");
    assert!(!message.contains("index"), "{message}");
}

/// F7: names that look like an existing one are refused; fullwidth letters are the ASCII name.
async fn look_alike_usernames_are_refused(f: &Fixture) {
    let root = Caller::signed_in(&f.base, "root", PASSWORD).await;
    let create = |name: &'static str| {
        let root = root.clone();
        async move {
            common::body(
                root.post(
                    "/api/users/create",
                    &[
                        ("username", name),
                        ("password", PASSWORD),
                        ("role", "analyst"),
                    ],
                )
                .await,
            )
            .await
        }
    };
    // Cyrillic а among Latin letters: mixed scripts.
    let (status, body) = create("\u{430}na").await;
    assert_eq!(status, 400, "{body}");
    // Fullwidth "ana" is "ana", which exists.
    let (status, body) = create("ａｎａ").await;
    assert_eq!(status, 409, "{body}");
    // All-Cyrillic look-alike of an existing Latin name.
    let (status, _) = create("ace").await;
    assert_eq!(status, 200);
    let (status, body) = create("\u{430}\u{441}\u{435}").await;
    assert_eq!(status, 409, "{body}");
    assert!(body["message"].as_str().unwrap().contains("ace"), "{body}");
    // Fullwidth letters sign in as the ASCII name.
    let res = common::login(f, "ＲＯＯＴ", PASSWORD).await;
    assert_eq!(res.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn f7_look_alike_usernames_are_refused_sqlite() {
    let f = fixture().await;
    look_alike_usernames_are_refused(&f).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn f7_look_alike_usernames_are_refused_postgres() {
    let (f, _cluster) = postgres_store_fixture().await;
    look_alike_usernames_are_refused(&f).await;
}

/// F8: with two session cookies, the valid one wins in either order; two valid ones are both
/// refused, and nobody is signed out by it.
async fn a_planted_second_cookie_neither_wins_nor_signs_out(f: &Fixture) {
    let ana = Caller::signed_in(&f.base, "ana", PASSWORD).await;
    let dora = Caller::signed_in(&f.base, "dora", PASSWORD).await;
    let (a, d) = (ana.cookie.clone().unwrap(), dora.cookie.clone().unwrap());
    let bogus = "pgpanel_session=zzz";
    let me = |cookie: String| {
        let http = common::client();
        let base = f.base.clone();
        async move {
            let res = http
                .get(format!("{base}/api/auth/me"))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap();
            let cleared = common::cookie_of(&res).is_some();
            let (status, body) = common::body(res).await;
            (status, body, cleared)
        }
    };
    for cookie in [format!("{bogus}; {a}"), format!("{a}; {bogus}")] {
        let (status, body, cleared) = me(cookie.clone()).await;
        assert_eq!(status, 200, "{cookie}: {body}");
        assert_eq!(body["username"], "ana");
        assert!(!cleared, "{cookie}");
    }
    let (status, _, cleared) = me(format!("{d}; {a}")).await;
    assert_eq!(status, 401);
    assert!(!cleared, "a valid session is not signed out");
    let (status, _, _) = me(a.clone()).await;
    assert_eq!(status, 200, "ana is still signed in");
    let (status, _, _) = me(d.clone()).await;
    assert_eq!(status, 200, "dora is still signed in");
}

#[tokio::test(flavor = "multi_thread")]
async fn f8_a_planted_second_cookie_neither_wins_nor_signs_out_sqlite() {
    let f = fixture().await;
    a_planted_second_cookie_neither_wins_nor_signs_out(&f).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn f8_a_planted_second_cookie_neither_wins_nor_signs_out_postgres() {
    let (f, _cluster) = postgres_store_fixture().await;
    a_planted_second_cookie_neither_wins_nor_signs_out(&f).await;
}

/// F11: server functions read forms only; other content types get 415 and change nothing.
#[tokio::test(flavor = "multi_thread")]
async fn f11_only_forms_are_read() {
    let f = fixture().await;
    let root = Caller::signed_in(&f.base, "root", PASSWORD).await;
    for ctype in [
        "text/plain",
        "application/cbor",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded; charset=utf-16",
    ] {
        let res = root
            .http
            .post(format!("{}/api/users/create", f.base))
            .header("origin", &f.base)
            .header("cookie", root.cookie.clone().unwrap())
            .header("content-type", ctype)
            .body("username=pwn&password=pwnpwnpwnpwn1&role=admin")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 415, "{ctype}");
    }
    let users = f.server.state.store.list_users().await.unwrap();
    assert!(users.iter().all(|u| u.username != "pwn"));
}

/// F13: a foreign host name is not answered (DNS rebinding); an Origin is compared exactly.
#[tokio::test(flavor = "multi_thread")]
async fn f13_hosts_and_origins_are_exact() {
    let f = fixture().await;
    let http = common::client();
    let res = http
        .get(format!("{}/login", f.base))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = http
        .get(format!("{}/healthz", f.base))
        .header("host", "localhost")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    for origin in [format!("{}/", f.base), format!("{}/login", f.base)] {
        let res = Caller::anonymous(&f.base)
            .post_with(
                "/api/auth/login",
                &[("username", "root"), ("password", PASSWORD)],
                &[("origin", origin.as_str())],
            )
            .await;
        assert_eq!(res.status(), 403, "{origin}");
    }
}

/// F13: a live stream whose session cannot be re-checked (the store is gone) ends at the next
/// check instead of running on unchecked.
#[tokio::test(flavor = "multi_thread")]
async fn f13_a_live_stream_ends_when_its_session_cannot_be_rechecked() {
    let cluster = TempCluster::start_async(ClusterOptions::bare())
        .await
        .expect("cluster");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = test_config(dir.path(), None);
    config.targets = vec![common::monitor_only(cluster.url("postgres"))];
    let f = fixture_from(config, dir).await;
    let ana = Caller::signed_in(&f.base, "ana", PASSWORD).await;
    let mut res = ana.get("/live?target=main&topics=overview").await;
    assert_eq!(res.status(), 200);
    f.server.state.store.close().await;
    // The session is re-checked every 30 s.
    let started = Instant::now();
    loop {
        match tokio::time::timeout(Duration::from_secs(45), res.chunk()).await {
            Ok(Ok(Some(_))) => {
                assert!(
                    started.elapsed() < Duration::from_secs(45),
                    "the stream outlived its re-check"
                );
            }
            Ok(Ok(None)) | Ok(Err(_)) => break,
            Err(_) => panic!("no frame and no end within 45 s"),
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "{:?}",
        started.elapsed()
    );
}
