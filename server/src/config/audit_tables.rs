//! `[[targets.audit_tables]]`: application audit tables to browse. Only the shape is checked
//! here; the columns are resolved against the table's catalog when it is first read, and a
//! layout that is not recognised is an error naming the missing meaning and the key to set.

use serde::{Deserialize, Serialize};

use app::features::app_audit::spec::{AuditTableSpec, ColumnNames};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditTableConfig {
    /// `[a-z0-9_-]+`, the `source` in URLs; defaults to the table's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub database: String,
    /// `schema.table` (or a name on the monitor login's search_path).
    pub table: String,
    /// Column names, when the layout is not one pgpanel recognises.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The key inside the old and new rows that identifies a row (default `id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_key: Option<String>,
}

impl AuditTableConfig {
    /// A table whose columns are all recognised.
    pub fn new(database: &str, table: &str) -> Self {
        Self {
            id: None,
            name: None,
            database: database.into(),
            table: table.into(),
            time: None,
            row_id: None,
            table_name: None,
            operation: None,
            old: None,
            new: None,
            actor: None,
            session: None,
            record_key: None,
        }
    }

    /// The spec; the key that is wrong and why.
    pub fn spec(&self) -> Result<AuditTableSpec, (&'static str, String)> {
        let present = |key: &'static str, v: &str| {
            if v.trim().is_empty() || v.len() > 200 || v.chars().any(char::is_control) {
                Err((
                    key,
                    "must be 1 to 200 characters without control characters".to_owned(),
                ))
            } else {
                Ok(())
            }
        };
        present("database", &self.database)?;
        present("table", &self.table)?;
        let c = [
            ("time", &self.time),
            ("row_id", &self.row_id),
            ("table_name", &self.table_name),
            ("operation", &self.operation),
            ("old", &self.old),
            ("new", &self.new),
            ("actor", &self.actor),
            ("session", &self.session),
            ("record_key", &self.record_key),
        ];
        for (key, v) in c {
            if let Some(v) = v {
                present(key, v)?;
            }
        }
        let id = match &self.id {
            Some(id) => id.clone(),
            None => AuditTableSpec::default_id(&self.table),
        };
        if id.is_empty()
            || id.len() > 63
            || !id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        {
            return Err((
                "id",
                format!(
                    "`{}` is not a valid id: use 1 to 63 of a-z, 0-9, _ and -",
                    id.escape_default()
                ),
            ));
        }
        Ok(AuditTableSpec {
            name: self
                .name
                .clone()
                .unwrap_or_else(|| format!("{}: {}", self.database, self.table)),
            id,
            database: self.database.clone(),
            table: self.table.clone(),
            columns: ColumnNames {
                time: self.time.clone(),
                row_id: self.row_id.clone(),
                table_name: self.table_name.clone(),
                operation: self.operation.clone(),
                old: self.old.clone(),
                new: self.new.clone(),
                actor: self.actor.clone(),
                session: self.session.clone(),
            },
            record_key: self.record_key.clone().unwrap_or_else(|| "id".into()),
        })
    }
}

/// The specs of a target's audit tables; `(index, key, why)` for the first that is wrong
/// (including a source id given twice).
pub fn specs(
    tables: &[AuditTableConfig],
) -> Result<Vec<AuditTableSpec>, (usize, &'static str, String)> {
    let mut out: Vec<AuditTableSpec> = Vec::new();
    for (i, t) in tables.iter().enumerate() {
        let spec = t.spec().map_err(|(k, m)| (i, k, m))?;
        if out.iter().any(|s| s.id == spec.id) {
            return Err((
                i,
                "id",
                format!(
                    "`{}` is already the id of another audit table of this target",
                    spec.id
                ),
            ));
        }
        out.push(spec);
    }
    Ok(out)
}
