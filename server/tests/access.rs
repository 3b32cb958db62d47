//! Who may reach what: every route and server function against every role, forged requests,
//! throttled sign-ins, a store that goes away, and many sign-ins at once.

use crate::common;

use std::time::Duration;

use crate::common::{Caller, PASSWORD, audit, body, fixture, fixture_from, login};
use app::features::auth::model::{Access, Role};
use app::features::auth::policy::{API, PAGES};
use harness::{ClusterOptions, TempCluster};

/// The download routes (`…/export`): plain GET routes, not server functions.
fn is_download(path: &str) -> bool {
    path.starts_with("/api/") && path.ends_with("/export")
}

/// Whether a server function is read with GET (its rule says nothing about the method).
fn is_get(path: &str) -> bool {
    is_download(path)
        || leptos::server_fn::axum::server_fn_paths()
            .any(|(p, m)| p == path && m == http::Method::GET)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_refuses_who_may_not_use_it() {
    let f = fixture().await;
    let state = &f.server.state;
    // Every registered server function has a rule (the server would not have started otherwise).
    let registered: Vec<&str> = leptos::server_fn::axum::server_fn_paths()
        .map(|(p, _)| p)
        .collect();
    // Every rule under /api/ is a server function but the downloads; `/live` (SSE) is a plain
    // route.
    let api_rules = API
        .iter()
        .filter(|r| r.path.starts_with("/api/") && !is_download(r.path))
        .count();
    assert!(registered.len() >= api_rules, "{registered:?}");
    for path in &registered {
        assert!(API.iter().any(|r| r.path == *path), "{path} has no rule");
    }

    let anonymous = Caller::anonymous(&f.base);
    let analyst = Caller::signed_in(&f.base, "ana", PASSWORD).await;
    let dba = Caller::signed_in(&f.base, "dora", PASSWORD).await;
    let users_before = state.store.count_users().await.unwrap();
    // Forms that would change something if they ran.
    let form = [
        ("username", "intruder"),
        ("password", "intruder password"),
        ("role", "admin"),
    ];
    for rule in API {
        let call = |c: &Caller| {
            let c = c.clone();
            async move {
                if is_get(rule.path) || rule.path == "/live" {
                    c.get(rule.path).await
                } else {
                    c.post(rule.path, &form).await
                }
            }
        };
        let (status, err) = body(call(&anonymous).await).await;
        let refused = status == 401 && err["message"] == "Sign in first.";
        match rule.access {
            // The login endpoint answers (here: wrong credentials), it does not ask to sign in.
            Access::Public => assert!(!refused, "{}: {err}", rule.path),
            _ => assert!(refused, "anonymous on {}: {status} {err}", rule.path),
        }
        for (who, role) in [(&analyst, Role::Analyst), (&dba, Role::Dba)] {
            if matches!(rule.access, Access::AtLeast(min) if min > role) {
                let res = call(who).await;
                let (status, err) = body(res).await;
                assert_eq!(
                    (status, err["kind"].as_str()),
                    (403, Some("forbidden")),
                    "{role} on {}",
                    rule.path
                );
            }
        }
    }
    assert_eq!(
        state.store.count_users().await.unwrap(),
        users_before,
        "nothing executed"
    );
    assert!(state.store.find_user("intruder").await.unwrap().is_none());
    // The analyst and the dba are still who they were.
    assert_eq!(analyst.json("/api/auth/me").await.1["role"], "analyst");

    // Pages: anonymous visitors go to the sign-in page and come back afterwards.
    for page in PAGES {
        let res = anonymous.get(page.path).await;
        match page.access {
            Access::Public => assert_eq!(res.status(), 200, "{}", page.path),
            _ => {
                assert_eq!(res.status(), 303, "{}", page.path);
                let to = res.headers()["location"].to_str().unwrap();
                assert_eq!(to, format!("/login?next={}", page.path));
            }
        }
    }
    let res = anonymous.get("/users/").await;
    assert_eq!(res.status(), 303, "a trailing slash is the same page");
    let res = anonymous.get("/users?tab=locks").await;
    assert_eq!(
        res.headers()["location"],
        "/login?next=/users%3Ftab%3Dlocks"
    );
    // A role below the page's gets a 403 page without the data.
    let res = analyst.get("/users").await;
    assert_eq!(res.status(), 403);
    let html = res.text().await.unwrap();
    assert!(html.contains("data-testid=\"denied\"") && !html.contains("users-table"));
    let res = Caller::signed_in(&f.base, "root", PASSWORD)
        .await
        .get("/users")
        .await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("users-table") && html.contains("dora"));

    let events = common::audit_flushed(&f).await;
    let denied = common::weight(&events, |e| e.action == "request.denied");
    assert!(denied >= 6, "{denied} denials audited");
    f.server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_and_get_requests_change_nothing() {
    let f = fixture().await;
    let admin = Caller::signed_in(&f.base, "root", PASSWORD).await;
    let create = [
        ("username", "forged"),
        ("password", "forged password"),
        ("role", "admin"),
    ];
    for headers in [
        vec![("origin", "http://evil.example")],
        vec![("origin", "null")],
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site")],
        vec![("referer", "http://evil.example/page")],
        vec![],
    ] {
        let res = admin
            .post_with("/api/users/create", &create, &headers)
            .await;
        let (status, err) = body(res).await;
        assert_eq!(
            (status, err["kind"].as_str()),
            (403, Some("forbidden")),
            "{headers:?}"
        );
    }
    // Login and logout are covered too (login CSRF).
    let res = Caller::anonymous(&f.base)
        .post_with(
            "/api/auth/login",
            &[("username", "root"), ("password", PASSWORD)],
            &[("origin", "http://evil.example")],
        )
        .await;
    assert_eq!(res.status(), 403);
    assert!(res.headers().get("set-cookie").is_none());
    assert_eq!(
        admin.post_with("/api/auth/logout", &[], &[]).await.status(),
        403
    );
    assert!(
        f.server
            .state
            .store
            .find_user("forged")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(admin.json("/api/auth/me").await.0, 200, "still signed in");

    // Without Origin, Sec-Fetch-Site or Referer of our own are accepted (older browsers).
    let own_referer = format!("{}/users", f.base);
    let res = admin
        .post_with(
            "/api/users/create",
            &create,
            &[("referer", own_referer.as_str())],
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = admin
        .post_with(
            "/api/users/update",
            &[("username", "forged"), ("role", "dba")],
            &[("sec-fetch-site", "same-origin")],
        )
        .await;
    assert_eq!(res.status(), 200);

    // Dot segments never reach a page or an endpoint.
    let raw = |path: &str| {
        let base = f.base.trim_start_matches("http://").to_owned();
        let path = path.to_owned();
        async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut s = tokio::net::TcpStream::connect(&base).await.unwrap();
            let req = format!("GET {path} HTTP/1.1\r\nHost: {base}\r\nConnection: close\r\n\r\n");
            s.write_all(req.as_bytes()).await.unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).await.unwrap();
            out
        }
    };
    for path in ["/x/../users", "/api/x/../users", "//users"] {
        let answer = raw(path).await;
        assert!(
            answer.starts_with("HTTP/1.1 404"),
            "{path}: {}",
            &answer[..40]
        );
        assert!(!answer.contains("users-table"));
    }

    // GET never changes anything.
    for path in [
        "/api/auth/logout",
        "/api/users/create?username=x&password=yyyyyyyyyyyy&role=admin",
        "/api/users/update?username=forged&disabled=true",
    ] {
        assert_eq!(admin.get(path).await.status(), 405, "{path}");
    }
    assert_eq!(admin.json("/api/auth/me").await.0, 200);
    let forged = f
        .server
        .state
        .store
        .find_user("forged")
        .await
        .unwrap()
        .unwrap();
    assert!(forged.disabled_at_ms.is_none());

    // Aggregated per address and minute: the rows stand for all eight.
    let events = common::audit_flushed(&f).await;
    let forgeries = common::weight(&events, |e| e.action == "request.forged");
    assert_eq!(forgeries, 8);
    f.server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_sign_ins_are_throttled_and_admins_clear_locks() {
    let f = fixture().await;
    for i in 0..10 {
        assert_eq!(
            login(&f, "dora", "wrong password!").await.status(),
            401,
            "attempt {i}"
        );
        f.clock.advance(Duration::from_secs(5));
    }
    // The 11th is refused before the password is looked at, even the right one.
    let res = login(&f, "dora", PASSWORD).await;
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((800..=900).contains(&retry), "{retry}");
    let (_, err) = body(res).await;
    assert_eq!(err["kind"], "rate_limited");
    // Unknown accounts are throttled the same way (no hint which names exist).
    for _ in 0..10 {
        login(&f, "ghost", "wrong password!").await;
    }
    assert_eq!(login(&f, "ghost", "wrong password!").await.status(), 429);
    // Other accounts are not affected.
    Caller::signed_in(&f.base, "ana", PASSWORD).await;

    // An admin sees the lock and clears it.
    let admin = Caller::signed_in(&f.base, "root", PASSWORD).await;
    let (_, locks) = admin.json("/api/users/locks").await;
    let locked: Vec<&str> = locks["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(locked, ["dora"]);
    let (_, users) = admin.json("/api/users").await;
    let dora = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "dora")
        .unwrap();
    assert_eq!(dora["recent_failures"], 10);
    assert!(dora["locked_until"].is_string());
    assert_eq!(
        admin
            .post("/api/users/unlock", &[("username", "dora")])
            .await
            .status(),
        200
    );
    Caller::signed_in(&f.base, "dora", PASSWORD).await;
    assert_eq!(admin.post("/api/users/unlock", &[]).await.status(), 400);
    assert_eq!(
        admin
            .post("/api/users/unlock", &[("client_addr", "not an ip")])
            .await
            .status(),
        400
    );

    // After the window the account may try again; a success resets the count.
    for _ in 0..10 {
        login(&f, "ana", "wrong password!").await;
    }
    assert_eq!(login(&f, "ana", PASSWORD).await.status(), 429);
    f.clock.advance(Duration::from_secs(15 * 60 + 1));
    Caller::signed_in(&f.base, "ana", PASSWORD).await;
    for _ in 0..9 {
        assert_eq!(login(&f, "ana", "wrong password!").await.status(), 401);
    }
    assert_eq!(login(&f, "ana", PASSWORD).await.status(), 200);

    // A password reset is a way out of a lock too.
    for _ in 0..10 {
        login(&f, "ana", "wrong password!").await;
    }
    assert_eq!(login(&f, "ana", PASSWORD).await.status(), 429);
    let admin = Caller::signed_in(&f.base, "root", PASSWORD).await;
    let reset = [("username", "ana"), ("password", "ana's new passphrase")];
    assert_eq!(admin.post("/api/users/update", &reset).await.status(), 200);
    Caller::signed_in(&f.base, "ana", "ana's new passphrase").await;

    // Per address: many accounts guessed from one place lock the address, and a success from
    // there (someone with a working account) does not reset it.
    f.clock.advance(Duration::from_secs(3600));
    let admin = Caller::signed_in(&f.base, "root", PASSWORD).await;
    for i in 0..49 {
        login(&f, &format!("spray{i}"), "wrong password!").await;
    }
    Caller::signed_in(&f.base, "dora", PASSWORD).await;
    login(&f, "spray49", "wrong password!").await;
    let (status, err) = body(login(&f, "root", PASSWORD).await).await;
    assert_eq!(status, 429);
    assert!(err["message"].as_str().unwrap().contains("your address"));
    let (_, locks) = admin.json("/api/users/locks").await;
    assert_eq!(locks["addresses"][0]["client_addr"], "127.0.0.1");
    assert_eq!(
        admin
            .post("/api/users/unlock", &[("client_addr", "127.0.0.1")])
            .await
            .status(),
        200
    );
    assert_eq!(login(&f, "root", PASSWORD).await.status(), 200);

    // A burst of parallel guesses for one account gets no more than the limit through.
    let burst: Vec<_> = (0..30)
        .map(|_| {
            let base = f.base.clone();
            tokio::spawn(async move {
                Caller::anonymous(&base)
                    .post(
                        "/api/auth/login",
                        &[("username", "burst"), ("password", "guess guess")],
                    )
                    .await
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in burst {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        20,
        "{statuses:?}"
    );
    let events = audit(&f).await;
    assert!(
        events
            .iter()
            .any(|e| e.action == "auth.login" && e.outcome == "throttled")
    );
    assert!(
        events
            .iter()
            .any(|e| e.action == "user.unlock" && e.object.as_deref() == Some("dora"))
    );
    f.server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_store_fails_sign_in_cleanly() {
    let mut cluster = TempCluster::start_async(ClusterOptions::bare())
        .await
        .expect("cluster");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = common::test_config(dir.path(), Some(cluster.url("postgres")));
    let f = fixture_from(config, dir).await;
    let ana = Caller::signed_in(&f.base, "ana", PASSWORD).await;
    let sessions = f.server.state.store.count_sessions("ana").await.unwrap();
    let events = audit(&f).await.len();

    cluster.stop();
    let (status, err) = body(login(&f, "ana", PASSWORD).await).await;
    assert_eq!(
        (status, err["kind"].as_str()),
        (503, Some("unavailable")),
        "{err}"
    );
    assert!(err["message"].as_str().unwrap().contains("store"));
    assert_eq!(ana.json("/api/auth/me").await.0, 503);

    cluster.restart().expect("restart");
    // Nothing was half-written: no new session, no stray audit rows.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while f.server.state.store.ping().await.is_err() {
        assert!(std::time::Instant::now() < deadline, "store back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        f.server.state.store.count_sessions("ana").await.unwrap(),
        sessions
    );
    assert_eq!(audit(&f).await.len(), events);
    assert_eq!(ana.json("/api/auth/me").await.0, 200);
    f.server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_concurrent_sign_ins_never_cross() {
    let f = fixture().await;
    let state = &f.server.state;
    // One hash for everyone keeps set-up short; each sign-in still verifies it in full.
    let hash = state.auth.hasher.hash(PASSWORD).await.unwrap();
    for i in 0..1000 {
        let ev = app::store::AuditEvent::new(
            0,
            app::features::audit::model::Action::UserCreate,
            app::features::audit::model::Outcome::Success,
        );
        state
            .store
            .create_user(&format!("user{i:04}"), &hash, Role::Analyst, 0, &ev)
            .await
            .unwrap();
    }
    let tasks: Vec<_> = (0..1000)
        .map(|i| {
            let base = f.base.clone();
            tokio::spawn(async move {
                let name = format!("user{i:04}");
                let c = Caller::signed_in(&base, &name, PASSWORD).await;
                let (status, me) = c.json("/api/auth/me").await;
                (
                    name,
                    status,
                    me["username"].as_str().unwrap_or_default().to_owned(),
                    c.cookie,
                )
            })
        })
        .collect();
    let mut cookies = std::collections::HashSet::new();
    for t in tasks {
        let (name, status, me, cookie) = t.await.unwrap();
        assert_eq!((status, me.as_str()), (200, name.as_str()));
        assert!(cookies.insert(cookie), "duplicate session token");
    }
    f.server.stop().await;
}
