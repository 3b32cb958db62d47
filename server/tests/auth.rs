//! Sign-in, sessions, forgery protection, throttling and the audit trail, over real HTTP on the
//! real router and a real store, with a manual clock for the time limits.

use crate::common;

use std::time::{Duration, Instant};

use crate::common::{Caller, PASSWORD, audit, body, cookie_of, fixture, fixture_with, login};

#[tokio::test(flavor = "multi_thread")]
async fn login_sets_a_hardened_cookie_and_me_answers() {
    let f = fixture().await;
    let res = login(&f, "Ana", PASSWORD).await;
    assert_eq!(res.status(), 200);
    let set_cookie = res.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_owned();
    assert!(set_cookie.starts_with("pgpanel_session="), "{set_cookie}");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(set_cookie.contains(attr), "{attr} in {set_cookie}");
    }
    let token = set_cookie["pgpanel_session=".len()..]
        .split(';')
        .next()
        .unwrap();
    assert_eq!(token.len(), 64, "256-bit token, hex");
    let (_, me) = body(res).await;
    assert_eq!(
        me,
        serde_json::json!({"username": "ana", "role": "analyst"})
    );

    // Only the hash is stored.
    let c = Caller {
        cookie: Some(format!("pgpanel_session={token}")),
        ..Caller::anonymous(&f.base)
    };
    let (status, me) = c.json("/api/auth/me").await;
    assert_eq!((status, me["username"].as_str()), (200, Some("ana")));
    let state = &f.server.state;
    assert!(
        state
            .store
            .find_session(token)
            .await
            .expect("find")
            .is_none()
    );

    // No cookie, a made-up cookie: 401 as JSON, and the bad cookie is cleared.
    let (status, err) = Caller::anonymous(&f.base).json("/api/auth/me").await;
    assert_eq!((status, err["kind"].as_str()), (401, Some("unauthorized")));
    let fake = Caller {
        cookie: Some(format!("pgpanel_session={}", "0".repeat(64))),
        ..Caller::anonymous(&f.base)
    };
    let res = fake.get("/api/auth/me").await;
    assert_eq!(res.status(), 401);
    assert!(
        res.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    f.server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn secure_cookies_use_the_host_prefix() {
    let f = fixture_with(true).await;
    // Served over TLS: an http:// page is not pgpanel.
    let form = [("username", "ana"), ("password", PASSWORD)];
    let anonymous = Caller::anonymous(&f.base);
    let res = anonymous.post("/api/auth/login", &form).await;
    assert_eq!(res.status(), 403);
    let https = f.base.replace("http://", "https://");
    let res = anonymous
        .post_with("/api/auth/login", &form, &[("origin", https.as_str())])
        .await;
    assert_eq!(res.status(), 200);
    let set_cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        set_cookie.starts_with("__Host-pgpanel_session="),
        "{set_cookie}"
    );
    assert!(set_cookie.contains("; Secure") && set_cookie.contains("Path=/"));
    assert!(!set_cookie.contains("Domain"));
    let c = Caller {
        cookie: cookie_of(&res),
        ..Caller::anonymous(&f.base)
    };
    assert_eq!(c.json("/api/auth/me").await.0, 200);
    // The plain name is not accepted when cookies are secure.
    let plain = Caller {
        cookie: c.cookie.as_ref().map(|v| v.replace("__Host-", "")),
        ..Caller::anonymous(&f.base)
    };
    assert_eq!(plain.json("/api/auth/me").await.0, 401);
    f.server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_user_and_wrong_password_look_the_same() {
    let f = fixture().await;
    let mut wrong = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..4 {
        let started = Instant::now();
        let (s1, b1) = body(login(&f, "ana", &format!("wrong password {i}")).await).await;
        wrong.push(started.elapsed());
        let started = Instant::now();
        let (s2, b2) = body(login(&f, &format!("nobody{i}"), "wrong password x").await).await;
        unknown.push(started.elapsed());
        assert_eq!((s1, &b1), (s2, &b2));
        assert_eq!(s1, 401);
        assert_eq!(b1["message"], "Invalid username or password.");
    }
    wrong.sort();
    unknown.sort();
    let (w, u) = (wrong[2].as_secs_f64(), unknown[2].as_secs_f64());
    // Both verify an argon2id hash; neither answers early.
    assert!(w > 0.005 && u > 0.005, "{w} {u}");
    assert!(
        w / u < 2.5 && u / w < 2.5,
        "wrong password {w:.4}s vs unknown user {u:.4}s"
    );

    // Input errors: clear 400s, nothing stored.
    for (user, pw) in [("", "x"), ("ana", ""), ("a b", "whatever pass")] {
        let (status, err) = body(login(&f, user, pw).await).await;
        assert_eq!(
            (status, err["kind"].as_str()),
            (400, Some("validation")),
            "{user:?}"
        );
    }
    let huge = "x".repeat(5000);
    assert_eq!(login(&f, &huge, PASSWORD).await.status(), 400);
    assert_eq!(login(&f, "ana", &huge).await.status(), 400);
    let res = Caller::anonymous(&f.base)
        .post("/api/auth/login", &[("username", "ana")])
        .await;
    assert_eq!(res.status(), 400);

    let events = common::audit_flushed(&f).await;
    let failures = common::weight(&events, |e| {
        e.action == "auth.login" && e.outcome == "failure"
    });
    assert!(failures >= 8 + 5, "{failures} failures audited");
    // Names of accounts that do not exist are not kept (it may be a password typed in the
    // wrong field); the event says "unknown user".
    assert!(!format!("{events:?}").contains("nobody0"));
    assert!(events.iter().any(|e| {
        e.error
            .as_deref()
            .is_some_and(|m| m.ends_with("(unknown user)"))
    }));
    assert!(
        events
            .iter()
            .any(|e| e.actor.as_deref() == Some("ana") && e.outcome == "failure")
    );
    f.server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_rotate_end_and_expire() {
    let f = fixture().await;
    // Fixation: a login that carries an old session gets a new token; the old one is dead.
    let first = Caller::signed_in(&f.base, "dora", PASSWORD).await;
    let res = first
        .post(
            "/api/auth/login",
            &[("username", "dora"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status(), 200);
    let second = Caller {
        cookie: cookie_of(&res),
        ..first.clone()
    };
    assert_ne!(first.cookie, second.cookie);
    assert_eq!(first.json("/api/auth/me").await.0, 401);
    assert_eq!(second.json("/api/auth/me").await.0, 200);

    // Logout ends it server-side: replaying the cookie fails.
    let res = second.post("/api/auth/logout", &[]).await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(second.json("/api/auth/me").await.0, 401);
    assert_eq!(
        f.server.state.store.count_sessions("dora").await.unwrap(),
        0
    );

    // Idle timeout: 29 minutes apart is fine, 31 is not.
    let c = Caller::signed_in(&f.base, "dora", PASSWORD).await;
    f.clock.advance(Duration::from_secs(29 * 60));
    assert_eq!(c.json("/api/auth/me").await.0, 200);
    f.clock.advance(Duration::from_secs(29 * 60));
    assert_eq!(
        c.json("/api/auth/me").await.0,
        200,
        "activity keeps it alive"
    );
    f.clock.advance(Duration::from_secs(31 * 60));
    assert_eq!(c.json("/api/auth/me").await.0, 401, "idle too long");

    // Absolute timeout: active every 20 minutes, still ends after 12 hours.
    let c = Caller::signed_in(&f.base, "dora", PASSWORD).await;
    for _ in 0..35 {
        f.clock.advance(Duration::from_secs(20 * 60));
        assert_eq!(c.json("/api/auth/me").await.0, 200);
    }
    f.clock.advance(Duration::from_secs(21 * 60));
    assert_eq!(c.json("/api/auth/me").await.0, 401, "older than 12 h");

    let events = audit(&f).await;
    assert!(
        events
            .iter()
            .any(|e| e.action == "auth.logout" && e.actor.as_deref() == Some("dora"))
    );
    f.server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_changes_apply_at_once() {
    let f = fixture().await;
    let admin = Caller::signed_in(&f.base, "root", PASSWORD).await;
    let dora = Caller::signed_in(&f.base, "dora", PASSWORD).await;
    let dora2 = Caller::signed_in(&f.base, "dora", PASSWORD).await;

    // Role change: the next request sees it, no new sign-in needed.
    let res = admin
        .post(
            "/api/users/update",
            &[("username", "dora"), ("role", "analyst")],
        )
        .await;
    assert_eq!(res.status(), 200);
    let (_, me) = dora.json("/api/auth/me").await;
    assert_eq!(me["role"], "analyst");
    admin
        .post(
            "/api/users/update",
            &[("username", "dora"), ("role", "admin")],
        )
        .await;
    assert_eq!(dora.json("/api/users").await.0, 200, "now an admin");

    // Password reset ends every session of that user.
    let res = admin
        .post(
            "/api/users/update",
            &[("username", "dora"), ("password", "a brand new passphrase")],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(dora.json("/api/auth/me").await.0, 401);
    assert_eq!(dora2.json("/api/auth/me").await.0, 401);
    assert_eq!(login(&f, "dora", PASSWORD).await.status(), 401);
    let dora = Caller::signed_in(&f.base, "dora", "a brand new passphrase").await;

    // Disabling ends sessions and refuses sign-in; enabling lets them back.
    let res = admin
        .post(
            "/api/users/update",
            &[("username", "dora"), ("disabled", "true")],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(dora.json("/api/auth/me").await.0, 401);
    let (status, err) = body(login(&f, "dora", "a brand new passphrase").await).await;
    assert_eq!(status, 401);
    assert!(err["message"].as_str().unwrap().contains("disabled"));
    // The wrong password on a disabled account says nothing about the account.
    let (_, err) = body(login(&f, "dora", "not the password").await).await;
    assert_eq!(err["message"], "Invalid username or password.");
    admin
        .post(
            "/api/users/update",
            &[("username", "dora"), ("disabled", "false")],
        )
        .await;
    Caller::signed_in(&f.base, "dora", "a brand new passphrase").await;
    f.server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn weaker_hashes_are_upgraded_at_the_next_sign_in() {
    use argon2::password_hash::{SaltString, rand_core::OsRng};
    use argon2::{Algorithm, Argon2, Params, PasswordHasher, Version};
    let f = fixture().await;
    let state = &f.server.state;
    // A hash from an older, weaker setting (one pass), as an earlier version might have stored.
    let weak = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(19_456, 1, 1, None).unwrap(),
    )
    .hash_password(b"an older passphrase", &SaltString::generate(&mut OsRng))
    .unwrap()
    .to_string();
    let ev = app::store::AuditEvent::new(
        0,
        app::features::audit::model::Action::UserCreate,
        app::features::audit::model::Outcome::Success,
    );
    state
        .store
        .create_user(
            "old.timer",
            &weak,
            app::features::auth::model::Role::Analyst,
            0,
            &ev,
        )
        .await
        .unwrap();
    assert_eq!(
        login(&f, "old.timer", "wrong guess here").await.status(),
        401
    );
    let unchanged = state.store.find_user("old.timer").await.unwrap().unwrap();
    assert_eq!(
        unchanged.password_hash, weak,
        "no upgrade without the right password"
    );
    Caller::signed_in(&f.base, "old.timer", "an older passphrase").await;
    let upgraded = state.store.find_user("old.timer").await.unwrap().unwrap();
    assert!(
        upgraded
            .password_hash
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{}",
        upgraded.password_hash
    );
    Caller::signed_in(&f.base, "old.timer", "an older passphrase").await;
    f.server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn behind_a_trusted_proxy_the_forwarded_address_is_the_client() {
    let fail = |f: &common::Fixture, forwarded: &'static str| {
        let c = Caller::anonymous(&f.base);
        let base = f.base.clone();
        async move {
            c.post_with(
                "/api/auth/login",
                &[("username", "ana"), ("password", "a wrong password")],
                &[("origin", &base), ("x-forwarded-for", forwarded)],
            )
            .await
            .status()
        }
    };
    let clients = |events: Vec<app::store::AuditEvent>| -> Vec<String> {
        events
            .into_iter()
            .filter(|e| e.action == "auth.login" && e.outcome == "failure")
            .filter_map(|e| e.client_addr)
            .collect()
    };

    // The proxy (127.0.0.1 here) is trusted: the client is the rightmost address it did not
    // write itself; what the client put on the left is ignored.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = common::test_config(dir.path(), None);
    config.http.trusted_proxies = vec!["127.0.0.1".into(), "10.0.0.0/8".into()];
    let f = common::fixture_from(config, dir).await;
    assert_eq!(fail(&f, "1.1.1.1, 203.0.113.7").await, 401);
    assert_eq!(fail(&f, "198.51.100.4, 10.0.0.3").await, 401);
    assert_eq!(
        clients(audit(&f).await),
        ["198.51.100.4", "203.0.113.7"],
        "newest first"
    );
    f.server.stop().await;

    // Not trusted (the default): the header changes nothing.
    let f = fixture().await;
    assert_eq!(fail(&f, "203.0.113.7").await, 401);
    assert_eq!(clients(audit(&f).await), ["127.0.0.1"]);
    f.server.stop().await;
}
