//! The advice feature's jobs, run by the maintenance jobs machinery (progress, cancel, the
//! intent audited before and the outcome after): applying a finding (its own statements, one
//! at a time, on the action login; then a fresh analysis of the database) and measuring one
//! relation's bloat exactly (pgstattuple / pgstatindex on the monitor login; the figure replaces
//! the stored one and the bloat findings follow).

use std::sync::Arc;

use futures::future::BoxFuture;
use sqlx::{Executor, PgConnection};

use super::model::{BloatRow, Kind, Method};
use super::{bloat_findings, db};
use crate::components::format::bytes as fmt_bytes;
use crate::features::maintenance::jobs::{End, OtherWork, failed};
use crate::features::targets::connect::LoginKind;
use crate::features::targets::monitor::Target;
use crate::store::Store;

/// A finding's statements, run in order, each on its own (CONCURRENTLY cannot share a
/// transaction); then the database is analysed again so that the page shows what is left.
pub struct Apply {
    pub statements: Vec<String>,
    pub advice: Arc<super::State>,
    pub target: Arc<Target>,
    pub database: String,
    pub store: Store,
}

impl OtherWork for Apply {
    fn login(&self) -> LoginKind {
        LoginKind::Action
    }

    fn run<'a>(&'a self, conn: &'a mut PgConnection) -> BoxFuture<'a, End> {
        Box::pin(async move {
            let n = self.statements.len();
            for (i, sql) in self.statements.iter().enumerate() {
                // Simple protocol, one statement per call: no implicit transaction block.
                if let Err(e) = conn.execute(sqlx::raw_sql(sql)).await {
                    let (state, message) = failed(&e);
                    let lock = if state.as_deref() == Some("55P03") {
                        " (another session holds a lock on the object: gave up after lock_timeout rather than queue ahead of the application)"
                    } else {
                        ""
                    };
                    let earlier = match i {
                        0 => String::new(),
                        1 => "; the statement before it ran".into(),
                        _ => format!("; the {i} statements before it ran"),
                    };
                    return Err((
                        state,
                        format!(
                            "statement {} of {n} failed: {message}{lock}{earlier}",
                            i + 1
                        ),
                    ));
                }
            }
            self.advice.start(
                self.target.clone(),
                self.database.clone(),
                self.store.clone(),
            );
            Ok(format!(
                "ran {n} statement{}; analysing the database again",
                if n == 1 { "" } else { "s" }
            ))
        })
    }
}

/// pgstattuple (a table and its TOAST table) or pgstatindex (a btree) on one relation.
pub struct Measure {
    /// pgstattuple's schema as PostgreSQL quotes it.
    pub schema: String,
    pub row: BloatRow,
    pub target_id: String,
    pub database: String,
    pub store: Store,
}

/// The statement a measurement runs, as shown and audited.
pub fn measure_sql(schema: &str, index: bool, oid: i64) -> String {
    let sql = if index {
        include_str!("sql/measure_index.sql")
    } else {
        include_str!("sql/measure_exact.sql")
    };
    format!(
        "{}\n-- $1 = {oid}",
        crate::sql::body(sql)
            .trim_end()
            .replace("@extension_schema@", schema)
    )
}

impl Measure {
    async fn measure(&self, conn: &mut PgConnection) -> Result<BloatRow, sqlx::Error> {
        let now = crate::clock::to_millis(time::OffsetDateTime::now_utc());
        let mut row = self.row.clone();
        if row.index.is_some() {
            let m = db::measure_index(conn, &self.schema, row.oid).await?;
            row.set_index_measurement(
                now,
                m.bytes,
                m.internal_pages,
                m.leaf_pages,
                m.avg_leaf_density,
            );
        } else {
            let m = db::measure_table(conn, &self.schema, row.oid, true).await?;
            row.set_table_measurement(Method::Exact, now, m.bytes, m.dead_bytes, m.free_bytes);
            if let Some(toast) = row.toast_oid {
                let t = db::measure_table(conn, &self.schema, toast, true).await?;
                row.toast_bytes = t.bytes;
                row.toast_bloat_bytes = Some(t.dead_bytes + t.free_bytes);
            }
            row.note = None;
        }
        Ok(row)
    }

    /// The measured row in place of the stored one, and the bloat findings again from them.
    async fn save(&self, row: &BloatRow) -> Result<(), crate::store::StoreError> {
        let (target, database) = (&self.target_id, &self.database);
        let Some(mut stored) = self.store.latest_bloat(target, database).await? else {
            return Ok(());
        };
        if let Some(r) = stored.rows.iter_mut().find(|r| r.oid == row.oid) {
            *r = row.clone();
        }
        let Some((analysis, _)) = self.store.latest_advice(target, database).await? else {
            return Ok(());
        };
        let mut findings: Vec<_> = analysis
            .findings
            .into_iter()
            .filter(|f| !matches!(f.kind, Kind::TableBloat | Kind::IndexBloat))
            .collect();
        findings.extend(bloat_findings::findings(&stored));
        findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(a.kind.cmp(&b.kind))
                .then(a.id.cmp(&b.id))
        });
        self.store.save_measurement(&stored, &findings).await?;
        Ok(())
    }
}

impl OtherWork for Measure {
    fn login(&self) -> LoginKind {
        LoginKind::Monitor
    }

    fn run<'a>(&'a self, conn: &'a mut PgConnection) -> BoxFuture<'a, End> {
        Box::pin(async move {
            let row = self.measure(conn).await.map_err(|e| failed(&e))?;
            if let Err(e) = self.save(&row).await {
                tracing::warn!(error = %e, "storing an exact measurement failed");
                return Err((
                    None,
                    format!("measured, but storing the figure failed: {e}"),
                ));
            }
            let ratio = row.bloat_ratio.unwrap_or(0.0) * 100.0;
            let bloat = fmt_bytes(row.bloat_bytes.unwrap_or(0));
            Ok(if row.index.is_some() {
                format!(
                    "{bloat} of {} reclaimable by a rebuild ({ratio:.1} %, pgstatindex, every page read)",
                    fmt_bytes(row.bytes)
                )
            } else {
                format!(
                    "{bloat} of {} reclaimable ({ratio:.1} %): dead tuples {}, free space beyond the fillfactor reserve {} (pgstattuple, every page read){}",
                    fmt_bytes(row.bytes),
                    fmt_bytes(row.dead_bytes.unwrap_or(0)),
                    fmt_bytes(row.free_bytes.unwrap_or(0)),
                    row.toast_bloat_bytes.map_or(String::new(), |t| format!(
                        "; TOAST {} of which dead + free {}",
                        fmt_bytes(row.toast_bytes),
                        fmt_bytes(t)
                    ))
                )
            })
        })
    }
}
