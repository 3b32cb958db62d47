//! Reading an application audit table on its target: newest first, keyset-paged on
//! (time, row id), filtered; the statement is assembled from the identifiers the catalog quoted
//! (`layout.rs`) and every value is bound.

use serde_json::{Map, Value};
use sqlx::Row;
use time::OffsetDateTime;

use super::layout::Layout;
use super::model::{AppAuditRow, diff, normalise_operation};
use crate::error::AppError;
use crate::features::targets::conn::{LoginKind, statement_error};

/// The filters, checked.
#[derive(Clone, Debug, Default)]
pub struct AppAuditQuery {
    pub table: Option<String>,
    /// One of `OPERATIONS`.
    pub operation: Option<String>,
    pub actor: Option<String>,
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    /// Anywhere in the audit row (its JSON text), case-insensitive.
    pub text: Option<String>,
    /// The changed row's key (`record_key` in the old or the new row): its history.
    pub record: Option<String>,
    /// The last row of the previous page: (time in µs since the epoch, row id).
    pub before: Option<(i64, String)>,
    pub limit: i64,
}

/// `before` as the API takes it: `<µs>_<id>` (the previous page's `next_before`).
pub fn parse_before(raw: &str) -> Option<(i64, String)> {
    let (t, id) = raw.split_once('_')?;
    Some((t.parse().ok()?, id.to_owned())).filter(|(_, id)| !id.is_empty())
}

enum Bound {
    Time(OffsetDateTime),
    Text(String),
    Int(i64),
}

/// The statement for `q` over `layout`, with its values in order.
fn statement(
    layout: &Layout,
    q: &AppAuditQuery,
    record_key: &str,
) -> Result<(String, Vec<Bound>), AppError> {
    let (t, id) = (&layout.time, &layout.row_id);
    let mut sql = format!(
        "SELECT (extract(epoch FROM {time}::timestamptz) * 1000000)::int8 AS t_us, \
         {time}::timestamptz AS t, {id}::text AS k, to_jsonb(a)::text AS r FROM {rel} AS a WHERE true",
        time = t.ident,
        id = id.ident,
        rel = layout.relation
    );
    let mut binds = Vec::new();
    let mut push = |sql: &mut String, clause: String, b: Bound| {
        binds.push(b);
        sql.push_str(&clause.replace("$?", &format!("${}", binds.len())));
    };
    if let Some(s) = q.since {
        push(
            &mut sql,
            format!(" AND {} >= ($?::timestamptz)::{}", t.ident, t.type_name),
            Bound::Time(s),
        );
    }
    if let Some(u) = q.until {
        push(
            &mut sql,
            format!(" AND {} < ($?::timestamptz)::{}", t.ident, t.type_name),
            Bound::Time(u),
        );
    }
    let need = |c: &Option<super::layout::Column>, what: &str| {
        c.clone().ok_or_else(|| {
            AppError::validation(format!(
                "{what} cannot be filtered: this audit table has no such column."
            ))
        })
    };
    if let Some(v) = &q.table {
        let c = need(&layout.table_name, "table")?;
        push(
            &mut sql,
            format!(" AND {}::text = $?", c.ident),
            Bound::Text(v.clone()),
        );
    }
    if let Some(v) = &q.operation {
        let c = need(&layout.operation, "operation")?;
        push(
            &mut sql,
            format!(" AND upper(left(btrim({}::text), 1)) = $?", c.ident),
            Bound::Text(v[..1].to_owned()),
        );
    }
    if let Some(v) = &q.actor {
        let c = need(&layout.actor, "actor")?;
        push(
            &mut sql,
            format!(" AND {}::text = $?", c.ident),
            Bound::Text(v.clone()),
        );
    }
    if let Some(v) = &q.text {
        push(
            &mut sql,
            " AND to_jsonb(a)::text ILIKE $?".to_owned(),
            Bound::Text(format!("%{}%", crate::store::like_escape(v))),
        );
    }
    if let Some(v) = &q.record {
        let sides: Vec<String> = [&layout.new, &layout.old]
            .into_iter()
            .flatten()
            .map(|c| format!("to_jsonb({}) ->> $?", c.ident))
            .collect();
        binds.push(Bound::Text(record_key.to_owned()));
        let key = binds.len();
        binds.push(Bound::Text(v.clone()));
        let value = binds.len();
        let tests: Vec<String> = sides
            .iter()
            .map(|s| format!("{} = ${value}", s.replace("$?", &format!("${key}"))))
            .collect();
        sql.push_str(&format!(" AND ({})", tests.join(" OR ")));
    }
    if let Some((t_us, row)) = &q.before {
        binds.push(Bound::Int(*t_us));
        let n = binds.len();
        binds.push(Bound::Text(row.clone()));
        sql.push_str(&format!(
            " AND ({time}, {id}) < (('epoch'::timestamptz + ${n} * interval '1 microsecond')::{tt}, ${m}::text::{it})",
            time = t.ident,
            id = id.ident,
            tt = t.type_name,
            it = id.type_name,
            m = n + 1
        ));
    }
    binds.push(Bound::Int(q.limit));
    sql.push_str(&format!(
        " ORDER BY {} DESC, {} DESC LIMIT ${}",
        t.ident,
        id.ident,
        binds.len()
    ));
    Ok((sql, binds))
}

/// One page of rows (at most `q.limit`), each with its diff; and the cursor of the last row.
pub async fn page(
    conn: &mut sqlx::PgConnection,
    layout: &Layout,
    q: &AppAuditQuery,
    record_key: &str,
) -> Result<Vec<(AppAuditRow, String)>, AppError> {
    let (sql, binds) = statement(layout, q, record_key)?;
    let mut query = sqlx::query(&sql);
    for b in binds {
        query = match b {
            Bound::Time(t) => query.bind(t),
            Bound::Text(s) => query.bind(s),
            Bound::Int(i) => query.bind(i),
        };
    }
    let rows = query.fetch_all(&mut *conn).await.map_err(|e| {
        if let sqlx::Error::Database(d) = &e
            && d.code().as_deref() == Some("22P02")
        {
            return AppError::validation("before must be the next_before of a previous page.");
        }
        statement_error(LoginKind::Monitor, "Reading the audit table", &e)
    })?;
    rows.iter()
        .map(|r| {
            let t_us: i64 = r.get("t_us");
            let t: OffsetDateTime = r.get("t");
            let k: String = r.get("k");
            let raw: String = r.get("r");
            let fields: Map<String, Value> = serde_json::from_str(&raw)
                .map_err(|e| AppError::internal("reading an audit row", e))?;
            Ok((
                row(layout, record_key, t, k.clone(), fields),
                format!("{t_us}_{k}"),
            ))
        })
        .collect()
}

/// The row's meanings taken out of its fields; the rest stay as its own columns.
fn row(
    layout: &Layout,
    record_key: &str,
    t: OffsetDateTime,
    id: String,
    mut fields: Map<String, Value>,
) -> AppAuditRow {
    let mut take =
        |c: &Option<super::layout::Column>| c.as_ref().and_then(|c| fields.remove(&c.name));
    let text = |v: Option<Value>| {
        v.and_then(|v| match v {
            Value::Null => None,
            Value::String(s) => Some(s),
            other => Some(other.to_string()),
        })
    };
    let table = text(take(&layout.table_name));
    let operation = text(take(&layout.operation)).map(|o| normalise_operation(&o));
    let actor = text(take(&layout.actor));
    let session = text(take(&layout.session));
    let old = take(&layout.old).filter(|v| !v.is_null());
    let new = take(&layout.new).filter(|v| !v.is_null());
    for name in [&layout.time.name, &layout.row_id.name] {
        fields.remove(name);
    }
    let record = [&new, &old]
        .into_iter()
        .flatten()
        .find_map(|v| v.get(record_key).filter(|k| !k.is_null()))
        .map(|k| match k {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
    AppAuditRow {
        time: t
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        id,
        table,
        operation,
        actor,
        session,
        changes: diff(old.as_ref(), new.as_ref()),
        old,
        new,
        record,
        columns: fields,
    }
}

#[cfg(test)]
mod tests {
    use super::super::layout::Column;
    use super::*;

    fn col(name: &str, type_name: &str) -> Option<Column> {
        Some(Column {
            name: name.into(),
            ident: format!("\"{name}\""),
            type_name: type_name.into(),
            leads_index: true,
            primary_key: false,
        })
    }

    #[test]
    fn every_value_is_bound() {
        let layout = Layout {
            relation: "public.audit_log".into(),
            time: col("changed_at", "timestamp with time zone").unwrap(),
            row_id: col("id", "bigint").unwrap(),
            table_name: col("table_name", "text"),
            operation: col("operation", "character(1)"),
            old: col("old_values", "jsonb"),
            new: col("new_values", "jsonb"),
            actor: col("user_id", "text"),
            session: None,
        };
        let q = AppAuditQuery {
            table: Some("orders'; drop table x".into()),
            operation: Some("UPDATE".into()),
            record: Some("42".into()),
            before: Some((1_700_000_000_000_000, "9".into())),
            limit: 51,
            ..Default::default()
        };
        let (sql, binds) = statement(&layout, &q, "id").unwrap();
        assert!(!sql.contains("drop table"), "{sql}");
        assert_eq!(binds.len(), 7);
        assert!(
            sql.contains(
                "(to_jsonb(\"new_values\") ->> $3 = $4 OR to_jsonb(\"old_values\") ->> $3 = $4)"
            ),
            "{sql}"
        );
        assert!(
            sql.ends_with("ORDER BY \"changed_at\" DESC, \"id\" DESC LIMIT $7"),
            "{sql}"
        );
        let no_session = AppAuditQuery {
            actor: Some("x".into()),
            ..Default::default()
        };
        assert!(
            statement(
                &Layout {
                    actor: None,
                    ..layout
                },
                &no_session,
                "id"
            )
            .is_err()
        );
        assert_eq!(parse_before("17_ab_c"), Some((17, "ab_c".into())));
        assert_eq!(parse_before("x_1"), None);
    }
}
