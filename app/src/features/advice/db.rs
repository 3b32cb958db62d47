//! The Advice feature's catalog reads: one function per `sql/*.sql` file, on a monitor session
//! in the database analysed.

use sqlx::{FromRow, PgConnection};

use crate::sql::body;

/// A row of `indexes.sql`.
#[derive(Clone, Debug, Default, PartialEq, FromRow)]
pub struct IndexRow {
    pub index_oid: i64,
    pub table_oid: i64,
    pub schema_name: String,
    pub table_name: String,
    pub index_name: String,
    pub index_quoted: String,
    pub table_quoted: String,
    pub method: String,
    pub key_count: i32,
    /// Key columns then INCLUDE columns (attnums; 0 for an expression).
    pub columns: Vec<i16>,
    /// Each key column as PostgreSQL prints it in the index (quoted names or expressions).
    pub key_exprs: Vec<String>,
    pub opclasses: Vec<i64>,
    pub collations: Vec<i64>,
    pub options: Vec<i16>,
    pub expressions: String,
    pub predicate: String,
    pub nulls_not_distinct: bool,
    pub is_unique: bool,
    pub is_primary: bool,
    pub is_exclusion: bool,
    pub is_valid: bool,
    pub is_ready: bool,
    pub is_replica_identity: bool,
    pub is_partitioned: bool,
    pub is_partition_member: bool,
    /// The primary key, unique or exclusion constraint this index implements.
    pub constraint_name: Option<String>,
    /// The same name, quoted by PostgreSQL.
    pub constraint_quoted: Option<String>,
    pub referenced_by_fk: bool,
    pub being_built: bool,
    pub scans: i64,
    /// When it was last scanned (PostgreSQL 16+ `last_idx_scan`; `None` before 16 or never).
    pub last_scan_ms: Option<i64>,
    pub bytes: i64,
    pub fillfactor: i32,
    pub definition: String,
}

impl IndexRow {
    /// Key columns (attnums, in order).
    pub fn keys(&self) -> &[i16] {
        let n = (self.key_count.max(0) as usize).min(self.columns.len());
        &self.columns[..n]
    }

    /// INCLUDE columns.
    pub fn included(&self) -> &[i16] {
        let n = (self.key_count.max(0) as usize).min(self.columns.len());
        &self.columns[n..]
    }
}

/// A row of `foreign_keys.sql`.
#[derive(Clone, Debug, Default, PartialEq, FromRow)]
pub struct ForeignKeyRow {
    pub constraint_oid: i64,
    pub constraint_name: String,
    pub table_oid: i64,
    pub schema_name: String,
    pub table_name: String,
    pub table_quoted: String,
    pub is_partitioned: bool,
    pub columns: Vec<i16>,
    pub columns_quoted: Vec<String>,
    pub column_names: Vec<String>,
    pub referenced_quoted: String,
    pub referenced_churn: i64,
    pub table_bytes: i64,
}

/// A row of `wraparound.sql`: a table (`scope` "table") or the database itself.
#[derive(Clone, Debug, Default, PartialEq, FromRow)]
pub struct AgeRow {
    pub scope: String,
    pub table_oid: Option<i64>,
    pub schema_name: Option<String>,
    pub table_name: Option<String>,
    pub table_quoted: Option<String>,
    pub xid_age: i64,
    pub mxid_age: i64,
    pub freeze_max_age: i64,
    pub mxid_freeze_max_age: i64,
    pub bytes: Option<i64>,
    pub failsafe_age: i64,
    pub mxid_failsafe_age: i64,
}

/// A row of `horizon.sql`: something holding the xmin horizon back.
#[derive(Clone, Debug, Default, PartialEq, FromRow)]
pub struct HorizonRow {
    pub kind: String,
    pub name: String,
    pub age: i64,
}

/// A row of `sequences.sql`.
#[derive(Clone, Debug, Default, PartialEq, FromRow)]
pub struct SequenceRow {
    pub sequence_oid: i64,
    pub schema_name: String,
    pub sequence_name: String,
    pub sequence_quoted: String,
    pub sequence_type: String,
    pub sequence_max: i64,
    pub sequence_min: i64,
    pub increment: i64,
    pub cycles: bool,
    /// `None`: never used, or the login may not read it (`readable`).
    pub last_value: Option<i64>,
    pub readable: bool,
    pub table_quoted: Option<String>,
    pub table_name: Option<String>,
    pub column_name: Option<String>,
    pub column_quoted: Option<String>,
    pub column_type: Option<String>,
    pub is_identity: Option<bool>,
}

pub async fn indexes(conn: &mut PgConnection) -> sqlx::Result<Vec<IndexRow>> {
    sqlx::query_as(body(include_str!("sql/indexes.sql")))
        .fetch_all(conn)
        .await
}

pub async fn foreign_keys(conn: &mut PgConnection) -> sqlx::Result<Vec<ForeignKeyRow>> {
    sqlx::query_as(body(include_str!("sql/foreign_keys.sql")))
        .fetch_all(conn)
        .await
}

/// The `limit` oldest tables by xid and by multixact age, and the database's own ages.
pub async fn ages(conn: &mut PgConnection, limit: i64) -> sqlx::Result<Vec<AgeRow>> {
    sqlx::query_as(body(include_str!("sql/wraparound.sql")))
        .bind(limit)
        .fetch_all(conn)
        .await
}

pub async fn horizon(conn: &mut PgConnection) -> sqlx::Result<Vec<HorizonRow>> {
    sqlx::query_as(body(include_str!("sql/horizon.sql")))
        .fetch_all(conn)
        .await
}

pub async fn sequences(conn: &mut PgConnection) -> sqlx::Result<Vec<SequenceRow>> {
    sqlx::query_as(body(include_str!("sql/sequences.sql")))
        .fetch_all(conn)
        .await
}

/// When the database's statistics were last reset (`None`: never), for the unused-index window.
pub async fn stats_reset(conn: &mut PgConnection) -> sqlx::Result<Option<time::OffsetDateTime>> {
    sqlx::query_scalar(body(include_str!("sql/stats_reset.sql")))
        .fetch_one(conn)
        .await
}

/// A row of `bloat_tables.sql`.
#[derive(Clone, Debug, Default, PartialEq, FromRow)]
pub struct TableRow {
    pub table_oid: i64,
    pub schema_name: String,
    pub table_name: String,
    pub table_quoted: String,
    pub bytes: i64,
    pub pages: i64,
    pub all_visible_pages: i64,
    pub fillfactor: i32,
    pub toast_oid: Option<i64>,
    pub toast_bytes: i64,
    pub live_tuples: i64,
    pub dead_tuples: i64,
    pub reltuples: f64,
    /// Never vacuumed nor analysed: the catalog does not know its size yet.
    pub never_analysed: bool,
    pub dropped_columns: bool,
    pub last_vacuum_ms: Option<i64>,
    pub vacuum_running: bool,
    pub autovacuum_enabled: bool,
    pub vacuum_threshold: i64,
    pub vacuum_scale_factor: f64,
}

impl TableRow {
    /// Dead tuples' share of all tuples in the statistics. Live tuples are the larger of the
    /// statistics' count and the catalog's (after a statistics reset the count starts at 0
    /// while the rows are still there).
    pub fn dead_ratio(&self) -> f64 {
        let all = self.live_tuples.max(self.reltuples as i64) + self.dead_tuples;
        if all > 0 {
            self.dead_tuples as f64 / all as f64
        } else {
            0.0
        }
    }
}

/// The row of `extensions.sql`.
#[derive(Clone, Debug, Default, PartialEq, FromRow)]
pub struct Extensions {
    /// pgstattuple's schema as PostgreSQL quotes it, when installed.
    pub pgstattuple_schema: Option<String>,
    pub pgstattuple_usable: bool,
    pub has_pg_repack: bool,
    /// hypopg's schema as PostgreSQL quotes it, when installed.
    pub hypopg_schema: Option<String>,
}

/// A table measurement (`measure_approx.sql`, `measure_exact.sql`).
#[derive(Clone, Debug, Default, PartialEq, FromRow)]
pub struct TableMeasure {
    pub bytes: i64,
    pub dead_bytes: i64,
    pub free_bytes: i64,
    pub scanned_percent: f64,
}

/// An index measurement (`measure_index.sql`).
#[derive(Clone, Debug, Default, PartialEq, FromRow)]
pub struct IndexMeasure {
    pub bytes: i64,
    pub internal_pages: i64,
    pub leaf_pages: i64,
    pub avg_leaf_density: f64,
}

pub async fn bloat_tables(conn: &mut PgConnection) -> sqlx::Result<Vec<TableRow>> {
    sqlx::query_as(body(include_str!("sql/bloat_tables.sql")))
        .fetch_all(conn)
        .await
}

pub async fn extensions(conn: &mut PgConnection) -> sqlx::Result<Extensions> {
    sqlx::query_as(body(include_str!("sql/extensions.sql")))
        .fetch_one(conn)
        .await
}

/// A statement on an extension's functions (pgstattuple, hypopg) with the extension's schema (quoted by PostgreSQL) in place.
fn in_schema(sql: &'static str, schema: &str) -> String {
    body(sql).replace("@extension_schema@", schema)
}

/// Measures a table (or TOAST table): `exact` reads every page (pgstattuple), else only the
/// pages not all-visible (pgstattuple_approx).
pub async fn measure_table(
    conn: &mut PgConnection,
    schema: &str,
    oid: i64,
    exact: bool,
) -> sqlx::Result<TableMeasure> {
    let sql = if exact {
        in_schema(include_str!("sql/measure_exact.sql"), schema)
    } else {
        in_schema(include_str!("sql/measure_approx.sql"), schema)
    };
    sqlx::query_as(&sql).bind(oid).fetch_one(conn).await
}

pub async fn measure_index(
    conn: &mut PgConnection,
    schema: &str,
    oid: i64,
) -> sqlx::Result<IndexMeasure> {
    sqlx::query_as(&in_schema(include_str!("sql/measure_index.sql"), schema))
        .bind(oid)
        .fetch_one(conn)
        .await
}

/// A row of `relations.sql`: a table a statement names.
#[derive(Clone, Debug, Default, PartialEq, FromRow)]
pub struct RelationRow {
    /// The position of the name asked for (1-based).
    pub ord: i32,
    pub table_oid: i64,
    pub schema_name: String,
    pub table_name: String,
    pub table_quoted: String,
    pub relkind: String,
    pub column_names: Vec<String>,
    pub column_numbers: Vec<i16>,
    pub live_rows: i64,
    pub inserted: i64,
    pub updated: i64,
    pub hot_updated: i64,
    /// Seconds the statistics have counted (since their reset, else since the server started).
    pub stats_seconds: f64,
    pub bytes: i64,
}

impl RelationRow {
    pub fn attnum(&self, column: &str) -> Option<i16> {
        let i = self.column_names.iter().position(|c| c == column)?;
        self.column_numbers.get(i).copied()
    }
}

/// Places `(schema or "", name)` pairs as this login's search_path does; unknown names are
/// absent from the result.
pub async fn relations(
    conn: &mut PgConnection,
    names: &[(String, String)],
) -> sqlx::Result<Vec<RelationRow>> {
    let (schemas, tables): (Vec<String>, Vec<String>) = names.iter().cloned().unzip();
    sqlx::query_as(body(include_str!("sql/relations.sql")))
        .bind(schemas)
        .bind(tables)
        .fetch_all(conn)
        .await
}

/// The row of `candidate.sql`.
#[derive(Clone, Debug, Default, PartialEq, FromRow)]
pub struct CandidateRow {
    pub hypothetical: String,
    pub ddl: String,
    pub column_names: Vec<String>,
    /// The same names as PostgreSQL quotes them (as `pg_get_indexdef` prints index columns).
    pub columns_quoted: Vec<String>,
}

/// The statements of a suggested index on `table` (`None`: a column is gone).
pub async fn candidate(
    conn: &mut PgConnection,
    table: i64,
    keys: &[i16],
) -> sqlx::Result<Option<CandidateRow>> {
    sqlx::query_as(body(include_str!("sql/candidate.sql")))
        .bind(table)
        .bind(keys)
        .fetch_optional(conn)
        .await
}

/// Creates a hypothetical index (this session only); its OID and estimated size.
pub async fn hypothetical(
    conn: &mut PgConnection,
    hypopg: &str,
    create: &str,
) -> sqlx::Result<(i64, i64)> {
    sqlx::query_as(&in_schema(include_str!("sql/hypothetical.sql"), hypopg))
        .bind(create)
        .fetch_one(conn)
        .await
}

pub async fn hypothetical_reset(conn: &mut PgConnection, hypopg: &str) -> sqlx::Result<()> {
    sqlx::query(&in_schema(
        include_str!("sql/hypothetical_reset.sql"),
        hypopg,
    ))
    .execute(conn)
    .await
    .map(|_| ())
}
