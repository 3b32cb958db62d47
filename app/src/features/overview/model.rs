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
}
