//! Which column of an audit table means what: named in the configuration, else recognised from
//! the common layouts (hand-rolled `audit_log`, audit-trigger 91plus, supa_audit, pgMemento's
//! row log). Identifiers come from the catalog, quoted by PostgreSQL; a table whose layout is
//! not recognised is a configuration error naming the meaning that has no column.

use super::spec::AuditTableSpec;

/// One column as the catalog describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// Quoted by PostgreSQL (quote_ident).
    pub ident: String,
    /// format_type(): `timestamp with time zone`, `jsonb`, `character(1)` …
    pub type_name: String,
    /// An index starts with it.
    pub leads_index: bool,
    pub primary_key: bool,
}

/// The resolved layout: the table (quoted by PostgreSQL) and a column per meaning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub relation: String,
    pub time: Column,
    pub row_id: Column,
    pub table_name: Option<Column>,
    pub operation: Option<Column>,
    pub old: Option<Column>,
    pub new: Option<Column>,
    pub actor: Option<Column>,
    pub session: Option<Column>,
}

impl Layout {
    /// Every mapped column (its name), so the rest are the row's own columns.
    pub fn mapped(&self) -> Vec<&str> {
        [
            Some(&self.time),
            Some(&self.row_id),
            self.table_name.as_ref(),
            self.operation.as_ref(),
            self.old.as_ref(),
            self.new.as_ref(),
            self.actor.as_ref(),
            self.session.as_ref(),
        ]
        .into_iter()
        .flatten()
        .map(|c| c.name.as_str())
        .collect()
    }

    /// The meanings and the columns that carry them, for the page.
    pub fn describe(&self) -> Vec<(String, String)> {
        let mut out = vec![
            ("time".to_owned(), self.time.name.clone()),
            ("row id".to_owned(), self.row_id.name.clone()),
        ];
        for (meaning, c) in [
            ("table", &self.table_name),
            ("operation", &self.operation),
            ("old row", &self.old),
            ("new row", &self.new),
            ("actor", &self.actor),
            ("session", &self.session),
        ] {
            if let Some(c) = c {
                out.push((meaning.to_owned(), c.name.clone()));
            }
        }
        out
    }

    /// The index keyset paging wants when no index starts with the time column.
    pub fn index_hint(&self) -> Option<String> {
        (!self.time.leads_index).then(|| {
            format!(
                "CREATE INDEX CONCURRENTLY ON {} ({} DESC, {} DESC);",
                self.relation, self.time.ident, self.row_id.ident
            )
        })
    }
}

/// Names tried, in order, for each meaning when the configuration names no column.
const TIME: &[&str] = &[
    "changed_at",
    "action_tstamp_clk",
    "action_tstamp_stm",
    "action_tstamp_tx",
    "ts",
    "stmt_time",
    "event_time",
    "logged_at",
    "occurred_at",
    "audit_time",
    "created_at",
    "timestamp",
    "time",
];
const ROW_ID: &[&str] = &["id", "event_id", "audit_id", "log_id"];
const TABLE_NAME: &[&str] = &["table_name", "tablename", "relname", "table", "entity"];
const OPERATION: &[&str] = &["operation", "action", "op", "tg_op", "change_type"];
const OLD: &[&str] = &[
    "old_values",
    "old_data",
    "old_record",
    "old_row",
    "old",
    "before",
];
const NEW: &[&str] = &[
    "new_values",
    "new_data",
    "record",
    "new_record",
    "new_row",
    "new",
    "after",
];
const ACTOR: &[&str] = &[
    "changed_by",
    "user_id",
    "user_name",
    "username",
    "actor",
    "session_user_name",
    "db_user",
    "app_user",
    "modified_by",
    "performed_by",
];
const SESSION: &[&str] = &["session_id", "transaction_id", "txid", "backend_pid"];

fn is_time(c: &Column) -> bool {
    c.type_name.starts_with("timestamp")
}

fn is_row(c: &Column) -> bool {
    matches!(c.type_name.as_str(), "jsonb" | "json" | "hstore")
}

/// The layout of `spec`'s table from its columns; the error names the meaning and the key to set.
pub fn recognise(
    spec: &AuditTableSpec,
    relation: &str,
    columns: &[Column],
) -> Result<Layout, String> {
    let named = &spec.columns;
    let find = |key: &str,
                meaning: &str,
                given: &Option<String>,
                names: &[&str],
                fits: &dyn Fn(&Column) -> bool|
     -> Result<Option<Column>, String> {
        if let Some(name) = given {
            let c = columns.iter().find(|c| &c.name == name).ok_or_else(|| {
                format!(
                    "{relation} has no column {name:?} (named as `{key}`, {meaning}) in database {:?}",
                    spec.database
                )
            })?;
            if !fits(c) {
                return Err(format!(
                    "column {name:?} of {relation} (named as `{key}`, {meaning}) is {}, which does not fit",
                    c.type_name
                ));
            }
            return Ok(Some(c.clone()));
        }
        Ok(names
            .iter()
            .find_map(|n| columns.iter().find(|c| c.name == *n && fits(c)))
            .cloned())
    };
    let any = |_: &Column| true;
    let missing = |key: &str, meaning: &str, names: &[&str]| {
        format!(
            "audit table {relation} (source {:?}, database {:?}) has no column for {meaning}: none of \
             {} was found; name it with `{key} = \"…\"` under [[targets.audit_tables]]",
            spec.id,
            spec.database,
            names.join(", ")
        )
    };
    let time = find(
        "time",
        "the time of the change",
        &named.time,
        TIME,
        &is_time,
    )?
    .or_else(|| {
        // The one timestamp column of a table that has exactly one.
        let mut t = columns.iter().filter(|c| is_time(c));
        match (t.next(), t.next()) {
            (Some(c), None) => Some(c.clone()),
            _ => None,
        }
    })
    .ok_or_else(|| missing("time", "the time of the change (a timestamp)", TIME))?;
    let row_id = find("row_id", "the row's unique id", &named.row_id, ROW_ID, &any)?
        .or_else(|| columns.iter().find(|c| c.primary_key).cloned())
        .ok_or_else(|| missing("row_id", "a unique id (the primary key)", ROW_ID))?;
    let old = find("old", "the row before the change", &named.old, OLD, &is_row)?;
    let new = find("new", "the row after the change", &named.new, NEW, &is_row)?;
    if old.is_none() && new.is_none() {
        return Err(missing(
            "new",
            "the changed row (json, jsonb or hstore)",
            &[OLD, NEW].concat(),
        ));
    }
    Ok(Layout {
        relation: relation.to_owned(),
        time,
        row_id,
        table_name: find(
            "table_name",
            "the changed table",
            &named.table_name,
            TABLE_NAME,
            &any,
        )?,
        operation: find(
            "operation",
            "INSERT, UPDATE or DELETE",
            &named.operation,
            OPERATION,
            &any,
        )?,
        old,
        new,
        actor: find("actor", "who made the change", &named.actor, ACTOR, &any)?,
        session: find("session", "the session", &named.session, SESSION, &any)?,
    })
}

/// Reads the columns of `spec`'s table with `conn` (the monitor login in its database) and
/// resolves the layout. No table, no SELECT privilege, or an unrecognised layout: a clear error
/// (the missing GRANT named, with the table quoted by PostgreSQL).
#[cfg(feature = "ssr")]
pub async fn read(
    conn: &mut sqlx::PgConnection,
    spec: &AuditTableSpec,
) -> Result<Layout, crate::error::AppError> {
    use crate::error::AppError;
    use crate::features::targets::conn::{LoginKind, statement_error};
    use sqlx::Row;
    let rows = match sqlx::query(crate::sql::body(include_str!("sql/columns.sql")))
        .bind(&spec.table)
        .fetch_all(&mut *conn)
        .await
    {
        Ok(rows) => rows,
        // No USAGE on the table's schema: name both grants.
        Err(sqlx::Error::Database(d)) if d.code().as_deref() == Some("42501") => {
            let (login, schema): (String, Option<String>) = sqlx::query_as(
                "select quote_ident(current_user), case when array_length(parse_ident($1), 1) = 2 \
                 then quote_ident((parse_ident($1))[1]) end",
            )
            .bind(&spec.table)
            .fetch_one(&mut *conn)
            .await
            .unwrap_or_else(|_| ("<monitor login>".into(), None));
            return Err(AppError::forbidden(format!(
                "The monitor login may not read {:?} ({}): run, in database {:?}, GRANT USAGE ON SCHEMA {} TO {login}; GRANT SELECT ON {} TO {login}; (`pgpanel setup-sql` prints both).",
                spec.table,
                d.message(),
                spec.database,
                schema.unwrap_or_else(|| "<its schema>".into()),
                spec.table,
            )));
        }
        Err(e) => {
            return Err(statement_error(
                LoginKind::Monitor,
                "Reading the audit table's columns",
                &e,
            ));
        }
    };
    let Some(first) = rows.first() else {
        return Err(AppError::conflict(format!(
            "Configuration: there is no table {:?} in database {:?} (audit source {:?}), or the \
             monitor login lacks USAGE on its schema (`pgpanel setup-sql` prints the grants).",
            spec.table, spec.database, spec.id
        )));
    };
    let relation: String = first.get("rel");
    if !first.get::<bool, _>("readable") {
        return Err(AppError::forbidden(format!(
            "The monitor login may not read {relation}: run, in database {:?}, GRANT SELECT ON {relation} TO {};",
            spec.database,
            first.get::<String, _>("login")
        )));
    }
    let columns: Vec<Column> = rows
        .iter()
        .map(|r| Column {
            name: r.get("name"),
            ident: r.get("ident"),
            type_name: r.get("type"),
            leads_index: r.get("leads_index"),
            primary_key: r.get("primary_key"),
        })
        .collect();
    recognise(spec, &relation, &columns)
        .map_err(|m| AppError::conflict(format!("Configuration: {m}.")))
}

#[cfg(test)]
mod tests {
    use super::super::spec::ColumnNames;
    use super::*;

    fn col(name: &str, type_name: &str) -> Column {
        Column {
            name: name.into(),
            ident: name.into(),
            type_name: type_name.into(),
            leads_index: false,
            primary_key: name == "id",
        }
    }

    fn spec(columns: ColumnNames) -> AuditTableSpec {
        AuditTableSpec {
            id: "audit_log".into(),
            name: "x".into(),
            database: "shop".into(),
            table: "public.audit_log".into(),
            columns,
            record_key: "id".into(),
        }
    }

    #[test]
    fn the_common_layout_is_recognised() {
        let cols = [
            col("id", "bigint"),
            col("table_name", "text"),
            col("operation", "character(1)"),
            col("old_values", "jsonb"),
            col("new_values", "jsonb"),
            col("user_id", "text"),
            col("changed_at", "timestamp with time zone"),
            col("session_id", "text"),
        ];
        let l = recognise(&spec(ColumnNames::default()), "audit_log", &cols).unwrap();
        assert_eq!(l.time.name, "changed_at");
        assert_eq!(l.operation.unwrap().name, "operation");
        assert_eq!(l.actor.unwrap().name, "user_id");
        assert_eq!(l.session.unwrap().name, "session_id");
        assert_eq!(
            recognise(&spec(ColumnNames::default()), "audit_log", &cols)
                .unwrap()
                .index_hint()
                .as_deref(),
            Some("CREATE INDEX CONCURRENTLY ON audit_log (changed_at DESC, id DESC);")
        );
    }

    #[test]
    fn supa_audit_is_recognised() {
        let cols = [
            col("id", "bigint"),
            col("record_id", "uuid"),
            col("op", "audit.operation"),
            col("ts", "timestamp with time zone"),
            col("table_name", "name"),
            col("record", "jsonb"),
            col("old_record", "jsonb"),
        ];
        let l = recognise(&spec(ColumnNames::default()), "audit.record_version", &cols).unwrap();
        assert_eq!(
            (l.time.name.as_str(), l.new.unwrap().name.as_str()),
            ("ts", "record")
        );
        assert_eq!(l.old.unwrap().name, "old_record");
    }

    #[test]
    fn what_is_missing_is_named() {
        let cols = [
            col("id", "bigint"),
            col("payload", "jsonb"),
            col("note", "text"),
        ];
        let e = recognise(&spec(ColumnNames::default()), "audit_log", &cols).unwrap_err();
        assert!(
            e.contains("the time of the change") && e.contains("`time = "),
            "{e}"
        );
        let named = ColumnNames {
            time: Some("when".into()),
            ..Default::default()
        };
        let e = recognise(&spec(named), "audit_log", &cols).unwrap_err();
        assert!(e.contains("no column \"when\""), "{e}");
        let cols = [
            col("id", "bigint"),
            col("at", "timestamp with time zone"),
            col("note", "text"),
        ];
        let e = recognise(&spec(ColumnNames::default()), "audit_log", &cols).unwrap_err();
        assert!(e.contains("the changed row"), "{e}");
        let named = ColumnNames {
            new: Some("note".into()),
            ..Default::default()
        };
        let e = recognise(&spec(named), "audit_log", &cols).unwrap_err();
        assert!(e.contains("is text, which does not fit"), "{e}");
    }
}
