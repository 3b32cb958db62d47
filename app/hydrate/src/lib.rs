//! The wasm entry point: hydrates the server-rendered page. Kept in its own tiny crate so `app`
//! stays an rlib (a cdylib dependency would be linked natively on every server build).

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
