//! User management over HTTP: the rules for names, passwords and roles, the last admin, and
//! the audit trail of every change.

use crate::common::{Caller, PASSWORD, audit, body, fixture};

#[tokio::test(flavor = "multi_thread")]
async fn user_management_rules_and_errors() {
    let f = fixture().await;
    let admin = Caller::signed_in(&f.base, "root", PASSWORD).await;
    let post = |form: Vec<(&'static str, String)>| {
        let admin = admin.clone();
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            body(admin.post("/api/users/create", &form).await).await
        }
    };
    let ok = post(vec![
        ("username", "Zoë.Ops".into()),
        ("password", "ünïcødé pässwörd 🔑".into()),
        ("role", "dba".into()),
    ])
    .await;
    assert_eq!(ok.0, 200, "{}", ok.1);
    assert_eq!(ok.1["username"], "zoë.ops");
    assert_eq!(ok.1["role"], "dba");
    Caller::signed_in(&f.base, "ZOË.OPS", "ünïcødé pässwörd 🔑").await;

    let long_pw = "ł".repeat(1024);
    for (form, status, kind) in [
        (
            vec![
                ("username", "zoë.ops"),
                ("password", "another password"),
                ("role", "dba"),
            ],
            409,
            "conflict",
        ),
        (
            vec![("username", "x"), ("password", "short"), ("role", "dba")],
            400,
            "validation",
        ),
        (
            vec![
                ("username", "x"),
                ("password", "long enough pass"),
                ("role", "root"),
            ],
            400,
            "validation",
        ),
        (
            vec![
                ("username", ""),
                ("password", "long enough pass"),
                ("role", "dba"),
            ],
            400,
            "validation",
        ),
        (
            vec![
                ("username", "bad name"),
                ("password", "long enough pass"),
                ("role", "dba"),
            ],
            400,
            "validation",
        ),
        (
            vec![
                ("username", "o'brien"),
                ("password", "long enough pass"),
                ("role", "dba"),
            ],
            400,
            "validation",
        ),
        (
            vec![
                ("username", &"y".repeat(65)),
                ("password", "long enough pass"),
                ("role", "dba"),
            ],
            400,
            "validation",
        ),
        (
            vec![
                ("username", "y"),
                ("password", &"z".repeat(1025)),
                ("role", "dba"),
            ],
            400,
            "validation",
        ),
        (vec![("username", "y"), ("role", "dba")], 400, "validation"),
        (
            vec![
                ("username", "longpw"),
                ("password", &long_pw),
                ("role", "analyst"),
            ],
            200,
            "",
        ),
    ] {
        let (s, b) = post(form.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()).await;
        assert_eq!(s, status, "{form:?}: {b}");
        if !kind.is_empty() {
            assert_eq!(b["kind"], kind);
            assert!(!b["message"].as_str().unwrap().is_empty());
        }
    }
    Caller::signed_in(&f.base, "longpw", &long_pw).await;

    // Update errors.
    for (form, status) in [
        (vec![("username", "nobody"), ("role", "dba")], 404),
        (vec![("username", "ana")], 400),
        (vec![("username", "ana"), ("disabled", "maybe")], 400),
        (vec![("username", "ana"), ("role", "superuser")], 400),
        (vec![("username", "ana"), ("password", "short")], 400),
    ] {
        let (s, b) = body(admin.post("/api/users/update", &form).await).await;
        assert_eq!(s, status, "{form:?}: {b}");
    }

    // The last enabled admin cannot be demoted or disabled.
    for form in [
        vec![("username", "root"), ("role", "dba")],
        vec![("username", "root"), ("disabled", "true")],
    ] {
        let (s, b) = body(admin.post("/api/users/update", &form).await).await;
        assert_eq!((s, b["kind"].as_str()), (409, Some("conflict")), "{b}");
        assert!(
            b["message"]
                .as_str()
                .unwrap()
                .contains("last enabled admin")
        );
    }
    // With a second admin it can.
    admin
        .post(
            "/api/users/update",
            &[("username", "dora"), ("role", "admin")],
        )
        .await;
    let (s, _) = body(
        admin
            .post(
                "/api/users/update",
                &[("username", "root"), ("role", "dba")],
            )
            .await,
    )
    .await;
    assert_eq!(s, 200);
    // root is a dba now: the very next call is refused.
    assert_eq!(admin.json("/api/users").await.0, 403);

    let dora = Caller::signed_in(&f.base, "dora", PASSWORD).await;
    let (_, users) = dora.json("/api/users").await;
    let names: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ana", "dora", "longpw", "root", "zoë.ops"]);
    for u in users.as_array().unwrap() {
        assert!(u.get("password_hash").is_none() && !u.to_string().contains("argon2"));
    }

    // Every change, refused or not, is in the audit trail with its actor and client.
    let events = audit(&f).await;
    let creates: Vec<_> = events
        .iter()
        .filter(|e| e.action == "user.create")
        .collect();
    assert!(creates.iter().any(|e| e.outcome == "success"
        && e.object.as_deref() == Some("zoë.ops")
        && e.actor.as_deref() == Some("root")
        && e.actor_role.as_deref() == Some("admin")
        && e.client_addr.as_deref() == Some("127.0.0.1")));
    // A refused change is "refused" (nothing changed), as for every other action.
    assert!(creates.iter().any(|e| {
        e.outcome == "refused"
            && e.error
                .as_deref()
                .is_some_and(|m| m.contains("already exists"))
    }));
    assert!(events.iter().any(|e| {
        e.action == "user.update"
            && e.outcome == "refused"
            && e.error
                .as_deref()
                .is_some_and(|m| m.contains("last enabled admin"))
    }));
    // Passwords never reach the audit trail.
    let all = format!("{events:?}");
    assert!(
        !all.contains("pässwörd") && !all.contains("long enough pass") && !all.contains("argon2")
    );
    f.server.stop().await;
}
