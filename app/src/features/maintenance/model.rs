//! What the Maintenance page reads: per table of one database, sizes, tuples, last (auto)vacuum
//! and (auto)analyze, modifications since analyze and xid age. Plain data (browser too).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct TableStat {
    pub oid: i64,
    pub schema: String,
    pub name: String,
    /// r (table), p (partitioned), m (materialized view).
    pub kind: String,
    /// Estimated from pg_class.relpages (table, TOAST, indexes) as of the last VACUUM / ANALYZE.
    pub total_bytes: i64,
    pub live: i64,
    pub dead: i64,
    pub mods_since_analyze: i64,
    pub last_vacuum_ms: Option<i64>,
    pub last_autovacuum_ms: Option<i64>,
    pub last_analyze_ms: Option<i64>,
    pub last_autoanalyze_ms: Option<i64>,
    pub xid_age: Option<i64>,
}

impl TableStat {
    /// Dead tuples over all tuples (0 for an empty table).
    pub fn dead_ratio(&self) -> f64 {
        let all = self.live + self.dead;
        if all <= 0 {
            0.0
        } else {
            self.dead as f64 / all as f64
        }
    }

    /// The later of the manual and the automatic vacuum.
    pub fn vacuumed_ms(&self) -> Option<i64> {
        self.last_vacuum_ms.max(self.last_autovacuum_ms)
    }

    pub fn analyzed_ms(&self) -> Option<i64> {
        self.last_analyze_ms.max(self.last_autoanalyze_ms)
    }
}

/// How the table list is ordered (every column can be).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableOrder {
    Name,
    Size,
    Live,
    #[default]
    Dead,
    DeadRatio,
    /// Least recently vacuumed first (never first of all).
    Vacuumed,
    Analyzed,
    Mods,
    XidAge,
}

impl TableOrder {
    pub const ALL: [Self; 9] = [
        Self::Name,
        Self::Size,
        Self::Live,
        Self::Dead,
        Self::DeadRatio,
        Self::Vacuumed,
        Self::Analyzed,
        Self::Mods,
        Self::XidAge,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Size => "size",
            Self::Live => "live",
            Self::Dead => "dead",
            Self::DeadRatio => "dead_ratio",
            Self::Vacuumed => "vacuumed",
            Self::Analyzed => "analyzed",
            Self::Mods => "mods",
            Self::XidAge => "xid_age",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// Sorts in place: names ascending, times oldest first, everything else largest first.
    pub fn sort(self, rows: &mut [TableStat]) {
        use std::cmp::Reverse;
        match self {
            Self::Name => rows.sort_by(|a, b| (&a.schema, &a.name).cmp(&(&b.schema, &b.name))),
            Self::Size => rows.sort_by_key(|r| Reverse(r.total_bytes)),
            Self::Live => rows.sort_by_key(|r| Reverse(r.live)),
            Self::Dead => rows.sort_by_key(|r| Reverse(r.dead)),
            Self::DeadRatio => rows.sort_by(|a, b| b.dead_ratio().total_cmp(&a.dead_ratio())),
            Self::Vacuumed => rows.sort_by_key(|r| r.vacuumed_ms()),
            Self::Analyzed => rows.sort_by_key(|r| r.analyzed_ms()),
            Self::Mods => rows.sort_by_key(|r| Reverse(r.mods_since_analyze)),
            Self::XidAge => rows.sort_by_key(|r| Reverse(r.xid_age)),
        }
    }
}

/// `GET /api/maintenance/tables`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MaintenanceTables {
    pub target: String,
    pub database: String,
    /// The databases one can choose from.
    pub databases: Vec<String>,
    pub order: TableOrder,
    /// When the catalog was read (ms since the epoch) and what the read took on the server side.
    pub read_at_ms: i64,
    pub read_ms: i64,
    pub tables: Vec<TableStat>,
}
