//! What the parts of the Advice page (`page.rs`, `bloat_table.rs`, `finding_view.rs`) share,
//! provided once by the page as a Leptos context.

use leptos::prelude::*;

/// What the parts of the page share: where they are, whether the viewer may act, and the
/// signal that makes the jobs panel read again at once (a job was started).
#[derive(Clone, Copy)]
pub(super) struct Ctx {
    pub(super) target: StoredValue<String>,
    pub(super) database: StoredValue<String>,
    pub(super) can_act: Signal<bool>,
    pub(super) jobs_reload: RwSignal<u32>,
}
