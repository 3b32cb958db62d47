//! Changes recorded by an application's own audit table, as `GET /api/app-audit` returns them and
//! the Audit area shows them: each with its old → new diff.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub const PAGE_DEFAULT: i64 = 50;
pub const PAGE_MAX: i64 = 500;

/// The operations, as the filter names them and every row is normalised to (from `I`, `u`,
/// `INSERT`, an enum …).
pub const OPERATIONS: [&str; 4] = ["INSERT", "UPDATE", "DELETE", "TRUNCATE"];

/// One field that differs between the old and the new row (absent: the side has no such field).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub field: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

/// One recorded change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppAuditRow {
    /// RFC 3339.
    pub time: String,
    /// The audit row's own id (its `row_id` column), as text.
    pub id: String,
    pub table: Option<String>,
    /// INSERT, UPDATE, DELETE, TRUNCATE, or the value as recorded when it is none of those.
    pub operation: Option<String>,
    pub actor: Option<String>,
    pub session: Option<String>,
    pub old: Option<Value>,
    pub new: Option<Value>,
    /// The changed row's key (`record_key` inside new, else old): its history.
    pub record: Option<String>,
    /// Fields that differ, by name; every field for an insert or a delete.
    pub changes: Vec<Change>,
    /// The audit row's other columns.
    pub columns: Map<String, Value>,
}

/// A configured audit table, for choosing one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceInfo {
    pub target: String,
    pub id: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppAuditPage {
    pub target: String,
    pub source: String,
    pub source_name: String,
    /// The table, quoted by PostgreSQL.
    pub relation: String,
    pub database: String,
    /// Meaning → column, as recognised or configured.
    pub layout: Vec<(String, String)>,
    /// `CREATE INDEX …` when no index starts with the time column (paging reads the table).
    pub index_hint: Option<String>,
    pub rows: Vec<AppAuditRow>,
    pub next_before: Option<String>,
    /// Every configured audit table, of every target.
    pub sources: Vec<SourceInfo>,
}

/// The page's filter, as it travels in the query string (empty means "any").
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppAuditFilter {
    pub target: String,
    pub source: String,
    pub table: String,
    pub operation: String,
    pub actor: String,
    pub since: String,
    pub until: String,
    pub text: String,
    pub record: String,
    pub before: String,
}

impl AppAuditFilter {
    /// The query string (without `?`), `before` replaced.
    pub fn query(&self, before: Option<&str>) -> String {
        [
            ("target", self.target.as_str()),
            ("source", &self.source),
            ("table", &self.table),
            ("operation", &self.operation),
            ("actor", &self.actor),
            ("since", &self.since),
            ("until", &self.until),
            ("text", &self.text),
            ("record", &self.record),
            ("before", before.unwrap_or_default()),
        ]
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", crate::components::live::encode(v)))
        .collect::<Vec<_>>()
        .join("&")
    }
}

/// The fields that differ between `old` and `new` (objects; anything else is one field `value`).
pub fn diff(old: Option<&Value>, new: Option<&Value>) -> Vec<Change> {
    fn fields(v: Option<&Value>) -> Vec<(String, Value)> {
        match v {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            Some(other) => vec![("value".to_owned(), other.clone())],
        }
    }
    let (old, new) = (fields(old), fields(new));
    let mut out = Vec::new();
    for (k, o) in &old {
        let n = new.iter().find(|(nk, _)| nk == k).map(|(_, v)| v);
        if n != Some(o) {
            out.push(Change {
                field: k.clone(),
                old: Some(o.clone()),
                new: n.cloned(),
            });
        }
    }
    for (k, n) in &new {
        if !old.iter().any(|(ok, _)| ok == k) {
            out.push(Change {
                field: k.clone(),
                old: None,
                new: Some(n.clone()),
            });
        }
    }
    out
}

/// The operation as one of [`OPERATIONS`] when it reads as one (`I`, `update`, `Delete` …).
pub fn normalise_operation(raw: &str) -> String {
    let up = raw.trim().to_ascii_uppercase();
    OPERATIONS
        .iter()
        .find(|o| up == **o || (up.len() == 1 && o.starts_with(&up)))
        .map_or(up.clone(), |o| (*o).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_lists_what_changed() {
        let old = json!({"id": 7, "status": "new", "total": 10});
        let new = json!({"id": 7, "status": "paid", "total": 10, "note": "<b>x</b>"});
        let d = diff(Some(&old), Some(&new));
        assert_eq!(d.len(), 2);
        assert_eq!(
            d[0],
            Change {
                field: "status".into(),
                old: Some(json!("new")),
                new: Some(json!("paid"))
            }
        );
        assert_eq!((d[1].field.as_str(), d[1].old.clone()), ("note", None));
        // An insert: every field is new.
        assert_eq!(diff(None, Some(&new)).len(), 4);
        assert!(diff(Some(&old), Some(&old)).is_empty());
    }

    #[test]
    fn operations_are_normalised() {
        assert_eq!(normalise_operation("I"), "INSERT");
        assert_eq!(normalise_operation("update"), "UPDATE");
        assert_eq!(normalise_operation(" d "), "DELETE");
        assert_eq!(normalise_operation("MERGE"), "MERGE");
    }
}
