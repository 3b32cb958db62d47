//! The audit trail as the API returns it and the Audit page shows it.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// How a recorded event ended. Stored by [`Outcome::name`]; the filter accepts these names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It ran and worked.
    Success,
    /// It ran and failed (or a sign-in's password was wrong).
    Failure,
    /// Written before an action runs; its outcome names it.
    Intent,
    /// Checked and refused before anything ran: bad input, unknown object, a guard.
    Refused,
    /// Refused by the HTTP guard: role, origin, no session.
    Denied,
    /// Refused because of too many attempts.
    Throttled,
}

impl Outcome {
    pub const ALL: [Self; 6] = [
        Self::Success,
        Self::Failure,
        Self::Intent,
        Self::Refused,
        Self::Denied,
        Self::Throttled,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Intent => "intent",
            Self::Refused => "refused",
            Self::Denied => "denied",
            Self::Throttled => "throttled",
        }
    }

    /// What it means, in a few words.
    pub fn label(self) -> &'static str {
        match self {
            Self::Success => "done",
            Self::Failure => "failed",
            Self::Intent => "intent, no outcome recorded",
            Self::Refused => "refused, nothing ran",
            Self::Denied => "denied",
            Self::Throttled => "throttled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.name() == s)
    }
}

/// Everything pgpanel records, by the name stored in the trail (the names are part of the API:
/// the audit filter takes them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    CancelBackend,
    TerminateBackend,
    TerminateIdle,
    Vacuum,
    Analyze,
    Reindex,
    CancelJob,
    AdviceRefresh,
    AdviceApply,
    AdviceMeasure,
    LogsBackfill,
    Login,
    Logout,
    UserCreate,
    UserUpdate,
    UserUnlock,
    RequestDenied,
    RequestForged,
    RequestUnauthenticated,
}

impl Action {
    pub const ALL: [Self; 19] = [
        Self::CancelBackend,
        Self::TerminateBackend,
        Self::TerminateIdle,
        Self::Vacuum,
        Self::Analyze,
        Self::Reindex,
        Self::CancelJob,
        Self::AdviceRefresh,
        Self::AdviceApply,
        Self::AdviceMeasure,
        Self::LogsBackfill,
        Self::Login,
        Self::Logout,
        Self::UserCreate,
        Self::UserUpdate,
        Self::UserUnlock,
        Self::RequestDenied,
        Self::RequestForged,
        Self::RequestUnauthenticated,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::CancelBackend => "cancel_backend",
            Self::TerminateBackend => "terminate_backend",
            Self::TerminateIdle => "terminate_idle",
            Self::Vacuum => "vacuum",
            Self::Analyze => "analyze",
            Self::Reindex => "reindex",
            Self::CancelJob => "cancel_job",
            Self::AdviceRefresh => "advice.refresh",
            Self::AdviceApply => "advice.apply",
            Self::AdviceMeasure => "advice.measure",
            Self::LogsBackfill => "logs.backfill",
            Self::Login => "auth.login",
            Self::Logout => "auth.logout",
            Self::UserCreate => "user.create",
            Self::UserUpdate => "user.update",
            Self::UserUnlock => "user.unlock",
            Self::RequestDenied => "request.denied",
            Self::RequestForged => "request.forged",
            Self::RequestUnauthenticated => "request.unauthenticated",
        }
    }

    /// What people call it.
    pub fn label(self) -> &'static str {
        match self {
            Self::CancelBackend => "Cancel query",
            Self::TerminateBackend => "Terminate session",
            Self::TerminateIdle => "End idle-in-transaction sessions",
            Self::Vacuum => "VACUUM",
            Self::Analyze => "ANALYZE",
            Self::Reindex => "REINDEX",
            Self::CancelJob => "Cancel a job",
            Self::AdviceRefresh => "Analyse now (advice)",
            Self::AdviceApply => "Apply a finding (advice)",
            Self::AdviceMeasure => "Measure bloat exactly (advice)",
            Self::LogsBackfill => "Read older server log (backfill)",
            Self::Login => "Sign-in",
            Self::Logout => "Sign-out",
            Self::UserCreate => "Add user",
            Self::UserUpdate => "Change user",
            Self::UserUnlock => "Clear sign-in lock",
            Self::RequestDenied => "Refused: role too low",
            Self::RequestForged => "Refused: forged request",
            Self::RequestUnauthenticated => "Refused: not signed in",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == s)
    }
}

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

/// "Terminate session" for `terminate_backend`; the code itself when unknown.
pub fn action_label(code: &str) -> &str {
    match Action::parse(code) {
        Some(a) => a.label(),
        None => code,
    }
}

/// What an outcome means, in a few words; the name itself when unknown.
pub fn outcome_label(outcome: &str) -> &str {
    match Outcome::parse(outcome) {
        Some(o) => o.label(),
        None => outcome,
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
        for a in Action::ALL {
            assert_eq!(Action::parse(a.name()), Some(a));
        }
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.name()), Some(o));
        }
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
