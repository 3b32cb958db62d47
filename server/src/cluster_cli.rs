//! `pgpanel check-config` with a PostgreSQL store: the instances that use it, as
//! `GET /api/cluster` shows them, when the store can be reached (read only: nothing is created
//! or migrated).

use app::clock::from_millis;
use app::components::format::{millis, utc};
use app::features::cluster::LOST_AFTER_MS;
use app::features::cluster::model::state_of;
use app::store::Store;

/// What check-config says about the store's instances (lines ending in a newline).
pub async fn instances(url: &str) -> String {
    let store = match Store::open_to_read(url).await {
        Ok(s) => s,
        Err(e) => return format!("pgpanel: the store cannot be reached now: {e}\n"),
    };
    let listed = store.instances().await;
    store.close().await;
    let (now, rows) = match listed {
        Ok(r) => r,
        Err(e) => {
            return format!(
                "pgpanel: the store is reachable but its instances cannot be read ({e}); \
                 `pgpanel serve` creates the table when it migrates the store\n"
            );
        }
    };
    let mut out = format!(
        "pgpanel: the store is reachable; {} instance{} known:\n",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
    );
    for r in rows {
        let state = state_of(
            now,
            r.heartbeat_at_ms,
            r.stopped_at_ms.is_some(),
            LOST_AFTER_MS,
        );
        out.push_str(&format!(
            "  {} {:<7} version {} on {} ({}), started {}, last heartbeat {} ago, samples {}\n",
            r.id,
            state.as_str(),
            r.version,
            r.host,
            r.listen,
            utc(from_millis(r.started_at_ms)),
            millis((now - r.heartbeat_at_ms).max(0)),
            if r.targets.is_empty() {
                "no target".to_owned()
            } else {
                r.targets.join(", ")
            }
        ));
    }
    out
}
