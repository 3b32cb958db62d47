//! What the parts of the Advice page (`page.rs`, `bloat_table.rs`, `finding_view.rs`) share: the
//! page's context (provided once as a Leptos context) and the dialog that asks for a job.

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

/// A dialog that asks the server to start a job ("Measure exactly", "Apply…"): whether it is
/// open, whether its request is under way, and the server's answer when it refused.
#[derive(Clone, Copy)]
pub(super) struct JobDialog {
    pub(super) open: RwSignal<bool>,
    pub(super) busy: RwSignal<bool>,
    pub(super) error: RwSignal<Option<String>>,
}

impl JobDialog {
    pub(super) fn new() -> Self {
        Self {
            open: RwSignal::new(false),
            busy: RwSignal::new(false),
            error: RwSignal::new(None),
        }
    }

    /// Sends `request`; once the job is started the dialog closes and the jobs panel reads
    /// again, else the dialog stays open with the server's message.
    pub(super) fn ask<T, E: std::fmt::Display>(
        self,
        ctx: Ctx,
        request: impl std::future::Future<Output = Result<T, E>> + 'static,
    ) {
        self.busy.set(true);
        self.error.set(None);
        leptos::task::spawn_local(async move {
            let got = request.await;
            self.busy.set(false);
            match got {
                Ok(_) => {
                    self.open.set(false);
                    ctx.jobs_reload.update(|n| *n = n.wrapping_add(1));
                }
                Err(e) => self.error.set(Some(e.to_string())),
            }
        });
    }
}
