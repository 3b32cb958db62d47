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
