//! The audit trail over HTTP: `GET /api/audit` filters, pages and refuses bad parameters; the
//! Audit page renders what is recorded as text.

use std::collections::HashSet;
use std::time::Duration;

use crate::common::{Caller, PASSWORD, body, fixture, login};
use app::store::AuditEvent;
use serde_json::Value;

fn ids(page: &Value) -> Vec<i64> {
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect()
}

fn all(page: &Value, field: &str) -> HashSet<String> {
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e[field].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_audit_trail_is_filtered_paged_and_rendered_as_text() {
    let f = fixture().await;
    // Recorded through pgpanel: a failed and a good sign-in, a refused request.
    assert_eq!(login(&f, "nobody", "wrong password").await.status(), 401);
    let dba = Caller::signed_in(&f.base, "dora", PASSWORD).await;
    let started = f.clock.now_ms();
    f.clock.advance(Duration::from_secs(60));
    let analyst = Caller::signed_in(&f.base, "ana", PASSWORD).await;
    let res = analyst
        .post("/api/users/create", &[("username", "x"), ("password", "y")])
        .await;
    assert_eq!(res.status(), 403);
    // And one whose strings would be markup if rendered as HTML.
    f.server
        .state
        .store
        .append_audit(
            &AuditEvent::new(
                f.clock.now_ms(),
                app::features::audit::model::Action::Vacuum,
                app::features::audit::model::Outcome::Failure,
            )
            .actor("dora", Some("dba"))
            .object("\"<img src=x onerror=alert(1)>\" in database \"50%_off\"")
            .parameters(r#"{"sql":"VACUUM \"<b>bold</b>\";","full":false}"#)
            .error("object is locked by pid 4242"),
        )
        .await
        .unwrap();

    // Everything, newest first.
    let (status, page) = analyst.json("/api/audit").await;
    assert_eq!(status, 200, "{page}");
    let every = ids(&page);
    assert!(every.len() >= 5, "{page}");
    assert!(every.windows(2).all(|w| w[0] > w[1]), "newest first");
    assert_eq!(page["next_before"], Value::Null, "one page holds it all");
    let newest = &page["events"][0];
    assert_eq!(newest["action"], "vacuum");
    assert_eq!(newest["parameters"]["full"], false, "parameters are JSON");
    assert_eq!(newest["error"], "object is locked by pid 4242");
    assert!(
        newest["at"].as_str().unwrap().ends_with('Z'),
        "RFC 3339 UTC"
    );

    // Filters narrow; several actions at once.
    let (_, page) = analyst
        .json("/api/audit?action=auth.login&outcome=failure")
        .await;
    assert_eq!(ids(&page).len(), 1, "{page}");
    assert_eq!(
        page["events"][0]["actor"],
        Value::Null,
        "a failed sign-in names nobody"
    );
    let (_, page) = analyst
        .json("/api/audit?action=auth.login&actor=dora")
        .await;
    assert_eq!(all(&page, "outcome"), HashSet::from(["success".to_owned()]));
    let (_, page) = analyst
        .json("/api/audit?action=request.denied,vacuum")
        .await;
    assert_eq!(
        all(&page, "action"),
        HashSet::from(["request.denied".to_owned(), "vacuum".to_owned()])
    );
    let denied = &page["events"][1];
    assert_eq!(
        (denied["actor"].as_str(), denied["object"].as_str()),
        (Some("ana"), Some("POST /api/users/create"))
    );
    // Object search is literal: % and _ are themselves, letters in any case.
    let (_, page) = analyst.json("/api/audit?object=50%25_OFF").await;
    assert_eq!(ids(&page), vec![every[0]]);
    let (_, page) = analyst.json("/api/audit?object=%25").await;
    assert_eq!(ids(&page), vec![every[0]], "% is not a wildcard");
    let (_, page) = analyst.json("/api/audit?object=_api").await;
    assert!(ids(&page).is_empty(), "_ is not a wildcard: {page}");
    // Time window: the failed login and dora's sign-in were a minute before the rest.
    let at = |ms: i64| {
        app::components::format::from_ms(ms)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let (_, early) = analyst
        .json(&format!("/api/audit?until={}", at(started + 1)))
        .await;
    let (_, page) = analyst
        .json(&format!("/api/audit?since={}", at(started + 1)))
        .await;
    assert_eq!(ids(&page).len() + ids(&early).len(), every.len());
    assert_eq!(
        all(&page, "action"),
        HashSet::from(["auth.login", "request.denied", "vacuum"].map(String::from))
    );
    let (_, page) = analyst
        .json(&format!(
            "/api/audit?action=auth.login&until={}",
            at(started + 1)
        ))
        .await;
    assert_eq!(
        all(&page, "actor"),
        HashSet::from(["dora".to_owned(), String::new()])
    );

    // Pages of two: together exactly the whole trail, none repeated.
    let mut paged = Vec::new();
    let mut before = String::new();
    loop {
        let (status, page) = dba.json(&format!("/api/audit?limit=2{before}")).await;
        assert_eq!(status, 200);
        assert!(ids(&page).len() <= 2);
        paged.extend(ids(&page));
        match page["next_before"].as_i64() {
            Some(b) => before = format!("&before={b}"),
            None => break,
        }
    }
    assert_eq!(paged, every);

    // Bad parameters: 400 naming the parameter, never 500.
    for (query, name) in [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=ten", "limit"),
        ("before=-1", "before"),
        ("before=1%3B", "before"),
        ("since=yesterday", "since"),
        ("until=2026-13-01T00:00:00Z", "until"),
        ("outcome=ok", "outcome"),
        ("action=vacuum%3Bdrop%20table%20users", "action"),
        (
            "since=2026-11-24T10:00:00Z&until=2026-11-24T09:00:00Z",
            "until",
        ),
    ] {
        let (status, err) = analyst.json(&format!("/api/audit?{query}")).await;
        assert_eq!(
            (status, err["kind"].as_str()),
            (400, Some("validation")),
            "{query}"
        );
        assert!(
            err["message"].as_str().unwrap().starts_with(name),
            "{query}: {err}"
        );
    }
    let (status, _) = body(Caller::anonymous(&f.base).get("/api/audit").await).await;
    assert_eq!(status, 401);

    // The page: rows as text, the filter kept in the form and the pager.
    let res = analyst.get("/audit?action=vacuum").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert_eq!(
        html.matches("data-testid=\"audit-row\"").count(),
        1,
        "{html}"
    );
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{html}"
    );
    assert!(!html.contains("<img src=x") && !html.contains("<b>bold"));
    assert!(html.contains("object is locked by pid 4242"));
    let res = analyst.get("/audit?limit=1&before=0").await;
    assert_eq!(res.status(), 400, "a bad cursor is the user's error");
    let html = analyst.get(&format!("/audit?before={}", every[1])).await;
    let html = html.text().await.unwrap();
    assert!(
        html.contains("audit-newest"),
        "a later page links back to the newest"
    );
    assert!(!html.contains(&format!("data-id=\"{}\"", every[0])));
    f.server.stop().await;
}

/// `fold=true`: an action's intent travels inside its outcome (one entry per action) and is not
/// listed on its own; an intent whose outcome never came stays listed; bad values are refused.
#[tokio::test(flavor = "multi_thread")]
async fn an_actions_intent_is_folded_into_its_outcome() {
    let f = fixture().await;
    let analyst = Caller::signed_in(&f.base, "ana", PASSWORD).await;
    let store = &f.server.state.store;
    let at = f.clock.now_ms();
    let event = |outcome: &str| {
        AuditEvent::new(
            at,
            app::features::audit::model::Action::TerminateBackend,
            app::features::audit::model::Outcome::parse(outcome).expect("outcome"),
        )
        .actor("dora", Some("dba"))
        .object("pid 4242")
    };
    let intent = store.append_audit(&event("intent")).await.unwrap();
    let outcome = store
        .append_audit(&event("success").follows(Some(intent)))
        .await
        .unwrap();
    // An intent with no outcome (the process stopped in between).
    let lone = store
        .append_audit(&event("intent").object("pid 77"))
        .await
        .unwrap();

    let (status, page) = analyst
        .json("/api/audit?action=terminate_backend&fold=true")
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(ids(&page), vec![lone, outcome], "{page}");
    let folded = &page["events"][1];
    assert_eq!(folded["intent_id"], intent);
    assert_eq!(folded["intent"]["id"], intent);
    assert_eq!(folded["intent"]["outcome"], "intent");
    assert!(page["events"][0]["intent"].is_null());

    // Without fold: every row, the outcome still naming its intent.
    let (_, page) = analyst.json("/api/audit?action=terminate_backend").await;
    assert_eq!(ids(&page), vec![lone, outcome, intent]);
    assert_eq!(page["events"][1]["intent_id"], intent);
    assert!(page["events"][1].get("intent").is_none());

    let (status, body) = analyst.json("/api/audit?fold=sometimes").await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("fold"));

    // The Audit page folds by default: one row for the action, its intent inside.
    let html = analyst
        .get("/audit?action=terminate_backend")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        html.matches("data-testid=\"audit-row\"").count(),
        2,
        "{html}"
    );
    assert!(html.contains(&format!("data-intent=\"{intent}\"")));
    assert!(html.contains("Terminate session"));
}
