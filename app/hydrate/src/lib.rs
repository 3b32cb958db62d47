//! The wasm entry point: sets up the islands of the server-rendered page (the page's loader then
//! hydrates each `<leptos-island>` by calling its export). Kept in its own tiny crate so `app`
//! stays an rlib (a cdylib dependency would be linked natively on every server build).

// Linked for its island exports only: without a use, rustc would drop the crate and its exports.
extern crate pgpanel_islands;

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// The page's first script (`app/src/shell/before_hydration.js`): shows that the scripts
    /// stopped, with a Reload link.
    #[wasm_bindgen(js_namespace = window, js_name = __pgpanelStopped, catch)]
    fn stopped(message: &str) -> Result<(), JsValue>;
}

#[wasm_bindgen]
pub fn hydrate() {
    // A panic stops the wasm for good (panic = "abort"): besides the console, tell the user, who
    // would otherwise face a page that no longer updates and whose buttons silently do nothing.
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("an internal error");
        _ = stopped(message);
    }));
    // The islands are hydrated next, by the page's loader (app/islands/src/loader.js), which
    // then marks the page as taken over.
    leptos::mount::hydrate_islands();
}

/// Called by the loader once every island is hydrated.
#[wasm_bindgen]
pub fn hydrated() {
    app::components::hydration::taken_over();
}
