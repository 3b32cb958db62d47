//! An application audit table to browse, from the configuration (`[[targets.audit_tables]]`):
//! where it is, and optionally which column means what. What is not named is recognised from the
//! common layouts when the table is first read (`layout.rs`).

/// The column names a configuration may give, one per meaning.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ColumnNames {
    /// When the change happened (timestamptz or timestamp); keyset paging runs on it.
    pub time: Option<String>,
    /// A unique column that orders changes made at the same time (the primary key).
    pub row_id: Option<String>,
    /// The name of the changed table.
    pub table_name: Option<String>,
    /// INSERT / UPDATE / DELETE, or their first letters.
    pub operation: Option<String>,
    /// The row before the change (json, jsonb or hstore).
    pub old: Option<String>,
    /// The row after the change.
    pub new: Option<String>,
    /// Who made the change.
    pub actor: Option<String>,
    /// The session or transaction it was made in.
    pub session: Option<String>,
}

/// One configured audit table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditTableSpec {
    /// `[a-z0-9_-]+`, the `source` of `GET /api/app-audit`; defaults to the table's name.
    pub id: String,
    /// Shown on the page; defaults to "<database>: <table>".
    pub name: String,
    pub database: String,
    /// As written in the configuration (`public.audit_log`), resolved with to_regclass().
    pub table: String,
    pub columns: ColumnNames,
    /// The key inside the old and new rows that identifies a changed row (its history).
    pub record_key: String,
}

impl AuditTableSpec {
    /// The default source id for a table name: its last part, lower case, anything outside
    /// `[a-z0-9_-]` replaced by `_`.
    pub fn default_id(table: &str) -> String {
        let last = table.rsplit('.').next().unwrap_or(table).trim_matches('"');
        last.chars()
            .map(|c| {
                let c = c.to_ascii_lowercase();
                if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_ids_are_url_safe() {
        assert_eq!(AuditTableSpec::default_id("public.audit_log"), "audit_log");
        assert_eq!(
            AuditTableSpec::default_id("audit.\"Logged Actions\""),
            "logged_actions"
        );
        assert_eq!(AuditTableSpec::default_id("Änderungen"), "_nderungen");
    }
}
