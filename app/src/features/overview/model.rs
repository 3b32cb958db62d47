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
