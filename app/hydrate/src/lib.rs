//! The wasm entry point: sets up the islands of the server-rendered page (leptos' script then
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
    leptos::mount::hydrate_islands();
    // leptos' script hydrates the islands right after this returns, in one run of promise
    // callbacks; a timer fires after all of them. Then the page is marked as taken over: the
    // first script stops holding clicks, and tests wait for the mark.
    let mark = Closure::once_into_js(|| {
        if let Some(app) = leptos::prelude::document()
            .query_selector(".app")
            .ok()
            .flatten()
        {
            let _ = app.set_attribute("data-hydrated", "true");
        }
    });
    let _ = leptos::prelude::window()
        .set_timeout_with_callback_and_timeout_and_arguments_0(mark.unchecked_ref(), 0);
}
