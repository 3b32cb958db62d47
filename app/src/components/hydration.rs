//! Whether the browser is still taking over the page the server rendered: from the wasm's start
//! until the page's loader has hydrated every island (it then calls the wasm's `hydrated`).
//! Meanwhile a view can keep what the server already put into the page rather than compute it
//! again (a chart's SVG), which shortens the time until the page answers (docs/ARCHITECTURE.md
//! §11). Always false on the server.

use std::sync::atomic::{AtomicBool, Ordering};

static TAKING_OVER: AtomicBool = AtomicBool::new(cfg!(feature = "hydrate"));

/// True while the islands of the server's page are being hydrated.
pub fn taking_over() -> bool {
    TAKING_OVER.load(Ordering::Relaxed)
}

/// Called once every island is hydrated: from now on, views draw everything themselves.
pub fn taken_over() {
    TAKING_OVER.store(false, Ordering::Relaxed);
}
