//! The audit trail as the API returns it and the Audit page shows it.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Outcomes pgpanel records (the filter accepts these).
pub const OUTCOMES: &[&str] = &[
    "success",
    "failure",
    "intent",
    "refused",
    "denied",
    "throttled",
];

/// Events per page unless `limit` says otherwise, and the most one page may hold.
pub const PAGE_DEFAULT: i64 = 100;
pub const PAGE_MAX: i64 = 500;

/// One recorded event. `parameters` is the JSON object recorded with it (never a secret);
/// `error` the message the user was shown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor: Option<String>,
    pub actor_role: Option<String>,
    pub client_addr: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub object: Option<String>,
    pub parameters: Option<serde_json::Value>,
    pub outcome: String,
    pub error: Option<String>,
    /// For an action's outcome: the id of the intent recorded before it ran.
    #[serde(default)]
    pub intent_id: Option<i64>,
    /// With `fold=true`: that intent, folded into this entry (and left out of the list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<Box<AuditEntry>>,
}

/// Action codes and what people call them.
pub const ACTION_LABELS: &[(&str, &str)] = &[
    ("cancel_backend", "Cancel query"),
    ("terminate_backend", "Terminate session"),
    ("terminate_idle", "End idle-in-transaction sessions"),
    ("vacuum", "VACUUM"),
    ("analyze", "ANALYZE"),
    ("reindex", "REINDEX"),
    ("cancel_job", "Cancel a job"),
    ("auth.login", "Sign-in"),
    ("auth.logout", "Sign-out"),
    ("user.create", "Add user"),
    ("user.update", "Change user"),
    ("user.unlock", "Clear sign-in lock"),
    ("request.denied", "Refused: role too low"),
    ("request.forged", "Refused: forged request"),
    ("request.unauthenticated", "Refused: not signed in"),
];

/// "Terminate session" for `terminate_backend`; the code itself when unknown.
pub fn action_label(code: &str) -> &str {
    ACTION_LABELS
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(code, |(_, l)| l)
}

/// What an outcome means, in a few words.
pub fn outcome_label(outcome: &str) -> &str {
    match outcome {
        "success" => "done",
        "failure" => "failed",
        "intent" => "intent, no outcome recorded",
        "refused" => "refused, nothing ran",
        "denied" => "denied",
        "throttled" => "throttled",
        other => other,
    }
}

/// One page, newest first. `next_before` is the `before` that reads the next (older) page;
/// absent on the last page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub events: Vec<AuditEntry>,
    pub next_before: Option<i64>,
}

/// The page's filter, as it travels in the query string (empty means "any").
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub action: String,
    pub actor: String,
    pub target: String,
    pub outcome: String,
    pub object: String,
    pub since: String,
    pub until: String,
    pub before: String,
    /// "separate": intents listed as their own rows (default: folded into their outcome).
    pub intents: String,
}

impl AuditFilter {
    /// The query string (without `?`) for this filter, `before` replaced.
    pub fn query(&self, before: Option<i64>) -> String {
        let before = before.map(|b| b.to_string()).unwrap_or_default();
        [
            ("action", self.action.as_str()),
            ("actor", &self.actor),
            ("target", &self.target),
            ("outcome", &self.outcome),
            ("object", &self.object),
            ("since", &self.since),
            ("until", &self.until),
            ("intents", &self.intents),
            ("before", &before),
        ]
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", crate::components::live::encode(v)))
        .collect::<Vec<_>>()
        .join("&")
    }
}

/// A form field as a server function argument: blank means absent.
pub fn opt(v: &str) -> Option<String> {
    (!v.trim().is_empty()).then(|| v.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_a_label() {
        assert_eq!(action_label("terminate_backend"), "Terminate session");
        assert_eq!(action_label("something.new"), "something.new");
        assert_eq!(outcome_label("refused"), "refused, nothing ran");
    }

    #[test]
    fn query_keeps_set_fields_encoded_and_replaces_before() {
        let f = AuditFilter {
            action: "vacuum,analyze".into(),
            object: "a b&c".into(),
            before: "9".into(),
            ..AuditFilter::default()
        };
        assert_eq!(
            f.query(Some(5)),
            "action=vacuum%2Canalyze&object=a%20b%26c&before=5"
        );
        assert_eq!(f.query(None), "action=vacuum%2Canalyze&object=a%20b%26c");
        assert_eq!((opt("  "), opt(" x ")), (None, Some("x".into())));
    }
}
