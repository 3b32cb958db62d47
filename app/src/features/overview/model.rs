//! What the Overview and Fleet pages show besides the live frames. Plain data: compiled for the
//! browser too.

use serde::{Deserialize, Serialize};

use crate::features::live::model::{Health, Level};
use crate::features::targets::model::{TargetOverview, TargetStatus};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FleetRow {
    pub target: TargetOverview,
    pub health: Option<Health>,
    pub commits: Option<f64>,
    pub at_ms: Option<i64>,
}

impl FleetRow {
    /// Unreachable beats critical beats warning.
    pub fn rank(&self) -> u8 {
        match (&self.target.status, &self.health) {
            (TargetStatus::Unreachable { .. }, _) => 4,
            (_, Some(h)) => match h.worst() {
                Level::Critical => 3,
                Level::Warn => 2,
                Level::Ok => 0,
            },
            (_, None) => 1,
        }
    }
}

pub fn worst_first(a: &FleetRow, b: &FleetRow) -> std::cmp::Ordering {
    b.rank()
        .cmp(&a.rank())
        .then_with(|| a.target.name.cmp(&b.target.name))
}

/// Whether the Fleet page shows a row for what its search box holds (any part of the target's
/// name or id, in any case) and its "only targets with a problem" box (anything but healthy).
pub fn shown(row: &FleetRow, find: &str, problems: bool) -> bool {
    let find = find.trim().to_lowercase();
    (find.is_empty()
        || row.target.name.to_lowercase().contains(&find)
        || row.target.id.to_lowercase().contains(&find))
        && (!problems || row.rank() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::targets::model::ActionsAvailability;
    use time::OffsetDateTime;

    fn row(name: &str, health: Option<Health>) -> FleetRow {
        let now = OffsetDateTime::now_utc();
        FleetRow {
            target: TargetOverview {
                id: name.to_lowercase(),
                name: name.into(),
                endpoint: String::new(),
                status: TargetStatus::Up {
                    since: now,
                    checked_at: now,
                },
                server: None,
                capabilities: Vec::new(),
                databases: None,
                actions: ActionsAvailability {
                    enabled: true,
                    reason: None,
                    own_logins: Vec::new(),
                },
            },
            health,
            commits: None,
            at_ms: None,
        }
    }

    #[test]
    fn a_lock_pile_up_moves_a_target_to_the_top_of_the_fleet() {
        let calm = Health {
            connections: 5,
            max_connections: 100,
            ..Health::default()
        };
        let piled = Health {
            lock_waiting: 25,
            longest_lock_wait_ms: Some(40_000),
            ..calm.clone()
        };
        let mut rows = [
            row("Alpha", Some(calm.clone())),
            row("Beta", Some(calm.clone())),
            row("Zulu", Some(piled)),
        ];
        rows.sort_by(worst_first);
        let names: Vec<&str> = rows.iter().map(|r| r.target.name.as_str()).collect();
        assert_eq!(names, ["Zulu", "Alpha", "Beta"]);
        // A few short waits are normal: they do not reorder the fleet.
        let brief = Health {
            lock_waiting: 2,
            longest_lock_wait_ms: Some(1_000),
            ..calm
        };
        rows[0].health = Some(brief);
        rows.sort_by(worst_first);
        let names: Vec<&str> = rows.iter().map(|r| r.target.name.as_str()).collect();
        assert_eq!(names, ["Alpha", "Beta", "Zulu"]);
    }

    #[test]
    fn the_fleet_search_matches_name_or_id_in_any_case_and_can_keep_only_problems() {
        let calm = Health {
            connections: 5,
            max_connections: 100,
            ..Health::default()
        };
        let mut db = row("Billing Primary", Some(calm.clone()));
        db.target.id = "billing-1".into();
        assert!(shown(&db, "", false));
        assert!(shown(&db, "  PRIMARY ", false));
        assert!(shown(&db, "ling-1", false));
        assert!(!shown(&db, "reporting", false));
        // Healthy: hidden when only problems are asked for; a target not sampled yet is shown.
        assert!(!shown(&db, "", true));
        db.health = None;
        assert!(shown(&db, "billing", true));
        let piled = Health {
            lock_waiting: 25,
            longest_lock_wait_ms: Some(40_000),
            ..calm
        };
        db.health = Some(piled);
        assert!(shown(&db, "", true));
    }
}
