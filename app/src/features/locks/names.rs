//! Names of locked objects in databases other than the monitor's. pg_class and
//! pg_describe_object only see the database they run in, so pgpanel opens a short-lived
//! connection to that database (`targets::conn::open`: the monitor login, with its
//! application_name, timeouts and connect timeout), reads the names it lacks (lock_names.sql) and closes it. This runs in the
//! background, off the sampler's cycle, at most one lookup per database at a time, and only when
//! the lock graph's cost budget allows; what it cost (wall time, at most 5 ms) is charged to that
//! budget. Until the name is read, or if it cannot be read, the label says so with the object's
//! OID and database.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use sqlx::Connection;
use tracing::Instrument;

use super::db::{self, WaitRow};
use crate::error::AppError;
use crate::features::targets::conn::{LoginKind, open, statement_error};
use crate::features::targets::monitor::Target;

/// What a lookup is charged at most: the server's part of a connection (start-up, one catalog
/// query) is a few milliseconds; the rest of the wall time is network round trips and waiting.
const LOOKUP_COST_CAP_US: i64 = 5_000;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum NameKey {
    Relation(i64),
    /// (class OID, object OID, sub-id)
    Object(i64, i64, i32),
}

impl NameKey {
    /// What of `row` needs a name read elsewhere, if anything.
    pub fn of(row: &WaitRow) -> Option<(i64, NameKey)> {
        let database = row.database_oid.filter(|_| row.elsewhere)?;
        let key = match row.locktype.as_str() {
            "relation" | "extend" | "page" | "tuple" if row.relation_name.is_none() => {
                NameKey::Relation(row.relation_oid?)
            }
            "object" if row.object_name.is_none() => {
                NameKey::Object(row.classid?, row.objid?, row.objsubid.unwrap_or(0))
            }
            _ => return None,
        };
        Some((database, key))
    }
}

#[derive(Debug, Default)]
struct Inner {
    /// (database OID, key) → name; `None`: no such object there (any more).
    names: HashMap<(i64, NameKey), Option<String>>,
    /// Databases being read now.
    pending: HashSet<i64>,
    /// Databases that could not be read, with a reason fit for any signed-in user.
    failed: HashMap<i64, String>,
    /// What the lookups cost since the lock watch last collected it (µs, wall time).
    cost_us: i64,
}

/// Shared between the lock watch and its background lookups.
#[derive(Clone, Debug, Default)]
pub struct ForeignNames {
    inner: Arc<Mutex<Inner>>,
}

impl ForeignNames {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Puts the name (or why there is none) into `row`; returns the key still to read.
    pub fn fill(&self, row: &mut WaitRow) -> Option<(i64, NameKey)> {
        let (database, key) = NameKey::of(row)?;
        let inner = self.lock();
        match inner.names.get(&(database, key.clone())) {
            Some(Some(name)) => {
                match key {
                    NameKey::Relation(_) => row.relation_name = Some(name.clone()),
                    NameKey::Object(..) => row.object_name = Some(name.clone()),
                }
                None
            }
            Some(None) => {
                row.name_note = Some("not found in that database".into());
                None
            }
            None => match inner.failed.get(&database) {
                Some(reason) => {
                    row.name_note = Some(format!("name not readable: {reason}"));
                    None
                }
                None => {
                    row.name_note = Some("name not read yet".into());
                    (!inner.pending.contains(&database)).then_some((database, key))
                }
            },
        }
    }

    /// What lookups cost since the last call (µs).
    pub fn take_cost(&self) -> i64 {
        std::mem::take(&mut self.lock().cost_us)
    }

    /// Forgets names and failures (between episodes: objects may be renamed or dropped, and a
    /// refused connection may be allowed later).
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.names.clear();
        inner.failed.clear();
    }

    /// Reads `keys` in database `name` (OID `database`) in the background.
    pub fn lookup(&self, target: &Arc<Target>, database: i64, name: &str, keys: Vec<NameKey>) {
        if !self.lock().pending.insert(database) {
            return;
        }
        let this = self.clone();
        let (target, name) = (target.clone(), name.to_owned());
        let span = tracing::info_span!("lock names", target_id = %target.spec.id, database = %name);
        tokio::spawn(
            async move {
            let started = Instant::now();
            let got = read(&target, &name, &keys).await;
            let mut inner = this.lock();
            inner.pending.remove(&database);
            let wall = i64::try_from(started.elapsed().as_micros()).unwrap_or(i64::MAX);
            inner.cost_us += wall.min(LOOKUP_COST_CAP_US);
            match got {
                Ok(names) => {
                    for key in keys {
                        let name = names.get(&key).cloned().flatten();
                        inner.names.insert((database, key), name);
                    }
                }
                Err(e) => {
                    tracing::warn!(database_oid = database, error = %e, "reading lock object names in another database failed");
                    inner.failed.insert(database, e.to_string());
                }
            }
            }
            .instrument(span),
        );
    }
}

async fn read(
    target: &Target,
    database: &str,
    keys: &[NameKey],
) -> Result<HashMap<NameKey, Option<String>>, AppError> {
    let mut conn = open(target, LoginKind::Monitor, Some(database)).await?;
    let relations: Vec<i64> = keys
        .iter()
        .filter_map(|k| match k {
            NameKey::Relation(oid) => Some(*oid),
            NameKey::Object(..) => None,
        })
        .collect();
    let objects: Vec<(i64, i64, i32)> = keys
        .iter()
        .filter_map(|k| match k {
            NameKey::Object(c, o, s) => Some((*c, *o, *s)),
            NameKey::Relation(_) => None,
        })
        .collect();
    let rows = db::names(&mut conn, &relations, &objects).await;
    let _ = conn.close().await;
    let rows =
        rows.map_err(|e| statement_error(LoginKind::Monitor, "Reading lock object names", &e))?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let key = if r.kind == "relation" {
                NameKey::Relation(r.objid)
            } else {
                NameKey::Object(r.classid, r.objid, r.objsubid)
            };
            (key, r.name)
        })
        .collect())
}
